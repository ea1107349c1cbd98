/**
 * The per-item steps of a sweep — one code path, two transports. Inline mode runs them in lanes inside one
 * invocation (lib/sweep/inline.ts); queued mode runs one step per SQS message and turns a `track`/`retry`
 * result into a delayed message instead of a sleep. A step never sleeps: it says what should happen next.
 *
 *   processPlannedDeletion({sweep_id, deletion_id, attempt}) → finished | track | retry | throttled
 *   pollPlannedDeletion({sweep_id, deletion_id, tracking})   → finished | track | throttled
 *
 * Safety: the item comes from the ledger's plan (a message can only name a deletion id, never a backup), the
 * existing ledger record is read first (finished → nothing sent; in flight → tracked, not resent; sent or
 * unknown → upstream is asked first, lib/deletions/lifecycle.ts), and the DELETE itself goes through
 * `executeDeletion`, whose conditional ledger writes let only one caller send.
 */
import { z } from 'zod';
import { BUDGETS } from '../budgets.ts';
import {
  abandonDeletion,
  DEFAULT_IN_FLIGHT_HORIZON_MS,
  type DeletionDeps,
  type ExecutedDeletion,
  type PlannedDeletionRef,
  plannedDeletionId,
  pollAndRecord,
  releaseAbandonedClaim,
  resolveDeletion,
} from '../deletions/execute.ts';
import { HuaweiThrottledError } from '../huawei/errors.ts';
import { LedgerConflictError, LedgerNotFoundError } from '../ledger/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { CallerIdentity, DeletionRecord, PlannedItem } from '../ledger/schema.ts';
import type { BackupService } from '../services/backup.ts';
import type { BackupServiceAdapter, HuaweiRequester } from '../services/index.ts';
import { nextDelay } from './backoff.ts';
import {
  CREDENTIALS_REJECTED,
  type CredentialBreakers,
  type CredentialTrip,
  rejectionReason,
} from './credential-breaker.ts';
import type { ItemOutcome } from './report.ts';
import {
  decideAfterPoll,
  type PollAttempt,
  startTracking,
  type TrackingPolicy,
  type TrackingState,
  TrackingStateSchema,
} from './tracker.ts';

/** A queued "delete this planned item" message (and the inline driver's unit of work). */
export const PlannedDeletionTaskSchema = z.strictObject({
  sweep_id: z.string().min(1),
  deletion_id: z.string().min(1),
  /** Earlier attempts that ended in a retryable failure (busy, 5xx, network). */
  attempt: z.int().nonnegative().default(0),
});
export type PlannedDeletionTask = z.input<typeof PlannedDeletionTaskSchema>;

/** A queued "poll this accepted deletion" message. */
export const TrackDeletionTaskSchema = z.strictObject({
  sweep_id: z.string().min(1),
  deletion_id: z.string().min(1),
  tracking: TrackingStateSchema,
});
export type TrackDeletionTask = z.infer<typeof TrackDeletionTaskSchema>;

/**
 * What to do next with an item:
 * - finished: its outcome for the report;
 * - track: accepted upstream; poll (pollPlannedDeletion) after `delayMs` with `tracking`;
 * - retry: run processPlannedDeletion again after `delayMs` with `attempt` (busy, 5xx, network);
 * - throttled: the (service, project) lane is throttled; slow the lane and run the same step again
 *   (with `tracking` when it was a poll). Throttling never fails an item by itself.
 */
export type StepResult =
  | { readonly kind: 'finished'; readonly outcome: ItemOutcome }
  | { readonly kind: 'track'; readonly delayMs: number; readonly tracking: TrackingState }
  | { readonly kind: 'retry'; readonly delayMs: number; readonly attempt: number; readonly code: string }
  | {
      readonly kind: 'throttled';
      readonly retryAfterMs?: number | undefined;
      readonly tracking?: TrackingState | undefined;
    };

