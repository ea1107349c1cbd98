import { inspect } from 'node:util';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { HuaweiClient } from './client.ts';
import { ConfigurationError } from './errors.ts';
import { type AkSkCredentials, sign } from './signer.ts';

/**
 * Where the client's authentication comes from: AK/SK (from an env-like object or an AWS Secrets Manager
 * secret) signed per request, or an IAM token sent as `X-Auth-Token`. Every object here that holds a secret
 * prints and serialises as `[REDACTED]`, and no error message carries a secret value — only key names.
 */

export const ENV_AK = 'HUAWEICLOUD_SDK_AK';
export const ENV_SK = 'HUAWEICLOUD_SDK_SK';
export const ENV_SECURITY_TOKEN = 'HUAWEICLOUD_SDK_SECURITY_TOKEN';
const REDACTED = '[REDACTED]';

/** What an AuthProvider sees of a request: enough to sign it. */
export interface AuthRequest {
  readonly method: string;
  readonly url: URL;
  /** Headers that will be sent (and so are signed). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
}

/** Adds authentication headers to one request (signing headers, or `X-Auth-Token`). Called once per attempt. */
export interface AuthProvider {
  authorize(request: AuthRequest, signal?: AbortSignal): Promise<Record<string, string>>;
  /**
   * Called by the client after a 401 with the auth headers that were rejected, so a cached credential is not
   * reused; a provider drops its cache only when those headers are still what it would send.
   */
  invalidate?(rejected?: Readonly<Record<string, string>>): void;
  /**
   * True when a 401 can mean "the cached credential expired" (IAM tokens): the client then invalidates and
   * retries the request once with a fresh one. AK/SK signatures do not expire that way and are never retried
   * (five failed authentications lock the AK).
   */
  readonly renewable?: boolean;
}

/** Anything that yields AK/SK credentials, possibly after a fetch (Secrets Manager). */
export interface CredentialSource {
  get(signal?: AbortSignal): Promise<AkSkCredentials>;
}

/** AK/SK (+ token) whose secret parts are readable by the signer but never printed or serialised. */
export class StaticCredentials implements AkSkCredentials, CredentialSource {
  readonly #ak: string;
  readonly #sk: string;
  readonly #securityToken: string | undefined;

