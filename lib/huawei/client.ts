import type { z } from 'zod';
import type { AuthProvider } from './credentials.ts';
import type { EndpointResolver } from './endpoints.ts';
import {
  HuaweiApiError,
  HuaweiNetworkError,
  HuaweiResponseShapeError,
  type HuaweiService,
  InvalidRequestError,
  type UpstreamContext,
} from './errors.ts';
import { Pool } from './undici-pool.ts';

/**
 * The one path every Huawei call takes: validate -> sign -> send (undici, keep-alive pool per origin) ->
 * map status -> parse with the operation's zod schema. Retries 429/502/503/504 and network errors with
 * full-jitter exponential backoff, honouring Retry-After, bounded in attempts and total time. 400/401/403/404
 * are never retried (five failed authentications lock an AK for five minutes).
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
export type QueryValue = string | readonly string[] | undefined;

export interface HuaweiOperation {
  readonly service: HuaweiService;
  /** Stable name for errors and logs, e.g. `cbr.deleteBackup`. */
  readonly operation: string;
  readonly region: string;
  /** Sent as `X-Project-Id` when given (project-scoped calls). */
  readonly projectId?: string | undefined;
  readonly method: HttpMethod;
  /** The path after the endpoint's base path, one element per segment; each is validated and encoded. */
  readonly pathSegments: readonly string[];
  readonly query?: Readonly<Record<string, QueryValue>> | undefined;
  /** JSON-serialised when present. */
  readonly body?: unknown;
  /** The success statuses this operation accepts; another 2xx is a shape error. Default: any 2xx. */
  readonly expect?: readonly number[] | undefined;
}

export interface RequestOptions {
  readonly signal?: AbortSignal | undefined;
  /** Overrides the client's auth for this call (the IAM token request uses NO_AUTH). */
  readonly auth?: AuthProvider | undefined;
}

export interface HuaweiResponse<T> {
  readonly status: number;
  readonly body: T;
  readonly requestId: string | undefined;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
}

export interface RetryPolicy {
  /** Attempts in total, including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  /** Cap of one backoff delay (and of a Retry-After we honour). */
  readonly maxDelayMs: number;
  /** No retry is started that would end after this long since the first attempt. */
  readonly maxTotalMs: number;
}

export interface Timeouts {
  readonly connectMs: number;
  /** Until the response headers arrive. */
  readonly headersMs: number;
  /** Idle time between body chunks. */
  readonly bodyMs: number;
}

export interface HuaweiClientOptions {
  readonly endpoints: EndpointResolver;
  readonly auth: AuthProvider;
  readonly retry?: Partial<RetryPolicy> | undefined;
  readonly timeouts?: Partial<Timeouts> | undefined;
  /** Keep-alive connections per origin (default DEFAULT_CONNECTIONS_PER_ORIGIN). */
  readonly connectionsPerOrigin?: number | undefined;
  /** Injected for tests: sleeping, jitter and the clock used for time bounds and Retry-After dates. */
  readonly sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  readonly random?: (() => number) | undefined;
  readonly now?: (() => number) | undefined;
  readonly userAgent?: string | undefined;
}

export const DEFAULT_RETRY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 250,
  maxDelayMs: 60_000,
  maxTotalMs: 120_000,
};
export const DEFAULT_TIMEOUTS: Timeouts = { connectMs: 5_000, headersMs: 30_000, bodyMs: 30_000 };
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

// One keep-alive pool per origin (and connect timeout), reused by every client in the process.
const pools = new Map<string, Pool>();

/**
 * Keep-alive connections per origin. One origin serves every project of a service in a region, and the sweep
 * runs up to 5 CSBS deletions (each a DELETE, then polls) per project at once: 16 would cap a 4-project sweep
 * below its own lane limits.
 */
export const DEFAULT_CONNECTIONS_PER_ORIGIN = 64;

function poolFor(origin: string, connectMs: number, connections: number): Pool {
  const key = `${origin} ${connectMs} ${connections}`;
  let pool = pools.get(key);
  if (!pool) {
    pool = new Pool(origin, {
      connections,
      keepAliveTimeout: 10_000,
      connect: { timeout: connectMs },
      // undici 8 negotiates HTTP/2 by default; HTTP/1.1 until HTTP/2 has been tried against the real APIs.
      allowH2: false,
    });
    pools.set(key, pool);
  }
  return pool;
}