export interface ItemRetryPolicy {
  /** Attempts of one item (busy/5xx/network) before it is reported failed. Default 8. */
  readonly maxAttempts?: number;
  /** Wait before retrying a busy item (CSBS.2003: a backup of the resource is executing). Default 30 s. */
  readonly busyDelayMs?: number;
  /** Backoff for 5xx/network: full jitter below min(capMs, baseMs·2^attempt). Defaults 1 s, 60 s. */
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly random?: () => number;
}

export type ExecuteDeletion = (ref: PlannedDeletionRef, deps: DeletionDeps) => Promise<ExecutedDeletion>;

/** The planned item of a deletion id in this sweep's ledger plan (undefined: not planned). */
export type PlanLookup = (deletionId: string) => PlannedItem | undefined | Promise<PlannedItem | undefined>;

export interface StepDeps {
  readonly client: HuaweiRequester;
  readonly ledger: Ledger;
  readonly adapters: Readonly<Record<BackupService, BackupServiceAdapter>>;
  /** lib/deletions' executeDeletion (injected so tests can crash a run between deletions). */
  readonly executeDeletion: ExecuteDeletion;
  readonly now: () => number;
  readonly requestedBy: CallerIdentity;
  readonly tracking?: TrackingPolicy | undefined;
  readonly retry?: ItemRetryPolicy | undefined;
  /**
   * A `requested`/`sent` record untouched this long was left by a crash (no request of ours can still be in
   * flight: longer than the client's total retry budget). Younger ones belong to a live caller. The same span
   * is the lifecycle's in-flight horizon: an unknown DELETE counts as not applied only once it is this old.
   * Default 10 min.
   */
  readonly staleAfterMs?: number | undefined;
  /** Aborts polls only: a DELETE once started is allowed to finish, so its outcome is always recorded. */
  readonly signal?: AbortSignal | undefined;
  /**
   * The auth breaker per sweep (lib/sweep/credential-breaker.ts): once upstream rejected the sweep's
   * credentials, its remaining items are skipped CREDENTIALS_REJECTED and nothing more is sent.
   */
  readonly credentialBreakers?: CredentialBreakers | undefined;
}

export const DEFAULT_STALE_AFTER_MS = DEFAULT_IN_FLIGHT_HORIZON_MS;
const DEFAULT_RETRY = {
  maxAttempts: BUDGETS.itemMaxAttempts,
  busyDelayMs: BUDGETS.itemBusyDelayMs,
  baseMs: 1_000,
  capMs: BUDGETS.itemBackoffCapMs,
} as const;

function finished(
  item: Pick<PlannedItem, 'deletion_id'>,
  outcome: Omit<ItemOutcome, 'deletion_id'>,
): StepResult {
  return { kind: 'finished', outcome: { deletion_id: item.deletion_id, ...outcome } };
}

function refOf(
  item: PlannedItem,
  sweepId: string,
  requestedBy: CallerIdentity,
): PlannedDeletionRef | undefined {
  if (item.service === 'dis') return undefined;
  const target = item.target;
  let deleteId: string;
  let itemId: string;
  if (target.kind === 'checkpoint' && target.checkpoint_items?.length === 1) {
    deleteId = target.checkpoint_id;
    itemId = target.checkpoint_items[0] as string;
  } else if (target.kind === 'backup') {
    deleteId = target.backup_id;
    itemId = target.backup_id;
  } else return undefined;
  return {
    service: item.service,
    region: item.region,
    projectId: item.project_id,
    deleteId,
    itemId,
    sweepId,
    requestedBy,
    sizeBytes: item.size_bytes,
  };
}

function trackingFrom(record: DeletionRecord): TrackingState {
  const accepted = record.history.find((entry) => entry.status === 'accepted' || entry.status === 'running');
  return startTracking(accepted?.at ?? record.updated_at);
}

/**
 * The item outcome a final record (done/gone/failed) stands for, the same in inline and queued reports;
 * undefined while the record is not final. A permanent refusal is `skipped REFUSED_UPSTREAM`: never sent again.
 */
