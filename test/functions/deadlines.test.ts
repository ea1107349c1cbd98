/**
 * Every handler answers within its invocation: the HTTP deletes, GET /deletions/{id} and the delete-worker run
 * under a fake Lambda context whose remaining time is short, against the simulator's fault injection.
 * Waits go through an injected clock where the client allows it (throttling); where only real time can show
 * it (a hanging upstream), the assertion is that the deadline — not the client's own 10 s timeout — ended it.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as deleteCbr } from '../../functions/delete-cbr-backup.ts';
import { handler as deleteDds } from '../../functions/delete-dds-backup.ts';
import { createDeleteWorkerHandler } from '../../functions/delete-worker.ts';
import { handler as getDeletion } from '../../functions/get-deletion.ts';
import { BUDGETS } from '../../lib/budgets.ts';
import { plannedDeletionId } from '../../lib/deletions/execute.ts';
import { executeDeletion } from '../../lib/deletions/index.ts';
import {
  closeHuaweiPools,
  createHuaweiClient,
  type HuaweiClient,
  type HuaweiClientOptions,
} from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import type { PlannedItem } from '../../lib/ledger/schema.ts';
import { logger } from '../../lib/logger.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import { adapters } from '../../lib/services/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { deleteMessage, encodeMessage, type OutgoingMessage } from '../../lib/sweep/queued/messages.ts';
import { MemoryLaneSemaphore } from '../../lib/sweep/queued/semaphore.ts';
import { SWEEP_IDENTITY } from '../../lib/sweep/sweep.ts';
import { Picker, REGION, startDeletionSimulator } from '../deletions/fleet.ts';
import { lambdaContext } from '../http/api-event.ts';
import { eventFor, invoke, useRuntime } from './harness.ts';

let sim: Simulator;
let projectId: string;
let ledger: Ledger;
let pick: Picker;

beforeAll(async () => {
  // The handlers log every failure at error level; these specs read the answers instead.
  logger.setLogLevel('SILENT');
  ({ sim, projectId } = await startDeletionSimulator());
  pick = new Picker(sim, projectId);
});
beforeEach(() => {
  sim.setFaults({});
  sim.resetInspection();
  ledger = createMemoryLedger();
});
afterAll(async () => {
  logger.setLogLevel('INFO');
  setRuntimeForTests(undefined);
  await sim.close();
  await closeHuaweiPools();
});

/** A fake clock that only the client's injected sleep moves, starting at wall time. */
function fakeTime() {
  const clock = { now: Date.now() };
  const sleeps: number[] = [];
  return {
    sleeps,
    elapsed: () => sleeps.reduce((sum, ms) => sum + ms, 0),
    options: {
      now: () => clock.now,
      sleep: async (ms: number) => {
        sleeps.push(ms);
        clock.now += ms;
      },
    } satisfies Partial<HuaweiClientOptions>,
  };
}

/** The production client bounds (lib/budgets.ts) against the simulator, with test overrides. */
function simulatorClient(options: Partial<HuaweiClientOptions> = {}): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    ...options,
  });
}

/** Resolves once `done()` holds (checked every 20 ms; the test's own timeout bounds it). */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20));
}

function contextWith(remainingMs: number): Context {
  const end = Date.now() + remainingMs;
  return { ...lambdaContext(), getRemainingTimeInMillis: () => Math.max(0, end - Date.now()) };
}

/** The reply, and how long the handler took (to show a deadline, not a 10 s client timeout, ended it). */
async function call(
  handler: (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>,
  event: APIGatewayProxyEventV2,
  context: Context,
) {
  const started = performance.now();
  const reply = await invoke(handler, event, context);
  return { ...reply, tookMs: performance.now() - started };
}

const cbrEvent = (backupId: string) =>
  eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: backupId } });
const ddsEvent = (backupId: string) =>
  eventFor('delete-dds-backup', { path: { project_id: projectId, backup_id: backupId } });

