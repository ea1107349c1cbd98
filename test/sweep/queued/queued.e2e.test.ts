/**
 * Queued mode end to end with real local parts: the sweep enqueues into local-aws-sqs, delete-worker handlers
 * (functions/delete-worker.ts) are driven with the messages actually received from that queue, the ledger and
 * the lane semaphore live in DynamoDB Local, and the simulator serves the clouds over loopback. Each scenario
 * checks the end state independently through the simulator's request log.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDeleteWorkerHandler } from '../../../functions/delete-worker.ts';
import { executeDeletion } from '../../../lib/deletions/execute.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../../lib/huawei/client.ts';
import { createDynamoLedger, type Ledger } from '../../../lib/ledger/index.ts';
import type { Backup } from '../../../lib/services/backup.ts';
import type { HuaweiRequester } from '../../../lib/services/index.ts';
import { adapters } from '../../../lib/services/index.ts';
import { type Simulator, startSimulator } from '../../../lib/simulator/index.ts';
import { type MessageSender, queuedFanOut, sqsSender } from '../../../lib/sweep/queued/enqueue.ts';
import { finalizeQueuedSweep, queuedSweepReport } from '../../../lib/sweep/queued/report.ts';
import { DynamoLaneSemaphore } from '../../../lib/sweep/queued/semaphore.ts';
import type { QueuedWorkerDeps } from '../../../lib/sweep/queued/worker.ts';
import { ledgerPlanLookup } from '../../../lib/sweep/step.ts';
import { runSweep, SWEEP_IDENTITY } from '../../../lib/sweep/sweep.ts';
import { checkAgainstSimulator, plannedBackupId } from '../../../lib/sweep/verify.ts';
import { useDynamoDbLocal } from '../../helpers/dynamodb-local.ts';
import { type LocalQueue, useLocalSqs } from '../../helpers/local-sqs.ts';
import { simulatorClient } from '../../simulator/helpers.ts';
import { fastDeps, listEverything, REGION, sweepClient, sweepPolicy } from '../sweep-fixture.ts';
import { runWorkers, type WorkerLoopOptions } from './driver.ts';

const dynamo = useDynamoDbLocal();
const sqs = useLocalSqs();

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let semaphore: DynamoLaneSemaphore;
let queue: LocalQueue & { dlq: LocalQueue };
let sender: MessageSender;
let before: Backup[];
/** Step results seen by every worker of the current test, by kind. */
const steps = new Map<string, number>();

