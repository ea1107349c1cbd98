import type { SimUser } from '../auth.ts';
import type { Route, RouteContext } from './route.ts';

/**
 * IAM `POST /v3/auth/tokens`: password login (or an AK/SK-signed request) → 201 with the token in
 * `X-Subject-Token` and `token.expires_at` in the body. Errors use IAM's own `{error: {code, message}}`.
 */

interface PasswordIdentity {
  name?: unknown;
  password?: unknown;
}

function unauthorized(message: string) {
  return { status: 401, body: { error: { code: 401, message, title: 'Unauthorized' } } };
}

function createToken(context: RouteContext) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(context.body.toString('utf8') || '{}');
  } catch {
    return {
      status: 400,
      body: { error: { code: 400, message: 'The request body is not JSON.', title: 'Bad Request' } },
    };
  }
  const auth = (parsed as { auth?: Record<string, unknown> }).auth ?? {};
  const identity = (auth.identity ?? {}) as { methods?: unknown; password?: { user?: PasswordIdentity } };
  const scope = (auth.scope ?? {}) as { project?: { id?: unknown; name?: unknown } };
  let user: SimUser | undefined = context.user;
  if (!user) {
    const login = identity.password?.user;
    if (typeof login?.name !== 'string' || typeof login.password !== 'string') {
      return unauthorized('The request you have made requires authentication.');
    }
    user = context.auth.passwordUser(login.name, login.password);
    if (!user) return unauthorized('The username or password is wrong.');
  }
  let projectId = typeof scope.project?.id === 'string' ? scope.project.id : undefined;
  if (!projectId && typeof scope.project?.name === 'string') {
    projectId = [...context.state.projects.values()].find(
      (project) => project.name === scope.project?.name,
    )?.id;
  }
  const project = projectId ? context.state.projects.get(projectId) : undefined;
  const issued = context.auth.issueToken(user, projectId);
  return {
    status: 201,
    headers: { 'X-Subject-Token': issued.token },
    body: {
      token: {
        methods: context.user ? ['hw_ak_sk'] : ['password'],
        issued_at: new Date(issued.issuedAt).toISOString(),
        expires_at: new Date(issued.expiresAt).toISOString(),
        user: { name: user.name, id: user.ak.toLowerCase(), domain: { name: user.domain, id: user.domain } },
        ...(project ? { project: { id: project.id, name: project.name } } : {}),
      },
    },
  };
}

/**
 * KeystoneShowProject (`GET /v3/projects/{project_id}`): the project's name is its region's id, or
 * `{region}_{sub-project}` — the convention the official SDKs rely on to find a region's project id.
 */
function showProject(context: RouteContext) {
  const project = context.state.projects.get(context.params.project_id as string);
  if (!project) {
    return {
      status: 404,
      body: { error: { code: 404, message: 'Could not find project.', title: 'Not Found' } },
    };
  }
  return {
    status: 200,
    body: {
      project: {
        id: project.id,
        name: project.name,
        domain_id: context.user?.domain ?? 'sim-domain',
        description: '',
        enabled: true,
        is_domain: false,
        parent_id: context.user?.domain ?? 'sim-domain',
      },
    },
  };
}

/**
 * IAM `GET /v3/auth/projects` (KeystoneListAuthProjects; fields as in huaweicloud-sdk-go-v3
 * services/iam/v3/model/model_auth_project_result.go): every project of the fleet, signed or token
 * callers only. The fleet's project names follow Huawei's `{region}_{name}` sub-project naming.
 */
function listAuthProjects(context: RouteContext) {
  const self = `${context.baseUrl}/v3/auth/projects`;
  const domain = context.user?.domain ?? 'sim-domain';
  return {
    status: 200,
    body: {
      links: { self },
      projects: [...context.state.projects.values()].map((project) => ({
        id: project.id,
        name: project.name,
        description: '',
        enabled: true,
        is_domain: false,
        domain_id: domain,
        parent_id: domain,
        links: { self: `${context.baseUrl}/v3/projects/${project.id}` },
      })),
    },
  };
}

export const iamRoutes: Route[] = [
  { method: 'GET', pattern: '/v3/auth/projects', operation: 'listAuthProjects', handle: listAuthProjects },
  { method: 'GET', pattern: '/v3/projects/:project_id', operation: 'showProject', handle: showProject },
  {
    method: 'POST',
    pattern: '/v3/auth/tokens',
    operation: 'createToken',
    authenticated: false,
    handle: createToken,
  },
];
