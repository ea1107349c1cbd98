import { AppError } from '../errors.ts';

/**
 * The closed set of errors the Huawei layer throws. Every upstream response that is not a success becomes
 * one of these through `HuaweiApiError.fromResponse` (one factory, as openai-node's `APIError.generate`).
 * Messages never contain credentials: only the upstream error text, ids and the operation. Each extends
 * AppError: its `code` is a key of lib/errors.ts's ERROR_TABLE, which gives its HTTP status and message.
 *
 * `outcomeUnknown: true` marks a non-idempotent call (a DELETE) that may have been applied although no success
 * came back: the request was written and then the connection broke, timed out or answered 5xx. Such a call is
 * never repeated by the client; whoever owns the deletion must ask upstream before sending it again.
 */

export type HuaweiService = 'csbs' | 'cbr' | 'dds' | 'dis' | 'iam';

export interface UpstreamContext {
  readonly service: HuaweiService;
  /** Stable operation name, e.g. `csbs.deleteCheckpoint`. */
  readonly operation: string;
}

/** Codes that mean "the thing to delete is already gone". */
export const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['CSBS.3001', 'DBS.201502', 'DBS.201214']);
/**
 * Codes that mean "busy, try later" (a backup is being created or another task holds the resource).
 * DBS.200019 ("other operations are in progress") comes with HTTP 403 from the DB services; the Terraform
 * providers retry it, so it must not read as an authorisation failure.
 */
export const BUSY_CODES: ReadonlySet<string> = new Set(['CSBS.2003', 'DBS.200019']);
export const THROTTLED_CODES: ReadonlySet<string> = new Set(['APIG.0308']);

export interface HuaweiApiErrorInit extends UpstreamContext {
  readonly status: number;
  readonly errorCode?: string | undefined;
  readonly errorMessage?: string | undefined;
  readonly requestId?: string | undefined;
  readonly retryAfterMs?: number | undefined;
  /** See the module comment; set by the client for a DELETE answered 5xx. */
  readonly outcomeUnknown?: boolean | undefined;
}

export class HuaweiApiError extends AppError {
  override name = 'HuaweiApiError';
  /** Our stable classification, used for HTTP mapping and reports. */
  readonly code: string = 'UPSTREAM_ERROR';
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly service: HuaweiService;
  readonly operation: string;
  readonly outcomeUnknown: boolean;

  constructor(init: HuaweiApiErrorInit, options?: { cause?: unknown }) {
    const upstream = init.errorCode
      ? `${init.errorCode}: ${init.errorMessage ?? ''}`.trim()
      : (init.errorMessage ?? '');
    super(`${init.operation} failed with HTTP ${init.status}${upstream ? ` (${upstream})` : ''}`, options);
    this.status = init.status;
    this.errorCode = init.errorCode;
    this.errorMessage = init.errorMessage;
    this.requestId = init.requestId;
    this.service = init.service;
    this.operation = init.operation;
    this.retryAfterMs = init.retryAfterMs;
    this.outcomeUnknown = init.outcomeUnknown === true;
  }

  override publicDetails(): Record<string, unknown> {
    return {
      service: this.service,
      ...(this.errorCode === undefined ? {} : { upstream_code: this.errorCode }),
      ...(this.outcomeUnknown ? { outcome_unknown: true } : {}),
    };
  }

  override messageParameters(): Record<string, string> {
    return { service: this.service.toUpperCase() };
  }

  /** Turns a non-success upstream response into the matching typed error. */
  static fromResponse(init: HuaweiApiErrorInit): HuaweiApiError {
    const code = init.errorCode ?? '';
    if (init.status === 404 || NOT_FOUND_CODES.has(code)) return new HuaweiNotFoundError(init);
    if (init.status === 429 || THROTTLED_CODES.has(code)) return new HuaweiThrottledError(init);
    if (init.status === 409 || BUSY_CODES.has(code)) return new HuaweiBusyError(init);
    if (init.status === 401 || init.status === 403) return new HuaweiAuthError(init);
    if (init.status >= 500) return new HuaweiServerError(init);
    if (init.status >= 400) return new HuaweiBadRequestError(init);
    return new HuaweiApiError(init);
  }
}

/** The resource does not exist (any more): for a delete, "already gone". */
export class HuaweiNotFoundError extends HuaweiApiError {
  override name = 'HuaweiNotFoundError';
  override readonly code = 'NOT_FOUND';
}

/** The resource is busy (e.g. a backup is being created): retry later, not now. */
export class HuaweiBusyError extends HuaweiApiError {
  override name = 'HuaweiBusyError';
  override readonly code = 'BUSY';
}

