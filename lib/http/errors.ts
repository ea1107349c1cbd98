/**
 * Errors raised by the HTTP layer itself (validation, allowlist, lookups). Each has a stable `code` and the
 * HTTP `status` it maps to; their messages are written for the caller and are always safe to expose.
 */

export interface ValidationIssue {
  /** Dotted field path prefixed with where the value came from, e.g. `path.backup_id`, `body.checkpoint_items.0`. */
  readonly path: string;
  readonly message: string;
}

export type RequestPart = 'path' | 'query' | 'headers' | 'body';

/** Base class: a client-facing error whose message and details are returned as they are. */
export class HttpLayerError extends Error {
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
}

/** The most issues an error body lists; the rest are counted in `details.omitted_issues`. */
export const MAX_LISTED_ISSUES = 50;

/**
 * A path, query, header or body value failed its schema; nothing was sent upstream. The body lists at most
 * MAX_LISTED_ISSUES issues and counts the rest (`omitted`: issues the caller already dropped), so an error stays
 * small however broken the input.
 */
export class ValidationError extends HttpLayerError {
  override name = 'ValidationError';
  readonly where: RequestPart;
  readonly issues: readonly ValidationIssue[];
  readonly omittedIssues: number;
  constructor(
    where: RequestPart,
    issues: readonly ValidationIssue[],
    options?: { cause?: unknown; omitted?: number },
  ) {
    const listed = issues.slice(0, MAX_LISTED_ISSUES);
    const omitted = issues.length - listed.length + (options?.omitted ?? 0);
    const first = listed[0];
    const summary = first === undefined ? `invalid ${where}` : `${first.path}: ${first.message}`;
    const more = omitted > 0 ? ` (and ${listed.length - 1 + omitted} more issues)` : '';
    super('VALIDATION', 400, `Invalid request: ${summary}${more}`, {
      details: { where, issues: listed, ...(omitted > 0 ? { omitted_issues: omitted } : {}) },
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    });
    this.where = where;
    this.issues = listed;
    this.omittedIssues = omitted;
  }
}

/**
 * The request carries no caller identity (no IAM principal or JWT subject from API Gateway's authorizer): it is
 * refused before anything is read or sent, so every ledger entry names who asked.
 */
export class UnauthenticatedError extends HttpLayerError {
  override name = 'UnauthenticatedError';
  constructor() {
    super(
      'UNAUTHENTICATED',
      401,
      'The request carries no caller identity; call the API through API Gateway with IAM (SigV4) authorization',
    );
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
