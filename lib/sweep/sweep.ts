/**
 * The retention sweep, inline mode:
 *
 *   list every target → plan → circuit breaker → approval checks (the policy's switch, the history breaker of
 *   lib/sweep/history-breaker.ts) → ledger.putSweepPlan(sweep id, with the run's per-target history) → fan-out in lanes
 *   (processPlannedDeletion / pollPlannedDeletion) → report → ledger.finishSweep
 *
 * A sweep id that the ledger already holds is a rerun: its stored plan is used as is (no new listing), items
 * finished earlier are skipped by the step, unfinished ones resume, and nothing is sent twice.
 */

import { randomBytes } from 'node:crypto';
import {
  type ApprovedPlan,
  approvalExpiresAt,
  awaitingSweepId,
  intersectApproved,
} from '../approval/apply.ts';
import {
  type ApprovalCheck,
  type ApprovalNeed,
  approvalNeeds,
  type NotifySweepOutcome,
  sweepOutcomeNotice,
} from '../approval/decision.ts';
import { ApprovalError } from '../approval/errors.ts';
import { planHash } from '../approval/plan-hash.ts';
import { type AppliedApproval, type ReportApproval, ReportApprovalSchema } from '../approval/schema.ts';
import { executeDeletion as defaultExecuteDeletion } from '../deletions/execute.ts';
import { AppError } from '../errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { CallerIdentity, PlannedItem, SweepRecord } from '../ledger/schema.ts';
import type { Logger } from '../logger.ts';
import type { Policy } from '../retention/policy.ts';
import type { BackupService } from '../services/backup.ts';
import type { BackupServiceAdapter, HuaweiRequester } from '../services/index.ts';
import { adapters as defaultAdapters } from '../services/index.ts';
import { type Clock, systemClock } from './backoff.ts';
import { CredentialBreakers } from './credential-breaker.ts';
import type { FanOutDecision } from './estimate.ts';
import { historyApprovalCheck, sweepHistoryOf } from './history-breaker.ts';
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
  /**
   * Apply this approval (lib/approval/apply.ts): the run deletes only the approved items the fresh plan still
   * makes, skips the others with their reason, and is created once (a second run of it is ALREADY_APPROVED).
   */
  readonly approved?: ApprovedPlan | undefined;
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
  /**
   * Checks that may hold a target's deletions for approval (lib/approval/decision.ts); the policy's own
   * `approval.required` is always checked.
   */
  readonly approvalChecks?: readonly ApprovalCheck[] | undefined;
  /** Told once per run whose outcome is worth a human (lib/approval/decision.ts). Default: nobody. */
  readonly notifySweepOutcome?: NotifySweepOutcome | undefined;
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

function targetReport(
  target: PlannedTarget,
  counts: SweepCounts,
  durationMs: number,
  need?: ApprovalNeed,
): TargetReport {
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
    ...(need === undefined ? {} : { approval: need }),
  };
}

/** The plan fields of a sweep's report (its plan's id and hash, what awaits or the approval it applies). */
interface PlanFields {
  plan_id?: string;
  plan_hash?: string;
  approval?: ReportApproval;
}