export function finalItemOutcome(
  item: Pick<PlannedItem, 'deletion_id' | 'size_bytes'>,
  record: DeletionRecord,
  sweepId: string,
): ItemOutcome | undefined {
  const base = { deletion_id: item.deletion_id };
  const size = item.size_bytes === undefined ? {} : { size_bytes: item.size_bytes };
  switch (record.status) {
    case 'done':
      return record.sweep_id === sweepId
        ? { ...base, status: 'deleted', ...size }
        : { ...base, status: 'already_gone', code: 'DELETED_ELSEWHERE' };
    case 'gone':
      return { ...base, status: 'already_gone', code: record.upstream_code ?? 'NOT_FOUND' };
    case 'failed':
      if (record.error?.permanent === true) {
        return {
          ...base,
          status: 'skipped',
          code: 'REFUSED_UPSTREAM',
          reason: `${record.upstream_code ?? record.error.code}: ${record.error.message}`,
        };
      }
      return {
        ...base,
        status: 'failed',
        code: record.error?.code ?? 'FAILED',
        ...(record.error?.message ? { reason: record.error.message } : {}),
      };
    default:
      return undefined;
  }
}

/** The outcome of a record that is already final (done/gone/failed). */
function outcomeOfFinal(item: PlannedItem, record: DeletionRecord, sweepId: string): StepResult | undefined {
  const outcome = finalItemOutcome(item, record, sweepId);
  return outcome === undefined ? undefined : { kind: 'finished', outcome };
}

function retryPolicy(deps: StepDeps) {
  return { ...DEFAULT_RETRY, ...deps.retry };
}

/** A retryable failure: retry later (busy waits its own delay), or fail once the attempts are spent. */
function retryOrFail(
  item: PlannedItem,
  attempt: number,
  code: string,
  message: string,
  deps: StepDeps,
): StepResult {
  const policy = retryPolicy(deps);
  const next = attempt + 1;
  if (next >= policy.maxAttempts) {
    return finished(item, { status: 'failed', code, reason: `${message} (after ${next} attempts)` });
  }
  const delayMs =
    code === 'BUSY'
      ? policy.busyDelayMs
      : nextDelay(Math.min(attempt, 30), {
          baseMs: policy.baseMs,
          capMs: policy.capMs,
          ...(policy.random ? { random: policy.random } : {}),
        });
  return { kind: 'retry', delayMs, attempt: next, code };
}

/**
 * One planned deletion: check the plan and the ledger, then (if nothing is in flight or finished) send the
 * DELETE through executeDeletion. Upstream errors never throw; ledger errors and bugs do.
 */
