/**
 * One base class for every error this service throws on purpose, and one table that says, per stable `code`,
 * what an HTTP caller sees (status, public code, whether the error's own message is shown, a fixed message
 * otherwise, Retry-After) and whether the failure is worth another try later (the sweep's failure codes and
 * retries read the same entry). lib/http/error-response.ts maps an AppError through this table only.
 */

/** What one error code means to a caller. */
export interface ErrorSpec {
  readonly httpStatus: number;
  /** The code in the HTTP error body when it differs from the internal one (ledger conflicts read CONFLICT). */
  readonly publicCode?: string;
  /** True: the error's own message is written for the caller. False: `message` below is shown instead. */
  readonly expose: boolean;
  /** The fixed message for an unexposed error; `{service}` reads the upper-case Huawei service. */
  readonly message?: string;
  /** Worth trying again later (busy, throttled, transient upstream or ledger trouble, out of time). */
  readonly retryable: boolean;
  /** `upstream`: Retry-After from the error's retryAfterMs (default DEFAULT_RETRY_AFTER_SECONDS); a number: fixed seconds. */
  readonly retryAfter?: 'upstream' | number;
}

/** Retry-After when nobody said how long to wait. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

const client = (httpStatus: number): ErrorSpec => ({ httpStatus, expose: true, retryable: false });
const internal: ErrorSpec = {
  httpStatus: 500,
  publicCode: 'INTERNAL',
  expose: false,
  message: 'Internal error',
  retryable: false,
};

/** The one table. Keys are the `code` of the error classes (lib/huawei, lib/http, lib/ledger, lib/sweep, ...). */
export const ERROR_TABLE = {
  // The HTTP layer's own client errors (lib/http/errors.ts): their messages are written for the caller.
  VALIDATION: client(400),
  BAD_REQUEST: client(400),
  PROJECT_NOT_ALLOWED: client(403),
  CONFLICT: client(409),
  SWEEP_CONFLICT: client(409),
  CIRCUIT_BREAKER: client(409),
  SWEEP_RUNNING: client(409),
  // The review loop (lib/approval/errors.ts): a wrong hash, a changed policy, a second approval, an expired plan.
  PLAN_HASH_MISMATCH: client(409),
  POLICY_CHANGED: client(409),
  ALREADY_APPROVED: client(409),
  NOT_APPROVABLE: client(409),
  APPROVAL_REQUIRED: client(409),
  APPROVAL_EXPIRED: client(410),
  PLAN_NOT_FOUND: client(404),
  UNAUTHENTICATED: client(401),
  // The (service, project) lane is full (lib/sweep/lane-gate.ts): nothing was sent; come back after Retry-After.
  LANE_FULL: { httpStatus: 429, expose: true, retryable: true, retryAfter: 'upstream' },
  INVALID_REQUEST: client(400),
  // Upstream answers (lib/huawei/errors.ts), after the client's own retries.
  NOT_FOUND: {
    httpStatus: 404,
    expose: false,
    message: 'The {service} resource does not exist',
    retryable: false,
  },
  BUSY: {
    httpStatus: 409,
    expose: false,
    message: 'The {service} resource is busy; retry later',
    retryable: true,
  },
  THROTTLED: {
    httpStatus: 429,
    expose: false,
    message: 'Huawei Cloud {service} is throttling requests; retry later',
    retryable: true,
    retryAfter: 'upstream',
  },
  UPSTREAM_AUTH: {
    httpStatus: 502,
    expose: false,
    message: "Huawei Cloud {service} rejected this service's credentials",
    retryable: false,
  },
  UPSTREAM_REJECTED: {
    httpStatus: 422,
    expose: false,
    message: 'Huawei Cloud {service} refused the request',
    retryable: false,
  },
  UPSTREAM_UNAVAILABLE: {
    httpStatus: 502,
    expose: false,
    message: 'Huawei Cloud {service} failed after retries',
    retryable: true,
  },
  UPSTREAM_ERROR: {
    httpStatus: 502,
    expose: false,
    message: 'Huawei Cloud {service} returned an unexpected status',
    retryable: true,
  },
  UPSTREAM_NETWORK: {
    httpStatus: 502,
    expose: false,
    message: 'Huawei Cloud {service} could not be reached',
    retryable: true,
  },
  /** DNS or TLS: a configuration problem (endpoint, region, certificate), not retried. */
  UPSTREAM_UNREACHABLE: {
    httpStatus: 502,
    publicCode: 'UPSTREAM_NETWORK',
    expose: false,
    message: 'Huawei Cloud {service} could not be reached (name resolution or TLS failed)',
    retryable: false,
  },
  UPSTREAM_BAD_RESPONSE: {
    httpStatus: 502,
    expose: false,
    message: 'Huawei Cloud returned a response this service does not understand',
    retryable: false,
  },
  /** The invocation's deadline came with a request in flight: a DELETE may or may not have been applied. */
  UPSTREAM_TIMEOUT: {
    httpStatus: 504,
    expose: false,
    message: 'Huawei Cloud {service} did not answer before this request ran out of time',
    retryable: true,
    retryAfter: 'upstream',
  },
  /** The invocation's deadline came before the next attempt could start or end: nothing more was sent. */
  DEADLINE_EXCEEDED: {
    httpStatus: 503,
    expose: false,
    message: 'This request ran out of time before Huawei Cloud {service} could be asked (again); retry later',
    retryable: true,
    retryAfter: 'upstream',
  },
  CONFIGURATION: {
    httpStatus: 500,
    expose: false,
    message: 'The service is not configured correctly',
    retryable: false,
  },
  BUDGETS: { ...internal, publicCode: 'CONFIGURATION', message: 'The service is not configured correctly' },
  // The ledger (lib/ledger/errors.ts).
  LEDGER_CONFLICT: {
    httpStatus: 409,
    publicCode: 'CONFLICT',
    expose: false,
    message: 'The deletion changed state concurrently; retry the request',
    retryable: true,
  },
  LEDGER_THROTTLED: {
    httpStatus: 503,
    expose: false,
    message: 'The deletion ledger is busy; retry later',
    retryable: true,
    retryAfter: 1,
  },
  LEDGER_UNAVAILABLE: {
    httpStatus: 503,
    expose: false,
    message: 'The deletion ledger is unavailable',
    retryable: true,
  },
  LEDGER_LOCKED: {
    httpStatus: 503,
    publicCode: 'LEDGER_UNAVAILABLE',
    expose: false,
    message: 'The deletion ledger is unavailable',
    retryable: false,
  },
  LEDGER_NOT_FOUND: internal,
  LEDGER_ILLEGAL_TRANSITION: internal,
  // Policies and sweeps: turned into 400/409 by lib/sweep/start.ts where a caller caused them.
  POLICY_INVALID: internal,
  UNKNOWN_TARGET: internal,
  ENQUEUE_FAILED: { ...internal, retryable: true },
  LANE_THROTTLED: { ...internal, retryable: true },
  ABORTED: { ...internal, retryable: true },
  // Record codes of lib/deletions: upstream showed a DELETE was not applied, or its job failed; both retried.
  DELETE_NOT_APPLIED: { ...internal, retryable: true },
  UPSTREAM_DELETION_FAILED: { ...internal, retryable: true },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_TABLE;

/** The table's entry for a code; unknown codes read as internal errors. */
export function errorSpec(code: string): ErrorSpec {
  return Object.hasOwn(ERROR_TABLE, code) ? ERROR_TABLE[code as ErrorCode] : internal;
}

/** True when a failure with this code is worth trying again later (the sweep's retry decision). */
export function isRetryableCode(code: string): boolean {
  return Object.hasOwn(ERROR_TABLE, code) && ERROR_TABLE[code as ErrorCode].retryable;
}

/**
 * The base of every typed error. Subclasses set `code` (a key of ERROR_TABLE) and may add response details;
 * `httpStatus` and `expose` come from the table. `deletionId` is set where an error belongs to a recorded
 * deletion, so the answer names the id to poll.
 */
export abstract class AppError extends Error {
  abstract readonly code: string;
  retryAfterMs: number | undefined;
  deletionId: string | undefined;

  get httpStatus(): number {
    return errorSpec(this.code).httpStatus;
  }

  get expose(): boolean {
    return errorSpec(this.code).expose;
  }

  /** Details a caller may see (never credentials, never internal messages). */
  publicDetails(): Record<string, unknown> | undefined {
    return undefined;
  }

  /** Fills `{service}` in the table's fixed message (Huawei errors name their service). */
  messageParameters(): Record<string, string> {
    return {};
  }
}

/** Marks an error as belonging to a recorded deletion (no-op for foreign errors). Returns the error. */
export function withDeletionId<E>(error: E, deletionId: string): E {
  if (error instanceof AppError && error.deletionId === undefined) error.deletionId = deletionId;
  return error;
}
