import type { z } from 'zod';
import { CLIENT_RETRY, CLIENT_TIMEOUTS } from '../budgets.ts';
import { anySignal, deadlineOf } from '../deadline.ts';
import type { AuthProvider } from './credentials.ts';
import type { EndpointResolver } from './endpoints.ts';
import {
  HuaweiApiError,
  HuaweiDeadlineError,
  HuaweiNetworkError,
  HuaweiResponseShapeError,
  type HuaweiService,
  HuaweiUnreachableError,
  InvalidRequestError,
  type UpstreamContext,
} from './errors.ts';
import { Pool } from './undici-pool.ts';

/**
 * The one path every Huawei call takes: validate -> sign -> send (undici, keep-alive pool per origin) ->
 * map status -> parse with the operation's zod schema.
 *
 * Retries, bounded in attempts, total time and the caller's deadline (a signal from lib/deadline.ts, or
 * `deadlineMs`), with full-jitter exponential backoff honouring Retry-After:
 * - 429 always (a throttled request was not applied); no wait is started that would end after the deadline,
 *   the throttled error surfaces at once with `retryAfterMs` instead.
 * - Idempotent calls (GET, and any operation marked `idempotent`) also 500/502/503/504 and network errors.
 * - A DELETE stops at the first answer that might have been applied — a reset, a timeout or a closed socket
 *   after the request was written, or any 5xx — with the error flagged `outcomeUnknown: true`. Only failures
 *   before anything was written (connection refused, connect timeout) are retried.
 * - DNS (ENOTFOUND, EAI_AGAIN) and TLS failures are never retried: HuaweiUnreachableError names the host,
 *   service and region.
 * - A 401 is never retried with AK/SK (five failed authentications lock an AK for five minutes); with a
 *   renewable credential (an IAM token that may have expired) the token is dropped and the request retried once.
 * 400/403/404 are never retried.
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
  /** Whether repeating the call after a lost answer is harmless. Default: every method but DELETE. */
  readonly idempotent?: boolean | undefined;
}

export interface RequestOptions {
  /** Aborts the call; a signal from lib/deadline.ts also bounds every attempt and wait by its deadline. */
  readonly signal?: AbortSignal | undefined;
  /** A deadline in epoch ms on the client's clock (the earlier of this and the signal's applies). */
  readonly deadlineMs?: number | undefined;
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
  /** Bounds every request of this client too (see `HuaweiClient.bounded`). */
  readonly signal?: AbortSignal | undefined;
}

/** The client's bounds (lib/budgets.ts holds them with their relations to the handlers' budgets). */
export const DEFAULT_RETRY: RetryPolicy = CLIENT_RETRY;
export const DEFAULT_TIMEOUTS: Timeouts = CLIENT_TIMEOUTS;
/** Statuses an idempotent call retries. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 500, 502, 503, 504]);
/** Statuses a non-idempotent call (DELETE) retries: only those that say the request was not applied. */
export const RETRYABLE_UNAPPLIED_STATUSES: ReadonlySet<number> = new Set([429]);

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
  /** `deadlineCut`: a timeout that was shortened to the caller's deadline fired (time ran out, not upstream). */
  | { kind: 'network'; error: unknown; deadlineCut: boolean };

function earliest(...values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length === 0 ? undefined : Math.min(...present);
}

export class HuaweiClient {
  readonly #options: HuaweiClientOptions;
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
    this.#options = options;
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

