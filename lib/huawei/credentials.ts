import { inspect } from 'node:util';
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';
import type { HuaweiClient } from './client.ts';
import { ConfigurationError, HuaweiAuthError } from './errors.ts';
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
  /** Called by the client after a 401, so a cached token is not reused (the request itself is not retried). */
  invalidate?(): void;
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
  /** The SDK client Powertools Parameters calls; by default it creates its own (AWS_REGION). */
  readonly client?: SecretsManagerClient | undefined;
  readonly secretId: string;
  /** How long a fetched secret is reused (the Powertools cache's max age); default 15 minutes. */
  readonly ttlMs?: number;
}

/** The secret's cache lifetime when none is given: 15 minutes (README "Configuration" says so too). */
export const SECRET_TTL_MS = 15 * 60_000;

/**
 * One Secrets Manager secret's JSON text through Powertools Parameters' SecretsProvider: fetched on first use
 * and cached by the provider for `ttlMs`, then fetched again. The provider (and the AWS SDK client it needs)
 * is loaded on the first fetch, so a function that never reads a secret never loads either. Concurrent
 * callers share one fetch (the provider alone would fetch once per caller); a failed fetch is not cached.
 * Errors name the secret id and what is wrong, never a value.
 */
export class SecretsManagerSecret {
  readonly #options: SecretsManagerSourceOptions & { readonly ttlMs: number };
  #provider: Promise<SecretsProvider> | undefined;
  #inflight: Promise<unknown> | undefined;
  /** The last text read and its parse: while the cache serves the same text, callers get the same object. */
  #parsed: { text: string; json: unknown } | undefined;
  /** Set when the cached text proved unusable: the next read bypasses the cache. */
  #refetch = false;

  constructor(options: SecretsManagerSourceOptions) {
    if (!options.secretId) throw new ConfigurationError('secretId must be non-empty');
    this.#options = { ...options, ttlMs: options.ttlMs ?? SECRET_TTL_MS };
  }

  get secretId(): string {
    return this.#options.secretId;
  }

  /** Makes the next read fetch the secret again (its content was unusable: not cached, as a failed fetch). */
  invalidate(): void {
    this.#refetch = true;
  }

  /** The secret's JSON, from the provider's cache while it is fresh. */
  json(): Promise<unknown> {
    this.#inflight ??= this.#read().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #read(): Promise<unknown> {
    const { secretId, client, ttlMs } = this.#options;
    this.#provider ??= import('@aws-lambda-powertools/parameters/secrets').then(
      ({ SecretsProvider }) => new SecretsProvider(client === undefined ? {} : { awsSdkV3Client: client }),
    );
    const provider = await this.#provider;
    const forceFetch = this.#refetch;
    let text: unknown;
    try {
      text = await provider.get(secretId, { maxAge: Math.max(1, Math.round(ttlMs / 1000)), forceFetch });
      this.#refetch = false;
    } catch (error) {
      this.invalidate();
      // The AWS error carries no secret value; keep it as the cause.
      throw new ConfigurationError(`secret ${secretId} cannot be read`, { cause: error });
    }
    if (typeof text !== 'string' || text === '') {
      this.invalidate();
      throw new ConfigurationError(`secret ${secretId} has no SecretString`);
    }
    if (this.#parsed?.text === text) return this.#parsed.json;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      this.invalidate();
      throw new ConfigurationError(`secret ${secretId} is not JSON`);
    }
    this.#parsed = { text, json };
    return json;
  }

  toJSON(): Record<string, string> {
    return { secretId: this.#options.secretId };
  }
  [inspect.custom](): string {
    return `SecretsManagerSecret(${this.#options.secretId})`;
  }
}

/**
 * AK/SK from a Secrets Manager secret (SecretCredentialsSchema), reused while Powertools' cache holds the
 * secret (`ttlMs`, default 15 minutes); the same credentials object comes back until the secret changes.
 */
export class SecretsManagerCredentialSource implements CredentialSource {
  readonly #secret: SecretsManagerSecret;
  #last: { json: unknown; credentials: StaticCredentials } | undefined;

  constructor(options: SecretsManagerSourceOptions) {
    this.#secret = new SecretsManagerSecret(options);
  }