/** Closes every pooled connection (tests, graceful shutdown). */
export async function closeHuaweiPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((pool) => pool.close()));
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const FORBIDDEN_IN_SEGMENT = /[/\\?#%\u0000-\u001f\u007f]/;

/** Throws InvalidRequestError unless `segment` can only ever be one literal path segment. */
export function validatePathSegment(segment: unknown, index: number): string {
  const field = `pathSegments[${index}]`;
  if (typeof segment !== 'string' || segment.length === 0) {
    throw new InvalidRequestError(field, 'must be a non-empty string');
  }
  if (segment === '.' || segment.includes('..'))
    throw new InvalidRequestError(field, 'must not contain dot segments');
  if (FORBIDDEN_IN_SEGMENT.test(segment)) {
    throw new InvalidRequestError(field, 'must not contain "/", "\\", "?", "#", "%" or control characters');
  }
  if (segment.trim() !== segment)
    throw new InvalidRequestError(field, 'must not start or end with whitespace');
  return segment;
}

/** Base URL (with its optional path prefix) + validated segments + query. */
export function buildUrl(base: URL, segments: readonly string[], query: HuaweiOperation['query']): URL {
  const encoded = segments.map((segment, i) => encodeURIComponent(validatePathSegment(segment, i)));
  const prefix = base.pathname.replace(/\/+$/, '');
  const url = new URL(base.origin);
  url.pathname = `${prefix}/${encoded.join('/')}`;
  if (query) {
    for (const [key, value] of Object.entries(query)) {
      if (value === undefined) continue;
      for (const item of typeof value === 'string' ? [value] : value) url.searchParams.append(key, item);
    }
  }
  return url;
}

/** Retry-After in seconds or as an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

interface UpstreamErrorBody {
  errorCode?: string | undefined;
  errorMessage?: string | undefined;
  requestId?: string | undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Reads both error body shapes: `{error_code, error_msg}` and `{error: {code, message}}`. */
export function parseErrorBody(text: string): UpstreamErrorBody {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { errorMessage: text.slice(0, 200) || undefined };
  }
  if (typeof json !== 'object' || json === null) return {};
  const flat = json as Record<string, unknown>;
  const nested =
    typeof flat.error === 'object' && flat.error !== null ? (flat.error as Record<string, unknown>) : {};
  return {
    errorCode: str(flat.error_code) ?? str(nested.code) ?? str(nested.error_code) ?? str(flat.code),
    errorMessage: str(flat.error_msg) ?? str(nested.message) ?? str(nested.error_msg) ?? str(flat.message),
    requestId: str(flat.request_id) ?? str(nested.request_id),
  };
}

function headerRecord(raw: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}

function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

type Attempt =
  | { kind: 'response'; status: number; headers: Record<string, string>; text: string }
  | { kind: 'network'; error: unknown };

export class HuaweiClient {
  readonly #endpoints: EndpointResolver;
  readonly #auth: AuthProvider;
  readonly #retry: RetryPolicy;
  readonly #timeouts: Timeouts;
  readonly #connections: number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => number;
  readonly #userAgent: string;

