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
import { CredentialBreakers } from './credential-breaker.ts';
import type { FanOutDecision } from './estimate.ts';
import { HISTORY_LOOKBACK } from './history-breaker.ts';
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
import type { LaneSemaphore } from './queued/semaphore.ts';
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
import { policyLockKey, type SweepLock, SweepRunningError } from './sweep-lock.ts';
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
  /**
   * Scheduled runs: when the policy's last sweep never finished (aborted at a deadline, its queued items
   * stalled past the lock lease), resume it instead of starting `sweepId` (needs `SweepDeps.sweepLock`).
   */
  readonly resumeUnfinished?: boolean | undefined;
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
  /**
   * The auth breaker (lib/sweep/credential-breaker.ts) for the listing and every step. Default: one in this
   * process; the runtime passes one backed by the ledger's table so queued workers share the trip.
   */
  readonly credentialBreakers?: CredentialBreakers | undefined;
  /** The cross-invocation lane semaphore inline deletions also take (lib/sweep/inline.ts). */
  readonly semaphore?: LaneSemaphore | undefined;
  /** How an inline deletion waits for a free shared slot (lib/sweep/inline.ts SLOT_WAIT_*). */
  readonly slotWait?: { readonly baseMs: number; readonly capMs: number } | undefined;
  /** One real sweep per policy at a time (lib/sweep/sweep-lock.ts). */
  readonly sweepLock?: SweepLock | undefined;
}

/**
 * --- queued mode (lib/sweep/queued): when set (SWEEP_QUEUE_URL configured), a real sweep enqueues one message
 * per planned item and returns at once with status `queued` (every item `pending`, code QUEUED); delete-workers
 * run the same steps and record outcomes in the ledger; `queuedSweepReport(ledger, id)` assembles the report.
 */
export interface QueuedFanOut {
  /**
   * Sends the items' messages; resolves with how many were queued, throws if any could not be. `lockKey`: the
   * policy lock the sweep holds, for whoever finishes the last item to release.
   */
  enqueue(
    sweepId: string,
    items: readonly PlannedItem[],
    context?: { readonly lockKey?: string | undefined },
  ): Promise<number>;
  /** Auto mode (lib/sweep/estimate.ts): queue this plan, or run it inline? Absent: always queue. */
  choose?(items: readonly PlannedItem[]): FanOutDecision;
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
    ...(target.failure === undefined ? {} : { failure: target.failure }),
    ...(target.held === undefined ? {} : { held: target.held }),
  };
}

/** An inline sweep's policy lock lease; renewed every third of it while the sweep runs. */
export const SWEEP_LOCK_LEASE_MS = 3 * 60_000;
/**
 * A queued sweep's policy lock lease: nobody renews it, the worker finishing the last item ends it. A sweep
 * whose workers stall longer than this (a message in the DLQ) can be started again — or resumed first by the
 * next scheduled run.
 */
export const QUEUED_SWEEP_LOCK_LEASE_MS = 24 * 60 * 60_000;

/**
 * Runs one sweep (or resumes it) and returns its report; see the module comment. With `deps.sweepLock`, a real
 * run first takes its policy's lock (lib/sweep/sweep-lock.ts) and throws SweepRunningError when another sweep
 * of the policy holds it; with `input.resumeUnfinished`, the policy's last sweep is resumed (its id reused)
 * when it never finished.
 */