  async get(): Promise<AkSkCredentials> {
    const json = await this.#secret.json();
    const last = this.#last;
    if (last !== undefined && last.json === json) return last.credentials;
    const parsed = SecretCredentialsSchema.safeParse(json);
    if (!parsed.success) {
      this.#secret.invalidate();
      throw new ConfigurationError(
        `secret ${this.#secret.secretId} ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
      );
    }
    const credentials = new StaticCredentials(parsed.data.ak, parsed.data.sk, parsed.data.securityToken);
    this.#last = { json, credentials };
    return credentials;
  }

  toJSON(): Record<string, string> {
    return { secretId: this.#secret.secretId };
  }
  [inspect.custom](): string {
    return `SecretsManagerCredentialSource(${this.#secret.secretId})`;
  }
}

/**
 * IAM password identity in a Secrets Manager secret (token auth deployed): `domain_name`, `user_name`,
 * `password`, or the HWC_IAM_* names of lib/config.ts.
 */
export const SecretIdentitySchema = z
  .looseObject({
    HWC_IAM_DOMAIN_NAME: z.string().min(1).optional(),
    HWC_IAM_USER_NAME: z.string().min(1).optional(),
    HWC_IAM_PASSWORD: z.string().min(1).optional(),
    domain_name: z.string().min(1).optional(),
    user_name: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
  })
  .transform((secret, ctx): PasswordIdentity => {
    const domainName = secret.HWC_IAM_DOMAIN_NAME ?? secret.domain_name;
    const userName = secret.HWC_IAM_USER_NAME ?? secret.user_name;
    const password = secret.HWC_IAM_PASSWORD ?? secret.password;
    if (!domainName || !userName || !password) {
      ctx.addIssue({ code: 'custom', message: 'needs domain_name, user_name and password for token auth' });
      return z.NEVER;
    }
    return { domainName, userName, password };
  });

/** Reads the token-auth identity from a secret; errors name the secret, never a value. */
export async function identityFromSecret(secret: SecretsManagerSecret): Promise<PasswordIdentity> {
  const parsed = SecretIdentitySchema.safeParse(await secret.json());
  if (!parsed.success) {
    secret.invalidate();
    throw new ConfigurationError(
      `secret ${secret.secretId} ${parsed.error.issues[0]?.message ?? 'is invalid'}`,
    );
  }
  return parsed.data;
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
  /**
   * How long a login IAM refused (401/403: wrong user, password or domain) is remembered: every caller meanwhile
   * gets the same error without a new login, so a wrong password does not try again per request (IAM locks a
   * user after a few failed logins). Default 5 minutes.
   */
  readonly loginCoolDownMs?: number;
  readonly now?: () => number;
}

export const DEFAULT_LOGIN_COOL_DOWN_MS = 5 * 60_000;

export const TokenResponseSchema = z.looseObject({
  token: z.looseObject({ expires_at: z.string().min(1) }),
});

/**
 * IAM token auth: `POST /v3/auth/tokens`, token from `X-Subject-Token`, sent as `X-Auth-Token`. Cached until
 * `refreshBeforeMs` before `expires_at`; concurrent callers share one fetch. A login IAM refused is remembered
 * for `loginCoolDownMs` (one per container, since the TokenAuth is); any other failed fetch is not cached.
 */
export class TokenAuth implements AuthProvider {
  readonly #options: TokenAuthOptions;
  #cached: { token: string; refreshAt: number } | undefined;
  #inflight: Promise<string> | undefined;
  /** The last refused login and until when it stands in for a new one. */
  #refused: { error: unknown; until: number } | undefined;
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

  /** Drops the cached token: the next caller fetches a new one. */
  invalidate(): void {
    this.#cached = undefined;
  }

  async token(signal?: AbortSignal): Promise<string> {
    const now = this.#options.now ?? Date.now;
    const cached = this.#cached;
    if (cached && now() < cached.refreshAt) return cached.token;
    const refused = this.#refused;
    if (refused !== undefined && now() < refused.until) throw refused.error;
    // The shared fetch is not tied to one caller's signal: another caller may still want it.
    this.#inflight ??= this.#login(() => this.#fetch()).finally(() => {
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

  /** Runs the login call, remembering a refusal (HuaweiAuthError) for the cool-down and forgetting it on success. */
  async #login<T>(call: () => Promise<T>): Promise<T> {
    const now = this.#options.now ?? Date.now;
    try {
      const result = await call();
      this.#refused = undefined;
      return result;
    } catch (error) {
      if (error instanceof HuaweiAuthError) {
        this.#refused = {
          error,
          until: now() + (this.#options.loginCoolDownMs ?? DEFAULT_LOGIN_COOL_DOWN_MS),
        };
      }
      throw error;
    }
  }

  toJSON(): Record<string, string> {
    return { kind: 'TokenAuth', user: REDACTED };
  }
  [inspect.custom](): string {
    return 'TokenAuth [REDACTED]';
  }
}
