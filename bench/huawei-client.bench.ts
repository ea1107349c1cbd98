/**
 * The client's own cost per call (validate, sign, send over a keep-alive pool, map, zod-parse a 20-record CBR
 * page) against a bare undici request + JSON.parse to the same loopback server, sequentially and with 16 in
 * flight. Target: the client adds at most 500 µs per sequential call over bare undici — under 1% of the
 * 50 ms or more a Huawei API call takes — so the sweep is bound by Huawei's latency and rate limits, never by
 * this layer. (Profile: the cost is spread over signing, zod and undici; no single hot spot.)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { closeHuaweiPools, createHuaweiClient } from '../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../lib/huawei/credentials.ts';
import { createEndpointResolver } from '../lib/huawei/endpoints.ts';
import { CbrListResponseSchema } from '../lib/services/cbr.ts';

const TARGET_OVERHEAD_US = 500;
const CALLS = 2000;

const page = JSON.stringify({
  backups: Array.from({ length: 20 }, (_, i) => ({
    id: `b-${i}`,
    checkpoint_id: `cp-${i}`,
    created_at: '2026-11-10T00:00:00.000000',
    status: 'available',
    vault_id: 'vault-1',
    resource_id: 'vol-1',
    resource_size: 40,
    extend_info: { auto_trigger: true },
  })),
  count: 20,
});

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'X-Request-Id': 'r' });
    res.end(page);
  });
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

const client = createHuaweiClient({
  endpoints: createEndpointResolver({ overrides: { HUAWEICLOUD_SDK_REGION_CBR_TEST_1: `${base}/cbr` } }),
  auth: createAkSkAuth(new StaticCredentials('BENCHAK', 'bench-secret')),
});
const bare = new Pool(base, { connections: 16, allowH2: false });

const viaClient = () =>
  client.request(
    {
      service: 'cbr',
      operation: 'cbr.listBackups',
      region: 'test-1',
      projectId: 'p',
      method: 'GET',
      pathSegments: ['v3', 'p', 'backups'],
      query: { limit: '20', offset: '0' },
    },
    CbrListResponseSchema,
  );
const viaBare = async () => {
  const response = await bare.request({ method: 'GET', path: '/cbr/v3/p/backups?limit=20&offset=0' });
  return JSON.parse(await response.body.text()) as unknown;
};

async function measure(call: () => Promise<unknown>, concurrency: number): Promise<number> {
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < CALLS) {
        next++;
        await call();
      }
    }),
  );
  return Number(process.hrtime.bigint() - started) / 1000 / CALLS;
}

// Warm up both paths (JIT, connections).
await measure(viaClient, 4);
await measure(viaBare, 4);

// Alternating rounds, best of each: the machine is shared, and the minimum is the least disturbed number.
const results: Record<string, number> = {};
for (let round = 0; round < 5; round++) {
  for (const concurrency of [1, 16]) {
    for (const [label, call] of [
      [`bare c=${concurrency}`, viaBare],
      [`client c=${concurrency}`, viaClient],
    ] as const) {
      const us = await measure(call, concurrency);
      results[label] = Math.min(results[label] ?? Number.POSITIVE_INFINITY, us);
    }
  }
}
for (const [label, us] of Object.entries(results)) {
  console.log(
    `${label.padEnd(14)} ${us.toFixed(1).padStart(7)} µs/call  ${(1e6 / us).toFixed(0).padStart(6)} calls/s`,
  );
}
const overhead = (results['client c=1'] ?? 0) - (results['bare c=1'] ?? 0);
console.log(`client overhead (sequential): ${overhead.toFixed(1)} µs/call (target <= ${TARGET_OVERHEAD_US})`);

await bare.close();
await closeHuaweiPools();
server.close();
if (overhead > TARGET_OVERHEAD_US) {
  console.error('target missed');
  process.exit(1);
}
