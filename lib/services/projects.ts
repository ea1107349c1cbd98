/**
 * IAM `GET /v3/auth/projects` (KeystoneListAuthProjects): the projects the caller's credentials can use,
 * one per region plus any sub-projects. Field list from huaweicloud-sdk-go-v3
 * services/iam/v3/model/model_keystone_list_auth_projects_response.go (`links`, `projects`) and
 * model_auth_project_result.go (`id`, `name`, `enabled`, `is_domain`, `description`, `domain_id`,
 * `parent_id`, `links`). The call takes no query parameters and returns no pagination.
 *
 * A project's region is not a field: a region's own project is named after the region (`cn-north-4`) and
 * a sub-project's name starts with it and an underscore (`cn-north-4_prod`). Names that do not start with a
 * region id (e.g. `MOS`, a global system project) have no region here.
 */
import { z } from 'zod';
import { RegionSchema } from '../config.ts';
import type { HuaweiRequester } from './deletion.ts';

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

/** A project with the region its name places it in (undefined when the name names no region). */
export const AccountProjectSchema = z.object({
  id: z.string(),
  name: z.string(),
  region: z.string().optional(),
  enabled: z.boolean(),
});
export type AccountProject = z.infer<typeof AccountProjectSchema>;

/** `cn-north-4` from `cn-north-4` or `cn-north-4_prod`; undefined for names such as `MOS`. */
export function regionOfProjectName(name: string): string | undefined {
  const candidate = name.split('_')[0] ?? '';
  return RegionSchema.safeParse(candidate).success ? candidate : undefined;
}

/**
 * Lists the caller's projects through the IAM endpoint of `region` (IAM is global: any region's endpoint
 * answers for the whole account), sorted by region then name.
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
      const projectRegion = regionOfProjectName(project.name);
      return {
        id: project.id,
        name: project.name,
        enabled: project.enabled,
        ...(projectRegion === undefined ? {} : { region: projectRegion }),
      };
    })
    .sort((a, b) => (a.region ?? '~').localeCompare(b.region ?? '~') || a.name.localeCompare(b.name));
}
