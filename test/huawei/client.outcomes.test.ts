import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deadlineAt, withDeadline } from '../../lib/deadline.ts';
import {
  classifyNetworkError,
  closeHuaweiPools,
  createHuaweiClient,
  type HuaweiOperation,
} from '../../lib/huawei/client.ts';
import type { AuthProvider } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver } from '../../lib/huawei/endpoints.ts';
import {
  HuaweiAuthError,
  HuaweiDeadlineError,
  HuaweiNetworkError,
  HuaweiServerError,
  HuaweiThrottledError,
  HuaweiUnreachableError,
} from '../../lib/huawei/errors.ts';
import { json, type Loopback, loopbackClient, sequence, startLoopback } from './loopback.ts';

const Anything = z.unknown();
const get = (extra: Partial<HuaweiOperation> = {}): HuaweiOperation => ({
  service: 'cbr',
  operation: 'cbr.listBackups',
  region: 'test-1',
  projectId: 'p1',
  method: 'GET',
  pathSegments: ['v3', 'p1', 'backups'],
  ...extra,
});
const del = (extra: Partial<HuaweiOperation> = {}): HuaweiOperation =>
  get({
    operation: 'cbr.deleteBackup',
    method: 'DELETE',
    pathSegments: ['v3', 'p1', 'backups', 'b1'],
    ...extra,
  });

/** A clock the injected sleep advances: waits take no wall time and the client sees them pass. */
function fakeTime(start = 1_000_000) {
  const clock = { now: start };
  const sleeps: number[] = [];
  return {
    clock,
    sleeps,
    now: () => clock.now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      clock.now += ms;
    },
  };
}

let server: Loopback;
beforeAll(async () => {
  server = await startLoopback();
});
afterEach(() => {
  server.seen.length = 0;
});
afterAll(async () => {
  await server.close();
  await closeHuaweiPools();
});

const throttled = (seconds: number) =>
  json(429, { error_code: 'APIG.0308', error_msg: 'throttled' }, { 'Retry-After': String(seconds) });
const hang = () => () => undefined;

