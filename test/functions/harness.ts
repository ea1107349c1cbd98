/**
 * Drives the HTTP functions in-process, through middy, with the real API Gateway v2 events from `events/`
 * (structuredClone'd and re-pointed at simulator records), against a simulator over loopback.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { loadConfig } from '../../lib/config.ts';
import { createHuaweiClient, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import type { Ledger } from '../../lib/ledger/ledger.ts';
import { createRuntime, setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { lambdaContext } from '../http/api-event.ts';
import { REGION } from '../simulator/helpers.ts';

export type FunctionName =
  | 'delete-csbs-checkpoint'
  | 'delete-cbr-backup'
  | 'delete-dds-backup'
  | 'delete-dis-checkpoint'
  | 'get-deletion'
  | 'get-sweep'
  | 'get-sweep-report';

const cache = new Map<FunctionName, APIGatewayProxyEventV2>();

/** A fresh copy of `events/<name>.json`. */
export function sampleEvent(name: FunctionName): APIGatewayProxyEventV2 {
  let event = cache.get(name);
  if (event === undefined) {
    event = JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8'));
    cache.set(name, event as APIGatewayProxyEventV2);
  }
  return structuredClone(event as APIGatewayProxyEventV2);
}

export interface EventChanges {
  /** Replaces the path parameters; rawPath is rebuilt from the route template (values URL-encoded). */
  readonly path?: Record<string, string>;
  /** Replaces the query (`null`: none). Arrays become repeated parameters, joined with commas as API Gateway does. */
  readonly query?: Record<string, string | string[]> | null;
  readonly body?: string;
  readonly headers?: Record<string, string>;
}

/** The sample event for `name`, re-pointed at other ids/query/body the way API Gateway would deliver them. */
export function eventFor(name: FunctionName, changes: EventChanges = {}): APIGatewayProxyEventV2 {
  const event = sampleEvent(name);
  if (changes.path !== undefined) {
    const params = { ...event.pathParameters, ...changes.path };
    event.pathParameters = params;
    const template = event.routeKey.split(' ')[1] ?? '';
    const rawPath = template.replace(/\{(\w+)\}/g, (_, key: string) => encodeURIComponent(params[key] ?? ''));
    event.rawPath = rawPath;
    event.requestContext.http.path = rawPath;
  }
  if (changes.query !== undefined) {
    if (changes.query === null) {
      delete event.queryStringParameters;
      event.rawQueryString = '';
    } else {
      const search = new URLSearchParams();
      const joined: Record<string, string> = {};
      for (const [key, value] of Object.entries(changes.query)) {
        const values = Array.isArray(value) ? value : [value];
        for (const one of values) search.append(key, one);
        joined[key] = values.join(',');
      }
      event.queryStringParameters = joined;
      event.rawQueryString = search.toString();
    }
  }
  if (changes.body !== undefined) {
    event.body = changes.body;
    event.headers = { ...event.headers, 'content-type': 'application/json' };
    event.headers['content-length'] = String(Buffer.byteLength(changes.body));
  }
  if (changes.headers !== undefined) event.headers = { ...event.headers, ...changes.headers };
  return event;
}

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;

export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string>;
  // biome-ignore lint/suspicious/noExplicitAny: responses are inspected loosely in tests
  readonly json: any;
  readonly raw: APIGatewayProxyStructuredResultV2;
}

export async function invoke(
  handler: Handler,
  event: APIGatewayProxyEventV2,
  context: Context = lambdaContext(),
): Promise<Reply> {
  const raw = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(raw.headers ?? {})) headers[key.toLowerCase()] = String(value);
  return {
    status: raw.statusCode ?? 0,
    headers,
    json: raw.body ? JSON.parse(raw.body) : undefined,
    raw,
  };
}

/** The project's client against the simulator; retries kept short so "after retries" cases stay fast. */
export function testClient(sim: Simulator, credentials = sim.credentials): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(credentials.ak, credentials.sk)),
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 20, maxTotalMs: 2_000 },
    timeouts: { connectMs: 1_000, headersMs: 2_000, bodyMs: 2_000 },
  });
}

/** Installs the runtime every function will use: this region, this allowlist, this client and ledger. */
export async function useRuntime(options: {
  readonly client: HuaweiClient;
  readonly ledger: Ledger;
  readonly allowlist: readonly string[];
}): Promise<void> {
  const cfg = loadConfig({
    HWC_REGION: REGION,
    HWC_PROJECT_ALLOWLIST: options.allowlist.join(','),
    LEDGER: 'local',
  });
  setRuntimeForTests(await createRuntime(cfg, { client: options.client, ledger: options.ledger }));
}
