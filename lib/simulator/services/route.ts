import type { IncomingHttpHeaders } from 'node:http';
import type { Authenticator, SimUser } from '../auth.ts';
import type { SimService } from '../fleet.ts';
import type { SimState } from '../state.ts';

/** What a route handler sees: the matched request, the state, and who is calling. */
export interface RouteContext {
  readonly state: SimState;
  readonly auth: Authenticator;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** `http://127.0.0.1:PORT/{service}/{region}`: the base URL the caller used (for pagination links). */
  readonly baseUrl: string;
  readonly region: string;
  readonly user: SimUser | undefined;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  readonly method: 'GET' | 'POST' | 'DELETE' | 'PUT';
  /** Path after the `/{service}/{region}` prefix, with `:name` segments. */
  readonly pattern: string;
  /** Operation name without the service, e.g. `deleteBackup`; used by faults and inspection. */
  readonly operation: string;
  /** False for the IAM token call, which authenticates by its body. */
  readonly authenticated?: boolean;
  readonly handle: (context: RouteContext) => Reply;
}

export type ServiceName = SimService | 'iam';

/** The APIG error body every service returns (`request_id` is filled in by the server). */
export function errorReply(
  status: number,
  code: string,
  message: string,
  headers?: Record<string, string>,
): Reply {
  return headers
    ? { status, body: { error_code: code, error_msg: message }, headers }
    : { status, body: { error_code: code, error_msg: message } };
}

/** Parses an integer query parameter; undefined when absent, NaN when malformed. */
export function intParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  return /^-?\d+$/.test(raw) ? Number(raw) : Number.NaN;
}
