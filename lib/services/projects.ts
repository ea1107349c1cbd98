import { z } from 'zod';
import type { HuaweiRequester } from './deletion.ts';

/**
 * A Huawei Cloud project belongs to exactly one region, and its name says which: the region's own project
 * is named after the region (`ap-southeast-1`), a sub-project `{region}_{name}` — the convention the official
 * SDKs use to find a region's project id (IAM KeystoneListProjects with `name={region}`). A target naming
 * several projects and several regions is listed per (project, its region) pair, never per combination, so a
 * backup is never listed twice and no project is asked for in a region that does not serve it.
 */

export const KeystoneProjectResponseSchema = z.looseObject({
  project: z.looseObject({ id: z.string().min(1), name: z.string().min(1) }),
});

/** `cn-north-4_prod` → `cn-north-4`; `ap-southeast-1` → itself. */
export function regionOfProjectName(name: string): string {
  const underscore = name.indexOf('_');
  return underscore < 0 ? name : name.slice(0, underscore);
}

/** The region of one project, from IAM KeystoneShowProject (`GET /v3/projects/{project_id}`). */
export async function projectRegion(
  client: HuaweiRequester,
  projectId: string,
  iamRegion: string,
  signal?: AbortSignal,
): Promise<string> {
  const response = await client.request(
    {
      service: 'iam',
      operation: 'iam.showProject',
      region: iamRegion,
      method: 'GET',
      pathSegments: ['v3', 'projects', projectId],
    },
    KeystoneProjectResponseSchema,
    { signal },
  );
  return regionOfProjectName(response.body.project.name);
}

export interface ProjectListing {
  readonly region: string;
  readonly projectId: string;
}

/** A project whose region is not among the target's regions. */
export interface RegionMismatch {
  readonly projectId: string;
  readonly region: string;
  readonly targetRegions: readonly string[];
}

/**
 * The (region, project) pairs to list for a target. One region: every project there (nothing to resolve; a
 * project from elsewhere makes that listing fail). Several: each project's region is asked from IAM once
 * (cached in `cache` across targets) and the project is listed there only; a project whose region the target
 * does not name is listed nowhere and reported in `mismatches`.
 */
export async function pairProjectsWithRegions(
  client: HuaweiRequester,
  target: { readonly projects: readonly string[]; readonly regions: readonly string[] },
  cache: Map<string, Promise<string>> = new Map(),
  signal?: AbortSignal,
): Promise<{ listings: ProjectListing[]; mismatches: RegionMismatch[] }> {
  const regions = [...new Set(target.regions)];
  const projects = [...new Set(target.projects)];
  if (regions.length <= 1) {
    return {
      listings: regions.flatMap((region) => projects.map((projectId) => ({ region, projectId }))),
      mismatches: [],
    };
  }
  const listings: ProjectListing[] = [];
  const mismatches: RegionMismatch[] = [];
  for (const projectId of projects) {
    let region = cache.get(projectId);
    if (region === undefined) {
      region = projectRegion(client, projectId, regions[0] as string, signal);
      cache.set(projectId, region);
    }
    const home = await region;
    if (regions.includes(home)) listings.push({ region: home, projectId });
    else mismatches.push({ projectId, region: home, targetRegions: regions });
  }
  return { listings, mismatches };
}
