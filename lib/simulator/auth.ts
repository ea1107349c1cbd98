import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import {
  canonicalRequest,
  parseAuthorization,
  parseSdkDate,
  payloadHash,
  SIGNING_ALGORITHM,
  signature,
} from '../huawei/signer.ts';
import type { SimClock } from './clock.ts';

/** A simulated IAM user: AK/SK for signing, name/password for `POST /v3/auth/tokens`. */
export interface SimUser {
  name: string;
  password: string;
  domain: string;
  ak: string;
  sk: string;
}

export interface AuthOptions {
  clock: SimClock;
  /** Simulated ms an AK stays locked after `maxFailures` consecutive failures (cloud: 5 minutes). */
  lockMs?: number;
  maxFailures?: number;
  /** Allowed |X-Sdk-Date - wall clock| (cloud: 15 minutes). */
  maxSkewMs?: number;
  /** Simulated lifetime of an IAM token (cloud: 24 hours). */
  tokenTtlMs?: number;
}

export type AuthOutcome =
  | { ok: true; user: SimUser }
  | { ok: false; status: 401; code: string; message: string };

interface LockState {
  failures: number;
  lockedUntil: number;
}

interface IssuedToken {
  user: SimUser;
  projectId: string | undefined;
  expiresAt: number;
}

const ALNUM_UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomString(random: () => number, alphabet: string, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[(random() * alphabet.length) | 0];
  return out;
}

/** A user whose AK (20 chars) and SK (40 chars) look like Huawei's, drawn from `random`. */
export function makeUser(random: () => number, name: string): SimUser {
  return {
    name,
    password: randomString(random, ALNUM, 16),
    domain: 'sim-domain',
    ak: randomString(random, ALNUM_UPPER, 20),
    sk: randomString(random, ALNUM, 40),
  };
}

function failure(message: string, code = 'APIG.0301'): AuthOutcome {
  return { ok: false, status: 401, code, message };
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * Verifies AK/SK signatures and IAM tokens the way API Gateway does: the canonical request is rebuilt
 * from what was received (full path, query, the signed headers, the body), the date must be within
 * 15 minutes of the wall clock, and an AK is locked after 5 consecutive failures.
 */
export class Authenticator {
  private readonly usersByAk = new Map<string, SimUser>();
  private readonly usersByName = new Map<string, SimUser>();
  private readonly locks = new Map<string, LockState>();
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly lockMs: number;
  private readonly maxFailures: number;
  private readonly maxSkewMs: number;
  private readonly tokenTtlMs: number;

  constructor(private readonly options: AuthOptions) {
    this.lockMs = options.lockMs ?? 300_000;
    this.maxFailures = options.maxFailures ?? 5;
    this.maxSkewMs = options.maxSkewMs ?? 900_000;
    this.tokenTtlMs = options.tokenTtlMs ?? 86_400_000;
  }

  addUser(user: SimUser): void {
    this.usersByAk.set(user.ak, user);
    this.usersByName.set(user.name, user);
  }

  /** Checks an AK/SK-signed request. `path` is the received path without the query. */
  verifySignature(request: {
    method: string;
    path: string;
    query: URLSearchParams;
    headers: IncomingHttpHeaders;
    body: Buffer;
  }): AuthOutcome {
    const authorization = headerValue(request.headers, 'authorization');
    if (!authorization)
      return failure('Incorrect IAM authentication information: Authorization header missing');
    const parsed = parseAuthorization(authorization);
    if (!parsed) return failure('Incorrect IAM authentication information: malformed Authorization header');
    const now = this.options.clock.now();
    const lock = this.locks.get(parsed.ak);
    if (lock && lock.lockedUntil > now) {
      return failure('Incorrect IAM authentication information: the access key is locked, try again later');
    }
    const problem = this.signatureProblem(parsed, request);
    if (problem) {
      this.recordFailure(parsed.ak, now);
      return failure(`Incorrect IAM authentication information: ${problem}`);
    }
    this.locks.delete(parsed.ak);
    return { ok: true, user: this.usersByAk.get(parsed.ak) as SimUser };
  }

  private signatureProblem(
    parsed: { ak: string; signedNames: readonly string[]; signature: string },
    request: {
      method: string;
      path: string;
      query: URLSearchParams;
      headers: IncomingHttpHeaders;
      body: Buffer;
    },
  ): string | undefined {
    const user = this.usersByAk.get(parsed.ak);
    if (!user) return 'unknown access key';
    const sdkDate = headerValue(request.headers, 'x-sdk-date');
    const date = sdkDate ? parseSdkDate(sdkDate) : undefined;
    if (!sdkDate || !date) return 'X-Sdk-Date missing or malformed';
    if (Math.abs(this.options.clock.wallNow() - date.getTime()) > this.maxSkewMs) {
      return 'X-Sdk-Date is more than 15 minutes away from the server time';
    }
    if (!parsed.signedNames.includes('x-sdk-date')) return 'x-sdk-date must be signed';
    const signed: Record<string, string> = {};
    for (const name of parsed.signedNames) {
      const value = headerValue(request.headers, name);
      if (value === undefined) return `signed header ${name} missing`;
      signed[name] = value;
    }
    const canonical = canonicalRequest({
      method: request.method,
      pathname: request.path,
      query: request.query,
      headers: signed,
      payloadHash: payloadHash(signed, request.body),
    });
    // The signer's stringToSign, with the one-shot hash: this is the simulator's hottest line.
    const toSign = `${SIGNING_ALGORITHM}\n${sdkDate}\n${hash('sha256', canonical.text)}`;
    const expected = Buffer.from(signature(user.sk, toSign), 'hex');
    const given = Buffer.from(parsed.signature, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'signature mismatch';
    return undefined;
  }

  private recordFailure(ak: string, now: number): void {
    const lock = this.locks.get(ak) ?? { failures: 0, lockedUntil: 0 };
    if (lock.lockedUntil !== 0 && lock.lockedUntil <= now) {
      lock.failures = 0;
      lock.lockedUntil = 0;
    }
    lock.failures += 1;
    if (lock.failures >= this.maxFailures) lock.lockedUntil = now + this.lockMs;
    this.locks.set(ak, lock);
  }

  isLocked(ak: string): boolean {
    const lock = this.locks.get(ak);
    return lock !== undefined && lock.lockedUntil > this.options.clock.now();
  }

  verifyToken(token: string): AuthOutcome {
    const issued = this.tokens.get(token);
    if (!issued || issued.expiresAt <= this.options.clock.now()) {
      return failure('The token must be updated', 'APIG.0307');
    }
    return { ok: true, user: issued.user };
  }

  /** Password login (IAM `POST /v3/auth/tokens`); undefined when the name or password is wrong. */
  passwordUser(name: string, password: string): SimUser | undefined {
    const user = this.usersByName.get(name);
    return user && user.password === password ? user : undefined;
  }

  issueToken(
    user: SimUser,
    projectId: string | undefined,
  ): { token: string; issuedAt: number; expiresAt: number } {
    const token = `MIIsim${randomBytes(48).toString('base64url')}`;
    const issuedAt = this.options.clock.now();
    const expiresAt = issuedAt + this.tokenTtlMs;
    this.tokens.set(token, { user, projectId, expiresAt });
    return { token, issuedAt, expiresAt };
  }
}
