/**
 * The retention sweep, inline mode:
 *
 *   list every target → plan → circuit breaker → ledger.putSweepPlan(sweep id) → fan-out in lanes
 *   (processPlannedDeletion / pollPlannedDeletion) → report → ledger.finishSweep
 *
 * A sweep id that the ledger already holds is a rerun: its stored plan is used as is (no new listing), items
 * finished earlier are skipped by the step, unfinished ones resume, and nothing is sent twice.
 */

import { randomBytes } from 'node:crypto';
import { executeDeletion as defaultExecuteDeletion } from '../deletions/execute.ts';
import { AppError } from '../errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { CallerIdentity, PlannedItem } from '../ledger/schema.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../retention/policy.ts';
import type { BackupService } from '../services/backup.ts';
import type { BackupServiceAdapter, HuaweiRequester } from '../services/index.ts';
import { adapters as defaultAdapters } from '../services/index.ts';
import { type Clock, systemClock } from './backoff.ts';
import { runPlannedDeletionsInline } from './inline.ts';
import type { LaneEvent, LaneLimits } from './lanes.ts';
import {
  type ListingProgress,
  type PlannedTarget,
  planSweep,
  type SweepSummary,
  SweepSummarySchema,
  targetOfItem,
} from './plan-sweep.ts';
import {
  countOutcome,
  emptyCounts,
  type ItemOutcome,
  type SweepCounts,
  type SweepReport,
  SweepReportSchema,
  statusOf,
  sumCounts,
  type TargetReport,
} from './report.ts';
import type { ExecuteDeletion, ItemRetryPolicy } from './step.ts';
import type { TrackingPolicy } from './tracker.ts';

export interface SweepInput {
  readonly policy: Policy;
  /** Default: a new id (`sweep-<time>-<random>`). Reusing an id resumes that sweep. */
  readonly sweepId?: string | undefined;
  readonly dryRun: boolean;
  /** Only these targets delete (all targets' keeps still veto). */
  readonly targetFilter?: readonly string[] | undefined;
  /** The planner's `now`. */
  readonly now: Date;
  readonly requestedBy?: CallerIdentity | undefined;
  /** Breaker for targets without `max_delete_share`. Default 0.5. */
  readonly defaultMaxDeleteShare?: number | undefined;
}

/** The log calls the sweep makes: the project's Powertools logger (lib/logger.ts). */
export type SweepLogger = Pick<Logger, 'info' | 'warn'>;

export type SweepProgress =
  | ({ readonly type: 'listing' } & ListingProgress)
  | {
      readonly type: 'planned';
      readonly sweepId: string;
      readonly resumed: boolean;
      readonly summary: SweepSummary;
    }
  | {
      readonly type: 'item';
      readonly target: string;
      readonly outcome: ItemOutcome;
      /** Items of this target finished so far / planned. */
      readonly done: number;
      readonly total: number;
    }
  | { readonly type: 'lane'; readonly event: LaneEvent };

export interface SweepDeps {
  readonly client: HuaweiRequester;
  readonly ledger: Ledger;
  readonly adapters?: Readonly<Record<BackupService, BackupServiceAdapter>> | undefined;
  readonly clock?: Clock | undefined;
  readonly logger?: SweepLogger | undefined;
  readonly laneLimits?: LaneLimits | undefined;
  readonly executeDeletion?: ExecuteDeletion | undefined;
  readonly tracking?: TrackingPolicy | undefined;
  readonly retry?: ItemRetryPolicy | undefined;
  readonly staleAfterMs?: number | undefined;
  readonly listConcurrency?: number | undefined;
  readonly pageSize?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onProgress?: ((progress: SweepProgress) => void) | undefined;
  /** Queued mode: hand the planned items to the queue instead of running them here (see QueuedFanOut). */
  readonly fanOut?: QueuedFanOut | undefined;
}

/**
 * --- queued mode (lib/sweep/queued): when set (SWEEP_QUEUE_URL configured), a real sweep enqueues one message
 * per planned item and returns at once with status `queued` (every item `pending`, code QUEUED); delete-workers
 * run the same steps and record outcomes in the ledger; `queuedSweepReport(ledger, id)` assembles the report.
 */
export interface QueuedFanOut {
  /** Sends the items' messages; resolves with how many were queued, throws if any could not be. */
  enqueue(sweepId: string, items: readonly PlannedItem[]): Promise<number>;
}

