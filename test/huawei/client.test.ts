import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  buildUrl,
  closeHuaweiPools,
  type HuaweiOperation,
  parseErrorBody,
  parseRetryAfter,
} from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import {
  HuaweiAuthError,
  HuaweiBadRequestError,
  HuaweiNetworkError,
  HuaweiNotFoundError,
  HuaweiResponseShapeError,
  HuaweiServerError,
  HuaweiThrottledError,
  InvalidRequestError,
} from '../../lib/huawei/errors.ts';
import {
  canonicalRequest,
  parseAuthorization,
  payloadHash,
  signature,
  stringToSign,
} from '../../lib/huawei/signer.ts';
import { json, type Loopback, loopbackClient, sequence, startLoopback } from './loopback.ts';

const Anything = z.unknown();
const op = (extra: Partial<HuaweiOperation> = {}): HuaweiOperation => ({
  service: 'cbr',
  operation: 'cbr.showBackup',
  region: 'test-1',
  projectId: 'p1',
  method: 'GET',
  pathSegments: ['v3', 'p1', 'backups', 'b1'],
  ...extra,
});

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

describe('HuaweiClient.request', () => {
  it('joins the endpoint path prefix with the API path and sends the query', async () => {
    server.respond = json(200, { ok: true }, { 'X-Request-Id': 'req-1' });
    const { client } = loopbackClient(server.baseUrl);
    const response = await client.request(
      op({ query: { limit: '10', status: ['available', 'error'], skipped: undefined } }),
      z.looseObject({ ok: z.boolean() }),
    );
    expect(server.seen[0]?.url).toBe('/cbr/v3/p1/backups/b1?limit=10&status=available&status=error');
    expect(server.seen[0]?.headers['x-project-id']).toBe('p1');
    expect(response).toMatchObject({ status: 200, body: { ok: true }, requestId: 'req-1' });
    expect(response.headers['x-request-id']).toBe('req-1');
  });

  it('keeps fields the schema does not know', async () => {
    server.respond = json(200, { id: 'b1', extra: { deep: 1 } });
    const { client } = loopbackClient(server.baseUrl);
    const response = await client.request(op(), z.looseObject({ id: z.string() }));
    expect(response.body).toEqual({ id: 'b1', extra: { deep: 1 } });
  });

  it('names the field path when a 2xx body violates the schema', async () => {
    server.respond = json(200, { backups: [{ id: 'a' }, { id: 7 }] }, { 'X-Request-Id': 'req-shape' });
    const { client } = loopbackClient(server.baseUrl);
    const schema = z.looseObject({ backups: z.array(z.looseObject({ id: z.string() })) });
    const error = await client.request(op(), schema).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiResponseShapeError);
    expect((error as Error).message).toContain('backups.1.id');
    expect((error as HuaweiResponseShapeError).requestId).toBe('req-shape');
  });

  it('refuses a 2xx status outside the expected ones', async () => {
    server.respond = json(200, {});
    const { client } = loopbackClient(server.baseUrl);
    await expect(client.request(op({ expect: [204] }), Anything)).rejects.toThrow(/status 200, expected 204/);
  });

  it('parses an empty 204 body as undefined', async () => {
    server.respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    const { client } = loopbackClient(server.baseUrl);
    const response = await client.request(op({ method: 'DELETE', expect: [204] }), z.undefined());
    expect(response.status).toBe(204);
    expect(response.body).toBeUndefined();
  });

  it('sends a JSON body', async () => {
    server.respond = json(200, {});
    const { client } = loopbackClient(server.baseUrl);
    await client.request(op({ method: 'POST', body: { name: 'x' } }), Anything);
    expect(server.seen[0]?.body).toBe('{"name":"x"}');
    expect(server.seen[0]?.headers['content-type']).toBe('application/json');
  });
});

