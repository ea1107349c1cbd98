import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Authenticator, makeUser, type SimUser } from './auth.ts';
import { SimClock } from './clock.ts';
import { type FaultConfig, FaultInjector } from './faults.ts';
import { type Fleet, type FleetOptions, generateFleet, type SimService, seededRandom } from './fleet.ts';
import { type Inspection, inspectionToJson, Recorder, type RequestRecord } from './inspection.ts';
import { cbrRoutes } from './services/cbr.ts';
import { csbsRoutes } from './services/csbs.ts';
import { ddsRoutes } from './services/dds.ts';
import { disRoutes } from './services/dis.ts';
import { iamRoutes } from './services/iam.ts';
import type { Reply, Route, ServiceName } from './services/route.ts';
import { type DeletionTimings, SimState } from './state.ts';

export interface SimulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Seeds the default user's AK/SK, DDS job ids and the fault generator. */
  seed?: number;
  /** A fleet to load: a JSON fixture (validated). Default: empty. */
  fleet?: Fleet | unknown;
  /** `generateFleet` options; `now` defaults to the simulator's clock. */
  generate?: FleetOptions;
  /** Simulated ms per wall ms (default 1). Drives deletions, jobs, lock-out and token expiry. */
  timeScale?: number;
  /** Wall clock (default Date.now): what `X-Sdk-Date` is checked against. */
  wallClock?: () => number;
  deletion?: Partial<DeletionTimings>;
  csbsMaxRunningTasks?: number;
  ddsJobFailureRate?: number;
  /** Simulated ms after start at which backups being created finish (default: never, they stay busy). */
  creationMs?: number;
  /** Simulated ms an AK stays locked after 5 consecutive failures (default 5 minutes). */
  lockMs?: number;
  faults?: FaultConfig;
  /** Requests kept for inspection (default 1,000,000). */
  maxRecordedRequests?: number;
}

