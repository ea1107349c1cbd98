import { inspect } from 'node:util';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import {
  createAkSkAuth,
  credentialsFromEnv,
  DEFAULT_LOGIN_COOL_DOWN_MS,
  identityFromSecret,
  SecretsManagerCredentialSource,
  SecretsManagerSecret,
  StaticCredentials,
  TokenAuth,
} from '../../lib/huawei/credentials.ts';
import { ConfigurationError, HuaweiAuthError } from '../../lib/huawei/errors.ts';
import { parseAuthorization } from '../../lib/huawei/signer.ts';
import { json, type Loopback, loopbackClient, startLoopback } from './loopback.ts';

const AK = 'AKIDEXAMPLE0123456789';
const SK = 'sk-super-secret-value-9f8e7d6c5b4a';
const TOKEN = 'security-token-secret-abc123';
const PASSWORD = 'p4ssw0rd-secret-xyz';

describe('credentialsFromEnv', () => {
  it('reads the official variable names', () => {
    const credentials = credentialsFromEnv({
      HUAWEICLOUD_SDK_AK: AK,
      HUAWEICLOUD_SDK_SK: SK,
      HUAWEICLOUD_SDK_SECURITY_TOKEN: TOKEN,
    });
    expect(credentials.ak).toBe(AK);
    expect(credentials.sk).toBe(SK);
    expect(credentials.securityToken).toBe(TOKEN);
  });

  it('names the missing key and never the present secret', () => {
    expect(() => credentialsFromEnv({ HUAWEICLOUD_SDK_SK: SK })).toThrow(/missing HUAWEICLOUD_SDK_AK$/);
    const error = (() => {
      try {
        credentialsFromEnv({ HUAWEICLOUD_SDK_AK: AK, HUAWEICLOUD_SDK_SK: '' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.message).toContain('HUAWEICLOUD_SDK_SK');
    expect(error?.message).not.toContain(AK);
  });
});

describe('createAkSkAuth', () => {
  it('signs with SDK-HMAC-SHA256 and adds the security token', async () => {
    const auth = createAkSkAuth(new StaticCredentials(AK, SK, TOKEN), {
      now: () => new Date('2026-11-27T00:00:00Z'),
    });
    const headers = await auth.authorize({
      method: 'GET',
      url: new URL('https://cbr.cn-north-4.myhuaweicloud.com/v3/p/backups'),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(headers['X-Sdk-Date']).toBe('20261127T000000Z');
    expect(headers['X-Security-Token']).toBe(TOKEN);
    expect(parseAuthorization(headers.Authorization ?? '')).toMatchObject({
      ak: AK,
      signedNames: ['content-type', 'host', 'x-sdk-date', 'x-security-token'],
    });
  });
});

describe('SecretsManagerCredentialSource', () => {
  const secrets = mockClient(SecretsManagerClient);
  beforeEach(() => secrets.reset());

  afterEach(() => {
    vi.useRealTimers();
  });

  it('fetches once, shares the fetch between concurrent callers, and refetches after the TTL', async () => {
    // Powertools Parameters' cache expires on Date: a fake Date is the clock.
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(0);
    secrets
      .on(GetSecretValueCommand, { SecretId: 'hwc/creds' })
      .resolves({ SecretString: JSON.stringify({ HUAWEICLOUD_SDK_AK: AK, HUAWEICLOUD_SDK_SK: SK }) });
    const source = new SecretsManagerCredentialSource({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      secretId: 'hwc/creds',
      ttlMs: 60_000,
    });
    const [a, b, c] = await Promise.all([source.get(), source.get(), source.get()]);
    expect(a.sk).toBe(SK);
    expect(b).toBe(a);
    expect(c).toBe(a);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    vi.setSystemTime(60_000);
    expect(await source.get()).toBe(a);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    vi.setSystemTime(60_001);
    expect((await source.get()).sk).toBe(SK);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reads the token-auth identity from the same kind of secret, naming the secret when a key is missing', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ domain_name: 'acme', user_name: 'ops' }) })
      .resolves({
        SecretString: JSON.stringify({ domain_name: 'acme', user_name: 'ops', password: PASSWORD }),
      });
    const client = new SecretsManagerClient({ region: 'eu-west-1' });
    const incomplete = await identityFromSecret(
      new SecretsManagerSecret({ client, secretId: 'hwc/iam' }),
    ).catch((e: unknown) => e);
    expect(incomplete).toBeInstanceOf(ConfigurationError);
    expect((incomplete as Error).message).toBe(
      'secret hwc/iam needs domain_name, user_name and password for token auth',
    );
    expect(await identityFromSecret(new SecretsManagerSecret({ client, secretId: 'hwc/iam' }))).toEqual({
      domainName: 'acme',
      userName: 'ops',
      password: PASSWORD,
    });
  });

  it('accepts lower-case keys and a security token', async () => {
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ ak: AK, sk: SK, security_token: TOKEN }),
    });
    const source = new SecretsManagerCredentialSource({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      secretId: 's',
    });
    expect((await source.get()).securityToken).toBe(TOKEN);
  });

  it('does not cache a failure and never echoes the secret in its errors', async () => {
    secrets
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: JSON.stringify({ HUAWEICLOUD_SDK_AK: AK, other: SK }) })
      .resolvesOnce({ SecretString: `not json ${SK}` })
      .rejectsOnce(new Error('AccessDenied'))
      .resolves({ SecretString: JSON.stringify({ HUAWEICLOUD_SDK_AK: AK, HUAWEICLOUD_SDK_SK: SK }) });
    const source = new SecretsManagerCredentialSource({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      secretId: 's',
    });
    for (const expected of [
      /needs HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK/,
      /not JSON/,
      /cannot be read/,
    ]) {
      const error = (await source.get().catch((e: unknown) => e)) as Error;
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).toMatch(expected);
      expect(error.message).not.toContain(SK);
      expect(error.message).not.toContain(AK);
    }
    expect((await source.get()).sk).toBe(SK);
  });
});

