/**
 * The sweep — schedule and POST /sweeps — answers within its invocation even when every DELETE hangs: the
 * stop signal ends the run, the call signal cuts the DELETEs in flight, and the report says `aborted`.
 */
import { readFileSync } from 'node:fs';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/sweep.ts';
import { loadConfig } from '../../lib/config.ts';
import { closeHuaweiPools, createHuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { logger } from '../../lib/logger.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { DEMO_REGIONS, startDemoSimulator } from '../../lib/sweep/demo-fleet.ts';
import { SweepReportSchema } from '../../lib/sweep/report.ts';
import { lambdaContext } from '../http/api-event.ts';

let sim: Simulator;
let ledger: Ledger;
/** The demo policy's DDS target in one region: 144 backups listed, 5 planned. */
const TARGET = 'mongo-ap-southeast-1';
const policyFile = new URL('../../policies/demo.yaml', import.meta.url).pathname;

function sample<T>(name: string): T {
  return structuredClone(
    JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')),
  );
}

function contextWith(remainingMs: number): Context {
  const end = Date.now() + remainingMs;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

const hangingDeletes = {
  services: {
    csbs: { operations: { deleteCheckpoint: { hangRate: 1 } } },
    cbr: { operations: { deleteBackup: { hangRate: 1 } } },
    dds: { operations: { deleteBackup: { hangRate: 1 } } },
  },
};

beforeAll(() => {
  logger.setLogLevel('SILENT');
});
// A fresh simulator per spec: a DELETE cut at one spec's deadline must not be counted in the next one.
beforeEach(async () => {
  sim = await startDemoSimulator();
  sim.advance(5_000);
  ledger = createMemoryLedger();
  const projects = [...sim.state.projects.keys()];
  const overrides: Record<string, string> = {};
  for (const region of DEMO_REGIONS) {
    for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
      overrides[overrideKey(service, region)] = sim.baseUrl(service, region);
    }
  }
  setRuntimeForTests({
    config: loadConfig({
      HWC_REGION: 'ap-southeast-1',
      HWC_PROJECT_ALLOWLIST: projects.join(','),
      LEDGER: 'local',
      POLICY_FILE: policyFile,
    }),
    region: 'ap-southeast-1',
    allowlist: new Set(projects),
    // The production timeouts: only the invocation's deadline can end a hanging DELETE within the test.
    client: createHuaweiClient({
      endpoints: createEndpointResolver({ overrides }),
      auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    }),
    ledger,
  });
  sim.setFaults(hangingDeletes);
  sim.resetInspection();
});
afterEach(async () => {
  sim.setFaults({});
  await sim.close();
  await closeHuaweiPools();
});
afterAll(() => {
  logger.setLogLevel('INFO');
  setRuntimeForTests(undefined);
});

describe('a sweep whose DELETEs hang', () => {
  it('ends a scheduled sweep aborted before its invocation ends, every DELETE sent once at most', async () => {
    const event = sample<{ id: string; detail: Record<string, unknown> }>('sweep-schedule');
    event.id = 'deadline-schedule';
    // One small target: listing it takes a fraction of the invocation even on a loaded machine.
    event.detail = { targets: [TARGET] };
    const started = performance.now();
    const result = (await handler(event as never, contextWith(4_000))) as {
      status: string;
      sweep_id: string;
    };
    const tookMs = performance.now() - started;
    expect(result.status).toBe('aborted');
    // Far below the client's own 30 s headers timeout: the deadline ended the calls in flight.
    expect(tookMs).toBeLessThan(10_000);
    const attempts = [...sim.inspect().deleteAttempts().values()];
    expect(attempts.length).toBeGreaterThan(0);
    expect(Math.max(...attempts)).toBe(1);
  });

  it('answers POST /sweeps 202 with the partial report before API Gateway gives up', async () => {
    const event = sample<APIGatewayProxyEventV2>('sweep-http');
    event.body = JSON.stringify({ dry_run: false, sweep_id: 'deadline-http', targets: [TARGET] });
    event.headers['content-length'] = String(Buffer.byteLength(event.body));
    const started = performance.now();
    const response = (await handler(event, contextWith(4_000))) as APIGatewayProxyStructuredResultV2;
    const tookMs = performance.now() - started;
    expect(response.statusCode).toBe(202);
    const report = SweepReportSchema.parse(JSON.parse(response.body ?? ''));
    expect(report.status).toBe('aborted');
    expect(tookMs).toBeLessThan(10_000);
    expect(Math.max(...sim.inspect().deleteAttempts().values())).toBe(1);
  });
});