describe('an HTTP delete under a 29 s invocation', () => {
  it('answers a CBR delete throttled with Retry-After: 12 with 429 within its deadline, never 500', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({
      services: { cbr: { operations: { deleteBackup: { throttleRate: 1, retryAfterSeconds: 12 } } } },
    });
    const time = fakeTime();
    await useRuntime({ client: simulatorClient(time.options), ledger, allowlist: [projectId] });
    const reply = await call(deleteCbr, cbrEvent(backup.id), contextWith(29_000));
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('12');
    expect(reply.json.error).toMatchObject({ code: 'THROTTLED' });
    expect(reply.json.error.details.deletion_id).toMatch(/^del_/);
    // Two waits of 12 s fit before 29 s minus the margin; a third would end after it.
    expect(time.sleeps).toEqual([12_000, 12_000]);
    expect(time.elapsed()).toBeLessThan(29_000 - BUDGETS.httpMarginMs);
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(3);
  });

  it('answers 429 at once when not even one Retry-After fits in a 2 s invocation', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({
      services: { cbr: { operations: { deleteBackup: { throttleRate: 1, retryAfterSeconds: 12 } } } },
    });
    const time = fakeTime();
    await useRuntime({ client: simulatorClient(time.options), ledger, allowlist: [projectId] });
    const reply = await call(deleteCbr, cbrEvent(backup.id), contextWith(2_000));
    expect([reply.status, reply.headers['retry-after']]).toEqual([429, '12']);
    expect(time.sleeps).toEqual([]);
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });
});

describe('an HTTP delete whose budget runs out', () => {
  it('answers 504 UPSTREAM_TIMEOUT with the deletion id when upstream hangs past the deadline', async () => {
    const backup = pick.ddsBackup();
    sim.setFaults({ services: { dds: { operations: { deleteBackup: { hangRate: 1 } } } } });
    await useRuntime({
      client: simulatorClient({ timeouts: { headersMs: 10_000 } }),
      ledger,
      allowlist: [projectId],
    });
    const reply = await call(deleteDds, ddsEvent(backup.id), contextWith(800));
    expect(reply.status).toBe(504);
    expect(reply.json.error).toMatchObject({
      code: 'UPSTREAM_TIMEOUT',
      details: { service: 'dds', outcome_unknown: true },
    });
    const deletionId = reply.json.error.details.deletion_id as string;
    expect(deletionId).toMatch(/^del_/);
    // Recorded unknown: a repeat asks upstream before anything is sent again (lib/deletions/lifecycle.ts).
    expect((await ledger.get(deletionId))?.status).toBe('unknown');
    // The deadline ended it, not the client's 10 s headers timeout.
    expect(reply.tookMs).toBeLessThan(5_000);
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });

  it('answers 503 DEADLINE_EXCEEDED with Retry-After when the next attempt does not fit', async () => {
    const backup = pick.cbrBackup();
    const time = fakeTime();
    // Nothing listens: connection refused is provably not applied and would be retried after a backoff.
    const closed = createHuaweiClient({
      endpoints: createEndpointResolver({
        overrides: { [overrideKey('cbr', REGION)]: 'http://127.0.0.1:9' },
      }),
      auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
      retry: { baseDelayMs: 4_000 },
      random: () => 0.99,
      ...time.options,
    });
    await useRuntime({ client: closed, ledger, allowlist: [projectId] });
    const reply = await call(deleteCbr, cbrEvent(backup.id), contextWith(2_000));
    expect(reply.status).toBe(503);
    expect(reply.json.error.code).toBe('DEADLINE_EXCEEDED');
    expect(reply.json.error.details).toMatchObject({ service: 'cbr' });
    expect(reply.json.error.details.deletion_id).toMatch(/^del_/);
    expect(reply.json.error.details.outcome_unknown).toBeUndefined();
    expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(time.sleeps).toEqual([]);
  });
});

