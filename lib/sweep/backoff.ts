/**
 * Time for the sweep: exponential backoff with full jitter, deadlines, and an injectable clock.
 *
 * Full jitter (`random() * min(cap, base * 2^attempt)`) spreads retries of many callers that were throttled
 * at the same moment, which plain exponential backoff would send back in lockstep (the AWS Architecture
 * Blog's "Exponential Backoff and Jitter"). A server's Retry-After is honoured as given: the server knows
 * better than our curve when it will accept work again; a deadline bounds the total wait instead.
 *
 * Everything here is pure except `systemClock` and `sleep`, which go through an injected `Clock` so tests
 * can run hours of simulated polling in milliseconds.
 */
import { BUDGETS } from '../budgets.ts';
import { AppError } from '../errors.ts';

/** The time source and timers the sweep uses; inject a manual one in tests. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
});

export interface BackoffOptions {
  /** Upper bound of the first delay (attempt 0), in ms. */
  readonly baseMs: number;
  /** No computed delay exceeds this, in ms (API.md: about 60 s for Huawei throttling). */
  readonly capMs: number;
  /** A uniform random number in [0, 1); injectable for deterministic tests. Default Math.random. */
  readonly random?: () => number;
  /** The server's Retry-After in ms, when it sent one; used as the delay if it is a finite number ≥ 0. */
  readonly retryAfterMs?: number | undefined;
}

/** Defaults for Huawei APIs: first retry within 1 s, never more than 60 s between tries (API.md). */
export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 1_000, capMs: 60_000 });

/** The 30-minute ceiling for tracking an asynchronous deletion (issue 6). */
export const TRACKING_CEILING_MS = BUDGETS.trackingCeilingMs;

function assertNonNegativeFinite(name: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a number, got ${String(value)}`);
  }
  if (!Number.isFinite(value) || value < 0) {
    throw new RangeError(`Expected \`${name}\` to be a finite number ≥ 0, got ${value}`);
  }
}

/** Throws a TypeError/RangeError naming the bad field; used by every caller that accepts backoff options. */
export function validateBackoffOptions(options: BackoffOptions): void {
  assertNonNegativeFinite('baseMs', options.baseMs);
  assertNonNegativeFinite('capMs', options.capMs);
  if (options.capMs < options.baseMs) {
    throw new RangeError(`Expected \`capMs\` (${options.capMs}) to be ≥ \`baseMs\` (${options.baseMs})`);
  }
  if (options.random !== undefined && typeof options.random !== 'function') {
    throw new TypeError('Expected `random` to be a function returning a number in [0, 1)');
  }
}

/**
 * The delay before retry number `attempt` (0 = the first retry), in whole ms:
 * the server's Retry-After when given, otherwise a uniformly random value in [0, min(capMs, baseMs·2^attempt)].
 */
export function nextDelay(attempt: number, options: BackoffOptions): number {
  if (!Number.isInteger(attempt) || attempt < 0) {
    throw new RangeError(`Expected \`attempt\` to be an integer ≥ 0, got ${attempt}`);
  }
  validateBackoffOptions(options);
  const { retryAfterMs } = options;
  if (typeof retryAfterMs === 'number' && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.ceil(retryAfterMs);
  }
  // 2 ** attempt overflows to Infinity for large attempts; min() with the cap keeps the result finite.
  const ceiling = Math.min(options.capMs, options.baseMs * 2 ** attempt);
  const random = options.random ?? Math.random;
  const r = random();
  // Clamp a misbehaving random source instead of producing a negative or over-cap delay.
  const unit = Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0;
  return Math.round(unit * ceiling);
}

/** A point in time after which we stop waiting. */
export interface Deadline {
  readonly startedAtMs: number;
  readonly expiresAtMs: number;
}

export function deadlineFrom(nowMs: number, ceilingMs: number): Deadline {
  assertNonNegativeFinite('nowMs', nowMs);
  assertNonNegativeFinite('ceilingMs', ceilingMs);
  return Object.freeze({ startedAtMs: nowMs, expiresAtMs: nowMs + ceilingMs });
}

/** Milliseconds left before the deadline (0 once it has passed). */
export function remainingMs(deadline: Deadline, nowMs: number): number {
  return Math.max(0, deadline.expiresAtMs - nowMs);
}

export function hasExpired(deadline: Deadline, nowMs: number): boolean {
  return nowMs >= deadline.expiresAtMs;
}

/**
 * The delay to actually wait: `delayMs`, shortened so the wait ends at the deadline at the latest
 * (one last try at the deadline beats giving up early because the next backoff step overshoots).
 */
export function delayWithin(deadline: Deadline, nowMs: number, delayMs: number): number {
  return Math.min(delayMs, remainingMs(deadline, nowMs));
}

export class SleepAbortedError extends AppError {
  override name = 'AbortError';
  readonly code = 'ABORTED';
}

/** Waits `ms` on the given clock; rejects with an AbortError as soon as `signal` aborts. */
export function sleep(ms: number, clock: Clock = systemClock, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new SleepAbortedError('Aborted before the wait started', { cause: signal.reason }));
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(new SleepAbortedError('Aborted while waiting', { cause: signal?.reason }));
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
