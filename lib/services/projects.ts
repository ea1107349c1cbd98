import { z } from 'zod';
import { RegionSchema } from '../config.ts';
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

/**
 * IAM `GET /v3/auth/projects` (KeystoneListAuthProjects): the projects the caller's credentials can use.
 * Field list from huaweicloud-sdk-go-v3 services/iam/v3/model/model_keystone_list_auth_projects_response.go
 * (`links`, `projects`) and model_auth_project_result.go (`id`, `name`, `enabled`, `is_domain`,
 * `description`, `domain_id`, `parent_id`, `links`). No query parameters, no pagination.
 */
export const AuthProjectSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  enabled: z.boolean(),
  is_domain: z.boolean().optional(),
  description: z.string().nullish(),
  domain_id: z.string().optional(),
  parent_id: z.string().optional(),
});
export type AuthProject = z.infer<typeof AuthProjectSchema>;

export const AuthProjectsResponseSchema = z.looseObject({
  projects: z.array(AuthProjectSchema).default([]),
});

/** A project with the region its name places it in (absent for names such as `MOS` that name no region). */
export const AccountProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string().optional(),
  enabled: z.boolean(),
});
export type AccountProject = z.infer<typeof AccountProjectSchema>;

/**
 * Lists the caller's projects through the IAM endpoint of `region` (IAM answers for the whole account from
 * any region's endpoint), sorted by region then name.
 */
export async function listAuthProjects(
  client: HuaweiRequester,
  region: string,
  signal?: AbortSignal,
): Promise<AccountProject[]> {
  const response = await client.request(
    {
      service: 'iam',
      operation: 'iam.listAuthProjects',
      region,
      method: 'GET',
      pathSegments: ['v3', 'auth', 'projects'],
      expect: [200],
    },
    AuthProjectsResponseSchema,
    { signal },
  );
  return response.body.projects
    .map((project) => {
      const candidate = regionOfProjectName(project.name);
      const projectRegion = RegionSchema.safeParse(candidate).success ? candidate : undefined;
      return {
        id: project.id,
        name: project.name,
        enabled: project.enabled,
        ...(projectRegion === undefined ? {} : { region: projectRegion }),
      };
    })
    .sort((a, b) => (a.region ?? '~').localeCompare(b.region ?? '~') || a.name.localeCompare(b.name));
}
