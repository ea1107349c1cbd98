/**
 * The one place every error becomes an HTTP response: `{"error": {"code", "message", "details"?, "request_id"}}`.
 * Only client errors (4xx) expose their own message; upstream and internal failures get a fixed message per
 * code, and unknown errors get a generic one — never the internal message, never a serialised error.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { ZodError, z } from 'zod';
import { AppError, DEFAULT_RETRY_AFTER_SECONDS, errorSpec } from '../errors.ts';
import { HttpLayerError, ValidationError } from './errors.ts';
import { issuesFromZod } from './validation.ts';

export const REQUEST_ID_HEADER = 'X-Request-Id';
export const UPSTREAM_REQUEST_ID_HEADER = 'X-Upstream-Request-Id';
/** Retry-After when the upstream did not say how long to wait (defined with the error table). */
export { DEFAULT_RETRY_AFTER_SECONDS };

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

function retryAfterSeconds(ms: number | undefined): number {
  if (ms === undefined || !Number.isFinite(ms) || ms <= 0) return DEFAULT_RETRY_AFTER_SECONDS;
  return Math.max(1, Math.ceil(ms / 1000));
}

function fillMessage(template: string, parameters: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => parameters[key] ?? whole);
}

/**
 * An AppError through the one table (lib/errors.ts): status, public code, the error's own message only when
 * the table says it is written for the caller, Retry-After, and the deletion id to poll when it has one.
 */
function mapAppError(error: AppError): MappedError {
  const spec = errorSpec(error.code);
  const status = error.httpStatus;
  const own = error.publicDetails();
  const details = error.deletionId === undefined ? own : { ...own, deletion_id: error.deletionId };
  const retryAfter =
    spec.retryAfter === 'upstream'
      ? retryAfterSeconds(error.retryAfterMs)
      : typeof spec.retryAfter === 'number'
        ? spec.retryAfter
        : undefined;
  const requestId = (error as { requestId?: unknown }).requestId;
  return {
    status,
    // A layer error names its own code (a route may raise one the table lists for another layer).
    code: error instanceof HttpLayerError ? error.code : (spec.publicCode ?? error.code),
    message: error.expose
      ? error.message
      : fillMessage(spec.message ?? 'Internal error', error.messageParameters()),
    ...(details === undefined ? {} : { details }),
    ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    ...(typeof requestId === 'string' ? { upstreamRequestId: requestId } : {}),
    serverFault: status >= 500,
  };
}

/** Classifies any thrown value. Pure: no logging, no request id. */
export function mapError(error: unknown): MappedError {
  if (error instanceof AppError) return mapAppError(error);
  if (error instanceof ZodError) return mapError(new ValidationError('body', issuesFromZod(error, 'body')));
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