describe('AK/SK signing through the client', () => {
  it('sends exactly what it signed: a server recomputing the signature agrees', async () => {
    const sk = 'loopback-secret-key';
    const verdicts: boolean[] = [];
    server.respond = (request, res) => {
      const url = new URL(request.url, 'http://placeholder');
      const parsed = parseAuthorization(String(request.headers.authorization));
      const signedHeaders: Record<string, string> = {};
      for (const name of parsed?.signedNames ?? []) signedHeaders[name] = String(request.headers[name]);
      const canonical = canonicalRequest({
        method: request.method,
        pathname: url.pathname,
        query: url.searchParams,
        headers: signedHeaders,
        payloadHash: payloadHash(signedHeaders, request.body),
      });
      const expected = signature(sk, stringToSign(String(request.headers['x-sdk-date']), canonical.text));
      verdicts.push(parsed?.ak === 'LOOPBACKAK' && expected === parsed.signature);
      json(200, {})(request, res);
    };
    const { client } = loopbackClient(server.baseUrl, {
      auth: createAkSkAuth(new StaticCredentials('LOOPBACKAK', sk)),
    });
    await client.request(
      op({ pathSegments: ['v3', 'p1', 'backups', "it's (1)*"], query: { name: ['b', 'a 1'], z: '一' } }),
      Anything,
    );
    await client.request(op({ method: 'POST', body: { name: 'ü' } }), Anything);
    expect(verdicts).toEqual([true, true]);
    expect(server.seen[0]?.headers.authorization).toMatch(
      /SignedHeaders=content-type;host;x-project-id;x-sdk-date,/,
    );
  });
});

describe('connection reuse', () => {
  it('reuses keep-alive connections across calls and client instances', async () => {
    const fresh = await startLoopback(json(200, {}));
    try {
      const first = loopbackClient(fresh.baseUrl).client;
      const second = loopbackClient(fresh.baseUrl).client;
      for (let i = 0; i < 8; i++) await (i % 2 === 0 ? first : second).request(op(), Anything);
      expect(fresh.seen).toHaveLength(8);
      // undici may open a second socket while the first is still being released; never one per call.
      expect(new Set(fresh.seen.map((r) => r.remotePort)).size).toBeLessThanOrEqual(2);
    } finally {
      await fresh.close();
    }
  });
});

