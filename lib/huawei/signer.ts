import { createHmac, createSecretKey, hash, type KeyObject } from 'node:crypto';

/**
 * Huawei Cloud SDK-HMAC-SHA256 (AK/SK) request signing, in the small pure steps of the Go and Python
 * SDKs: canonical request -> string to sign -> signature. Nothing here reads a clock or the environment;
 * the caller passes `now`.
 */

export const SIGNING_ALGORITHM = 'SDK-HMAC-SHA256';
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
export const HEADER_SDK_DATE = 'X-Sdk-Date';
export const HEADER_CONTENT_SHA256 = 'X-Sdk-Content-Sha256';
export const HEADER_SECURITY_TOKEN = 'X-Security-Token';

export interface AkSkCredentials {
  readonly ak: string;
  readonly sk: string;
  readonly securityToken?: string | undefined;
}

export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers to sign as they will be sent. `host` is added from the URL when absent. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array | undefined;
}

export interface SignedHeaders {
  readonly 'X-Sdk-Date': string;
  readonly Authorization: string;
  readonly 'X-Security-Token'?: string;
}

/** 1 for the bytes kept as they are: A-Z a-z 0-9 - _ . ~ */
const UNRESERVED = new Uint8Array(128);
for (const char of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~') {
  UNRESERVED[char.charCodeAt(0)] = 1;
}
const RESERVED_BY_RFC3986 = /[!'()*]/g;
const PLAIN_COMPONENT = /^[A-Za-z0-9\-_.~]*$/;
/** `%XX` (upper-case hex) for every ASCII code. */
const ASCII_ESCAPES: readonly string[] = Array.from(
  { length: 128 },
  (_, code) => `%${code.toString(16).toUpperCase().padStart(2, '0')}`,
);

function escapeReserved(char: string): string {
  return ASCII_ESCAPES[char.charCodeAt(0)] as string;
}

/**
 * Percent-encodes everything but A-Z a-z 0-9 - _ . ~ (upper-case hex, UTF-8), as Go's and Python's
 * signers do. ASCII is escaped from a table; anything else goes through `encodeURIComponent` (UTF-8, throws
 * on a lone surrogate), which leaves `!'()*` alone, so those are escaped after it.
 */
export function percentEncode(value: string): string {
  if (PLAIN_COMPONENT.test(value)) return value;
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 128) {
      return out + encodeURIComponent(value.slice(from)).replace(RESERVED_BY_RFC3986, escapeReserved);
    }
    if (UNRESERVED[code] === 0) {
      if (from < i) out += value.slice(from, i);
      out += ASCII_ESCAPES[code] as string;
      from = i + 1;
    }
  }
  if (from === 0) return value;
  return from < value.length ? out + value.slice(from) : out;
}

function decodeLenient(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Paths of only unreserved characters and `/` are their own canonical form. */
const PLAIN_PATH = /^[A-Za-z0-9\-_.~/]*$/;

/** Each path segment percent-encoded (after decoding what the URL already encoded), always ending in "/". */
export function canonicalUri(pathname: string): string {
  if (PLAIN_PATH.test(pathname)) return pathname.endsWith('/') ? pathname : `${pathname}/`;
  const decoded = pathname.includes('%') ? decodeLenient(pathname) : pathname;
  const segments = decoded.split('/');
  let out = '';
  for (let i = 0; i < segments.length; i++) {
    if (i > 0) out += '/';
    out += percentEncode(segments[i] as string);
  }
  return out.endsWith('/') ? out : `${out}/`;
}

function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Orders (key, value) pairs by key, then value: the same as sorting keys and each key's values. */
function comparePairs(a: readonly [string, string], b: readonly [string, string]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
}

/** Keys sorted, each key's values sorted, both percent-encoded, joined as `k=v&k=v`. */
export function canonicalQuery(params: Iterable<readonly [string, string]>): string {
  const pairs: (readonly [string, string])[] = [];
  for (const pair of params) pairs.push(pair);
  if (pairs.length === 0) return '';
  if (pairs.length > 1) pairs.sort(comparePairs);
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const [key, value] = pairs[i] as readonly [string, string];
    out += i === 0 ? percentEncode(key) : `&${percentEncode(key)}`;
    out += `=${percentEncode(value)}`;
  }
  return out;
}

