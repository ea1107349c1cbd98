/**
 * Deadlines as AbortSignals that know when they fire. A handler derives one from the Lambda context
 * (`getRemainingTimeInMillis()` minus a margin) and passes the signal down as it passes any signal; the Huawei
 * client, the lanes and the tracker read `deadlineOf(signal)` to decide whether a retry or a wait still fits,
 * and abort at the deadline anyway. A signal without a registered deadline behaves as a plain signal.
 */

import { BUDGETS } from './budgets.ts';

const deadlines = new WeakMap<AbortSignal, number>();

/** Registers `atMs` (epoch ms on the clock the readers use, Date.now by default) as `signal`'s deadline. */
export function withDeadline<S extends AbortSignal>(signal: S, atMs: number): S {
  const known = deadlines.get(signal);
  deadlines.set(signal, known === undefined ? atMs : Math.min(known, atMs));
  return signal;
}

/** The deadline `signal` carries (epoch ms), if any. */
export function deadlineOf(signal: AbortSignal | undefined): number | undefined {
  return signal === undefined ? undefined : deadlines.get(signal);
}

/** Milliseconds left before `signal`'s deadline (Infinity without one, 0 once aborted). */
export function remainingMs(signal: AbortSignal | undefined, nowMs: number): number {
  if (signal?.aborted) return 0;
  const at = deadlineOf(signal);
  return at === undefined ? Number.POSITIVE_INFINITY : Math.max(0, at - nowMs);
}

/** A signal that fires at `atMs` (real timers) and carries that deadline. */
export function deadlineAt(atMs: number, now: () => number = Date.now): AbortSignal {
  return withDeadline(AbortSignal.timeout(Math.max(0, Math.ceil(atMs - now()))), atMs);
}

/** Aborts when any of `signals` does; carries the earliest of their deadlines. */
export function anySignal(...signals: readonly (AbortSignal | undefined)[]): AbortSignal | undefined {
  const present = signals.filter((signal): signal is AbortSignal => signal !== undefined);
  if (present.length <= 1) return present[0];
  const combined = AbortSignal.any(present);
  const at = present
    .map((signal) => deadlineOf(signal))
    .filter((value): value is number => value !== undefined);
  return at.length === 0 ? combined : withDeadline(combined, Math.min(...at));
}

export interface LambdaContextLike {
  getRemainingTimeInMillis?: () => number;
}

export interface ContextDeadlineOptions {
  /** Kept back for recording the outcome and answering; at most `maxMarginShare` of the remaining time. */
  readonly marginMs: number;
  /** The margin never takes more than this share of what is left (a short invocation still gets to try). */
  readonly maxMarginShare?: number;
  /** Never later than this long from now (e.g. API Gateway's own 30 s limit). */
  readonly capMs?: number;
  readonly now?: () => number;
}

/**
 * The handler's deadline: `remaining - margin` (the margin capped at a share of `remaining`), at most `capMs`.
 * Without a context that knows its remaining time, only the cap applies (undefined without one).
 */
export function deadlineFromContext(
  context: LambdaContextLike | undefined,
  options: ContextDeadlineOptions,
): AbortSignal | undefined {
  const now = options.now ?? Date.now;
  const cap = options.capMs ?? Number.POSITIVE_INFINITY;
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining === undefined || !Number.isFinite(remaining)) {
    return Number.isFinite(cap) ? deadlineAt(now() + cap, now) : undefined;
  }
  const share = options.maxMarginShare ?? 0.2;
  const margin = Math.min(options.marginMs, Math.max(0, remaining) * share);
  return deadlineAt(now() + Math.max(0, Math.min(cap, remaining - margin)), now);
}

/** The HTTP functions' deadline: their remaining time minus BUDGETS.httpMarginMs, within API Gateway's limit. */
export function httpDeadline(context: LambdaContextLike | undefined): AbortSignal | undefined {
  return deadlineFromContext(context, {
    marginMs: BUDGETS.httpMarginMs,
    maxMarginShare: BUDGETS.maxMarginShare,
    capMs: BUDGETS.apiGatewayLimitMs - BUDGETS.httpMarginMs,
  });
}

/** The delete-worker's deadline: its remaining time minus BUDGETS.workerMarginMs. */
export function workerDeadline(context: LambdaContextLike | undefined): AbortSignal | undefined {
  return deadlineFromContext(context, {
    marginMs: BUDGETS.workerMarginMs,
    maxMarginShare: BUDGETS.maxMarginShare,
    capMs: BUDGETS.workerInvocationMs - BUDGETS.workerMarginMs,
  });
}