describe('connections per origin', () => {
  /** Holds every response until `release` is called, counting requests that are open at the same time. */
  async function holdingServer() {
    let open = 0;
    let maxOpen = 0;
    const held: (() => void)[] = [];
    const fresh = await startLoopback((_request, res) => {
      open += 1;
      maxOpen = Math.max(maxOpen, open);
      held.push(() => {
        open -= 1;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    return {
      fresh,
      maxOpen: () => maxOpen,
      held,
      release: () => {
        for (const answer of held.splice(0)) answer();
      },
    };
  }

  it('lets more requests than the old fixed pool of 16 be in flight to one origin', async () => {
    const server = await holdingServer();
    try {
      const { client } = loopbackClient(server.fresh.baseUrl);
      const calls = Array.from({ length: 24 }, () => client.request(op(), Anything));
      await expect.poll(() => server.held.length, { timeout: 5_000 }).toBe(24);
      server.release();
      await Promise.all(calls);
      expect(server.maxOpen()).toBe(24);
    } finally {
      await server.fresh.close();
    }
  });

  it('never opens more than connectionsPerOrigin connections', async () => {
    const server = await holdingServer();
    try {
      const { client } = loopbackClient(server.fresh.baseUrl, { connectionsPerOrigin: 3 });
      const calls = Array.from({ length: 9 }, () => client.request(op(), Anything));
      await expect.poll(() => server.held.length, { timeout: 5_000 }).toBe(3);
      while (server.fresh.seen.length < 9) {
        server.release();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      server.release();
      await Promise.all(calls);
      expect(server.maxOpen()).toBe(3);
    } finally {
      await server.fresh.close();
    }
  });

  it('rejects a connection count below 1', () => {
    expect(() => loopbackClient('http://127.0.0.1:1', { connectionsPerOrigin: 0 })).toThrow(RangeError);
  });
});

describe('error mapping', () => {
  it('reads the {error_code, error_msg} shape and the X-Request-Id header', async () => {
    server.respond = json(
      404,
      { error_code: 'CSBS.3001', error_msg: 'not exist' },
      { 'X-Request-Id': 'rq-404' },
    );
    const { client } = loopbackClient(server.baseUrl);
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNotFoundError);
    expect(error).toMatchObject({
      status: 404,
      errorCode: 'CSBS.3001',
      errorMessage: 'not exist',
      requestId: 'rq-404',
      service: 'cbr',
      operation: 'cbr.showBackup',
    });
  });

  it('reads the {error: {code, message}} shape', async () => {
    server.respond = json(400, { error: { code: '6201', message: 'cannot be deleted' } });
    const { client } = loopbackClient(server.baseUrl);
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiBadRequestError);
    expect(error).toMatchObject({ errorCode: '6201', errorMessage: 'cannot be deleted' });
  });

  it('falls back to the request_id in the body', () => {
    expect(parseErrorBody('{"error_code":"APIG.0308","error_msg":"x","request_id":"r9"}')).toEqual({
      errorCode: 'APIG.0308',
      errorMessage: 'x',
      requestId: 'r9',
    });
    expect(parseErrorBody('<html>bad gateway</html>').errorMessage).toBe('<html>bad gateway</html>');
  });
});

describe('retries', () => {
  it('retries 429, 502, 503 and 504, then succeeds', async () => {
    server.respond = sequence(json(429, {}), json(502, {}), json(503, {}), json(200, { done: true }));
    const { client, sleeps } = loopbackClient(server.baseUrl, {
      retry: { maxAttempts: 5, baseDelayMs: 100 },
    });
    const response = await client.request(op(), Anything);
    expect(response.body).toEqual({ done: true });
    expect(server.seen).toHaveLength(4);
    // Full jitter with random() = 0.5: half of base * 2^(n-1).
    expect(sleeps).toEqual([50, 100, 200]);
  });

  it('stops after maxAttempts and throws the last typed error', async () => {
    server.respond = json(503, { error_code: 'SYS.503', error_msg: 'busy' }, { 'X-Request-Id': 'last' });
    const { client, sleeps } = loopbackClient(server.baseUrl, { retry: { maxAttempts: 3 } });
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiServerError);
    expect(error).toMatchObject({ status: 503, requestId: 'last' });
    expect(server.seen).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it('stops when the next wait would pass the total time bound', async () => {
    let clock = 0;
    server.respond = json(504, {});
    const { client } = loopbackClient(server.baseUrl, {
      retry: { maxAttempts: 10, baseDelayMs: 1000, maxTotalMs: 2500 },
      now: () => clock,
      sleep: async (ms) => {
        clock += ms;
      },
      random: () => 1,
    });
    await expect(client.request(op(), Anything)).rejects.toBeInstanceOf(HuaweiServerError);
    // waits 1000 (t=1000), 2000 would end at 3000 > 2500: two attempts only.
    expect(server.seen).toHaveLength(2);
  });

  it('honours Retry-After in seconds', async () => {
    server.respond = sequence(json(429, {}, { 'Retry-After': '3' }), json(200, {}));
    const { client, sleeps } = loopbackClient(server.baseUrl);
    await client.request(op(), Anything);
    expect(sleeps).toEqual([3000]);
  });

  it('honours Retry-After as an HTTP date, against the injected clock', async () => {
    const now = Date.parse('2026-11-27T00:00:00Z');
    server.respond = sequence(
      json(503, {}, { 'Retry-After': 'Fri, 27 Nov 2026 00:00:07 GMT' }),
      json(200, {}),
    );
    const { client, sleeps } = loopbackClient(server.baseUrl, { now: () => now });
    await client.request(op(), Anything);
    expect(sleeps).toEqual([7000]);
  });

  it('gives up at once when Retry-After is longer than maxDelayMs, carrying it on the error', async () => {
    server.respond = json(429, { error_code: 'APIG.0308', error_msg: 'throttled' }, { 'Retry-After': '600' });
    const { client, sleeps } = loopbackClient(server.baseUrl, {
      retry: { maxAttempts: 5, maxDelayMs: 5000 },
    });
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(sleeps).toEqual([]);
    expect(server.seen).toHaveLength(1);
    expect(error).toBeInstanceOf(HuaweiThrottledError);
    expect((error as HuaweiThrottledError).retryAfterMs).toBe(600_000);
  });

  it.each([400, 401, 403, 404])('never retries %i', async (status) => {
    server.respond = json(status, { error_code: 'APIG.0301', error_msg: 'x' });
    const { client, sleeps } = loopbackClient(server.baseUrl, { retry: { maxAttempts: 5 } });
    await expect(client.request(op(), Anything)).rejects.toThrow();
    expect(server.seen).toHaveLength(1);
    expect(sleeps).toHaveLength(0);
  });

  it('maps 401 to HuaweiAuthError', async () => {
    server.respond = json(401, {
      error_code: 'APIG.0301',
      error_msg: 'Incorrect IAM authentication information',
    });
    const { client } = loopbackClient(server.baseUrl);
    await expect(client.request(op(), Anything)).rejects.toBeInstanceOf(HuaweiAuthError);
  });

  it('retries a refused connection and then reports a network error', async () => {
    const dead = await startLoopback();
    const deadUrl = dead.baseUrl;
    await dead.close();
    const { client, sleeps } = loopbackClient(deadUrl, { retry: { maxAttempts: 3 } });
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect((error as Error).message).toMatch(/after 3 attempt/);
    expect(sleeps).toHaveLength(2);
  });

  it('signs every attempt afresh', async () => {
    let calls = 0;
    server.respond = sequence(json(502, {}), json(200, {}));
    const { client } = loopbackClient(server.baseUrl, {
      auth: { authorize: async () => ({ 'X-Attempt': String(++calls) }) },
    });
    await client.request(op(), Anything);
    expect(server.seen.map((r) => r.headers['x-attempt'])).toEqual(['1', '2']);
  });
});

describe('timeouts and abort', () => {
  it('times out waiting for headers and reports a network error', async () => {
    server.respond = () => {
      /* never answers */
    };
    const { client } = loopbackClient(server.baseUrl, {
      retry: { maxAttempts: 1 },
      timeouts: { headersMs: 100 },
    });
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect((error as Error).message).toContain('headers timeout');
  });

  it('times out a body that stalls after the headers', async () => {
    server.respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"partial":');
    };
    const { client } = loopbackClient(server.baseUrl, {
      retry: { maxAttempts: 1 },
      timeouts: { bodyMs: 100 },
    });
    const error = await client.request(op(), Anything).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect((error as Error).message).toContain('body timeout');
  });

  it('stops at once when the caller aborts', async () => {
    server.respond = () => {
      /* never answers */
    };
    const { client } = loopbackClient(server.baseUrl, { retry: { maxAttempts: 5 } });
    const controller = new AbortController();
    const pending = client.request(op(), Anything, { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('stop')), 50);
    const error = await pending;
    expect(error).toBeInstanceOf(HuaweiNetworkError);
    expect((error as Error).message).toContain('aborted');
    expect(server.seen).toHaveLength(1);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const { client } = loopbackClient(server.baseUrl);
    await expect(client.request(op(), Anything, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      HuaweiNetworkError,
    );
    expect(server.seen).toHaveLength(0);
  });
});

describe('path segment validation', () => {
  it.each([
    ['a/b'],
    ['..'],
    ['.'],
    ['a..b'],
    ['%2F'],
    ['a%2e'],
    [''],
    ['a\nb'],
    ['a\u0000'],
    ['a?x=1'],
    ['a#frag'],
    ['a\\b'],
    [' a'],
  ])('rejects %j before anything is sent', async (bad) => {
    server.respond = json(200, {});
    const { client } = loopbackClient(server.baseUrl);
    const error = await client
      .request(op({ pathSegments: ['v3', 'p1', 'backups', bad] }), Anything)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe('pathSegments[3]');
    expect(server.seen).toHaveLength(0);
  });

  it('never lets a segment change the path: it is refused, or it decodes back to itself', () => {
    const base = new URL('https://cbr.example/prefix');
    fc.assert(
      fc.property(
        fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { minLength: 1, maxLength: 4 }),
        (segments) => {
          let url: URL;
          try {
            url = buildUrl(base, segments, undefined);
          } catch (error) {
            return error instanceof InvalidRequestError;
          }
          const parts = url.pathname.split('/').slice(2);
          return (
            url.origin === base.origin &&
            url.pathname.startsWith('/prefix/') &&
            parts.length === segments.length &&
            parts.every((part, i) => decodeURIComponent(part) === segments[i])
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('encodes characters that are legal in a segment', () => {
    const url = buildUrl(new URL('https://x.example/prefix/'), ['v1', 'a b', 'ü'], undefined);
    expect(url.pathname).toBe('/prefix/v1/a%20b/%C3%BC');
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds, dates, and ignores garbage', () => {
    expect(parseRetryAfter('0', 0)).toBe(0);
    expect(parseRetryAfter('12', 0)).toBe(12_000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:05 GMT', 1000)).toBe(4000);
    expect(parseRetryAfter('Thu, 01 Jan 1970 00:00:05 GMT', 9000)).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });
});