/** Throttled (429 / APIG.0308) after the client's own retries. */
export class HuaweiThrottledError extends HuaweiApiError {
  override name = 'HuaweiThrottledError';
  override readonly code = 'THROTTLED';
}

/** 401/403: the credentials are wrong or lack permission. Never retried (five failures lock the AK). */
export class HuaweiAuthError extends HuaweiApiError {
  override name = 'HuaweiAuthError';
  override readonly code = 'UPSTREAM_AUTH';

  /** Nothing about the credentials or the upstream's words about them. */
  override publicDetails(): Record<string, unknown> {
    return { service: this.service };
  }
}

/** Any other 4xx: the request was refused (e.g. CBR 6201 "cannot be deleted"). Never retried. */
export class HuaweiBadRequestError extends HuaweiApiError {
  override name = 'HuaweiBadRequestError';
  override readonly code = 'UPSTREAM_REJECTED';
}

/** 5xx after the client's own retries. */
export class HuaweiServerError extends HuaweiApiError {
  override name = 'HuaweiServerError';
  override readonly code = 'UPSTREAM_UNAVAILABLE';
}

export interface NetworkErrorInit {
  /** The request (or a part of it) was written, so a non-idempotent call may have been applied. */
  readonly outcomeUnknown?: boolean | undefined;
  readonly retryAfterMs?: number | undefined;
  readonly cause?: unknown;
}

/** No usable response: connection refused/reset, timeout, abort — after retries. */
export class HuaweiNetworkError extends AppError {
  override name = 'HuaweiNetworkError';
  readonly code: string = 'UPSTREAM_NETWORK';
  readonly service: HuaweiService;
  readonly operation: string;
  readonly outcomeUnknown: boolean;
  constructor(context: UpstreamContext, message: string, options?: NetworkErrorInit) {
    super(
      `${context.operation}: ${message}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.service = context.service;
    this.operation = context.operation;
    this.outcomeUnknown = options?.outcomeUnknown === true;
    this.retryAfterMs = options?.retryAfterMs;
  }

  override publicDetails(): Record<string, unknown> {
    return { service: this.service, ...(this.outcomeUnknown ? { outcome_unknown: true } : {}) };
  }

  override messageParameters(): Record<string, string> {
    return { service: this.service.toUpperCase() };
  }
}

/**
 * The endpoint's name did not resolve (ENOTFOUND, EAI_AGAIN) or its TLS handshake failed: a wrong endpoint,
 * region or certificate, which a retry does not fix. Nothing was sent. The message names host, service, region.
 */
export class HuaweiUnreachableError extends HuaweiNetworkError {
  override name = 'HuaweiUnreachableError';
  override readonly code = 'UPSTREAM_UNREACHABLE';
}

/**
 * The caller's deadline (the Lambda invocation's remaining time minus a margin) came first. `inFlight`: a
 * request was on the wire when it came (504 UPSTREAM_TIMEOUT; for a DELETE the outcome is unknown); otherwise
 * the next attempt or a Retry-After wait did not fit and nothing more was sent (503 DEADLINE_EXCEEDED).
 */
export class HuaweiDeadlineError extends HuaweiNetworkError {
  override name = 'HuaweiDeadlineError';
  override readonly code: 'UPSTREAM_TIMEOUT' | 'DEADLINE_EXCEEDED';
  readonly inFlight: boolean;
  constructor(
    context: UpstreamContext,
    message: string,
    options: NetworkErrorInit & { readonly inFlight: boolean },
  ) {
    super(context, message, options);
    this.inFlight = options.inFlight;
    this.code = options.inFlight ? 'UPSTREAM_TIMEOUT' : 'DEADLINE_EXCEEDED';
  }
}

/** The upstream answered 2xx with a body that does not match the schema; the message names the field. */
export class HuaweiResponseShapeError extends AppError {
  override name = 'HuaweiResponseShapeError';
  readonly code = 'UPSTREAM_BAD_RESPONSE';
  readonly requestId: string | undefined;
  readonly service: HuaweiService;
  readonly operation: string;
  constructor(
    context: UpstreamContext,
    detail: string,
    requestId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${context.operation}: unexpected response: ${detail}`, options);
    this.requestId = requestId;
    this.service = context.service;
    this.operation = context.operation;
  }
}

/** A caller-supplied value (an id that goes into a URL path, a query value) is invalid; nothing was sent. */
export class InvalidRequestError extends AppError {
  override name = 'InvalidRequestError';
  readonly code = 'INVALID_REQUEST';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }

  override publicDetails(): Record<string, unknown> {
    return { field: this.field };
  }
}

/** Configuration is missing or wrong (unknown region/service, missing credentials); found at start-up. */
export class ConfigurationError extends AppError {
  override name = 'ConfigurationError';
  readonly code = 'CONFIGURATION';
}