describe('a request under a deadline', () => {
  it('surfaces a throttled answer at once when its Retry-After would end after the deadline', async () => {
    server.respond = throttled(12);
    const time = fakeTime();
    const { client } = loopbackClient(server.baseUrl, { now: time.now, sleep: time.sleep });
    const error = await client
      .request(get(), Anything, { deadlineMs: time.now() + 2_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiThrottledError);
    expect((error as HuaweiThrottledError).retryAfterMs).toBe(12_000);
    expect(time.sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('waits out a Retry-After that fits and stops at the last one that does not', async () => {
    server.respond = throttled(12);
    const time = fakeTime();
    const { client } = loopbackClient(server.baseUrl, { now: time.now, sleep: time.sleep });
    const error = await client
      .request(get(), Anything, { deadlineMs: time.now() + 27_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiThrottledError);
    expect(time.sleeps).toEqual([12_000, 12_000]);
    expect(server.seen).toHaveLength(3);
    expect(time.clock.now - 1_000_000).toBeLessThan(27_000);
  });

  it('ends with DEADLINE_EXCEEDED, nothing more sent, when a 503 backoff does not fit', async () => {
    server.respond = json(503, {});
    const time = fakeTime();
    const { client } = loopbackClient(server.baseUrl, {
      now: time.now,
      sleep: time.sleep,
      retry: { baseDelayMs: 1_000 },
      random: () => 0.99,
    });
    const error = await client
      .request(get(), Anything, { deadlineMs: time.now() + 500 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiDeadlineError);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', inFlight: false, outcomeUnknown: false });
    expect((error as HuaweiDeadlineError).cause).toBeInstanceOf(HuaweiServerError);
    expect(server.seen).toHaveLength(1);
  });

  it('sends nothing once the deadline has passed', async () => {
    const time = fakeTime();
    const { client } = loopbackClient(server.baseUrl, { now: time.now, sleep: time.sleep });
    const error = await client
      .request(del(), Anything, { deadlineMs: time.now() - 1 })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', inFlight: false });
    expect(server.seen).toHaveLength(0);
  });

  it('cuts a hanging DELETE at the deadline and says its outcome is unknown', async () => {
    server.respond = hang();
    const { client } = loopbackClient(server.baseUrl, { timeouts: { headersMs: 60_000 } });
    const error = await client
      .request(del(), Anything, { signal: deadlineAt(Date.now() + 300) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiDeadlineError);
    expect(error).toMatchObject({ code: 'UPSTREAM_TIMEOUT', inFlight: true, outcomeUnknown: true });
    expect(server.seen).toHaveLength(1);
  });

  it('cuts a hanging GET at the deadline without calling its outcome unknown', async () => {
    server.respond = hang();
    const { client } = loopbackClient(server.baseUrl, { timeouts: { headersMs: 60_000 } });
    const error = await client
      .request(get(), Anything, { signal: deadlineAt(Date.now() + 200) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_TIMEOUT', inFlight: true, outcomeUnknown: false });
  });

  it('reads the deadline a signal carries', async () => {
    server.respond = throttled(5);
    const time = fakeTime();
    const { client } = loopbackClient(server.baseUrl, { now: time.now, sleep: time.sleep });
    const signal = withDeadline(new AbortController().signal, time.now() + 1_000);
    await expect(client.request(get(), Anything, { signal })).rejects.toBeInstanceOf(HuaweiThrottledError);
    expect(time.sleeps).toEqual([]);
  });
});

describe('a DELETE is not repeated once it may have been applied', () => {
  it.each([500, 502, 503, 504])('ends at the first %i with outcomeUnknown', async (status) => {
    server.respond = json(status, { error_code: 'X.1', error_msg: 'boom' });
    const { client, sleeps } = loopbackClient(server.baseUrl);
    const error = await client.request(del(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiServerError);
    expect((error as HuaweiServerError).outcomeUnknown).toBe(true);
    expect(server.seen).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('ends at a headers timeout after the request was written, with outcomeUnknown', async () => {
    server.respond = hang();
    const { client } = loopbackClient(server.baseUrl, { timeouts: { headersMs: 100 } });
    const error = await client.request(del(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect(error).toMatchObject({ code: 'UPSTREAM_NETWORK', outcomeUnknown: true });
    expect((error as Error).message).toMatch(/outcome is unknown/);
    expect(server.seen).toHaveLength(1);
  });

  it('ends at a reset after the request was written, with outcomeUnknown', async () => {
    server.respond = (_request, res) => res.socket?.destroy();
    const { client } = loopbackClient(server.baseUrl);
    const error = await client.request(del(), Anything).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'UPSTREAM_NETWORK', outcomeUnknown: true });
    expect(server.seen).toHaveLength(1);
  });

  it('retries a 429: a throttled DELETE was not applied', async () => {
    server.respond = sequence(throttled(1), json(202, {}));
    const { client, sleeps } = loopbackClient(server.baseUrl);
    const response = await client.request(del(), Anything);
    expect(response.status).toBe(202);
    expect(sleeps).toEqual([1_000]);
    expect(server.seen).toHaveLength(2);
  });

  it('retries a refused connection (nothing was written) and never flags it outcome-unknown', async () => {
    const closed = await unusedPort();
    const { client, sleeps } = loopbackClient(`http://127.0.0.1:${closed}`, { retry: { maxAttempts: 3 } });
    const error = await client.request(del(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect(error).toMatchObject({ outcomeUnknown: false });
    expect((error as Error).message).toMatch(/ECONNREFUSED after 3 attempt/);
    expect(sleeps).toHaveLength(2);
  });

  it('still retries a GET after a headers timeout (reads are idempotent)', async () => {
    server.respond = sequence(hang(), json(200, { ok: true }));
    const { client } = loopbackClient(server.baseUrl, { timeouts: { headersMs: 100 } });
    const response = await client.request(get(), Anything);
    expect(response.status).toBe(200);
    expect(server.seen).toHaveLength(2);
  });
});

describe('a GET retries 500 like 502/503/504', () => {
  it('retries a 500 and succeeds', async () => {
    server.respond = sequence(json(500, {}), json(200, { backups: [] }));
    const { client, sleeps } = loopbackClient(server.baseUrl);
    const response = await client.request(get(), Anything);
    expect(response.status).toBe(200);
    expect(sleeps).toHaveLength(1);
  });

  it('gives up after maxAttempts 500s with the server error', async () => {
    server.respond = json(500, { error_code: 'X.500', error_msg: 'internal' });
    const { client } = loopbackClient(server.baseUrl, { retry: { maxAttempts: 3 } });
    const error = await client.request(get(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiServerError);
    expect((error as HuaweiServerError).outcomeUnknown).toBe(false);
    expect(server.seen).toHaveLength(3);
  });
});

describe('DNS and TLS failures', () => {
  it('does not retry a name that does not resolve, and names host, service and region', async () => {
    const { client, sleeps } = loopbackClient('http://cbr.nowhere-region.invalid');
    const error = await client.request(get(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiUnreachableError);
    expect(error).toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
    expect((error as Error).message).toMatch(/ENOTFOUND/);
    expect((error as Error).message).toContain('cbr.nowhere-region.invalid');
    expect((error as Error).message).toContain('service cbr');
    expect((error as Error).message).toContain('region test-1');
    expect(sleeps).toEqual([]);
  });

  it('does not retry a TLS handshake failure', async () => {
    const plain = await plainServer();
    try {
      const { client, sleeps } = loopbackClient(`https://127.0.0.1:${plain.port}`);
      const error = await client.request(get(), Anything).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(HuaweiUnreachableError);
      expect((error as Error).message).toContain(`127.0.0.1:${plain.port}`);
      expect(sleeps).toEqual([]);
      expect(plain.connections()).toBe(1);
    } finally {
      await plain.close();
    }
  });

  it('classifies errors by their code, through causes and aggregate errors', () => {
    const coded = (code: string) => Object.assign(new Error(code), { code });
    expect(classifyNetworkError(coded('EAI_AGAIN'))).toBe('unreachable');
    expect(classifyNetworkError(coded('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('unreachable');
    expect(classifyNetworkError(new Error('x', { cause: coded('ERR_TLS_CERT_ALTNAME_INVALID') }))).toBe(
      'unreachable',
    );
    expect(classifyNetworkError(new AggregateError([coded('ECONNREFUSED')]))).toBe('not-sent');
    expect(classifyNetworkError(coded('UND_ERR_CONNECT_TIMEOUT'))).toBe('not-sent');
    expect(classifyNetworkError(coded('ECONNRESET'))).toBe('maybe-applied');
    expect(classifyNetworkError(coded('UND_ERR_SOCKET'))).toBe('maybe-applied');
    expect(classifyNetworkError(new Error('no code'))).toBe('maybe-applied');
  });
});

describe('401 handling by credential kind', () => {
  const counting = (renewable: boolean) => {
    const calls = { authorize: 0, invalidate: 0 };
    const auth: AuthProvider = {
      renewable,
      authorize: async () => {
        calls.authorize++;
        return { 'X-Auth-Token': `t${calls.authorize}` };
      },
      invalidate: () => {
        calls.invalidate++;
      },
    };
    return { auth, calls };
  };

  it('never repeats a request an AK/SK signature got a 401 for', async () => {
    server.respond = json(401, { error_code: 'APIG.0301', error_msg: 'bad signature' });
    const { auth, calls } = counting(false);
    const { client } = loopbackClient(server.baseUrl, { auth });
    await expect(client.request(del(), Anything)).rejects.toBeInstanceOf(HuaweiAuthError);
    expect(server.seen).toHaveLength(1);
    expect(calls).toEqual({ authorize: 1, invalidate: 1 });
  });

  it('retries once with a renewed credential, even a DELETE (a 401 was not applied)', async () => {
    server.respond = sequence(json(401, {}), json(202, {}));
    const { auth, calls } = counting(true);
    const { client } = loopbackClient(server.baseUrl, { auth, retry: { maxAttempts: 1 } });
    const response = await client.request(del(), Anything);
    expect(response.status).toBe(202);
    expect(server.seen.map((r) => r.headers['x-auth-token'])).toEqual(['t1', 't2']);
    expect(calls.invalidate).toBe(1);
  });
});

describe('the client without a deadline', () => {
  it('keeps its own bounds (no deadline, no change)', async () => {
    server.respond = sequence(json(503, {}), json(200, {}));
    const client = createHuaweiClient({
      endpoints: createEndpointResolver({
        overrides: { HUAWEICLOUD_SDK_REGION_CBR_TEST_1: `${server.baseUrl}/cbr` },
      }),
      auth: { authorize: async () => ({}) },
      sleep: async () => undefined,
    });
    expect((await client.request(get(), Anything)).status).toBe(200);
  });
});

async function unusedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** A plain-HTTP server: a TLS client's handshake against it fails with a TLS error. */
async function plainServer(): Promise<{
  port: number;
  connections: () => number;
  close: () => Promise<void>;
}> {
  let connections = 0;
  const plain: Server = createServer((_req, res) => res.end('plain'));
  plain.on('connection', () => {
    connections++;
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  const { port } = plain.address() as AddressInfo;
  return {
    port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        plain.closeAllConnections();
        plain.close(() => resolve());
      }),
  };
}