/**
 * A serialised query component already in canonical form, so that `percentEncode(decode(raw)) === raw`:
 * unreserved characters and upper-case `%XX` escapes of ASCII bytes that are not themselves unreserved.
 */
const CANONICAL_COMPONENT =
  /^(?:[A-Za-z0-9\-_.~]|%(?:[01][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF]))*$/;

const QUERY_CHARS = /^[A-Za-z0-9\-_.~=&%]*$/;
/** A `%` not followed by an upper-case escape of an ASCII byte that is not unreserved. */
const NON_CANONICAL_ESCAPE = /%(?![01][0-9A-F]|2[0-9A-CF]|3[A-F]|40|5[B-E]|60|7[B-DF])/;

/**
 * True when a serialised query (without `?`) is its own canonical form: every component is `key=value` with
 * exactly one `=`, both in canonical form, keys free of escapes and strictly increasing (a client that builds
 * its queries sorted gets here without any decoding, sorting or re-encoding).
 */
function isCanonicalQuery(query: string): boolean {
  if (!QUERY_CHARS.test(query)) return false;
  if (query.indexOf('%') !== -1 && NON_CANONICAL_ESCAPE.test(query)) return false;
  let previousKey: string | undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    const eq = query.indexOf('=', start);
    if (eq === -1 || eq >= end) return false;
    const second = query.indexOf('=', eq + 1);
    if (second !== -1 && second < end) return false;
    const key = query.slice(start, eq);
    if (key.indexOf('%') !== -1) return false;
    if (previousKey !== undefined && key <= previousKey) return false;
    previousKey = key;
    start = end + 1;
  }
  return true;
}