export async function processPlannedDeletion(
  input: PlannedDeletionTask,
  plan: PlanLookup,
  stepDeps: StepDeps,
): Promise<StepResult> {
  const task = PlannedDeletionTaskSchema.parse(input);
  const item = await plan(task.deletion_id);
  if (item === undefined) {
    return finished(
      { deletion_id: task.deletion_id },
      { status: 'skipped', code: 'NOT_PLANNED', reason: 'not in the sweep plan' },
    );
  }
  const ref = refOf(item, task.sweep_id, stepDeps.requestedBy);
  if (ref === undefined || plannedDeletionId(ref) !== item.deletion_id) {
    return finished(item, {
      status: 'skipped',
      code: 'PLAN_MISMATCH',
      reason: 'the plan item does not describe one backup deletion',
    });
  }

  const existing = await stepDeps.ledger.get(item.deletion_id);
  const guarded = await guardCredentials(item, async () => existing, task.sweep_id, stepDeps);
  if (guarded.kind === 'finished') return guarded;
  const deps = guarded.deps;
  const permanentlyRefused = existing?.status === 'failed' && existing.error?.permanent === true;
  if (existing !== undefined && (existing.status !== 'failed' || permanentlyRefused)) {
    const resumed = await resume(item, existing, task, deps);
    if (resumed !== 'send') return resumed;
  }

  let executed: ExecutedDeletion;
  const admission = await guarded.admit();
  if (admission.skip !== undefined) return admission.skip;
  try {
    executed = await deps.executeDeletion(ref, lifecycleDeps(deps));
  } catch (error) {
    // Another caller moved the record between our read and our write: look again.
    if (error instanceof LedgerConflictError)
      return { kind: 'retry', delayMs: 0, attempt: task.attempt, code: error.code };
    throw error;
  } finally {
    admission.done();
  }
  switch (executed.kind) {
    case 'started':
      return { kind: 'track', delayMs: 0, tracking: startTracking(deps.now()) };
    case 'done':
      return finished(item, {
        status: 'deleted',
        ...(item.size_bytes === undefined ? {} : { size_bytes: item.size_bytes }),
      });
    case 'gone':
      return finished(item, { status: 'already_gone', code: executed.upstreamCode ?? 'NOT_FOUND' });
    case 'unknown':
      // The DELETE may have been applied: never resent as is. The next step asks upstream first.
      return unresolvedRetry(task, executed.record, deps, 'DELETE_OUTCOME_UNKNOWN');
    case 'skipped': {
      const resumed = await resume(item, executed.record, task, deps);
      return resumed === 'send'
        ? { kind: 'retry', delayMs: 0, attempt: task.attempt, code: 'LEDGER_CONFLICT' }
        : resumed;
    }
    case 'failed':
      if (executed.code === 'THROTTLED') return { kind: 'throttled', retryAfterMs: executed.retryAfterMs };
      // The breaker tripped while this item waited: nothing was sent.
      if (executed.code === CREDENTIALS_REJECTED) {
        return finished(item, { status: 'skipped', code: CREDENTIALS_REJECTED, reason: executed.message });
      }
      if (!executed.retryable) {
        return finished(item, { status: 'failed', code: executed.code, reason: executed.message });
      }
      return retryOrFail(item, task.attempt, executed.code, executed.message, deps);
  }
}

/** The lifecycle's dependencies from the step's (the stale-after window is its in-flight horizon). */
function lifecycleDeps(deps: StepDeps): DeletionDeps {
  return {
    client: deps.client,
    ledger: deps.ledger,
    now: deps.now,
    inFlightHorizonMs: deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS,
  };
}

/** Ask upstream again later about a deletion whose outcome is not known yet (same attempt: nothing failed). */
function unresolvedRetry(
  task: z.output<typeof PlannedDeletionTaskSchema>,
  record: DeletionRecord,
  deps: StepDeps,
  code: string,
  retryAfterMs?: number,
): StepResult {
  const elapsed = Math.max(0, deps.now() - record.updated_at);
  const cap = deps.tracking?.capMs ?? 60_000;
  const min = deps.tracking?.minDelayMs ?? 500;
  const delayMs = retryAfterMs ?? Math.max(min, Math.min(cap, elapsed));
  return { kind: 'retry', delayMs, attempt: task.attempt, code };
}

/**
 * The auth breaker's check before any upstream call of an item: a record that is already final keeps its
 * outcome; otherwise, once the sweep's credentials were rejected, the item is skipped CREDENTIALS_REJECTED
 * (an accepted deletion stays recorded as accepted: GET /deletions/{id} or a later sweep follows it). Else the
 * step continues with the breaker's guarded client.
 */
async function guardCredentials(
  item: PlannedItem,
  record: () => Promise<DeletionRecord | undefined>,
  sweepId: string,
  deps: StepDeps,
): Promise<Extract<StepResult, { kind: 'finished' }> | GuardedStep> {
  const breaker = deps.credentialBreakers?.forSweep(sweepId);
  if (breaker === undefined) return { kind: 'go', deps, admit: async () => ({ done: () => {} }) };
  const skipped = (trip: CredentialTrip, accepted: boolean): Extract<StepResult, { kind: 'finished' }> => ({
    kind: 'finished',
    outcome: {
      deletion_id: item.deletion_id,
      status: 'skipped',
      code: CREDENTIALS_REJECTED,
      reason: `${rejectionReason(trip)}${accepted ? ' (the deletion was accepted upstream and is not tracked further)' : ''}`,
    },
  });
  const guarded: GuardedStep = {
    kind: 'go',
    deps: { ...deps, client: breaker.guard(deps.client) },
    admit: async () => {
      const admission = await breaker.admit();
      return admission.trip === undefined
        ? { done: admission.done }
        : { skip: skipped(admission.trip, false), done: admission.done };
    },
  };
  const trip = await breaker.tripped();
  if (trip !== undefined) {
    const existing = await record();
    const final = existing === undefined ? undefined : outcomeOfFinal(item, existing, sweepId);
    if (final !== undefined && existing?.status !== 'failed') return guarded;
    return skipped(trip, existing?.status === 'accepted' || existing?.status === 'running');
  }
  return guarded;
}

