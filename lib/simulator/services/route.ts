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

/**
 * The simulator honours every list parameter it names in `honoured`; any other one — a filter the SDKs
 * document that the simulator does not implement, or a name nobody documents — is answered with 400 naming
 * it, so a filter is never silently ignored.
 */
export function unhonouredParameter(
  query: URLSearchParams,
  honoured: ReadonlySet<string>,
  code: string,
): Reply | undefined {
  for (const name of query.keys()) {
    if (!honoured.has(name)) {
      return errorReply(400, code, `Invalid request: the simulator does not support the parameter ${name}`);
    }
  }
  return undefined;
}

/** One `key[:asc|desc]` entry of a `sort` parameter. */
export interface SortKey {
  readonly key: string;
  readonly descending: boolean;
}

/** `created_at:desc,name` → keys; undefined when a key is not in `allowed` or a direction is not asc/desc. */
export function parseSort(raw: string, allowed: ReadonlySet<string>): SortKey[] | undefined {
  if (raw.length > 255) return undefined;
  const keys: SortKey[] = [];
  for (const part of raw.split(',')) {
    const [key = '', direction = 'desc', extra] = part.trim().split(':');
    if (extra !== undefined || !allowed.has(key) || (direction !== 'asc' && direction !== 'desc'))
      return undefined;
    keys.push({ key, descending: direction === 'desc' });
  }
  return keys.length === 0 ? undefined : keys;
}

/** Sorts records in place by `keys` (string comparison of each field), ties broken by id. */
export function sortRecords<T extends { id: string }>(records: T[], keys: readonly SortKey[]): T[] {
  const field = (record: T, key: string) => String((record as Record<string, unknown>)[key] ?? '');
  return records.sort((a, b) => {
    for (const { key, descending } of keys) {
      const fa = field(a, key);
      const fb = field(b, key);
      if (fa !== fb) return (fa < fb ? -1 : 1) * (descending ? -1 : 1);
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/**
 * One page of `matches` in a requested order: sorted by `sort` (when given), then the records after `marker`
 * (the id of the previous page's last record), then `offset`/`limit`. Undefined when the marker is unknown.
 */
export function orderedPage<T extends { id: string }>(
  matches: T[],
  sort: readonly SortKey[] | undefined,
  marker: string | null,
  offset: number,
  limit: number,
): { records: T[]; total: number; more: boolean } | undefined {
  if (sort !== undefined) sortRecords(matches, sort);
  let from = 0;
  if (marker) {
    const at = matches.findIndex((record) => record.id === marker);
    if (at < 0) return undefined;
    from = at + 1;
  }
  const start = from + offset;
  return {
    records: matches.slice(start, start + limit),
    total: matches.length,
    more: start + limit < matches.length,
  };
}
