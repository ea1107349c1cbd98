import { ProjectNotAllowedError } from './errors.ts';

/** Throws ProjectNotAllowedError (403) unless `projectId` is in the configured allowlist. */
export function assertProjectAllowed(allowlist: ReadonlySet<string>, projectId: string): void {
  if (!allowlist.has(projectId)) throw new ProjectNotAllowedError(projectId);
}
