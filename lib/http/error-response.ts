/**
 * The one place every error becomes an HTTP response: `{"error": {"code", "message", "details"?, "request_id"}}`.
 * Only client errors (4xx) expose their own message; upstream and internal failures get a fixed message per
 * code, and unknown errors get a generic one — never the internal message, never a serialised error.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ZodError, z } from 'zod';
import {
  ConfigurationError,
  HuaweiApiError,
  HuaweiAuthError,
  HuaweiBadRequestError,
  HuaweiBusyError,
  HuaweiNetworkError,
  HuaweiNotFoundError,
  HuaweiResponseShapeError,
  HuaweiServerError,
  HuaweiThrottledError,
  InvalidRequestError,
} from '../huawei/errors.ts';
import { LedgerConflictError, LedgerThrottledError, LedgerUnavailableError } from '../ledger/errors.ts';
import { HttpLayerError, ValidationError } from './errors.ts';
import { issuesFromZod } from './validation.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';
export const UPSTREAM_REQUEST_ID_HEADER = 'X-Upstream-Request-Id';
/** Retry-After when the upstream did not say how long to wait. */
export const DEFAULT_RETRY_AFTER_SECONDS = 5;

/** The one error shape every function returns (tests and clients parse responses with it). */
export const ErrorBodySchema = z
  .object({
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        details: z.record(z.string(), z.unknown()).optional(),
        request_id: z.string(),
      })
      .strict(),
  })
  .strict();
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** The classification of an error: what the caller sees, before the request id and headers are added. */
export interface MappedError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly details?: Record<string, unknown>;
  readonly retryAfterSeconds?: number;
  readonly upstreamRequestId?: string;
  /** True for 5xx and anything unexpected: logged at error level with the full error. */
  readonly serverFault: boolean;
}

interface HttpErrorLike {
  readonly statusCode: number;
  readonly expose?: boolean;
  readonly message: string;
  readonly cause?: unknown;
}

/** createError-style errors (middy's HttpError, http-errors): a numeric statusCode and an `expose` flag. */
function isHttpErrorLike(error: unknown): error is HttpErrorLike {
  if (!(error instanceof Error)) return false;
  const statusCode: unknown = (error as unknown as { statusCode?: unknown }).statusCode;
  return typeof statusCode === 'number' && Number.isInteger(statusCode);
}

function fromBodyParser(cause: unknown): boolean {
  return (
    typeof cause === 'object' &&
    cause !== null &&
    (cause as { package?: unknown }).package === '@middy/http-json-body-parser'
  );
}

function upstreamDetails(error: HuaweiApiError): Record<string, unknown> {
  return {
    service: error.service,
    ...(error.errorCode === undefined ? {} : { upstream_code: error.errorCode }),
  };
}

function withUpstreamId(requestId: string | undefined): { upstreamRequestId?: string } {
  return requestId === undefined ? {} : { upstreamRequestId: requestId };
}

function retryAfterSeconds(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil(ms / 1000));
}

/** Classifies any thrown value. Pure: no logging, no request id. */
export function mapError(error: unknown): MappedError {
  if (error instanceof HttpLayerError) {
    // A layer error that says when to come back (LANE_FULL) gets a Retry-After.
    const retryAfterMs = (error as { retryAfterMs?: unknown }).retryAfterMs;
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.details === undefined ? {} : { details: error.details }),
      ...(typeof retryAfterMs === 'number' ? { retryAfterSeconds: retryAfterSeconds(retryAfterMs) } : {}),
      serverFault: error.status >= 500,
    };
  }
  if (error instanceof ZodError) return mapError(new ValidationError('body', issuesFromZod(error, 'body')));
  if (error instanceof InvalidRequestError) {
    return {
      status: 400,
      code: 'INVALID_REQUEST',
      message: error.message,
      details: { field: error.field },
      serverFault: false,
    };
  }
  if (error instanceof HuaweiApiError) return mapHuaweiError(error);
  if (error instanceof HuaweiNetworkError) {
    return {
      status: 502,
      code: error.code,
      message: `Huawei Cloud ${error.service.toUpperCase()} could not be reached`,
      details: { service: error.service },
      serverFault: true,
    };
  }
  if (error instanceof HuaweiResponseShapeError) {
    return {
      status: 502,
      code: error.code,
      message: 'Huawei Cloud returned a response this service does not understand',
      ...withUpstreamId(error.requestId),
      serverFault: true,
    };
  }
  if (error instanceof ConfigurationError) {
    return {
      status: 500,
      code: 'CONFIGURATION',
      message: 'The service is not configured correctly',
      serverFault: true,
    };
  }
  if (error instanceof LedgerConflictError) {
    return {
      status: 409,
      code: 'CONFLICT',
      message: 'The deletion changed state concurrently; retry the request',
      details: { deletion_id: error.id },
      serverFault: false,
    };
  }
  if (error instanceof LedgerThrottledError) {
    return {
      status: 503,
      code: 'LEDGER_THROTTLED',
      message: 'The deletion ledger is busy; retry later',
      retryAfterSeconds: 1,
      serverFault: true,
    };
  }
  if (error instanceof LedgerUnavailableError) {
    return {
      status: 503,
      code: 'LEDGER_UNAVAILABLE',
      message: 'The deletion ledger is unavailable',
      serverFault: true,
    };
  }
  if (isHttpErrorLike(error) && error.statusCode >= 400 && error.statusCode < 500 && error.expose !== false) {
    return mapClientHttpError(error);
  }
  return { status: 500, code: 'INTERNAL', message: 'Internal error', serverFault: true };
}

