/** Validation of path, query, headers and body with zod, turned into one typed ValidationError. */
import type { ZodError, z } from 'zod';
import { type RequestPart, ValidationError, type ValidationIssue } from './errors.ts';

/** Flattens zod issues into `{ path: 'body.items.0', message }`, the path prefixed with the request part. */
export function issuesFromZod(error: ZodError, where: RequestPart): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map((segment) => String(segment))].join('.'),
    message: issue.message,
  }));
}

/**
 * Parses `value` (the event's pathParameters, queryStringParameters, headers or parsed body) with `schema`.
 * Returns the schema's output; throws a ValidationError (400 VALIDATION) naming every offending field.
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: RequestPart): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success)
    throw new ValidationError(where, issuesFromZod(result.error, where), { cause: result.error });
  return result.data;
}