function storedPlanFields(sweep: SweepRecord): PlanFields {
  const approval = ReportApprovalSchema.safeParse(sweep.approval);
  return {
    ...(sweep.plan_id === undefined ? {} : { plan_id: sweep.plan_id }),
    ...(sweep.plan_hash === undefined ? {} : { plan_hash: sweep.plan_hash }),
    ...(approval.success ? { approval: approval.data } : {}),
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
  const report = await runSweepLocked(input, deps);
  // The one place a sweep's outcome reaches a person (awaiting approval, completed, failures).
  const notice = sweepOutcomeNotice(report);
  if (notice !== undefined && deps.notifySweepOutcome !== undefined) {
    await deps.notifySweepOutcome(notice).catch((error: unknown) => {
      deps.logger?.warn('could not send the sweep outcome notice', {
        sweep_id: report.sweep_id,
        error: error instanceof Error ? error.message : String(error),
      });
    });
  }
  return report;
}

async function runSweepLocked(input: SweepInput, deps: SweepDeps): Promise<SweepReport> {
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
  } catch (error) {
    // A racing approval lost to the run of the same id: the lock (same sweep id) is the winner's to end
    // while that run is unfinished; once it finished, the lease this call took is its own to end.
    if (error instanceof ApprovalError && error.code === 'ALREADY_APPROVED') {
      const winner = await deps.ledger.getSweep(sweepId).catch(() => undefined);
      keep = winner?.sweep.status !== 'finished';
    }
    throw error;
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
  let plan: PlanFields = {};
  let needs: readonly ApprovalNeed[] = [];
  const stored = await ledger.getSweep(sweepId);
  if (stored !== undefined) {
    if (stored.sweep.status === 'awaiting_approval') {
      throw new ApprovalError(
        'APPROVAL_REQUIRED',
        `sweep ${sweepId} is a plan awaiting approval: approve it (POST /sweeps/${sweepId}/approve with its plan_hash) instead of running it`,
        {
          sweep_id: sweepId,
          ...(stored.sweep.plan_hash === undefined ? {} : { plan_hash: stored.sweep.plan_hash }),
        },
      );
    }
    if (stored.sweep.dry_run !== input.dryRun) {
      throw new SweepConflictError(
        `sweep ${sweepId} was a ${stored.sweep.dry_run ? 'dry run' : 'real run'}; use a new sweep id`,
      );
    }
    summary = SweepSummarySchema.parse(stored.sweep.summary);
    items = stored.items;
    resumed = true;
    plan = storedPlanFields(stored.sweep);
  } else {
    const approved = input.approved;
    const planned = await planSweep(
      {
        policy: input.policy,
        now: input.now,
        targets: input.targetFilter,
        defaultMaxDeleteShare: input.defaultMaxDeleteShare,
        collectListed: approved !== undefined,
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
    if (approved !== undefined) {
      // Applying an approval: approved ∩ fresh plan; a refused or failed target's items are skipped instead.
      const intersection = intersectApproved(approved.items, {
        ...planned,
        listed: planned.listed ?? new Set(),
      });
      summary = intersection.summary;
      items = intersection.run;
      const applied: AppliedApproval = {
        status: 'approved',
        sweep_id: approved.sweepId,
        plan_id: approved.planId,
        plan_hash: approved.planHash,
        approved_by: approved.approvedBy,
        approved_at: approved.approvedAt.toISOString(),
        approved: new Set(approved.items.map((item) => item.deletion_id)).size,
        executed: items.length,
        skipped: intersection.skipped,
      };
      plan = { plan_id: approved.planId, plan_hash: approved.planHash, approval: applied };
    } else if (planned.refusals.length > 0) {
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
    } else {
      // The history breaker is always one of the checks (lib/sweep/history-breaker.ts). A dry run asks the same
      // checks, holds nothing, and reports on each target what a real run of its plan would wait for.
      const historyCheck = historyApprovalCheck(ledger, (target, hold) =>
        input.dryRun
          ? log?.info('a real run would hold this target for approval (history breaker)', {
              sweep_id: sweepId,
              target,
              hold,
            })
          : log?.warn('the history breaker holds a target for approval', { sweep_id: sweepId, target, hold }),
      );
      needs = await approvalNeeds([...(deps.approvalChecks ?? []), historyCheck], {
        sweepId,
        policy: input.policy,
        now: input.now,
        summary,
        items,
      });
    }
    if (needs.length > 0 && !input.dryRun) {
      // The targets that need approval: their deletions are stored as a plan awaiting approval (under this
      // sweep's id when no other target deletes, else beside it) and not sent; the other targets proceed.
      const waiting = new Set(needs.map((need) => need.target));
      const names = summary.targets.map((target) => target.name);
      const held = items.filter((item) => waiting.has(targetOfItem(item, names) ?? ''));
      const proceeding = items.filter((item) => !waiting.has(targetOfItem(item, names) ?? ''));
      const awaitId = proceeding.length === 0 ? sweepId : awaitingSweepId(sweepId);
      const heldSummary = {
        ...summary,
        targets: summary.targets.filter((target) => waiting.has(target.name)),
      };
      const heldHash = planHash(input.policy, held);
      const awaiting: ReportApproval = {
        status: 'awaiting',
        sweep_id: awaitId,
        plan_id: awaitId,
        plan_hash: heldHash,
        items: held.length,
        expires_at: approvalExpiresAt(input.policy, [...waiting], input.now).toISOString(),
        targets: [...needs],
      };
      const stored = await ledger.putSweepPlan({
        sweep_id: awaitId,
        dry_run: false,
        status: 'awaiting_approval',
        requested_by: requestedBy,
        summary: heldSummary,
        items: held,
        plan_id: awaitId,
        plan_hash: heldHash,
        approval: awaiting,
      });
      // Another invocation stored this plan first: what awaits is its plan (its listing, its hash).
      const kept = stored.created ? undefined : storedPlanFields(stored.sweep).approval;
      const waits = kept ?? awaiting;
      if (awaitId === sweepId) {
        const report = SweepReportSchema.parse({
          ...buildReport({
            sweepId,
            input,
            summary,
            items,
            outcomes: [],
            resumed: !stored.created,
            startedAt,
            finishedAt: clock.now(),
            itemFinishedAt: new Map(),
            aborted: false,
            needs,
          }),
          status: 'awaiting_approval',
          plan_id: awaitId,
          plan_hash: waits.plan_hash,
          approval: waits,
        });
        log?.info('sweep awaiting approval', { sweep_report: report });
        return report;
      }
      items = proceeding;
      plan = { approval: waits };
    }
    if (approved === undefined) {
      const hash = planHash(input.policy, items);
      plan = { ...plan, plan_id: sweepId, plan_hash: hash };
    }
    // A real run's per-target counts, for the history breaker of the policy's later sweeps.
    const targetNames = summary.targets.map((target) => target.name);
    const history = input.dryRun
      ? undefined
      : sweepHistoryOf(
          input.policy,
          summary.targets,
          new Set(needs.map((need) => need.target)),
          approved === undefined
            ? undefined
            : new Set(approved.items.map((item) => targetOfItem(item, targetNames) ?? '')),
        );
    const put = await ledger.putSweepPlan({
      sweep_id: sweepId,
      dry_run: input.dryRun,
      requested_by: requestedBy,
      summary,
      items,
      ...(history === undefined ? {} : { history }),
      ...(plan.plan_id === undefined ? {} : { plan_id: plan.plan_id }),
      ...(plan.plan_hash === undefined ? {} : { plan_hash: plan.plan_hash }),
      ...(plan.approval === undefined ? {} : { approval: plan.approval }),
    });
    if (!put.created && approved !== undefined) {
      throw new ApprovalError(
        'ALREADY_APPROVED',
        `plan ${approved.sweepId} was approved before; it runs once`,
        {
          sweep_id: approved.sweepId,
          run_sweep_id: sweepId,
        },
      );
    }
    if (!put.created) {
      // Another invocation stored this sweep id first: run its plan.
      const current = await ledger.getSweep(sweepId);
      if (current === undefined) throw new SweepConflictError(`sweep ${sweepId} vanished while starting`);
      summary = SweepSummarySchema.parse(current.sweep.summary);
      items = current.items;
      resumed = true;
      plan = storedPlanFields(current.sweep);
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
        needs,
      }),
      status: 'queued',
      mode: 'queued',
      ...fanOutReport,
      ...plan,
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
      needs,
    }),
    ...fanOutReport,
    ...plan,
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
  /** Targets whose deletions wait for approval (not run here). */
  readonly needs?: readonly ApprovalNeed[];
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
  const needs = new Map((parts.needs ?? []).map((need) => [need.target, need]));
  const targets = parts.summary.targets.map((target) =>
    targetReport(
      target,
      counts.get(target.name) ?? emptyCounts(),
      Math.max(0, (lastFinish.get(target.name) ?? parts.finishedAt) - parts.startedAt),
      needs.get(target.name),
    ),
  );
  const totals = sumCounts(targets);
  const failedTargets = targets.filter((target) => target.failure !== undefined).length;
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