  constructor(options: HuaweiClientOptions) {
    this.#endpoints = options.endpoints;
    this.#auth = options.auth;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#timeouts = { ...DEFAULT_TIMEOUTS, ...options.timeouts };
    const connections = options.connectionsPerOrigin ?? DEFAULT_CONNECTIONS_PER_ORIGIN;
    if (!Number.isInteger(connections) || connections < 1) {
      throw new RangeError(`connectionsPerOrigin must be a whole number >= 1, got ${connections}`);
    }
    this.#connections = connections;
    this.#sleep = options.sleep ?? defaultSleep;
    this.#random = options.random ?? Math.random;
    this.#now = options.now ?? Date.now;
    this.#userAgent = options.userAgent ?? 'hwc-retention';
    if (!Number.isInteger(this.#retry.maxAttempts) || this.#retry.maxAttempts < 1) {
      throw new InvalidRequestError('retry.maxAttempts', 'must be an integer >= 1');
    }
  }

  /** Sends one operation and returns its parsed 2xx response; throws the typed errors of errors.ts. */
  async request<S extends z.ZodType>(
    op: HuaweiOperation,
    schema: S,
    options: RequestOptions = {},
  ): Promise<HuaweiResponse<z.output<S>>> {
    const context: UpstreamContext = { service: op.service, operation: op.operation };
    // Validation and endpoint resolution happen before anything is sent.
    const url = buildUrl(this.#endpoints.resolve(op.service, op.region), op.pathSegments, op.query);
    const body = op.body === undefined ? undefined : JSON.stringify(op.body);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (op.projectId) headers['X-Project-Id'] = op.projectId;
    const auth = options.auth ?? this.#auth;
    const signal = options.signal;
    const started = this.#now();

    for (let attempt = 1; ; attempt++) {
      if (signal?.aborted) {
        throw new HuaweiNetworkError(context, 'aborted by the caller', { cause: signal.reason });
      }
      let authHeaders: Record<string, string>;
      try {
        authHeaders = await auth.authorize({ method: op.method, url, headers, body }, signal);
      } catch (error) {
        if (signal?.aborted) throw new HuaweiNetworkError(context, 'aborted by the caller', { cause: error });
        throw error;
      }
      const signed = { ...headers, ...authHeaders };
      const outcome = await this.#send(
        op.method,
        url,
        { ...signed, 'User-Agent': this.#userAgent },
        body,
        signal,
      );

      if (outcome.kind === 'network' && signal?.aborted) {
        throw new HuaweiNetworkError(context, 'aborted by the caller', { cause: signal.reason });
      }
      const retryable = outcome.kind === 'network' || RETRYABLE_STATUSES.has(outcome.status);
      if (outcome.kind === 'response' && !retryable) {
        if (outcome.status === 401) auth.invalidate?.();
        return this.#finish(op, context, schema, outcome);
      }

      // A retryable failure: wait and go again, unless a bound says stop.
      const retryAfterMs =
        outcome.kind === 'response'
          ? parseRetryAfter(outcome.headers['retry-after'], this.#now())
          : undefined;
      const backoffMs =
        this.#random() * Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
      const delayMs = retryAfterMs ?? backoffMs;
      // A Retry-After longer than we would ever wait ends the call: retrying sooner would not honour it, and
      // the caller (the sweep's lanes) gets retryAfterMs on the error to wait for itself.
      const tooLong = delayMs > this.#retry.maxDelayMs;
      const outOfTime = this.#now() + delayMs - started > this.#retry.maxTotalMs;
      if (attempt >= this.#retry.maxAttempts || tooLong || outOfTime) {
        if (outcome.kind === 'network') {
          throw new HuaweiNetworkError(
            context,
            `${networkReason(outcome.error)} after ${attempt} attempt(s)`,
            {
              cause: outcome.error,
            },
          );
        }
        throw this.#apiError(context, outcome, retryAfterMs);
      }
      try {
        await this.#sleep(delayMs, signal);
      } catch (error) {
        throw new HuaweiNetworkError(context, 'aborted by the caller', { cause: error });
      }
    }
  }

  async #send(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<Attempt> {
    try {
      const response = await poolFor(url.origin, this.#timeouts.connectMs, this.#connections).request({
        method,
        path: `${url.pathname}${url.search}`,
        headers,
        body,
        signal,
        headersTimeout: this.#timeouts.headersMs,
        bodyTimeout: this.#timeouts.bodyMs,
      });
      // Always read the body: an unread body keeps the connection from returning to the pool.
      const text = await response.body.text();
      return { kind: 'response', status: response.statusCode, headers: headerRecord(response.headers), text };
    } catch (error) {
      return { kind: 'network', error };
    }
  }

  #apiError(
    context: UpstreamContext,
    outcome: Extract<Attempt, { kind: 'response' }>,
    retryAfterMs: number | undefined,
  ): HuaweiApiError {
    const parsed = parseErrorBody(outcome.text);
    return HuaweiApiError.fromResponse({
      ...context,
      status: outcome.status,
      errorCode: parsed.errorCode,
      errorMessage: parsed.errorMessage,
      requestId: outcome.headers['x-request-id'] ?? parsed.requestId,
      retryAfterMs,
    });
  }

  #finish<S extends z.ZodType>(
    op: HuaweiOperation,
    context: UpstreamContext,
    schema: S,
    outcome: Extract<Attempt, { kind: 'response' }>,
  ): HuaweiResponse<z.output<S>> {
    const { status, headers, text } = outcome;
    if (status < 200 || status >= 300) throw this.#apiError(context, outcome, undefined);
    const requestId = headers['x-request-id'];
    if (op.expect && !op.expect.includes(status)) {
      throw new HuaweiResponseShapeError(
        context,
        `status ${status}, expected ${op.expect.join(' or ')}`,
        requestId,
      );
    }
    let json: unknown;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch (error) {
        throw new HuaweiResponseShapeError(context, 'body is not JSON', requestId, { cause: error });
      }
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new HuaweiResponseShapeError(context, describeIssues(parsed.error), requestId, {
        cause: parsed.error,
      });
    }
    return { status, body: parsed.data, requestId, headers };
  }
}

function networkReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timeout';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'response headers timeout';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'response body timeout';
  if (typeof code === 'string') return `network error ${code}`;
  return 'network error';
}

export function createHuaweiClient(options: HuaweiClientOptions): HuaweiClient {
  return new HuaweiClient(options);
}