export async function runSweep(input: SweepInput, deps: SweepDeps): Promise<SweepReport> {
  const lock = input.dryRun ? undefined : deps.sweepLock;
  let sweepId = input.sweepId ?? newSweepId(input.now);
  if (lock === undefined) return runSweepHeld(input, deps, sweepId, undefined);
  const key = policyLockKey(input.policy);
  if (input.resumeUnfinished === true) {
    const last = await lock.current(key);
    if (last !== undefined && last.sweepId !== sweepId) {
      const previous = await deps.ledger.getSweep(last.sweepId);
      if (previous !== undefined && previous.sweep.status === 'planned' && !previous.sweep.dry_run) {
        deps.logger?.info('resuming the unfinished sweep of this policy first', {
          sweep_id: last.sweepId,
          instead_of: sweepId,
        });
        sweepId = last.sweepId;
      }
    }
  }
  const queued = deps.fanOut !== undefined;
  const leaseMs = queued ? QUEUED_SWEEP_LOCK_LEASE_MS : SWEEP_LOCK_LEASE_MS;
  const taken = await lock.acquire(key, sweepId, leaseMs);
  if (!taken.ok) throw new SweepRunningError(taken.holder.sweepId, taken.holder.leaseUntil);
  const clock = deps.clock ?? systemClock;
  let renewal: unknown;
  let stopped = false;
  const renew = () => {
    renewal = clock.setTimeout(() => {
      void lock.acquire(key, sweepId, leaseMs).then(
        (again) => {
          if (!again.ok)
            deps.logger?.warn('the sweep lost its policy lock', { sweep_id: sweepId, holder: again.holder });
          if (!stopped) renew();
        },
        () => {
          if (!stopped) renew();
        },
      );
    }, leaseMs / 3);
  };
  if (!queued) renew();
  let keep = false;
  try {
    const report = await runSweepHeld(input, deps, sweepId, key);
    // A queued sweep keeps its lock until its last item finishes.
    keep = report.status === 'queued';
    return report;
  } finally {
    stopped = true;
    if (renewal !== undefined) clock.clearTimeout(renewal);
    if (!keep) {
      await lock.release(key, sweepId).catch((error: unknown) => {
        deps.logger?.warn('could not release the policy lock (its lease ends it)', {
          sweep_id: sweepId,
          error: error instanceof Error ? error.message : String(error),
        });
      });
    }
  }
}

async function runSweepHeld(
  input: SweepInput,
  deps: SweepDeps,
  sweepId: string,
  lockKey: string | undefined,
): Promise<SweepReport> {
  const clock = deps.clock ?? systemClock;
  const startedAt = clock.now();
  const requestedBy = input.requestedBy ?? SWEEP_IDENTITY;
  const adapters = deps.adapters ?? defaultAdapters;
  const { ledger } = deps;
  const log = deps.logger;
  // One breaker per sweep: the listing and every DELETE and poll go through it.
  const credentialBreakers = deps.credentialBreakers ?? new CredentialBreakers();

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
    // The history breaker compares each target with the policy's last finished sweeps (dry runs too, so a
    // dry run shows a hold; only real runs store their counts for later sweeps).
    const policyKey = policyLockKey(input.policy);
    const history = await ledger.recentSweeps(policyKey, HISTORY_LOOKBACK);
    const planned = await planSweep(
      {
        policy: input.policy,
        now: input.now,
        targets: input.targetFilter,
        defaultMaxDeleteShare: input.defaultMaxDeleteShare,
        history,
      },
      {
        client: credentialBreakers.forSweep(sweepId).guard(deps.client),
        adapters,
        signal: deps.signal,
        listConcurrency: deps.listConcurrency,
        pageSize: deps.pageSize,
        onProgress: (progress) => progressSafe(deps, { type: 'listing', ...progress }),
      },
    );
    summary = planned.summary;
    items = planned.items;
    for (const { target, hold } of planned.holds) {
      log?.warn('the history breaker held a target: nothing of it is deleted', {
        sweep_id: sweepId,
        target,
        reason: hold.reason,
      });
    }
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
      ...(input.dryRun ? {} : { history: { policy_key: policyKey, targets: planned.history } }),
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
  const fanOut = deps.fanOut !== undefined && !input.dryRun && items.length > 0 ? deps.fanOut : undefined;
  const decision = fanOut?.choose?.(items);
  const fanOutReport = decision === undefined ? {} : { fan_out: decision };
  if (fanOut !== undefined && decision?.chosen !== 'inline') {
    const queued = await fanOut.enqueue(sweepId, items, { lockKey });
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
      ...fanOutReport,
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
        semaphore: deps.semaphore,
        slotWait: deps.slotWait,
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
        credentialBreakers,
      },
    );
  }
  const aborted = deps.signal?.aborted === true || outcomes.some((outcome) => outcome.status === 'pending');
  const report = SweepReportSchema.parse({
    ...buildReport({
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
    ...fanOutReport,
  });
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
  // A target that failed as a whole (its listing) or that the history breaker held did not carry out its plan.
  const failedTargets = targets.filter(
    (target) => target.failure !== undefined || target.held !== undefined,
  ).length;
  return {
    sweep_id: parts.sweepId,
    status: parts.input.dryRun
      ? failedTargets > 0
        ? 'completed_with_failures'
        : 'completed'
      : statusOf(totals, parts.aborted, failedTargets),
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