/** A step cleared by the breaker: its guarded deps, and the admission to take before sending a DELETE. */
interface GuardedStep {
  readonly kind: 'go';
  readonly deps: StepDeps;
  readonly admit: () => Promise<{ readonly skip?: StepResult; readonly done: () => void }>;
}

/**
 * An existing record: finished → its outcome; accepted/running → track it; requested → a live caller's (skip)
 * unless stale, then released and sent; sent/unknown → upstream is asked (lib/deletions/lifecycle.ts
 * resolveDeletion) and its answer decides: done, tracked, re-armed and sent (only when it proves the DELETE did
 * not happen), or asked again later — never sent again on a guess. 'send' = go ahead.
 */
async function resume(
  item: PlannedItem,
  record: DeletionRecord,
  task: z.output<typeof PlannedDeletionTaskSchema>,
  deps: StepDeps,
): Promise<StepResult | 'send'> {
  const final = outcomeOfFinal(item, record, task.sweep_id);
  if (final !== undefined)
    return record.status === 'failed' && record.error?.permanent !== true ? 'send' : final;
  if (record.status === 'accepted' || record.status === 'running') {
    return { kind: 'track', delayMs: 0, tracking: trackingFrom(record) };
  }
  const staleAfterMs = deps.staleAfterMs ?? DEFAULT_STALE_AFTER_MS;
  try {
    if (record.status === 'requested') {
      if (deps.now() - record.updated_at < staleAfterMs) {
        return finished(item, {
          status: 'skipped',
          code: 'IN_FLIGHT_ELSEWHERE',
          reason: 'another caller holds this deletion (requested)',
        });
      }
      // `requested` always means no DELETE was sent: release it so executeDeletion can claim it again.
      await releaseAbandonedClaim(record, lifecycleDeps(deps));
      return 'send';
    }
    // `sent` or `unknown`: the DELETE may have reached upstream. Ask upstream rather than send it again.
    const resolution = await resolveDeletion(record, {
      ...lifecycleDeps(deps),
      ...(deps.signal ? { signal: deps.signal } : {}),
    });
    switch (resolution.kind) {
      case 'done':
        return outcomeOfFinal(item, resolution.record, task.sweep_id) as StepResult;
      case 'tracking':
        return { kind: 'track', delayMs: 0, tracking: startTracking(deps.now()) };
      case 'not_applied':
        return 'send';
      case 'moved':
      case 'unchanged':
        return { kind: 'retry', delayMs: 0, attempt: task.attempt, code: 'LEDGER_CONFLICT' };
      case 'pending': {
        const error = resolution.error;
        if (error === undefined || error instanceof HuaweiThrottledError) {
          return unresolvedRetry(task, record, deps, 'DELETE_OUTCOME_UNKNOWN', resolution.retryAfterMs);
        }
        // Upstream could not be asked: retried like any failure, and once the attempts are spent the item is
        // reported pending (the record stays unresolved, a rerun asks again) — never failed on a guess.
        const code = (error as { code?: string }).code ?? 'POLL_FAILED';
        const next = retryOrFail(item, task.attempt, code, (error as Error).message, deps);
        if (next.kind !== 'finished') return next;
        return finished(item, {
          status: 'pending',
          code: 'OUTCOME_UNKNOWN',
          reason: `the DELETE's outcome is not known and upstream could not be asked (${code})`,
        });
      }
    }
  } catch (error) {
    if (error instanceof LedgerConflictError)
      return { kind: 'retry', delayMs: 0, attempt: task.attempt, code: error.code };
    throw error;
  }
}