  constructor(ak: string, sk: string, securityToken?: string) {
    if (!ak || !sk) throw new ConfigurationError('AK and SK must both be non-empty');
    this.#ak = ak;
    this.#sk = sk;
    this.#securityToken = securityToken || undefined;
  }
  get ak(): string {
    return this.#ak;
  }
  get sk(): string {
    return this.#sk;
  }
  get securityToken(): string | undefined {
    return this.#securityToken;
  }
  get(): Promise<AkSkCredentials> {
    return Promise.resolve(this);
  }
  toJSON(): Record<string, string> {
    return { ak: REDACTED, sk: REDACTED, ...(this.#securityToken ? { securityToken: REDACTED } : {}) };
  }
  toString(): string {
    return 'StaticCredentials [REDACTED]';
  }
  [inspect.custom](): string {
    return this.toString();
  }
}

/** AK/SK from an env-like object with the official SDK variable names. Errors name the key, never a value. */
export function credentialsFromEnv(env: Readonly<Record<string, string | undefined>>): StaticCredentials {
  const ak = env[ENV_AK]?.trim();
  const sk = env[ENV_SK]?.trim();
  const missing = [!ak && ENV_AK, !sk && ENV_SK].filter(Boolean);
  if (missing.length > 0) throw new ConfigurationError(`missing ${missing.join(' and ')}`);
  return new StaticCredentials(ak as string, sk as string, env[ENV_SECURITY_TOKEN]?.trim() || undefined);
}

/** Secret JSON: the official variable names, or lower-case `ak`/`sk`/`security_token`. */
export const SecretCredentialsSchema = z
  .looseObject({
    HUAWEICLOUD_SDK_AK: z.string().min(1).optional(),
    HUAWEICLOUD_SDK_SK: z.string().min(1).optional(),
    HUAWEICLOUD_SDK_SECURITY_TOKEN: z.string().optional(),
    ak: z.string().min(1).optional(),
    sk: z.string().min(1).optional(),
    security_token: z.string().optional(),
  })
  .transform((secret, ctx) => {
    const ak = secret.HUAWEICLOUD_SDK_AK ?? secret.ak;
    const sk = secret.HUAWEICLOUD_SDK_SK ?? secret.sk;
    if (!ak || !sk) {
      ctx.addIssue({ code: 'custom', message: `needs ${ENV_AK} and ${ENV_SK} (or ak and sk)` });
      return z.NEVER;
    }
    return { ak, sk, securityToken: secret.HUAWEICLOUD_SDK_SECURITY_TOKEN ?? secret.security_token };
  });

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  readonly secretId: string;
  /** How long a fetched secret is reused; default 15 minutes. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/**
 * Fetches the secret once and reuses it for `ttlMs` (create it at module level: once per container).
 * Concurrent callers share one fetch; a failed fetch is not cached.
 */
export class SecretsManagerCredentialSource implements CredentialSource {
  readonly #options: Required<Omit<SecretsManagerSourceOptions, 'client'>> & { client: SecretsManagerClient };
  #cached: { credentials: StaticCredentials; expiresAt: number } | undefined;
  #inflight: Promise<StaticCredentials> | undefined;
  /** Number of GetSecretValue calls made (for tests and metrics). */
  fetchCount = 0;

  constructor(options: SecretsManagerSourceOptions) {
    if (!options.secretId) throw new ConfigurationError('secretId must be non-empty');
    this.#options = {
      client: options.client,
      secretId: options.secretId,
      ttlMs: options.ttlMs ?? 15 * 60_000,
      now: options.now ?? Date.now,
    };
  }

  async get(): Promise<AkSkCredentials> {
    const cached = this.#cached;
    if (cached && this.#options.now() < cached.expiresAt) return cached.credentials;
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #fetch(): Promise<StaticCredentials> {
    const { client, secretId, ttlMs, now } = this.#options;
    this.fetchCount++;
    let text: string | undefined;
    try {
      const output = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      text = output.SecretString;
    } catch (error) {
      // The AWS error carries no secret value; keep it as the cause.
      throw new ConfigurationError(`secret ${secretId} cannot be read`, { cause: error });
    }
    if (!text) throw new ConfigurationError(`secret ${secretId} has no SecretString`);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ConfigurationError(`secret ${secretId} is not JSON`);
    }
    const parsed = SecretCredentialsSchema.safeParse(json);
    if (!parsed.success) {
      throw new ConfigurationError(`secret ${secretId} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    }
    const credentials = new StaticCredentials(parsed.data.ak, parsed.data.sk, parsed.data.securityToken);
    this.#cached = { credentials, expiresAt: now() + ttlMs };
    return credentials;
  }

  toJSON(): Record<string, string> {
    return { secretId: this.#options.secretId };
  }
  [inspect.custom](): string {
    return `SecretsManagerCredentialSource(${this.#options.secretId})`;
  }
}

/** Signs each request with SDK-HMAC-SHA256. */
export function createAkSkAuth(source: CredentialSource, options: { now?: () => Date } = {}): AuthProvider {
  const now = options.now ?? (() => new Date());
  return {
    async authorize(request, signal) {
      const credentials = await source.get(signal);
      return { ...sign(request, credentials, now()) };
    },
  };
}

/** No authentication (the IAM token call itself, and local tests). */
export const NO_AUTH: AuthProvider = { authorize: async () => ({}) };

export interface PasswordIdentity {
  readonly userName: string;
  readonly password: string;
  readonly domainName: string;
}

export interface TokenAuthOptions {
  /** The client the token call goes through (its own auth is bypassed for that call). */
  readonly client: Pick<HuaweiClient, 'request'>;
  /** IAM region (resolved to `iam.{region}...` by the client's endpoint resolver). */
  readonly region: string;
  readonly identity: PasswordIdentity;
  /** Scope the token to this project (project-scoped APIs need it). */
  readonly projectId?: string | undefined;
  /** Refresh this long before `expires_at`; default 10 minutes. */
  readonly refreshBeforeMs?: number;
  readonly now?: () => number;
}

export const TokenResponseSchema = z.looseObject({
  token: z.looseObject({ expires_at: z.string().min(1) }),
});

/**
 * IAM token auth: `POST /v3/auth/tokens`, token from `X-Subject-Token`, sent as `X-Auth-Token`. Cached until
 * `refreshBeforeMs` before `expires_at`; concurrent callers share one fetch; a failed fetch is not cached.
 */
export class TokenAuth implements AuthProvider {
  readonly #options: TokenAuthOptions;
  #cached: { token: string; refreshAt: number } | undefined;
  #inflight: Promise<string> | undefined;
  /** Number of token requests made. */
  fetchCount = 0;

  constructor(options: TokenAuthOptions) {
    if (!options.identity.userName || !options.identity.password || !options.identity.domainName) {
      throw new ConfigurationError('token auth needs a user name, a password and a domain name');
    }
    this.#options = options;
  }

  async authorize(_request: AuthRequest, signal?: AbortSignal): Promise<Record<string, string>> {
    return { 'X-Auth-Token': await this.token(signal) };
  }

  readonly renewable = true;

  /**
   * Drops the cached token: the next caller fetches a new one. With the rejected headers, only when they carry
   * the cached token (a request that failed with an older token must not drop a fresh one).
   */
  invalidate(rejected?: Readonly<Record<string, string>>): void {
    const token = rejected?.['X-Auth-Token'];
    if (token !== undefined && token !== this.#cached?.token) return;
    this.#cached = undefined;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const now = this.#options.now ?? Date.now;
    const cached = this.#cached;
    if (cached && now() < cached.refreshAt) return cached.token;
    // The shared fetch is not tied to one caller's signal: another caller may still want it.
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    if (!signal) return this.#inflight;
    signal.throwIfAborted();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.#inflight, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }

  async #fetch(): Promise<string> {
    const { client, region, identity, projectId } = this.#options;
    const now = this.#options.now ?? Date.now;
    this.fetchCount++;
    const response = await client.request(
      {
        service: 'iam',
        operation: 'iam.createToken',
        region,
        method: 'POST',
        pathSegments: ['v3', 'auth', 'tokens'],
        body: {
          auth: {
            identity: {
              methods: ['password'],
              password: {
                user: {
                  name: identity.userName,
                  password: identity.password,
                  domain: { name: identity.domainName },
                },
              },
            },
            scope: projectId ? { project: { id: projectId } } : { domain: { name: identity.domainName } },
          },
        },
        expect: [200, 201],
      },
      TokenResponseSchema,
      { auth: NO_AUTH },
    );
    const token = response.headers['x-subject-token'];
    if (!token) throw new ConfigurationError('iam.createToken: the response has no X-Subject-Token header');
    const expiresAt = Date.parse(response.body.token.expires_at);
    if (Number.isNaN(expiresAt))
      throw new ConfigurationError('iam.createToken: token.expires_at is not a date');
    const refreshBeforeMs = this.#options.refreshBeforeMs ?? 10 * 60_000;
    this.#cached = { token, refreshAt: Math.max(now(), expiresAt - refreshBeforeMs) };
    return token;
  }

  toJSON(): Record<string, string> {
    return { kind: 'TokenAuth', user: REDACTED };
  }
  [inspect.custom](): string {
    return 'TokenAuth [REDACTED]';
  }
}
