import { request } from 'undici';
import { createHuaweiClient, type HuaweiClient } from '../../lib/huawei/client.ts';
import { type AuthProvider, createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { sign } from '../../lib/huawei/signer.ts';
import type { Simulator } from '../../lib/simulator/index.ts';

export const REGION = 'ap-southeast-1';

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // biome-ignore lint/suspicious/noExplicitAny: test responses are inspected loosely
  json: any;
}

export interface CallOptions {
  query?: Record<string, string>;
  credentials?: { ak: string; sk: string };
  /** Signing time (default: now). */
  date?: Date;
  headers?: Record<string, string>;
  body?: string;
  /** Send unsigned (no Authorization). */
  unsigned?: boolean;
  signal?: AbortSignal;
}

/** One signed request to `{service}/{region}{path}` over loopback, signed with the project's signer. */
export async function call(
  sim: Simulator,
  method: string,
  service: 'csbs' | 'cbr' | 'dds' | 'dis' | 'iam',
  path: string,
  options: CallOptions = {},
): Promise<SimResponse> {
  const url = new URL(`${sim.baseUrl(service, REGION)}${path}`);
  for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.append(key, value);
  const headers: Record<string, string> = { ...options.headers };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (!options.unsigned) {
    Object.assign(
      headers,
      sign(
        { method, url, headers, body: options.body },
        options.credentials ?? sim.credentials,
        options.date ?? new Date(),
      ),
    );
  }
  const response = await request(url, {
    method: method as 'GET',
    headers,
    ...(options.body !== undefined ? { body: options.body } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const text = await response.body.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, headers: response.headers, text, json };
}

/** The project's own Huawei client pointed at the simulator, without retries (tests see every status). */
export function simulatorClient(sim: Simulator, auth?: AuthProvider): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: auth ?? createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    retry: { maxAttempts: 1 },
  });
}

export function firstProject(sim: Simulator): string {
  const [project] = sim.state.projects.keys();
  if (!project) throw new Error('the simulator has no project');
  return project;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}