/** One poll of an accepted deletion, recorded in the ledger; finishes it at done/failed/the ceiling. */
export async function pollPlannedDeletion(
  input: TrackDeletionTask,
  plan: PlanLookup,
  stepDeps: StepDeps,
): Promise<StepResult> {
  const task = TrackDeletionTaskSchema.parse(input);
  const item = await plan(task.deletion_id);
  if (item === undefined) {
    return finished(
      { deletion_id: task.deletion_id },
      { status: 'skipped', code: 'NOT_PLANNED', reason: 'not in the sweep plan' },
    );
  }
  const guarded = await guardCredentials(
    item,
    () => stepDeps.ledger.get(task.deletion_id),
    task.sweep_id,
    stepDeps,
  );
  if (guarded.kind === 'finished') return guarded;
  const deps = guarded.deps;
  const deletionDeps = {
    client: deps.client,
    ledger: deps.ledger,
    now: deps.now,
    ...(deps.signal ? { signal: deps.signal } : {}),
  };
  let attempt: PollAttempt;
  let record: DeletionRecord | undefined;
  try {
    const polled = await pollAndRecord(task.deletion_id, deletionDeps);
    record = polled.record;
    const final = outcomeOfFinal(item, record, task.sweep_id);
    if (final !== undefined) return final;
    if (record.status !== 'accepted' && record.status !== 'running') {
      return finished(item, {
        status: 'skipped',
        code: 'IN_FLIGHT_ELSEWHERE',
        reason: `record is ${record.status} while tracking`,
      });
    }
    attempt = {
      ok: true,
      status: { state: 'running', ...(polled.status?.reason ? { reason: polled.status.reason } : {}) },
    };
  } catch (error) {
    if (error instanceof HuaweiThrottledError) {
      return { kind: 'throttled', retryAfterMs: error.retryAfterMs, tracking: task.tracking };
    }
    if (error instanceof LedgerNotFoundError) {
      return finished(item, { status: 'failed', code: error.code, reason: error.message });
    }
    if (error instanceof LedgerConflictError) return { kind: 'track', delayMs: 0, tracking: task.tracking };
    if (deps.signal?.aborted) throw error;
    attempt = { ok: false, error };
  }
  const decision = decideAfterPoll(task.tracking, attempt, deps.now(), deps.tracking);
  if (decision.action === 'poll-again') {
    return { kind: 'track', delayMs: decision.delayMs, tracking: decision.next };
  }
  const code = decision.state === 'timed_out' ? 'TRACKING_TIMEOUT' : (decision.code ?? 'POLL_FAILED');
  const reason = decision.reason ?? decision.state;
  const abandoned = await abandonDeletion(
    task.deletion_id,
    { code, message: reason },
    { ledger: deps.ledger },
  );
  const final = abandoned === undefined ? undefined : outcomeOfFinal(item, abandoned, task.sweep_id);
  return final ?? finished(item, { status: 'failed', code, reason });
}

/**
 * The plan lookup a queued worker uses: the sweep's stored plan, read from the ledger once per sweep id and
 * kept (a stored plan never changes). A sweep the ledger does not know plans nothing, so nothing is deleted.
 */
export function ledgerPlanLookup(ledger: Pick<Ledger, 'getSweep'>): (sweepId: string) => PlanLookup {
  const plans = new Map<string, Promise<Map<string, PlannedItem>>>();
  return (sweepId) => async (deletionId) => {
    let plan = plans.get(sweepId);
    if (plan === undefined) {
      plan = ledger.getSweep(sweepId).then((stored) => {
        if (stored === undefined || stored.sweep.dry_run) {
          plans.delete(sweepId);
          return new Map();
        }
        return new Map(stored.items.map((item) => [item.deletion_id, item]));
      });
      plans.set(sweepId, plan);
      plan.catch(() => plans.delete(sweepId));
    }
    return (await plan).get(deletionId);
  };
}
