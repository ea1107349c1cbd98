/**
 * Tracking asynchronous deletions (CSBS, CBR, DDS) to completion: poll with backoff until the deletion is
 * done, has failed, or the 30-minute ceiling passes.
 *
 * The decision after each poll is a pure function, `decideAfterPoll(state, attempt, now, policy)`, so both
 * fan-out modes share one code path: inline, `trackDeletions` loops poll → decide → sleep in this process;
 * queued, a worker polls once, decides, and re-sends the tracking message with the returned delay (SQS
 * DelaySeconds) instead of sleeping in a Lambda. Polls run in the same lanes as deletions, so a project's
 * polls respect its concurrency limit and its throttling.
 */
import { z } from 'zod';
import { BUDGETS } from '../budgets.ts';
import {
  type Clock,
  deadlineFrom,
  delayWithin,
  hasExpired,
  nextDelay,
  sleep,
  systemClock,
  TRACKING_CEILING_MS,
  validateBackoffOptions,
} from './backoff.ts';
import { LaneScheduler, type LaneSchedulerOptions } from './lanes.ts';

/** What one poll of a deletion reports. `retryAfterMs`: the server asked us to wait this long. */
export const PollStatusSchema = z.object({
  state: z.enum(['running', 'done', 'failed']),
  reason: z.string().optional(),
  retryAfterMs: z.number().nonnegative().optional(),
});
export type PollStatus = z.infer<typeof PollStatusSchema>;

/** The final word on one tracked deletion, as it goes into the report and the ledger. */
export const TrackingOutcomeSchema = z.object({
  id: z.string(),
  lane: z.string(),
  state: z.enum(['done', 'failed', 'timed_out', 'aborted']),
  reason: z.string().optional(),
  /** The stable `code` of the error that ended tracking, when one did (e.g. UPSTREAM_AUTH). */
  code: z.string().optional(),
  polls: z.int().nonnegative(),
  /** From the deletion's acceptance to the final poll. */
  elapsedMs: z.number().nonnegative(),
});
export type TrackingOutcome = z.infer<typeof TrackingOutcomeSchema>;

/** Where tracking of one deletion stands between polls (what a queued tracking message carries). */
export const TrackingStateSchema = z.object({
  acceptedAtMs: z.number().nonnegative(),
  polls: z.int().nonnegative(),
  consecutiveErrors: z.int().nonnegative(),
});
export type TrackingState = z.infer<typeof TrackingStateSchema>;

export type PollAttempt =
  | { readonly ok: true; readonly status: PollStatus }
  | { readonly ok: false; readonly error: unknown };

export type TrackingDecision =
  | {
      readonly action: 'finish';
      readonly state: 'done' | 'failed' | 'timed_out';
      readonly reason?: string;
      readonly code?: string;
      readonly next: TrackingState;
    }
  | { readonly action: 'poll-again'; readonly delayMs: number; readonly next: TrackingState };

export interface TrackingPolicy {
  /** Give up (timed_out) once this long has passed since the deletion was accepted. Default 30 min. */
  readonly ceilingMs?: number;
  /** Poll backoff: full jitter below min(capMs, baseMs·2^poll). Defaults 2 s and 60 s. */
  readonly baseMs?: number;
  readonly capMs?: number;
  /** Never poll again sooner than this (full jitter can draw 0). Default 500 ms. */
  readonly minDelayMs?: number;
  /** Failed polls in a row before the deletion is reported failed. Default 5. */
  readonly maxConsecutiveErrors?: number;
  /** Whether a poll error is worth retrying (default: every error, bounded by maxConsecutiveErrors). */
  readonly isRetryable?: (error: unknown) => boolean;
  readonly random?: () => number;
}

const DEFAULT_POLICY = {
  ceilingMs: TRACKING_CEILING_MS,
  baseMs: 2_000,
  capMs: BUDGETS.trackingPollCapMs,
  minDelayMs: 500,
  maxConsecutiveErrors: 5,
} as const;