describe('GET /deletions/{id} under a short invocation', () => {
  it('answers 200 with the stored state and refresh_error when the poll hangs past the deadline', async () => {
    const backup = pick.cbrBackup();
    await useRuntime({ client: simulatorClient(), ledger, allowlist: [projectId] });
    const accepted = await call(deleteCbr, cbrEvent(backup.id), contextWith(29_000));
    expect(accepted.status).toBe(202);
    sim.setFaults({ services: { cbr: { hangRate: 1 } } });
    await useRuntime({
      client: simulatorClient({ timeouts: { headersMs: 10_000 } }),
      ledger,
      allowlist: [projectId],
    });
    const event = eventFor('get-deletion', { path: { deletion_id: accepted.json.deletion_id } });
    const reply = await call(getDeletion, event, contextWith(600));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'accepted', refresh_error: { code: 'UPSTREAM_TIMEOUT' } });
    expect(reply.tookMs).toBeLessThan(5_000);
  });
});

describe('the upstream client against a slow DDS', () => {
  it('sends exactly one DELETE per call when DDS answers after 1.5 s and the client waits 0.5 s', async () => {
    sim.setFaults({
      services: { dds: { operations: { deleteBackup: { latency: { kind: 'fixed', ms: 1_500 } } } } },
    });
    const client = simulatorClient({ timeouts: { headersMs: 500 } });
    const backups = [pick.ddsBackup(), pick.ddsBackup(), pick.ddsBackup()];
    const outcomes = await Promise.all(
      backups.map((backup) =>
        executeDeletion(
          {
            service: 'dds',
            region: REGION,
            projectId,
            deleteId: backup.id,
            itemId: backup.id,
            requestedBy: SWEEP_IDENTITY,
          },
          { client, ledger },
        ),
      ),
    );
    for (const outcome of outcomes) {
      expect(outcome.kind).toBe('unknown');
      expect(outcome).toMatchObject({ error: { code: 'UPSTREAM_NETWORK', outcomeUnknown: true } });
      expect(String((outcome as { error?: unknown }).error)).toMatch(/outcome is unknown/);
    }
    // Every call has ended, so nothing more can be sent; the simulator logs each DELETE once its 1.5 s pass.
    await until(() => backups.every((backup) => sim.inspect().deleteCalls(backup.id) === 1));
    for (const backup of backups) expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });
});

describe('the delete-worker under a short invocation', () => {
  it('ends a step whose DELETE hangs before its deadline, and the message comes back', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({ services: { cbr: { operations: { deleteBackup: { hangRate: 1 } } } } });
    const ref = {
      service: 'cbr',
      region: REGION,
      projectId,
      deleteId: backup.id,
      itemId: backup.id,
    } as const;
    const item: PlannedItem = {
      deletion_id: plannedDeletionId(ref),
      service: 'cbr',
      region: REGION,
      project_id: projectId,
      target: { kind: 'backup', backup_id: backup.id },
    };
    const sent: OutgoingMessage[] = [];
    const handler = createDeleteWorkerHandler(async () => ({
      steps: {
        client: simulatorClient({ timeouts: { headersMs: 10_000 } }),
        ledger,
        adapters,
        executeDeletion,
        now: Date.now,
        requestedBy: SWEEP_IDENTITY,
      },
      planOf: () => async (id) => (id === item.deletion_id ? item : undefined),
      semaphore: new MemoryLaneSemaphore(),
      sender: {
        async send(messages) {
          sent.push(...messages);
          return [];
        },
      },
    }));
    const started = performance.now();
    const response = await handler(
      { Records: [{ messageId: 'm1', body: encodeMessage(deleteMessage('s1', item.deletion_id)) }] } as never,
      contextWith(1_000),
    );
    const tookMs = performance.now() - started;
    expect(tookMs).toBeLessThan(5_000);
    // Not lost: either SQS redelivers it or a follow-up was sent.
    expect(response.batchItemFailures.length + sent.length).toBe(1);
    const record = await ledger.get(item.deletion_id);
    expect(record?.status).toBe('unknown');
    expect(record?.error?.code).toBe('DELETE_OUTCOME_UNKNOWN');
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });
});
