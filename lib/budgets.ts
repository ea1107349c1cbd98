/**
 * Every time budget of the service in one place — invocation timeouts, handler margins, the Huawei client's
 * timeouts and retry totals, leases, claim windows, the stale-after window, the tracking ceiling, queue delays —
 * with the relations between them asserted when this module loads (`assertBudgets`): a change that breaks one
 * fails at start-up with a message naming both sides, not as a double DELETE in production.
 *
 * The modules that use a budget re-export it under its old name, so callers keep compiling.
 */
import { AppError } from './errors.ts';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/** The Huawei client's bounds per call (lib/huawei/client.ts). */
export const CLIENT_RETRY = Object.freeze({
  /** Attempts in total, including the first. */
  maxAttempts: 4,
  baseDelayMs: 250,
  /** Cap of one backoff delay, and the longest Retry-After the client waits itself (API.md: about 60 s). */
  maxDelayMs: 60 * SECOND,
  /** No retry is started that would end after this long since the first attempt. */
  maxTotalMs: 120 * SECOND,
});
export const CLIENT_TIMEOUTS = Object.freeze({
  connectMs: 5 * SECOND,
  /** Until the response headers arrive. */
  headersMs: 30 * SECOND,
  /** Idle time between body chunks. */
  bodyMs: 30 * SECOND,
});

/**
 * The longest one client call can take without a deadline: the last retry starts before `maxTotalMs`, then
 * connects, waits for headers and reads the body. A record younger than this may have a live call behind it.
 */
export function clientCallMaxMs(
  retry: { readonly maxTotalMs: number } = CLIENT_RETRY,
  timeouts: {
    readonly connectMs: number;
    readonly headersMs: number;
    readonly bodyMs: number;
  } = CLIENT_TIMEOUTS,
): number {
  return retry.maxTotalMs + timeouts.connectMs + timeouts.headersMs + timeouts.bodyMs;
}

export const BUDGETS = Object.freeze({
  // Invocations (serverless.yml `timeout`; test/budgets.test.ts checks they agree).
  /** The HTTP functions' timeout; API Gateway HTTP APIs give up after 30 s. */
  httpInvocationMs: 29 * SECOND,
  apiGatewayLimitMs: 30 * SECOND,
  /** The delete-worker's timeout. */
  workerInvocationMs: 60 * SECOND,
  /** The sweep's timeout (Lambda's maximum). */
  sweepInvocationMs: 900 * SECOND,
  /** SQS visibility timeout of the sweep queue: AWS advises 6x the worker's timeout. */
  queueVisibilityMs: 360 * SECOND,

  // Handler deadlines: remaining time minus a margin kept for recording the outcome and answering.
  httpMarginMs: 2 * SECOND,
  /** POST /sweeps stops its sweep this long after the start at the latest (API Gateway's limit comes first). */
  sweepHttpBudgetMs: 25 * SECOND,
  sweepHttpMarginMs: 3 * SECOND,
  /** The scheduled sweep stops starting work this long before its end, to write its report. */
  sweepScheduleMarginMs: 30 * SECOND,
  /**
   * No upstream call of a sweep outlives its invocation minus this (the DELETE started just before the stop
   * still gets to finish, and its outcome is recorded). Schedule and POST /sweeps.
   */
  sweepScheduleCallMarginMs: 10 * SECOND,
  sweepHttpCallMarginMs: 1 * SECOND,
  workerMarginMs: 5 * SECOND,
  /** A margin never takes more than this share of what is left (short invocations still get to try). */
  maxMarginShare: 0.2,

  // The client (see CLIENT_RETRY / CLIENT_TIMEOUTS).
  clientCallMaxMs: clientCallMaxMs(),

  // Deletions and the ledger.
  /** A `requested`/`sent` record untouched this long was left by a crash (lib/sweep/step.ts). */
  staleAfterMs: 10 * MINUTE,
  /** How long a finished deletion blocks a new one for the same target (lib/ledger/ledger.ts). */
  idempotencyWindowMs: 24 * 60 * MINUTE,
  /** First poll of an accepted deletion (lib/deletions/execute.ts). */
  firstPollDelayMs: 5 * SECOND,
  /** The ceiling for tracking an asynchronous deletion (lib/sweep/backoff.ts). */
  trackingCeilingMs: 30 * MINUTE,
  /** Longest wait between two polls of one deletion (lib/sweep/tracker.ts). */
  trackingPollCapMs: 60 * SECOND,
  /** Sweep-level retries of one item (lib/sweep/step.ts). */
  itemMaxAttempts: 8,
  itemBusyDelayMs: 30 * SECOND,
  itemBackoffCapMs: 60 * SECOND,

  // Lanes and the queue.
  /** A lane slot's lease in queued mode (lib/sweep/queued/worker.ts). */
  laneLeaseMs: 5 * MINUTE,
  /** One step's claim of a message hop, against duplicate SQS deliveries (lib/sweep/queued/worker.ts). */
  hopClaimMs: 20 * MINUTE,
  /** When no slot is free, a queued item tries again after about this long (lib/sweep/queued/semaphore.ts). */
  slotWaitMs: 2 * SECOND,
  inFlightRecheckMs: 60 * SECOND,
  queuedThrottlePauseMs: 2 * SECOND,
  inlineThrottlePauseMs: 1 * SECOND,
  /** SQS's longest message delay (DelaySeconds ≤ 900). */
  queueMaxDelayMs: 900 * SECOND,

  // The DynamoDB ledger's calls (lib/ledger/dynamodb.ts documentClient): each attempt is cut after
  // ledgerRequestTimeoutMs and a call makes at most ledgerMaxAttempts attempts, so a ledger write started when a
  // handler's deadline fires still ends inside the handler's margin (DynamoDB answers in milliseconds).
  ledgerRequestTimeoutMs: 800,
  ledgerMaxAttempts: 2,

  // The sweep outcome notice (lib/notify/index.ts snsPublisher): sent after the report is stored, inside the
  // same margins, so each SNS attempt is cut after notifyRequestTimeoutMs, a Publish makes at most
  // notifyMaxAttempts attempts, and the whole Publish is abandoned after notifyPublishMaxMs — a hanging SNS
  // endpoint costs the notice, never the invocation's deadline.
  notifyRequestTimeoutMs: 800,
  notifyMaxAttempts: 2,
  notifyPublishMaxMs: 2 * SECOND,
});