function resolvePolicy(policy: TrackingPolicy) {
  const resolved = {
    ceilingMs: policy.ceilingMs ?? DEFAULT_POLICY.ceilingMs,
    baseMs: policy.baseMs ?? DEFAULT_POLICY.baseMs,
    capMs: policy.capMs ?? DEFAULT_POLICY.capMs,
    minDelayMs: policy.minDelayMs ?? DEFAULT_POLICY.minDelayMs,
    maxConsecutiveErrors: policy.maxConsecutiveErrors ?? DEFAULT_POLICY.maxConsecutiveErrors,
    isRetryable: policy.isRetryable ?? (() => true),
    random: policy.random ?? Math.random,
  };
  validateBackoffOptions(resolved);
  for (const [name, value] of [
    ['ceilingMs', resolved.ceilingMs],
    ['minDelayMs', resolved.minDelayMs],
  ] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`Expected \`${name}\` to be a finite number ≥ 0, got ${String(value)}`);
    }
  }
  if (!Number.isInteger(resolved.maxConsecutiveErrors) || resolved.maxConsecutiveErrors < 1) {
    throw new RangeError(
      `Expected \`maxConsecutiveErrors\` to be an integer ≥ 1, got ${String(resolved.maxConsecutiveErrors)}`,
    );
  }
  return resolved;
}

function describeError(error: unknown): { reason: string; code?: string } {
  const reason = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? { reason, code } : { reason };
}

function retryAfterOf(error: unknown): number | undefined {
  const value = (error as { retryAfterMs?: unknown } | null)?.retryAfterMs;
  return typeof value === 'number' ? value : undefined;
}

/** The first tracking state of a deletion accepted at `acceptedAtMs`. */
export function startTracking(acceptedAtMs: number): TrackingState {
  return { acceptedAtMs, polls: 0, consecutiveErrors: 0 };
}

/**
 * What to do after a poll: finish (done / failed / timed_out) or poll again after `delayMs`. The wait never
 * runs past the ceiling, so the last poll happens at the ceiling itself; a deletion still running then (or
 * already past it, e.g. when a rerun resumes old work) is timed_out after that one poll.
 */
export function decideAfterPoll(
  state: TrackingState,
  attempt: PollAttempt,
  nowMs: number,
  policy: TrackingPolicy = {},
): TrackingDecision {
  const resolved = resolvePolicy(policy);
  const polls = state.polls + 1;
  if (attempt.ok) {
    const next = { acceptedAtMs: state.acceptedAtMs, polls, consecutiveErrors: 0 };
    if (attempt.status.state === 'done') return { action: 'finish', state: 'done', next };
    if (attempt.status.state === 'failed') {
      return {
        action: 'finish',
        state: 'failed',
        reason: attempt.status.reason ?? 'deletion failed upstream',
        next,
      };
    }
  }
  const consecutiveErrors = attempt.ok ? 0 : state.consecutiveErrors + 1;
  const next = { acceptedAtMs: state.acceptedAtMs, polls, consecutiveErrors };
  if (!attempt.ok) {
    const retryable = resolved.isRetryable(attempt.error);
    if (!retryable || consecutiveErrors >= resolved.maxConsecutiveErrors) {
      const { reason, code } = describeError(attempt.error);
      const prefix = retryable ? `poll failed ${consecutiveErrors} times in a row` : 'poll failed';
      return {
        action: 'finish',
        state: 'failed',
        reason: `${prefix}: ${reason}`,
        ...(code ? { code } : {}),
        next,
      };
    }
  }
  const deadline = deadlineFrom(state.acceptedAtMs, resolved.ceilingMs);
  if (hasExpired(deadline, nowMs)) {
    return {
      action: 'finish',
      state: 'timed_out',
      reason: `still running after ${Math.round(resolved.ceilingMs / 1000)} s`,
      next,
    };
  }
  const retryAfterMs = attempt.ok ? attempt.status.retryAfterMs : retryAfterOf(attempt.error);
  const backoff = nextDelay(Math.min(polls - 1, 30), { ...resolved, retryAfterMs });
  const delayMs = delayWithin(deadline, nowMs, Math.max(resolved.minDelayMs, backoff));
  return { action: 'poll-again', delayMs, next };
}