  /**
   * The same client (pools, auth, bounds) with every request also bound to `signal` and its deadline: a
   * handler hands its invocation deadline to code that does not pass signals itself (a sweep's DELETE step).
   */
  bounded(signal: AbortSignal | undefined): HuaweiClient {
    if (signal === undefined) return this;
    return new HuaweiClient({ ...this.#options, signal: anySignal(this.#options.signal, signal) });
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
    const signal = anySignal(options.signal, this.#options.signal);
    const idempotent = op.idempotent ?? op.method !== 'DELETE';
    const deadline = earliest(options.deadlineMs, deadlineOf(signal));
    const started = this.#now();
    const where = { host: url.host, service: op.service, region: op.region };
    let renewed = false;

    for (let attempt = 1; ; attempt++) {
      this.#checkTime(context, signal, deadline, undefined);
      let authHeaders: Record<string, string>;
      try {
        authHeaders = await auth.authorize({ method: op.method, url, headers, body }, signal);
      } catch (error) {
        this.#checkTime(context, signal, deadline, error);
        throw error;
      }
      const signed = { ...headers, ...authHeaders };
      // A signal's deadline cuts the attempt itself (its timer is exact). Only an explicit `deadlineMs` (no
      // timer behind it) shortens undici's timeouts, whose coarse timers may fire a little early: an early
      // cut followed by a fresh attempt in the last milliseconds would send a DELETE twice.
      const left =
        options.deadlineMs === undefined ? Number.POSITIVE_INFINITY : options.deadlineMs - this.#now();
      const outcome = await this.#send(
        op.method,
        url,
        { ...signed, 'User-Agent': this.#userAgent },
        body,
        signal,
        left,
      );

      if (outcome.kind === 'network') {
        const cut = outcome.deadlineCut || (signal?.aborted ?? false);
        if (cut) {
          // The request was on the wire when time ran out (or the caller aborted it).
          this.#checkTime(context, signal, deadline, outcome.error, !idempotent, true);
          throw new HuaweiDeadlineError(context, 'no answer before the deadline', {
            inFlight: true,
            outcomeUnknown: !idempotent,
            cause: outcome.error,
          });
        }
        const kind = classifyNetworkError(outcome.error);
        if (kind === 'unreachable') {
          throw new HuaweiUnreachableError(
            context,
            `${networkReason(outcome.error)}: cannot reach ${where.host} (service ${where.service}, region ${where.region}); check the region and the endpoint for this service`,
            { cause: outcome.error },
          );
        }
        if (kind === 'maybe-applied' && !idempotent) {
          throw new HuaweiNetworkError(
            context,
            `${networkReason(outcome.error)} after the request was sent (attempt ${attempt}); the outcome is unknown and the call is not repeated`,
            { cause: outcome.error, outcomeUnknown: true },
          );
        }
      } else {
        if (outcome.status === 401) {
          auth.invalidate?.(authHeaders);
          if (auth.renewable === true && !renewed) {
            // An expired token: one retry with a fresh one, not counted against the attempts.
            renewed = true;
            attempt--;
            continue;
          }
        }
        const retryable = (idempotent ? RETRYABLE_STATUSES : RETRYABLE_UNAPPLIED_STATUSES).has(
          outcome.status,
        );
        if (!retryable) {
          if (!idempotent && outcome.status >= 500) {
            throw this.#apiError(context, outcome, undefined, true);
          }
          return this.#finish(op, context, schema, outcome);
        }
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
      const now = this.#now();
      const outOfTime = now + delayMs - started > this.#retry.maxTotalMs;
      // The wait and at least a moment for the next attempt must fit before the caller's deadline.
      const pastDeadline = deadline !== undefined && now + delayMs >= deadline;
      if (attempt >= this.#retry.maxAttempts || tooLong || outOfTime || pastDeadline) {
        if (outcome.kind === 'response') {
          const error = this.#apiError(
            context,
            outcome,
            retryAfterMs ?? (pastDeadline ? delayMs : undefined),
          );
          // Throttled: surfaces as itself (429 + Retry-After); anything else stopped by the deadline is "out
          // of time, nothing more sent".
          if (!pastDeadline || outcome.status === 429 || attempt >= this.#retry.maxAttempts) throw error;
          throw new HuaweiDeadlineError(context, `${error.message}; no time left to retry`, {
            inFlight: false,
            retryAfterMs: delayMs,
            cause: error,
          });
        }
        const reason = `${networkReason(outcome.error)} after ${attempt} attempt(s)`;
        if (pastDeadline && attempt < this.#retry.maxAttempts) {
          throw new HuaweiDeadlineError(context, `${reason}; no time left to retry`, {
            inFlight: false,
            retryAfterMs: delayMs,
            cause: outcome.error,
          });
        }
        throw new HuaweiNetworkError(context, reason, { cause: outcome.error });
      }
      try {
        await this.#sleep(delayMs, signal);
      } catch (error) {
        this.#checkTime(context, signal, deadline, error);
        throw new HuaweiNetworkError(context, 'aborted by the caller', { cause: error });
      }
    }
  }

  /**
   * Throws when the caller aborted or the deadline has passed. `sent`: a request was on the wire (its
   * outcome is unknown for a non-idempotent call). Returns when there is still time.
   */
  #checkTime(
    context: UpstreamContext,
    signal: AbortSignal | undefined,
    deadline: number | undefined,
    cause: unknown,
    outcomeUnknown = false,
    inFlight = false,
  ): void {
    const timedOut = deadline !== undefined && this.#now() >= deadline;
    const reason: unknown = signal?.aborted ? signal.reason : undefined;
    const deadlineAbort = reason instanceof DOMException && reason.name === 'TimeoutError';
    if (timedOut || deadlineAbort) {
      throw new HuaweiDeadlineError(
        context,
        inFlight ? 'no answer before the deadline' : 'the deadline passed before the next attempt',
        { inFlight, outcomeUnknown, cause: cause ?? reason },
      );
    }
    if (signal?.aborted) {
      throw new HuaweiNetworkError(context, 'aborted by the caller', {
        cause: cause ?? reason,
        outcomeUnknown,
      });
    }
  }

  async #send(
    method: HttpMethod,
    url: URL,
    headers: Record<string, string>,
    body: string | undefined,
    signal: AbortSignal | undefined,
    leftMs: number,
  ): Promise<Attempt> {
    // No attempt outlives the deadline: its timeouts shrink to what is left (at least 1 ms, undici's minimum).
    const left = Math.max(1, Math.floor(leftMs));
    const headersTimeout = Math.min(this.#timeouts.headersMs, left);
    const bodyTimeout = Math.min(this.#timeouts.bodyMs, left);
    try {
      const response = await poolFor(url.origin, this.#timeouts.connectMs, this.#connections).request({
        method,
        path: `${url.pathname}${url.search}`,
        headers,
        body,
        signal,
        headersTimeout,
        bodyTimeout,
      });
      // Always read the body: an unread body keeps the connection from returning to the pool.
      const text = await response.body.text();
      return { kind: 'response', status: response.statusCode, headers: headerRecord(response.headers), text };
    } catch (error) {
      const code = errorCode(error);
      const cut =
        (code === 'UND_ERR_HEADERS_TIMEOUT' && headersTimeout < this.#timeouts.headersMs) ||
        (code === 'UND_ERR_BODY_TIMEOUT' && bodyTimeout < this.#timeouts.bodyMs);
      return { kind: 'network', error, deadlineCut: cut };
    }
  }

  #apiError(
    context: UpstreamContext,
    outcome: Extract<Attempt, { kind: 'response' }>,
    retryAfterMs: number | undefined,
    outcomeUnknown = false,
  ): HuaweiApiError {
    const parsed = parseErrorBody(outcome.text);
    return HuaweiApiError.fromResponse({
      ...context,
      status: outcome.status,
      errorCode: parsed.errorCode,
      errorMessage: parsed.errorMessage,
      requestId: outcome.headers['x-request-id'] ?? parsed.requestId,
      retryAfterMs,
      outcomeUnknown,
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

/** The error's code, looking through `cause` and AggregateError (several addresses tried) as Node reports them. */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 4) return undefined;
  const own = (error as { code?: unknown }).code;
  if (typeof own === 'string') return own;
  const inner = (error as { errors?: unknown }).errors;
  if (Array.isArray(inner) && inner.length > 0) return errorCode(inner[0], depth + 1);
  return errorCode((error as { cause?: unknown }).cause, depth + 1);
}

/** Node's DNS failures (getaddrinfo). */
const DNS_CODES: ReadonlySet<string> = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);
/** Failures before a connection existed: nothing of the request was written. */
const NOT_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** TLS handshake and certificate failures (OpenSSL's and Node's codes): nothing of the request was written. */
function isTlsCode(code: string): boolean {
  return (
    code.startsWith('ERR_TLS_') ||
    code.startsWith('ERR_SSL_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'EPROTO'
  );
}

/**
 * - `unreachable`: DNS or TLS — a configuration problem, never retried.
 * - `not-sent`: refused, unreachable network, connect timeout — provably not applied, safe to retry.
 * - `maybe-applied`: anything after the connection was up (reset, closed socket, headers/body timeout).
 */
export function classifyNetworkError(error: unknown): 'unreachable' | 'not-sent' | 'maybe-applied' {
  const code = errorCode(error);
  if (code === undefined) return 'maybe-applied';
  if (DNS_CODES.has(code) || isTlsCode(code)) return 'unreachable';
  if (NOT_SENT_CODES.has(code)) return 'not-sent';
  return 'maybe-applied';
}

function networkReason(error: unknown): string {
  const code = errorCode(error);
  if (code === 'UND_ERR_CONNECT_TIMEOUT') return 'connect timeout';
  if (code === 'UND_ERR_HEADERS_TIMEOUT') return 'response headers timeout';
  if (code === 'UND_ERR_BODY_TIMEOUT') return 'response body timeout';
  if (typeof code === 'string') return `network error ${code}`;
  return 'network error';
}

export function createHuaweiClient(options: HuaweiClientOptions): HuaweiClient {
  return new HuaweiClient(options);
}

/** Anything with the client's `request` (the services and the sweep take this). */
export type HuaweiRequesterLike = Pick<HuaweiClient, 'request'>;

/** `client` with every request also bound to `signal` and its deadline (any requester, not only ours). */
export function boundedRequester(
  client: HuaweiRequesterLike,
  signal: AbortSignal | undefined,
): HuaweiRequesterLike {
  if (signal === undefined) return client;
  if (client instanceof HuaweiClient) return client.bounded(signal);
  return {
    request<S extends z.ZodType>(op: HuaweiOperation, schema: S, options: RequestOptions = {}) {
      return client.request(op, schema, { ...options, signal: anySignal(options.signal, signal) });
    },
  };
}