/** The sweep id was used before for the other kind of run (a dry run's id cannot delete, and back). */
export class SweepConflictError extends AppError {
  override name = 'SweepConflictError';
  readonly code = 'SWEEP_CONFLICT';
}

export const SWEEP_IDENTITY: CallerIdentity = Object.freeze({ kind: 'sweep', principal: 'sweep:scheduled' });

export function newSweepId(now: Date, random: () => Buffer = () => randomBytes(4)): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `sweep-${stamp}-${random().toString('hex')}`;
}

const progressSafe = (deps: SweepDeps, progress: SweepProgress) => {
  try {
    deps.onProgress?.(progress);
  } catch {
    // Progress output must not stop a sweep.
  }
};

function targetReport(target: PlannedTarget, counts: SweepCounts, durationMs: number): TargetReport {
  return {
    ...counts,
    name: target.name,
    service: target.service,
    listed: target.listed,
    kept: target.kept,
    planned: target.planned,
    kept_by_other_target: target.kept_by_other_target,
    delete_share: target.delete_share,
    max_delete_share: target.max_delete_share,
    duration_ms: durationMs,
  };
}

/** Runs one sweep (or resumes it) and returns its report; see the module comment. */
export async function runSweep(input: SweepInput, deps: SweepDeps): Promise<SweepReport> {
  const clock = deps.clock ?? systemClock;
  const startedAt = clock.now();
  const sweepId = input.sweepId ?? newSweepId(input.now);
  const requestedBy = input.requestedBy ?? SWEEP_IDENTITY;
  const adapters = deps.adapters ?? defaultAdapters;
  const { ledger } = deps;
  const log = deps.logger;

  let summary: SweepSummary;
  let items: PlannedItem[];
  let resumed = false;
  const stored = await ledger.getSweep(sweepId);
  if (stored !== undefined) {
    if (stored.sweep.dry_run !== input.dryRun) {
      throw new SweepConflictError(
        `sweep ${sweepId} was a ${stored.sweep.dry_run ? 'dry run' : 'real run'}; use a new sweep id`,
      );
    }
    summary = SweepSummarySchema.parse(stored.sweep.summary);
    items = stored.items;
    resumed = true;
  } else {
    const planned = await planSweep(
      {
        policy: input.policy,
        now: input.now,
        targets: input.targetFilter,
        defaultMaxDeleteShare: input.defaultMaxDeleteShare,
      },
      {
        client: deps.client,
        adapters,
        signal: deps.signal,
        listConcurrency: deps.listConcurrency,
        pageSize: deps.pageSize,
        onProgress: (progress) => progressSafe(deps, { type: 'listing', ...progress }),
      },
    );
    summary = planned.summary;
    items = planned.items;
    if (planned.refusals.length > 0) {
      const report = buildReport({
        sweepId,
        input,
        summary,
        items,
        outcomes: [],
        resumed: false,
        startedAt,
        finishedAt: clock.now(),
        itemFinishedAt: new Map(),
        aborted: false,
      });
      const refused = SweepReportSchema.parse({ ...report, status: 'refused', refused: planned.refusals });
      log?.warn('sweep refused by the circuit breaker', { sweep_report: refused });
      return refused;
    }
    const put = await ledger.putSweepPlan({
      sweep_id: sweepId,
      dry_run: input.dryRun,
      requested_by: requestedBy,
      summary,
      items,
    });
    if (!put.created) {
      // Another invocation stored this sweep id first: run its plan.
      const current = await ledger.getSweep(sweepId);
      if (current === undefined) throw new SweepConflictError(`sweep ${sweepId} vanished while starting`);
      summary = SweepSummarySchema.parse(current.sweep.summary);
      items = current.items;
      resumed = true;
    }
  }
  progressSafe(deps, { type: 'planned', sweepId, resumed, summary });

  const names = summary.targets.map((target) => target.name);
  const targetOf = new Map<string, string>();
  for (const item of items) targetOf.set(item.deletion_id, targetOfItem(item, names) ?? '(unknown)');
  const itemFinishedAt = new Map<string, number>();
  // --- queued mode: enqueue and answer at once (a rerun re-enqueues; the steps skip what is finished).
  if (deps.fanOut !== undefined && !input.dryRun && items.length > 0) {
    const queued = await deps.fanOut.enqueue(sweepId, items);
    const report = SweepReportSchema.parse({
      ...buildReport({
        sweepId,
        input,
        summary,
        items,
        outcomes: items.map((item) => ({ deletion_id: item.deletion_id, status: 'pending', code: 'QUEUED' })),
        resumed,
        startedAt,
        finishedAt: clock.now(),
        itemFinishedAt,
        aborted: false,
        targetOf,
      }),
      status: 'queued',
      mode: 'queued',
    });
    log?.info(`sweep queued ${queued}`, { sweep_report: report });
    return report;
  }
  let outcomes: ItemOutcome[] = [];
  if (!input.dryRun && items.length > 0) {
    const byId = new Map(items.map((item) => [item.deletion_id, item]));
    const totals = new Map<string, { done: number; total: number }>();
    for (const item of items) {
      const name = targetOf.get(item.deletion_id) as string;
      const entry = totals.get(name) ?? { done: 0, total: 0 };
      entry.total += 1;
      totals.set(name, entry);
    }
    outcomes = await runPlannedDeletionsInline(
      {
        sweepId,
        items,
        plan: (id) => byId.get(id),
        laneLimits: deps.laneLimits,
        clock,
        signal: deps.signal,
        onOutcome: (item, outcome) => {
          const name = targetOf.get(item.deletion_id) as string;
          const entry = totals.get(name) as { done: number; total: number };
          entry.done += 1;
          itemFinishedAt.set(item.deletion_id, clock.now());
          progressSafe(deps, { type: 'item', target: name, outcome, done: entry.done, total: entry.total });
        },
        onLaneEvent: (event) => progressSafe(deps, { type: 'lane', event }),
      },
      {
        client: deps.client,
        ledger,
        adapters,
        executeDeletion: deps.executeDeletion ?? defaultExecuteDeletion,
        now: () => clock.now(),
        requestedBy,
        tracking: deps.tracking,
        retry: deps.retry,
        staleAfterMs: deps.staleAfterMs,
      },
    );
  }
  const aborted = deps.signal?.aborted === true || outcomes.some((outcome) => outcome.status === 'pending');
  const report = SweepReportSchema.parse(
    buildReport({
      sweepId,
      input,
      summary,
      items,
      outcomes,
      resumed,
      startedAt,
      finishedAt: clock.now(),
      itemFinishedAt,
      aborted,
      targetOf,
    }),
  );
  // An aborted run stays open in the ledger (status planned) so a rerun resumes it.
  if (!aborted) await ledger.finishSweep(sweepId, report);
  log?.info('sweep finished', { sweep_report: report });
  return report;
}