/** One signed call through `client` (what a 401 from a cached token or a refused login breaks). */
const listBackups = (client: Pick<HuaweiClient, 'request'>) =>
  client.request(
    { service: 'cbr', operation: 'cbr.listBackups', region: 'test-1', method: 'GET', pathSegments: ['v3'] },
    z.unknown(),
  );

describe('TokenAuth', () => {
  let iam: Loopback;
  beforeAll(async () => {
    iam = await startLoopback();
  });
  afterAll(async () => {
    await iam.close();
    await closeHuaweiPools();
  });
  beforeEach(() => {
    iam.seen.length = 0;
  });

  const tokenResponder =
    (expiresAt: string, token = 'tok-1') =>
    (_req: unknown, res: import('node:http').ServerResponse) => {
      // A slow answer, so concurrent callers really overlap.
      setTimeout(() => {
        res.writeHead(201, { 'Content-Type': 'application/json', 'X-Subject-Token': token });
        res.end(JSON.stringify({ token: { expires_at: expiresAt, methods: ['password'] } }));
      }, 30);
    };

  function tokenAuth(now: () => number) {
    const { client } = loopbackClient(iam.baseUrl);
    return new TokenAuth({
      client,
      region: 'test-1',
      identity: { userName: 'alice', password: PASSWORD, domainName: 'acme' },
      projectId: 'proj-1',
      refreshBeforeMs: 5 * 60_000,
      now,
    });
  }

  it('makes one token request for concurrent callers and sends the token as X-Auth-Token', async () => {
    iam.respond = tokenResponder('2026-11-28T00:00:00.000000Z');
    const auth = tokenAuth(() => Date.parse('2026-11-27T00:00:00Z'));
    const request = { method: 'GET', url: new URL('https://x.example/'), headers: {} };
    const results = await Promise.all(Array.from({ length: 10 }, () => auth.authorize(request)));
    expect(results.every((h) => h['X-Auth-Token'] === 'tok-1')).toBe(true);
    expect(iam.seen).toHaveLength(1);
    expect(iam.seen[0]?.url).toBe('/iam/v3/auth/tokens');
    expect(iam.seen[0]?.headers['x-auth-token']).toBeUndefined();
    const body = JSON.parse(iam.seen[0]?.body ?? '{}');
    expect(body.auth.identity.password.user).toMatchObject({ name: 'alice', domain: { name: 'acme' } });
    expect(body.auth.scope).toEqual({ project: { id: 'proj-1' } });
  });

  it('reuses the token until shortly before expires_at, then fetches a new one', async () => {
    let clock = Date.parse('2026-11-27T00:00:00Z');
    iam.respond = tokenResponder('2026-11-27T01:00:00Z');
    const auth = tokenAuth(() => clock);
    await auth.token();
    clock = Date.parse('2026-11-27T00:54:59Z');
    await auth.token();
    expect(iam.seen).toHaveLength(1);
    clock = Date.parse('2026-11-27T00:55:00Z');
    iam.respond = tokenResponder('2026-11-27T02:00:00Z', 'tok-2');
    expect(await auth.token()).toBe('tok-2');
    expect(iam.seen).toHaveLength(2);
  });

  it('drops the cached token when a call with it gets a 401', async () => {
    iam.respond = tokenResponder('2026-11-28T00:00:00Z');
    const auth = tokenAuth(() => Date.parse('2026-11-27T00:00:00Z'));
    const { client } = loopbackClient(iam.baseUrl, { auth });
    await auth.token();
    iam.respond = json(401, { error_code: 'APIG.1002', error_msg: 'token expired' });
    await expect(listBackups(client)).rejects.toBeInstanceOf(HuaweiAuthError);
    iam.respond = tokenResponder('2026-11-28T00:00:00Z', 'tok-fresh');
    expect(await auth.token()).toBe('tok-fresh');
    expect(iam.seen.map((r) => r.url)).toEqual(['/iam/v3/auth/tokens', '/cbr/v3', '/iam/v3/auth/tokens']);
  });

  it('lets one caller abort its wait without cancelling the shared fetch for the others', async () => {
    iam.respond = tokenResponder('2026-11-28T00:00:00Z');
    const auth = tokenAuth(() => Date.parse('2026-11-27T00:00:00Z'));
    const controller = new AbortController();
    const impatient = auth.token(controller.signal).catch((e: unknown) => e);
    const patient = auth.token();
    controller.abort(new Error('caller gave up'));
    expect(((await impatient) as Error).message).toBe('caller gave up');
    expect(await patient).toBe('tok-1');
    expect(iam.seen).toHaveLength(1);
  });

  it('does not retry a 401, and the error carries no password', async () => {
    iam.respond = json(401, { error: { code: '401', message: 'The username or password is wrong.' } });
    const auth = tokenAuth(() => 0);
    const error = (await auth.token().catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(HuaweiAuthError);
    expect(iam.seen).toHaveLength(1);
    expect(`${error.message} ${error.stack} ${inspect(error)}`).not.toContain(PASSWORD);
  });

  it('remembers a refused login for the cool-down: 8 requests with a wrong password make 1 login', async () => {
    let clock = Date.parse('2026-11-27T00:00:00Z');
    iam.respond = json(401, { error: { code: '401', message: 'The username or password is wrong.' } });
    const auth = tokenAuth(() => clock);
    const { client } = loopbackClient(iam.baseUrl, { auth });
    for (let request = 0; request < 8; request += 1) {
      await expect(listBackups(client)).rejects.toBeInstanceOf(HuaweiAuthError);
    }
    expect(iam.seen.map((seen) => seen.url)).toEqual(['/iam/v3/auth/tokens']);
    // After the cool-down the next request logs in again, and a success clears the memory.
    clock += DEFAULT_LOGIN_COOL_DOWN_MS;
    iam.respond = tokenResponder('2026-11-28T00:00:00Z');
    expect(await auth.token()).toBe('tok-1');
    expect(iam.seen).toHaveLength(2);
  });

  it('does not remember a login that failed for another reason (IAM unreachable)', async () => {
    iam.respond = json(400, { error: { code: '400', message: 'malformed' } });
    const auth = tokenAuth(() => 0);
    await expect(auth.token()).rejects.toThrow();
    iam.respond = tokenResponder('2026-11-28T00:00:00Z');
    expect(await auth.token()).toBe('tok-1');
    expect(iam.seen).toHaveLength(2);
  });
});

describe('secrets never print', () => {
  it('redacts credentials, sources and token auth in JSON, inspect and string form', async () => {
    const secrets = mockClient(SecretsManagerClient);
    secrets.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ HUAWEICLOUD_SDK_AK: AK, HUAWEICLOUD_SDK_SK: SK }),
    });
    const fromEnv = credentialsFromEnv({
      HUAWEICLOUD_SDK_AK: AK,
      HUAWEICLOUD_SDK_SK: SK,
      HUAWEICLOUD_SDK_SECURITY_TOKEN: TOKEN,
    });
    const source = new SecretsManagerCredentialSource({
      client: new SecretsManagerClient({ region: 'eu-west-1' }),
      secretId: 'hwc/creds',
    });
    const fromSecret = await source.get();
    const { client } = loopbackClient('http://127.0.0.1:9');
    const tokenAuth = new TokenAuth({
      client,
      region: 'test-1',
      identity: { userName: 'alice', password: PASSWORD, domainName: 'acme' },
    });
    const printed = [fromEnv, fromSecret, source, tokenAuth, createAkSkAuth(fromEnv), { nested: { fromEnv } }]
      .flatMap((value) => [
        JSON.stringify(value),
        inspect(value, { depth: 10, showHidden: true }),
        String(value),
        `${value}`,
      ])
      .join('\n');
    for (const secret of [SK, TOKEN, PASSWORD]) expect(printed).not.toContain(secret);
    expect(printed).toContain('[REDACTED]');
    secrets.restore();
  });
});
