/**
 * Errors raised by the HTTP layer itself (validation, allowlist, lookups). Each has a stable `code` and the
 * HTTP `status` it maps to; their messages are written for the caller and are always safe to expose.
 */
import { AppError } from '../errors.ts';

export interface ValidationIssue {
  /** Dotted field path prefixed with where the value came from, e.g. `path.backup_id`, `body.checkpoint_items.0`. */
  readonly path: string;
  readonly message: string;
}

export type RequestPart = 'path' | 'query' | 'headers' | 'body';

/** Base class: a client-facing error whose message and details are returned as they are. */
export class HttpLayerError extends AppError {
  override name = 'HttpLayerError';
  readonly code: string;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;
  constructor(
    code: string,
    status: number,
    message: string,
    options?: { details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = status;
    this.details = options?.details;
  }

  /** Its own status, whatever the code (a route may raise a code the table does not list). */
  override get httpStatus(): number {
    return this.status;
  }

  override get expose(): boolean {
    return true;
  }

  override publicDetails(): Record<string, unknown> | undefined {
    return this.details;
  }
}

/** A path, query, header or body value failed its schema; nothing was sent upstream. */
export class ValidationError extends HttpLayerError {
  override name = 'ValidationError';
  readonly where: RequestPart;
  readonly issues: readonly ValidationIssue[];
  constructor(where: RequestPart, issues: readonly ValidationIssue[], options?: { cause?: unknown }) {
    const first = issues[0];
    const summary = first === undefined ? `invalid ${where}` : `${first.path}: ${first.message}`;
    super('VALIDATION', 400, `Invalid request: ${summary}`, {
      details: { where, issues },
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.where = where;
    this.issues = issues;
  }
}

/** The project is not in HWC_PROJECT_ALLOWLIST; the request never reaches Huawei. */
export class ProjectNotAllowedError extends HttpLayerError {
  override name = 'ProjectNotAllowedError';
  readonly projectId: string;
  constructor(projectId: string) {
    super('PROJECT_NOT_ALLOWED', 403, 'This project is not configured for this service', {
      details: { project_id: projectId },
    });
    this.projectId = projectId;
  }
}

/** A resource of ours (e.g. a deletion id) does not exist. Upstream "not found" is HuaweiNotFoundError. */
export class ResourceNotFoundError extends HttpLayerError {
  override name = 'ResourceNotFoundError';
  constructor(resource: string, id: string) {
    super('NOT_FOUND', 404, `${resource} not found`, { details: { [`${resource}_id`]: id } });
  }
}

/** The request conflicts with the current state (e.g. a deletion already in a final state). */
export class ConflictError extends HttpLayerError {
  override name = 'ConflictError';
  constructor(message: string, details?: Record<string, unknown>) {
    super('CONFLICT', 409, message, details === undefined ? undefined : { details });
  }
}