interface ReportParts {
  readonly sweepId: string;
  readonly input: SweepInput;
  readonly summary: SweepSummary;
  readonly items: readonly PlannedItem[];
  readonly outcomes: readonly ItemOutcome[];
  readonly resumed: boolean;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly itemFinishedAt: ReadonlyMap<string, number>;
  readonly aborted: boolean;
  readonly targetOf?: ReadonlyMap<string, string>;
}

function buildReport(parts: ReportParts): SweepReport {
  const counts = new Map<string, SweepCounts>();
  const lastFinish = new Map<string, number>();
  for (const target of parts.summary.targets) counts.set(target.name, emptyCounts());
  for (const outcome of parts.outcomes) {
    const name = parts.targetOf?.get(outcome.deletion_id) ?? '(unknown)';
    let entry = counts.get(name);
    if (entry === undefined) {
      entry = emptyCounts();
      counts.set(name, entry);
    }
    countOutcome(entry, outcome);
    const at = parts.itemFinishedAt.get(outcome.deletion_id);
    if (at !== undefined) lastFinish.set(name, Math.max(lastFinish.get(name) ?? 0, at));
  }
  const targets = parts.summary.targets.map((target) =>
    targetReport(
      target,
      counts.get(target.name) ?? emptyCounts(),
      Math.max(0, (lastFinish.get(target.name) ?? parts.finishedAt) - parts.startedAt),
    ),
  );
  const totals = sumCounts(targets);
  return {
    sweep_id: parts.sweepId,
    status: parts.input.dryRun ? 'completed' : statusOf(totals, parts.aborted),
    dry_run: parts.input.dryRun,
    resumed: parts.resumed,
    mode: 'inline',
    started_at: new Date(parts.startedAt).toISOString(),
    finished_at: new Date(parts.finishedAt).toISOString(),
    duration_ms: Math.max(0, parts.finishedAt - parts.startedAt),
    totals,
    targets,
  };
}