/** One asynchronous deletion to track. */
export interface TrackedDeletion {
  readonly id: string;
  /** The lane of its (service, project), e.g. `laneKey('csbs', projectId)`. */
  readonly lane: string;
  /** When the upstream accepted the deletion (epoch ms); the ceiling counts from here. Default: now. */
  readonly acceptedAtMs?: number;
  poll(context: { readonly signal: AbortSignal }): Promise<PollStatus>;
}

export interface TrackDeletionsOptions extends TrackingPolicy {
  /** Poll in these lanes (share the fan-out's scheduler to share its limits and throttling). */
  readonly scheduler?: LaneScheduler;
  /** Without a scheduler: the lane options for a new one (limitOf required). */
  readonly lanes?: Omit<LaneSchedulerOptions, 'clock' | 'signal'>;
  readonly clock?: Clock;
  readonly signal?: AbortSignal;
  /** Progress hook, called after every poll. Must not throw. */
  readonly onPoll?: (id: string, attempt: PollAttempt) => void;
}

/** Polls every deletion to its end, in lanes, with backoff; one outcome per item, in input order. */
export async function trackDeletions(
  items: readonly TrackedDeletion[],
  options: TrackDeletionsOptions,
): Promise<TrackingOutcome[]> {
  resolvePolicy(options);
  const clock = options.clock ?? systemClock;
  const signal = options.signal ?? new AbortController().signal;
  let scheduler = options.scheduler;
  const ownScheduler = scheduler === undefined;
  if (!scheduler) {
    if (!options.lanes) throw new TypeError('Expected `scheduler` or `lanes` (with limitOf)');
    scheduler = new LaneScheduler({ ...options.lanes, clock, signal });
  }
  const lanes = scheduler;
  try {
    return await Promise.all(items.map((item) => trackOne(item, lanes, clock, signal, options)));
  } finally {
    if (ownScheduler) lanes.dispose();
  }
}

async function trackOne(
  item: TrackedDeletion,
  scheduler: LaneScheduler,
  clock: Clock,
  signal: AbortSignal,
  options: TrackDeletionsOptions,
): Promise<TrackingOutcome> {
  let state = startTracking(item.acceptedAtMs ?? clock.now());
  const outcome = (
    final: Pick<TrackingOutcome, 'state' | 'reason' | 'code'>,
    polls: number,
  ): TrackingOutcome => ({
    id: item.id,
    lane: item.lane,
    state: final.state,
    ...(final.reason !== undefined ? { reason: final.reason } : {}),
    ...(final.code !== undefined ? { code: final.code } : {}),
    polls,
    elapsedMs: Math.max(0, clock.now() - state.acceptedAtMs),
  });
  const aborted = () => outcome({ state: 'aborted', reason: 'tracking aborted' }, state.polls);
  for (;;) {
    if (signal.aborted) return aborted();
    let attempt: PollAttempt;
    try {
      const raw = await scheduler.schedule(item.lane, ({ signal: laneSignal }) =>
        item.poll({ signal: laneSignal }),
      );
      const parsed = PollStatusSchema.safeParse(raw);
      attempt = parsed.success
        ? { ok: true, status: parsed.data }
        : { ok: false, error: new TypeError(`poll returned an invalid status: ${parsed.error.message}`) };
    } catch (error) {
      attempt = { ok: false, error };
    }
    if (signal.aborted) return aborted();
    try {
      options.onPoll?.(item.id, attempt);
    } catch {
      // A progress printer must not stop tracking.
    }
    const decision = decideAfterPoll(state, attempt, clock.now(), options);
    state = decision.next;
    if (decision.action === 'finish') {
      return outcome({ state: decision.state, reason: decision.reason, code: decision.code }, state.polls);
    }
    try {
      await sleep(decision.delayMs, clock, signal);
    } catch {
      return aborted();
    }
  }
}