/** The SDK's backoff between two attempts stays under this (standard retry mode: base 100 ms). */
const SDK_BACKOFF_MS = 200;

export type Budgets = { readonly [K in keyof typeof BUDGETS]: number };

/** A relation between budgets that does not hold; found at start-up. */
export class BudgetViolationError extends AppError {
  override name = 'BudgetViolationError';
  readonly code = 'BUDGETS';
  readonly violations: readonly string[];
  constructor(violations: readonly string[]) {
    super(`inconsistent time budgets (lib/budgets.ts):\n${violations.map((v) => `  - ${v}`).join('\n')}`);
    this.violations = violations;
  }
}

interface Relation {
  readonly holds: (b: Budgets) => boolean;
  readonly says: (b: Budgets) => string;
}

const ms = (value: number) => `${value} ms`;
/** The longest one ledger call takes (its attempts, each cut after its timeout, and the backoff between). */
const ledgerWriteMaxMs = (b: Budgets) => b.ledgerMaxAttempts * b.ledgerRequestTimeoutMs + SDK_BACKOFF_MS;
const greater = (
  left: keyof Budgets,
  right: keyof Budgets | ((b: Budgets) => number),
  why: string,
  rightName = typeof right === 'string' ? right : 'the bound',
): Relation => {
  const value = (b: Budgets) => (typeof right === 'string' ? b[right] : right(b));
  return {
    holds: (b) => b[left] > value(b),
    says: (b) => `${left} (${ms(b[left])}) must exceed ${rightName} (${ms(value(b))}): ${why}`,
  };
};

