/**
 * The closed set of errors the Huawei layer throws. Every upstream response that is not a success becomes
 * one of these through `HuaweiApiError.fromResponse` (one factory, as openai-node's `APIError.generate`).
 * Messages never contain credentials: only the upstream error text, ids and the operation.
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
}

export class HuaweiApiError extends Error {
  override name = 'HuaweiApiError';
  /** Our stable classification, used for HTTP mapping and reports. */
  readonly code: string = 'UPSTREAM_ERROR';
  readonly status: number;
  readonly errorCode: string | undefined;
  readonly errorMessage: string | undefined;
  readonly requestId: string | undefined;
  readonly service: HuaweiService;
  readonly operation: string;
  readonly retryAfterMs: number | undefined;

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

/** No usable response: connection refused/reset, timeout, abort — after retries. */
export class HuaweiNetworkError extends Error {
  override name = 'HuaweiNetworkError';
  readonly code = 'UPSTREAM_NETWORK';
  readonly service: HuaweiService;
  readonly operation: string;
  constructor(context: UpstreamContext, message: string, options?: { cause?: unknown }) {
    super(`${context.operation}: ${message}`, options);
    this.service = context.service;
    this.operation = context.operation;
  }
}

/** The upstream answered 2xx with a body that does not match the schema; the message names the field. */
export class HuaweiResponseShapeError extends Error {
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
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
  readonly code = 'INVALID_REQUEST';
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
  }
}

/** Configuration is missing or wrong (unknown region/service, missing credentials); found at start-up. */
export class ConfigurationError extends Error {
  override name = 'ConfigurationError';
  readonly code = 'CONFIGURATION';
}