beforeEach(async () => {
  // CSBS deletions run long enough upstream that unbounded workers would have more than 5 in flight.
  sim = await startSimulator({
    seed: 31,
    deletion: { csbsMs: 400, cbrMs: 30, ddsMs: 30 },
    creationMs: 150,
    generate: {
      seed: 31,
      projects: 2,
      regions: [REGION],
      services: ['csbs', 'cbr', 'dds'],
      resourcesPerProject: 2,
      backupsPerResource: 9,
      manualShare: 0.5,
      failedShare: 0.1,
      inProgressShare: 0.2,
    },
  });
  client = sweepClient(sim);
  const tableName = await dynamo().createLedgerTable();
  ledger = createDynamoLedger({ tableName, client: dynamo().documentClient });
  semaphore = new DynamoLaneSemaphore({ client: dynamo().documentClient, tableName });
  queue = await sqs().createQueue({ visibilityTimeoutSeconds: 1 });
  sender = sqsSender({ client: sqs().client, queueUrl: queue.url });
  before = await listEverything(sim, client);
  sim.resetInspection();
  steps.clear();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

function workerDeps(requester: HuaweiRequester = client): QueuedWorkerDeps {
  return {
    steps: {
      client: requester,
      ledger,
      adapters,
      executeDeletion,
      now: Date.now,
      requestedBy: SWEEP_IDENTITY,
      tracking: { baseMs: 10, capMs: 60, minDelayMs: 5 },
      retry: { busyDelayMs: 60, baseMs: 5, capMs: 50, maxAttempts: 40 },
      staleAfterMs: 1_500,
    },
    planOf: ledgerPlanLookup(ledger),
    semaphore,
    sender,
    leaseMs: 60_000,
    watchFirstMs: 1_000,
    handOverLeaseMs: 3_000,
    inFlightRecheckMs: 1_000,
    throttlePauseMs: 200,
    onStep: (_message, result) => steps.set(result.kind, (steps.get(result.kind) ?? 0) + 1),
  };
}

async function startQueuedSweep(sweepId: string) {
  const report = await runSweep(
    { policy: sweepPolicy(sim), sweepId, dryRun: false, now: new Date() },
    { ...fastDeps(sim, client, ledger), fanOut: queuedFanOut(sender) },
  );
  expect(report).toMatchObject({ status: 'queued', mode: 'queued' });
  expect(report.totals.pending).toBe(report.totals.planned);
  expect(report.totals.planned).toBeGreaterThan(20);
  // Nothing was deleted yet: the sweep only enqueued.
  expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toEqual([]);
  return report;
}

function finishedWhenReported(sweepId: string) {
  return async () => (await queuedSweepReport(ledger, sweepId))?.status !== 'running';
}

function drive(sweepId: string, options: Partial<WorkerLoopOptions> = {}) {
  return runWorkers({
    sqs: sqs(),
    queue,
    container: () => createDeleteWorkerHandler(async () => workerDeps()),
    done: finishedWhenReported(sweepId),
    deadlineMs: 45_000,
    ...options,
  });
}

async function expectSafeEndState(sweepId: string, { oneSendEach = true } = {}) {
  const report = await finalizeQueuedSweep(ledger, sweepId);
  expect(report).toMatchObject({ status: 'completed', mode: 'queued' });
  expect((await ledger.getSweep(sweepId))?.sweep).toMatchObject({
    status: 'finished',
    report: { status: 'completed' },
  });
  expect(report?.totals.deleted).toBe(report?.totals.planned);
  const stored = await ledger.getSweep(sweepId);
  const items = stored?.items ?? [];
  // A CSBS item stays listed as `deleted` for a moment after its deletion (the documented status): deleted.
  const remaining = new Set(
    (await listEverything(sim, client))
      .filter((backup) => backup.status !== 'deleted')
      .map((backup) => backup.id),
  );
  for (const item of items) expect(remaining.has(plannedBackupId(item) as string)).toBe(false);
  const check = checkAgainstSimulator(sim.inspect(), before, items);
  expect(check.keptWithDelete).toEqual([]);
  expect(check.deletedTwice).toEqual([]);
  const csbsPeaks = Object.values(check.csbsMaxConcurrent);
  expect(csbsPeaks.length).toBeGreaterThan(0);
  for (const peak of csbsPeaks) expect(peak).toBeLessThanOrEqual(5);
  expect(check.ok).toBe(true);
  // One DELETE per deletion, whatever the deliveries were.
  const records = await ledger.listBySweep(sweepId);
  expect(records).toHaveLength(items.length);
  for (const record of records) {
    expect(record.status).toBe('done');
    // Without faults every DELETE is answered, so one send each; with faults a refused send (429/503/reset
    // before the service acted) is sent again, and the simulator's log above proves none was applied twice.
    if (oneSendEach) expect(record.attempts).toBe(1);
  }
  expect(await sqs().depth(queue.dlq.url)).toBe(0);
  return { check, records };
}

describe('queued mode: sweep → local SQS → delete-worker (DynamoDB Local ledger and lane semaphore)', () => {
  it('deletes every planned backup once with two workers, every message delivered twice and the sweep enqueued twice', async () => {
    await startQueuedSweep('q-basic');
    // A rerun of the same sweep id enqueues every item again: duplicates that must not delete twice.
    await startQueuedSweep('q-basic');
    const [a, b] = await Promise.all([drive('q-basic'), drive('q-basic', { deliverTwice: true })]);
    expect(a.acked + b.acked).toBeGreaterThan(0);
    const { check } = await expectSafeEndState('q-basic');
    // The semaphore bounds CSBS without serialising it.
    expect(Math.max(...Object.values(check.csbsMaxConcurrent))).toBeGreaterThan(1);
    // Duplicate chains met and merged; CSBS messages waited in the lane's list instead of failing.
    expect(steps.get('duplicate')).toBeGreaterThan(0);
    expect(steps.get('waiting')).toBeGreaterThan(0);
  }, 60_000);

  it('reaches the same end state with 20% throttling, 503s and connection resets', async () => {
    await startQueuedSweep('q-faulty');
    sim.setFaults({
      seed: 7,
      all: {
        throttleRate: 0.1,
        retryAfterSeconds: 0,
        serverErrorRate: 0.05,
        serverErrorStatuses: [503],
        resetRate: 0.05,
      },
    });
    // No client-side retries: every 429, 503 and reset reaches the worker's steps.
    const bare = simulatorClient(sim);
    await drive('q-faulty', { container: () => createDeleteWorkerHandler(async () => workerDeps(bare)) });
    sim.setFaults({});
    await expectSafeEndState('q-faulty', { oneSendEach: false });
    const faults = sim.inspect().requests.map((request) => request.fault);
    expect(faults).toContain('reset');
    expect(faults).toContain('throttle');
    // Throttling reached the workers and slowed the lane (pause + delayed message) without failing an item.
    expect(steps.get('throttled')).toBeGreaterThan(0);
  }, 60_000);

  it('survives a worker crash right after a DELETE went out: redelivery resolves it without a second DELETE', async () => {
    await startQueuedSweep('q-crash');
    let deletes = 0;
    let trigger: (() => void) | undefined;
    const crash = new Promise<void>((resolve) => {
      trigger = resolve;
    });
    let crashedOnce = false;
    // The first container's client sends its 8th DELETE, then the process "dies" before the answer is used.
    const crashing: HuaweiRequester = {
      request: (async (operation, schema, options) => {
        const response = await client.request(operation, schema, options);
        if (operation.method === 'DELETE' && ++deletes === 8) {
          trigger?.();
          return new Promise<never>(() => undefined);
        }
        return response;
      }) as HuaweiRequester['request'],
    };
    let containers = 0;
    const stats = await drive('q-crash', {
      container: () => {
        const deps = containers++ === 0 ? workerDeps(crashing) : workerDeps();
        return createDeleteWorkerHandler(async () => deps);
      },
      crashed: () => {
        if (crashedOnce) return undefined;
        return crash.then(() => {
          crashedOnce = true;
        });
      },
    });
    expect(stats.crashes).toBeGreaterThan(0);
    expect(stats.maxReceiveCount).toBeGreaterThan(1);
    const { records } = await expectSafeEndState('q-crash');
    // The crashed DELETE was confirmed by asking upstream, not by sending it again.
    const notes = records.flatMap((record) => record.history.map((entry) => entry.note ?? ''));
    expect(notes.some((note) => /after a stopped run/.test(note))).toBe(true);
  }, 60_000);
});