/** The relations the at-most-once and deadline promises rest on. */
export const RELATIONS: readonly Relation[] = [
  greater(
    'staleAfterMs',
    'clientCallMaxMs',
    'a record younger than the longest client call may still have a live DELETE behind it',
  ),
  greater(
    'clientCallMaxMs',
    'httpInvocationMs',
    'the HTTP invocation ends first, so the handler must hand its deadline to the client',
  ),
  greater(
    'apiGatewayLimitMs',
    'httpInvocationMs',
    'the function must answer before API Gateway gives up',
    'apiGatewayLimitMs',
  ),
  greater(
    'httpInvocationMs',
    (b) => b.httpMarginMs,
    'the margin is kept back from the invocation, so it must be shorter',
    'httpMarginMs',
  ),
  greater(
    'apiGatewayLimitMs',
    (b) => b.sweepHttpBudgetMs + b.sweepHttpMarginMs,
    'POST /sweeps must stop and answer before API Gateway gives up',
    'sweepHttpBudgetMs + sweepHttpMarginMs',
  ),
  greater(
    'sweepInvocationMs',
    (b) => b.sweepScheduleMarginMs,
    'the scheduled sweep keeps its margin out of its own invocation',
    'sweepScheduleMarginMs',
  ),
  greater(
    'sweepScheduleMarginMs',
    'sweepScheduleCallMarginMs',
    'a call started before the scheduled sweep stops must be allowed to end',
  ),
  greater(
    'sweepHttpMarginMs',
    'sweepHttpCallMarginMs',
    'a call started before POST /sweeps stops must be allowed to end',
  ),
  greater(
    'workerInvocationMs',
    (b) => b.workerMarginMs,
    'the worker keeps its margin out of its own invocation',
    'workerMarginMs',
  ),
  greater(
    'laneLeaseMs',
    'workerInvocationMs',
    'a lane slot must outlive the longest step holding it, or a sixth CSBS deletion could start',
  ),
  greater(
    'queueVisibilityMs',
    'workerInvocationMs',
    'a message must stay invisible while a worker still runs its step',
  ),
  greater('hopClaimMs', 'queueVisibilityMs', 'a redelivered message must still find its hop claimed'),
  greater(
    'trackingCeilingMs',
    (b) => b.firstPollDelayMs + b.trackingPollCapMs,
    'tracking must allow at least one poll',
    'firstPollDelayMs + trackingPollCapMs',
  ),
  greater(
    'idempotencyWindowMs',
    'trackingCeilingMs',
    'a repeated request while a deletion is still tracked must find it',
  ),
  greater(
    'queueMaxDelayMs',
    (b) => Math.max(b.slotWaitMs, b.inFlightRecheckMs, b.queuedThrottlePauseMs, b.itemBackoffCapMs),
    'every queued wait must fit in one SQS delay',
    'the longest queued wait',
  ),
  greater(
    'httpMarginMs',
    (b) => ledgerWriteMaxMs(b),
    'a ledger write started at the deadline must end before the invocation does',
    'ledgerMaxAttempts x ledgerRequestTimeoutMs + backoff',
  ),
  greater(
    'notifyPublishMaxMs',
    (b) => b.notifyMaxAttempts * b.notifyRequestTimeoutMs + SDK_BACKOFF_MS,
    "a Publish's own attempts must fit in its bound, or the bound cuts a retry that would have answered",
    'notifyMaxAttempts x notifyRequestTimeoutMs + backoff',
  ),
  greater(
    'sweepScheduleCallMarginMs',
    (b) => ledgerWriteMaxMs(b) + b.notifyPublishMaxMs,
    "the scheduled sweep stores its report and then publishes its notice after its last call's end",
    'a ledger write + notifyPublishMaxMs',
  ),
  greater(
    'httpInvocationMs',
    (b) => b.sweepHttpBudgetMs + ledgerWriteMaxMs(b) + b.notifyPublishMaxMs,
    'POST /sweeps and its approval store the report and publish the notice after the sweep stops, before the invocation ends (a call still running past the stop cuts the notice at the call deadline)',
    'sweepHttpBudgetMs + a ledger write + notifyPublishMaxMs',
  ),
  greater(
    'workerMarginMs',
    (b) => ledgerWriteMaxMs(b) + b.notifyPublishMaxMs,
    'the worker finishing a queued sweep stores its report and publishes its notice inside its margin',
    'a ledger write + notifyPublishMaxMs',
  ),
  {
    holds: (b) => b.maxMarginShare > 0 && b.maxMarginShare < 1,
    says: (b) => `maxMarginShare (${b.maxMarginShare}) must be in (0, 1)`,
  },
];

/** The relations `budgets` violates, in words (empty when consistent). */
export function budgetViolations(budgets: Budgets): string[] {
  return RELATIONS.filter((relation) => !relation.holds(budgets)).map((relation) => relation.says(budgets));
}

/** Throws BudgetViolationError naming every violated relation. */
export function assertBudgets(budgets: Budgets): void {
  const violations = budgetViolations(budgets);
  if (violations.length > 0) throw new BudgetViolationError(violations);
}

assertBudgets(BUDGETS);