export interface Simulator {
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT/{service}/{region}`: the endpoint to configure for a service and region. */
  baseUrl(service: ServiceName, region: string): string;
  /** The default user's AK/SK. */
  readonly credentials: { ak: string; sk: string };
  /** The default user (also has `name`/`password` for IAM password login). */
  readonly user: SimUser;
  /** Adds an IAM user; fields not given are generated. */
  addUser(user?: Partial<SimUser>): SimUser;
  readonly state: SimState;
  readonly clock: SimClock;
  inspect(): Inspection;
  resetInspection(): void;
  setFaults(config: FaultConfig): void;
  /** Moves simulated time forward (deletions finish, locks expire) without waiting. */
  advance(ms: number): void;
  isLocked(ak: string): boolean;
  close(): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  segments: string[];
}

const SERVICES: Record<ServiceName, CompiledRoute[]> = {
  csbs: compile(csbsRoutes),
  cbr: compile(cbrRoutes),
  dds: compile(ddsRoutes),
  dis: compile(disRoutes),
  iam: compile(iamRoutes),
};

function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((route) => ({ route, segments: route.pattern.split('/').slice(1) }));
}

function match(
  service: ServiceName,
  method: string,
  segments: string[],
): { route: Route; params: Record<string, string> } | undefined {
  for (const compiled of SERVICES[service]) {
    if (compiled.route.method !== method || compiled.segments.length !== segments.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < segments.length; i++) {
      const expected = compiled.segments[i] as string;
      const actual = segments[i] as string;
      if (expected.startsWith(':')) {
        if (actual === '') {
          ok = false;
          break;
        }
        params[expected.slice(1)] = safeDecode(actual);
      } else if (expected !== actual) {
        ok = false;
        break;
      }
    }
    if (ok) return { route: compiled.route, params };
  }
  return undefined;
}

function safeDecode(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function isService(name: string | undefined): name is ServiceName {
  return name === 'csbs' || name === 'cbr' || name === 'dds' || name === 'dis' || name === 'iam';
}

/** The simulator's code for a project called in a region it does not belong to. */
export const FOREIGN_PROJECT_CODE = 'SIM.0403';

const SERVER_ERRORS: Record<500 | 502 | 503, { code: string; message: string }> = {
  500: { code: 'APIG.0201', message: 'Internal server error (simulated)' },
  502: { code: 'APIG.0202', message: 'Backend unavailable (simulated)' },
  503: { code: 'APIG.0203', message: 'Service unavailable (simulated)' },
};

/** Starts the simulator on 127.0.0.1 (random port unless given) and resolves once it listens. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const seed = options.seed ?? 1;
  const random = seededRandom(seed);
  const clock = new SimClock(options.wallClock ?? Date.now, options.timeScale ?? 1);
  const state = new SimState({
    clock,
    random,
    ...(options.deletion ? { deletion: options.deletion } : {}),
    ...(options.csbsMaxRunningTasks !== undefined
      ? { csbsMaxRunningTasks: options.csbsMaxRunningTasks }
      : {}),
    ...(options.ddsJobFailureRate !== undefined ? { ddsJobFailureRate: options.ddsJobFailureRate } : {}),
    ...(options.creationMs !== undefined ? { creationMs: options.creationMs } : {}),
  });
  if (options.fleet !== undefined) state.load(options.fleet);
  // Backup ages are measured from the simulator's own clock unless the options pin `now`.
  if (options.generate)
    state.load(generateFleet({ now: clock.now(), ...options.generate }), { validate: false });
  const auth = new Authenticator({
    clock,
    ...(options.lockMs !== undefined ? { lockMs: options.lockMs } : {}),
  });
  const defaultUser = makeUser(random, 'sim-user');
  auth.addUser(defaultUser);
  const faults = new FaultInjector();
  if (options.faults) faults.configure(options.faults);
  const recorder = new Recorder(options.maxRecordedRequests ?? 1_000_000);
  const requestIdPrefix = randomBytes(8).toString('hex');
  let requestCounter = 0;

  function send(response: ServerResponse, requestId: string, reply: Reply): void {
    const headers: Record<string, string | number> = { 'X-Request-Id': requestId, ...reply.headers };
    if (reply.body === undefined) {
      headers['Content-Length'] = 0;
      response.writeHead(reply.status, headers);
      response.end();
      return;
    }
    let body = reply.body;
    if (typeof body === 'object' && body !== null && 'error_code' in body)
      body = { ...body, request_id: requestId };
    const text = JSON.stringify(body);
    headers['Content-Type'] = 'application/json;charset=UTF-8';
    headers['Content-Length'] = Buffer.byteLength(text);
    response.writeHead(reply.status, headers);
    response.end(text);
  }

  function handleAdmin(path: string, method: string, body: Buffer): Reply {
    const parse = () =>
      body.length === 0 ? {} : (JSON.parse(body.toString('utf8')) as Record<string, unknown>);
    try {
      if (path === '/__admin/inspect' && method === 'GET')
        return { status: 200, body: inspectionToJson(simulator.inspect()) };
      if (path === '/__admin/reset' && method === 'POST') {
        simulator.resetInspection();
        return { status: 204 };
      }
      if (path === '/__admin/faults' && method === 'POST') {
        faults.configure(parse() as FaultConfig);
        return { status: 204 };
      }
      if (path === '/__admin/faults' && method === 'GET') return { status: 200, body: faults.current() };
      if (path === '/__admin/advance' && method === 'POST') {
        clock.advance(Number(parse().ms ?? 0));
        return { status: 204 };
      }
      if (path === '/__admin/info' && method === 'GET') {
        return {
          status: 200,
          body: {
            url: simulator.url,
            credentials: simulator.credentials,
            projects: [...state.projects.values()],
            counts: state.counts(),
          },
        };
      }
    } catch (error) {
      return { status: 400, body: { error_code: 'SIM.0400', error_msg: (error as Error).message } };
    }
    return {
      status: 404,
      body: { error_code: 'SIM.0404', error_msg: `Unknown admin route ${method} ${path}` },
    };
  }

  function deleteKeys(
    service: ServiceName,
    params: Record<string, string>,
    query: URLSearchParams,
  ): string[] {
    if (service === 'csbs') {
      const items = query.getAll('checkpoint_items').flatMap((value) => value.split(',').filter(Boolean));
      return [params.checkpoint_id as string, ...items];
    }
    if (service === 'dis') {
      return [`${query.get('stream_name')}/${query.get('app_name')}/${query.get('partition_id') ?? '*'}`];
    }
    return params.backup_id ? [params.backup_id] : [];
  }

  async function handle(request: IncomingMessage, response: ServerResponse, body: Buffer): Promise<void> {
    requestCounter += 1;
    const requestId = `${requestIdPrefix}${requestCounter.toString(16).padStart(16, '0')}`;
    const rawUrl = request.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const path = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : rawUrl.slice(queryAt + 1));
    const method = request.method ?? 'GET';
    if (path.startsWith('/__admin/')) {
      send(response, requestId, handleAdmin(path, method, body));
      return;
    }
    const segments = path.split('/');
    const serviceName = segments[1];
    const region = segments[2];
    const record: RequestRecord = {
      method,
      path,
      service: undefined,
      operation: undefined,
      status: 0,
      projectId: undefined,
      region,
      at: clock.now(),
      requestId,
    };
    recorder.record(record);
    const finish = (reply: Reply) => {
      record.status = reply.status;
      send(response, requestId, reply);
    };
    if (!isService(serviceName) || !region) {
      finish({
        status: 404,
        body: {
          error_code: 'APIG.0101',
          error_msg: 'The API does not exist or has not been published in the environment',
        },
      });
      return;
    }
    record.service = serviceName;
    const matched = match(serviceName, method, segments.slice(3));
    if (!matched) {
      finish({
        status: 404,
        body: {
          error_code: 'APIG.0101',
          error_msg: 'The API does not exist or has not been published in the environment',
        },
      });
      return;
    }
    const { route, params } = matched;
    record.operation = route.operation;
    const headerProject = request.headers['x-project-id'];
    const projectId = params.project_id ?? (typeof headerProject === 'string' ? headerProject : undefined);
    record.projectId = projectId;

    let user: SimUser | undefined;
    const token = request.headers['x-auth-token'];
    if (typeof token === 'string' && route.authenticated !== false) {
      const outcome = auth.verifyToken(token);
      if (!outcome.ok)
        return finish({
          status: outcome.status,
          body: { error_code: outcome.code, error_msg: outcome.message },
        });
      user = outcome.user;
    } else if (route.authenticated !== false || request.headers.authorization !== undefined) {
      const outcome = auth.verifySignature({ method, path, query, headers: request.headers, body });
      if (!outcome.ok)
        return finish({
          status: outcome.status,
          body: { error_code: outcome.code, error_msg: outcome.message },
        });
      user = outcome.user;
    }

    // A project lives in one region: another region's endpoint does not serve it. The status and code
    // upstream answers with are not confirmed from a public source; 403 with our own code stands in for them.
    const home = projectId && serviceName !== 'iam' ? state.projects.get(projectId) : undefined;
    if (home !== undefined && home.region !== region) {
      return finish({
        status: 403,
        body: {
          error_code: FOREIGN_PROJECT_CODE,
          error_msg: `The project ${projectId} belongs to region ${home.region}, not ${region}`,
        },
      });
    }

    const keys = method === 'DELETE' ? deleteKeys(serviceName, params, query) : [];
    if (method === 'DELETE' && projectId && serviceName !== 'iam') {
      const finished = recorder.deleteStarted(serviceName, projectId);
      response.once('close', finished);
    }
    const retryAfter = faults.rateLimited(projectId ?? 'iam');
    if (retryAfter !== undefined) {
      record.fault = 'rate-limit';
      recorder.countDelete(keys, false);
      return finish(throttled(retryAfter));
    }
    const decision = faults.decide(serviceName, route.operation);
    if (decision.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, decision.delayMs));
    if (decision.kind !== 'none') {
      record.fault = decision.kind;
      recorder.countDelete(keys, false);
      if (decision.kind === 'reset') {
        request.socket.destroy();
        return;
      }
      if (decision.kind === 'hang') return;
      if (decision.kind === 'throttle') return finish(throttled(decision.retryAfterSeconds));
      const error = SERVER_ERRORS[decision.status];
      return finish({ status: decision.status, body: { error_code: error.code, error_msg: error.message } });
    }
    recorder.countDelete(keys, true);
    state.tick();
    const host = request.headers.host ?? `127.0.0.1:${simulatorPort}`;
    let reply: Reply;
    try {
      reply = route.handle({
        state,
        auth,
        params,
        query,
        headers: request.headers,
        body,
        baseUrl: `http://${host}/${serviceName}/${region}`,
        region,
        user,
      });
    } catch (error) {
      reply = {
        status: 500,
        body: { error_code: 'SIM.0500', error_msg: `Simulator bug: ${(error as Error).message}` },
      };
    }
    finish(reply);
  }

  function throttled(retryAfterSeconds: number): Reply {
    return {
      status: 429,
      headers: { 'Retry-After': String(retryAfterSeconds) },
      body: {
        error_code: 'APIG.0308',
        error_msg: 'The throttling threshold has been reached: policy user over ratelimit',
      },
    };
  }

  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body =
        chunks.length === 0 ? EMPTY : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
      handle(request, response, body).catch((error: unknown) => {
        if (!response.headersSent) {
          response.writeHead(500, {
            'Content-Type': 'application/json',
            'X-Request-Id': `${requestIdPrefix}-unhandled`,
          });
          response.end(JSON.stringify({ error_code: 'SIM.0500', error_msg: String(error) }));
        }
      });
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const simulatorPort = (server.address() as AddressInfo).port;
  const origin = `http://${host}:${simulatorPort}`;

  // Time-driven changes are applied lazily on every request; this keeps `state` current for callers that
  // read it directly while no request arrives. Unref'd: it never keeps the process alive.
  const ticker = setInterval(() => state.tick(), 50);
  ticker.unref();
  let closing: Promise<void> | undefined;
  const simulator: Simulator = {
    url: origin,
    port: simulatorPort,
    baseUrl: (service, region) => `${origin}/${service}/${region}`,
    credentials: { ak: defaultUser.ak, sk: defaultUser.sk },
    user: defaultUser,
    addUser(partial = {}) {
      const user = {
        ...makeUser(random, partial.name ?? `sim-user-${requestCounter}-${Math.floor(random() * 1e9)}`),
        ...partial,
      };
      auth.addUser(user);
      return user;
    },
    state,
    clock,
    inspect: () => recorder.snapshot(state),
    resetInspection() {
      recorder.reset();
      state.resetGauges();
    },
    setFaults: (config) => faults.configure(config),
    advance(ms) {
      clock.advance(ms);
      state.tick();
    },
    isLocked: (ak) => auth.isLocked(ak),
    close() {
      // Idempotent: a second close resolves with the first.
      clearInterval(ticker);
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
  return simulator;
}

const EMPTY = Buffer.alloc(0);

export type { SimService };