/** Decodes one `application/x-www-form-urlencoded` component; undefined when it is malformed. */
function decodeFormComponent(raw: string): string | undefined {
  if (raw.indexOf('%') === -1 && raw.indexOf('+') === -1) return raw;
  try {
    return decodeURIComponent(raw.indexOf('+') === -1 ? raw : raw.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * `canonicalQuery` straight from a serialised query (`url.search`), without building URLSearchParams entries.
 * Decodes as URLSearchParams does (components already in canonical form are kept as they are); a component
 * decodeURIComponent rejects (bad escape, invalid UTF-8) sends the whole query back to URLSearchParams,
 * whose lenient decoding is then the rule. Keys sort by their decoded text, then values by theirs.
 */
function canonicalQueryOf(url: URL): string {
  const search = url.search;
  if (search.length <= 1) return '';
  const query = search.slice(1);
  if (isCanonicalQuery(query)) return query;
  const keys: string[] = []; // decoded, for ordering
  const encodedKeys: string[] = [];
  const rawValues: string[] = []; // as serialised; decoded only to break ties between equal keys
  const encodedValues: string[] = [];
  let start = 1;
  while (start <= search.length) {
    let end = search.indexOf('&', start);
    if (end === -1) end = search.length;
    if (end > start) {
      const eq = search.indexOf('=', start);
      const hasValue = eq !== -1 && eq < end;
      const rawKey = search.slice(start, hasValue ? eq : end);
      const rawValue = hasValue ? search.slice(eq + 1, end) : '';
      const plainKey = PLAIN_COMPONENT.test(rawKey);
      const key = plainKey ? rawKey : decodeFormComponent(rawKey);
      if (key === undefined) return canonicalQuery(url.searchParams);
      let encodedValue: string;
      if (PLAIN_COMPONENT.test(rawValue) || CANONICAL_COMPONENT.test(rawValue)) encodedValue = rawValue;
      else {
        const value = decodeFormComponent(rawValue);
        if (value === undefined) return canonicalQuery(url.searchParams);
        encodedValue = percentEncode(value);
      }
      let j = keys.length - 1;
      while (j >= 0) {
        const k = keys[j] as string;
        if (k < key) break;
        if (k === key) {
          const here = decodeFormComponent(rawValues[j] as string) as string;
          const value = decodeFormComponent(rawValue) as string;
          if (here <= value) break;
        }
        keys[j + 1] = k;
        encodedKeys[j + 1] = encodedKeys[j] as string;
        rawValues[j + 1] = rawValues[j] as string;
        encodedValues[j + 1] = encodedValues[j] as string;
        j--;
      }
      keys[j + 1] = key;
      encodedKeys[j + 1] = plainKey ? rawKey : percentEncode(key);
      rawValues[j + 1] = rawValue;
      encodedValues[j + 1] = encodedValue;
    }
    start = end + 1;
  }
  let out = '';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += '&';
    out += `${encodedKeys[i] as string}=${encodedValues[i] as string}`;
  }
  return out;
}

export interface CanonicalHeaders {
  /** `name:value\n` for each signed header, sorted by lower-case name. */
  readonly canonical: string;
  /** The `;`-joined lower-case names. */
  readonly signedNames: string;
}

function joinHeaders(entries: readonly [string, string][]): CanonicalHeaders {
  let canonical = '';
  let signedNames = '';
  for (let i = 0; i < entries.length; i++) {
    const [name, value] = entries[i] as [string, string];
    canonical += `${name}:${value.trim()}\n`;
    signedNames += i === 0 ? name : `;${name}`;
  }
  return { canonical, signedNames };
}

export function canonicalHeaders(headers: Readonly<Record<string, string>>): CanonicalHeaders {
  const entries: [string, string][] = [];
  for (const name of Object.keys(headers)) entries.push([name.toLowerCase(), headers[name] as string]);
  entries.sort((a, b) => compareCodeUnits(a[0], b[0]));
  return joinHeaders(entries);
}

export function sha256Hex(payload: string | Uint8Array): string {
  return hash('sha256', payload, 'hex');
}

function bodyHash(body: string | Uint8Array | undefined): string {
  if (body === undefined || body.length === 0) return EMPTY_BODY_SHA256;
  return sha256Hex(body);
}

export function payloadHash(
  headers: Readonly<Record<string, string>>,
  body: string | Uint8Array | undefined,
): string {
  for (const name of Object.keys(headers)) {
    if (name.toLowerCase() === 'x-sdk-content-sha256') return headers[name] as string;
  }
  return bodyHash(body);
}

export interface CanonicalRequestParts {
  readonly method: string;
  readonly pathname: string;
  readonly query: Iterable<readonly [string, string]>;
  /** Exactly the headers that are signed. */
  readonly headers: Readonly<Record<string, string>>;
  readonly payloadHash: string;
}

function joinCanonicalRequest(
  method: string,
  pathname: string,
  query: string,
  headers: CanonicalHeaders,
  payloadHashHex: string,
): string {
  return `${method.toUpperCase()}\n${canonicalUri(pathname)}\n${query}\n${headers.canonical}\n${headers.signedNames}\n${payloadHashHex}`;
}

export function canonicalRequest(parts: CanonicalRequestParts): { text: string; signedNames: string } {
  const headers = canonicalHeaders(parts.headers);
  const text = joinCanonicalRequest(
    parts.method,
    parts.pathname,
    canonicalQuery(parts.query),
    headers,
    parts.payloadHash,
  );
  return { text, signedNames: headers.signedNames };
}

export function stringToSign(sdkDate: string, canonicalRequestText: string): string {
  return `${SIGNING_ALGORITHM}\n${sdkDate}\n${sha256Hex(canonicalRequestText)}`;
}

/** The last secret key used, as a KeyObject: HMAC with a prepared key skips re-importing the SK per call. */
let cachedSk: string | undefined;
let cachedKey: KeyObject | undefined;

function hmacKey(sk: string): KeyObject {
  if (cachedKey === undefined || cachedSk !== sk) {
    cachedKey = createSecretKey(Buffer.from(sk, 'utf8'));
    cachedSk = sk;
  }
  return cachedKey;
}

export function signature(sk: string, stringToSignText: string): string {
  return createHmac('sha256', hmacKey(sk)).update(stringToSignText).digest('hex');
}

/** UTC `YYYYMMDDTHHMMSSZ`. */
export function formatSdkDate(now: Date): string {
  const iso = now.toISOString(); // 2026-11-26T23:55:11.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
}

/** Parses `YYYYMMDDTHHMMSSZ`; undefined when malformed. */
export function parseSdkDate(value: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s] = match as unknown as [string, string, string, string, string, string, string];
  const date = new Date(Date.UTC(+y, +mo - 1, +d, +h, +mi, +s));
  return Number.isNaN(date.getTime()) ? undefined : date;
}

export function authorizationHeader(ak: string, signedNames: string, signatureHex: string): string {
  return `${SIGNING_ALGORITHM} Access=${ak}, SignedHeaders=${signedNames}, Signature=${signatureHex}`;
}

/** Inserts a header into name-sorted parallel arrays, after any equal name (a stable insertion sort). */
function insertHeader(names: string[], values: string[], name: string, value: string): void {
  let j = names.length - 1;
  while (j >= 0 && (names[j] as string) > name) {
    names[j + 1] = names[j] as string;
    values[j + 1] = values[j] as string;
    j--;
  }
  names[j + 1] = name;
  values[j + 1] = value;
}

/**
 * Signs a request. The signed headers are the request's headers plus `host` (from the URL, unless given),
 * `X-Sdk-Date` (from `now`, unless given) and `X-Security-Token` for temporary credentials.
 * Returns the headers to add to the request.
 */
export function sign(request: SignableRequest, credentials: AkSkCredentials, now: Date): SignedHeaders {
  // One pass over the caller's headers into parallel arrays kept sorted by lower-case name (insertion: header
  // sets are small), noting the three that matter.
  const names: string[] = [];
  const values: string[] = [];
  let hasHost = false;
  let sdkDate: string | undefined;
  let contentSha256: string | undefined;
  const headers = request.headers;
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const lower = name.toLowerCase();
    const value = headers[name] as string;
    if (lower === 'host') hasHost = true;
    else if (lower === 'x-sdk-date') sdkDate = value;
    else if (lower === 'x-sdk-content-sha256') contentSha256 = value;
    insertHeader(names, values, lower, value);
  }
  if (!hasHost) insertHeader(names, values, 'host', request.url.host);
  if (sdkDate === undefined) {
    sdkDate = formatSdkDate(now);
    insertHeader(names, values, 'x-sdk-date', sdkDate);
  }
  const token = credentials.securityToken;
  if (token) {
    const given = names.indexOf('x-security-token');
    if (given === -1) insertHeader(names, values, 'x-security-token', token);
    else values[given] = token;
  }
  let canonical = '';
  let signedNames = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    canonical += `${name}:${(values[i] as string).trim()}\n`;
    signedNames += i === 0 ? name : `;${name}`;
  }
  const signed: CanonicalHeaders = { canonical, signedNames };

  const url = request.url;
  const text = joinCanonicalRequest(
    request.method,
    url.pathname,
    canonicalQueryOf(url),
    signed,
    contentSha256 ?? bodyHash(request.body),
  );
  const signatureHex = signature(credentials.sk, stringToSign(sdkDate, text));
  const result: { -readonly [K in keyof SignedHeaders]: SignedHeaders[K] } = {
    [HEADER_SDK_DATE]: sdkDate,
    Authorization: authorizationHeader(credentials.ak, signed.signedNames, signatureHex),
  };
  if (credentials.securityToken) result[HEADER_SECURITY_TOKEN] = credentials.securityToken;
  return result;
}

export interface ParsedAuthorization {
  readonly ak: string;
  readonly signedNames: readonly string[];
  readonly signature: string;
}

/** Parses an `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...` header; undefined when malformed. */
export function parseAuthorization(value: string): ParsedAuthorization | undefined {
  const match =
    /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(
      value.trim(),
    );
  if (!match) return undefined;
  const [, ak, names, sig] = match as unknown as [string, string, string, string];
  return { ak, signedNames: names.split(';'), signature: sig };
}