function mapClientHttpError(error: HttpErrorLike): MappedError {
  if (fromBodyParser(error.cause)) {
    // middy v6 reports both a wrong content type and unparsable JSON as 415; callers deserve the distinction.
    if (error.message === 'Unsupported Media Type') {
      return {
        status: 415,
        code: 'UNSUPPORTED_MEDIA_TYPE',
        message: 'The request body must be sent as application/json',
        serverFault: false,
      };
    }
    return {
      status: 400,
      code: 'MALFORMED_JSON',
      message: 'The request body is not valid JSON',
      serverFault: false,
    };
  }
  const byStatus: Record<number, string> = {
    400: 'BAD_REQUEST',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'PAYLOAD_TOO_LARGE',
    415: 'UNSUPPORTED_MEDIA_TYPE',
    422: 'UNPROCESSABLE_ENTITY',
  };
  return {
    status: error.statusCode,
    code: byStatus[error.statusCode] ?? 'BAD_REQUEST',
    // createError messages default to the status text; a custom one was written for the caller (expose).
    message: error.message,
    serverFault: false,
  };
}

function mapHuaweiError(error: HuaweiApiError): MappedError {
  const upstream = { details: upstreamDetails(error), ...withUpstreamId(error.requestId) };
  const service = error.service.toUpperCase();
  if (error instanceof HuaweiNotFoundError) {
    return {
      status: 404,
      code: 'NOT_FOUND',
      message: `The ${service} resource does not exist`,
      ...upstream,
      serverFault: false,
    };
  }
  if (error instanceof HuaweiBusyError) {
    return {
      status: 409,
      code: 'BUSY',
      message: `The ${service} resource is busy; retry later`,
      ...upstream,
      serverFault: false,
    };
  }
  if (error instanceof HuaweiThrottledError) {
    return {
      status: 429,
      code: 'THROTTLED',
      message: `Huawei Cloud ${service} is throttling requests; retry later`,
      retryAfterSeconds: retryAfterSeconds(error.retryAfterMs),
      ...upstream,
      serverFault: false,
    };
  }
  if (error instanceof HuaweiAuthError) {
    return {
      status: 502,
      code: 'UPSTREAM_AUTH',
      message: `Huawei Cloud ${service} rejected this service's credentials`,
      details: { service: error.service },
      ...withUpstreamId(error.requestId),
      serverFault: true,
    };
  }
  if (error instanceof HuaweiBadRequestError) {
    return {
      status: 422,
      code: 'UPSTREAM_REJECTED',
      message: `Huawei Cloud ${service} refused the request`,
      ...upstream,
      serverFault: false,
    };
  }
  if (error instanceof HuaweiServerError) {
    return {
      status: 502,
      code: 'UPSTREAM_UNAVAILABLE',
      message: `Huawei Cloud ${service} failed after retries`,
      ...upstream,
      serverFault: true,
    };
  }
  return {
    status: 502,
    code: 'UPSTREAM_ERROR',
    message: `Huawei Cloud ${service} returned an unexpected status`,
    ...upstream,
    serverFault: true,
  };
}

/** The full API Gateway v2 response for an error. */
export function errorResponse(mapped: MappedError, requestId: string): APIGatewayProxyStructuredResultV2 {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    [REQUEST_ID_HEADER]: requestId,
  };
  if (mapped.upstreamRequestId !== undefined) headers[UPSTREAM_REQUEST_ID_HEADER] = mapped.upstreamRequestId;
  if (mapped.retryAfterSeconds !== undefined) headers['Retry-After'] = String(mapped.retryAfterSeconds);
  const body: ErrorBody = {
    error: {
      code: mapped.code,
      message: mapped.message,
      ...(mapped.details === undefined ? {} : { details: mapped.details }),
      request_id: requestId,
    },
  };
  return { statusCode: mapped.status, headers, body: JSON.stringify(body) };
}
