/**
 * The CSBS cap across invocations, on DynamoDB Local: overlapping inline sweeps and HTTP deletes of one project
 * share the lane semaphore in the ledger's table, so the simulator never sees more than 5 CSBS deletions of
 * the project in flight; and one policy runs one sweep at a time.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { handler as deleteCsbs } from '../../functions/delete-csbs-checkpoint.ts';
import { handler as getDeletion } from '../../functions/get-deletion.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createDynamoLedger, type Ledger } from '../../lib/ledger/index.ts';
import { logger } from '../../lib/logger.ts';
import { type Policy, parsePolicy } from '../../lib/retention/policy.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { laneGate } from '../../lib/sweep/lane-gate.ts';
import { DynamoLaneSemaphore } from '../../lib/sweep/queued/semaphore.ts';
import { runSweep, type SweepDeps } from '../../lib/sweep/sweep.ts';
import { DynamoSweepLock, SweepRunningError } from '../../lib/sweep/sweep-lock.ts';
import { eventFor, invoke, useRuntime } from '../functions/harness.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { fastDeps, REGION, sweepClient } from './sweep-fixture.ts';

logger.setLogLevel('SILENT');
const dynamo = useDynamoDbLocal();
let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let semaphore: DynamoLaneSemaphore;
let lock: DynamoSweepLock;
let projectId: string;

beforeEach(async () => {
  // Long enough upstream that 3 sweeps and 20 callers overlap; one project, CSBS only.
  sim = await startSimulator({
    seed: 41,
    deletion: { csbsMs: 250 },
    generate: {
      seed: 41,
      projects: 1,
      regions: [REGION],
      services: ['csbs'],
      resourcesPerProject: 4,
      backupsPerResource: 9,
      manualShare: 0.3,
      failedShare: 0,
      inProgressShare: 0,
    },
  });
  projectId = [...sim.state.projects.keys()][0] as string;
  client = sweepClient(sim);
  const tableName = await dynamo().createLedgerTable();
  ledger = createDynamoLedger({ tableName, client: dynamo().documentClient });
  semaphore = new DynamoLaneSemaphore({ client: dynamo().documentClient, tableName });
  lock = new DynamoSweepLock({ client: dynamo().documentClient, tableName });
  sim.resetInspection();
});
afterEach(async () => {
  setRuntimeForTests(undefined);
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

function policy(name: string, last: number): Policy {
  return parsePolicy({
    version: 1,
    defaults: { keep: { last }, max_delete_share: 1 },
    targets: [{ name, service: 'csbs', projects: [projectId], regions: [REGION] }],
  });
}

function deps(): SweepDeps {
  return {
    ...fastDeps(sim, client, ledger),
    semaphore,
    sweepLock: lock,
    slotWait: { baseMs: 50, capMs: 500 },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A caller of the HTTP API: DELETE until a slot is free, then GET /deletions until the deletion is final. */
async function httpCaller(item: { id: string; checkpoint_id: string }): Promise<string[]> {
  const seen: string[] = [];
  for (;;) {
    const reply = await invoke(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', {
        path: { project_id: projectId, checkpoint_id: item.checkpoint_id },
        query: { checkpoint_items: item.id },
      }),
    );
    seen.push(String(reply.status));
    if (reply.status === 429) {
      expect(reply.json.error.code).toBe('LANE_FULL');
      expect(Number(reply.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The caller could wait Retry-After; it retries sooner here to keep the lane under pressure.
      await pause(300);
      continue;
    }
    if (reply.status !== 202) return seen;
    for (;;) {
      const state = await invoke(
        getDeletion,
        eventFor('get-deletion', { path: { deletion_id: reply.json.deletion_id } }),
      );
      if (state.json.final === true) return seen;
      await pause(150);
    }
  }
}

describe('CSBS lane cap across invocations (DynamoDB Local)', () => {
  it('keeps at most 5 CSBS deletions of a project in flight across 3 inline sweeps and 20 HTTP deletes', async () => {
    await useRuntime({ client, ledger, allowlist: [projectId] });
    // The functions' runtime on the same table as the sweeps' semaphore.
    const { runtime } = await import('../../lib/runtime.ts');
    const rt = await runtime();
    setRuntimeForTests({ ...rt, laneSemaphore: semaphore, laneGate: laneGate({ semaphore }) });

    const httpItems = [...(sim.state.csbs.get(projectId)?.values() ?? [])]
      .filter((item) => item.status === 'available')
      .slice(0, 20);
    expect(httpItems).toHaveLength(20);
    const allItems = [...(sim.state.csbs.get(projectId)?.values() ?? [])]
      .filter((item) => item.status === 'available')
      .map((item) => item.id);
    const now = new Date();
    const [a, b, c, ...callers] = await Promise.all([
      runSweep({ policy: policy('servers-a', 2), sweepId: 'caps-a', dryRun: false, now }, deps()),
      runSweep({ policy: policy('servers-b', 4), sweepId: 'caps-b', dryRun: false, now }, deps()),
      runSweep({ policy: policy('servers-c', 6), sweepId: 'caps-c', dryRun: false, now }, deps()),
      ...httpItems.map((item) => httpCaller(item)),
    ]);
    const inspection = sim.inspect();
    expect(inspection.maxConcurrentDeletionsByService.csbs[projectId]).toBeLessThanOrEqual(5);
    // 20 callers at once against 5 slots: some were told to come back.
    expect(callers.flat()).toContain('429');
    // Overlapping plans: a deletion another sweep or caller holds is skipped (theirs to finish), none fails.
    for (const report of [a, b, c]) {
      expect(report?.totals).toMatchObject({ failed: 0, pending: 0 });
      expect(
        Object.keys(report?.totals.skip_codes ?? {}).filter((code) => code !== 'IN_FLIGHT_ELSEWHERE'),
      ).toEqual([]);
    }
    const planned = (
      await Promise.all(['caps-a', 'caps-b', 'caps-c'].map((id) => ledger.getSweep(id)))
    ).flatMap((stored) => stored?.items ?? []);
    // A CSBS item stays listed as `deleted` for a moment after its deletion (the documented status): deleted.
    const left = new Set(
      [...(sim.state.csbs.get(projectId)?.values() ?? [])]
        .filter((item) => item.status !== 'deleted')
        .map((item) => item.id),
    );
    for (const item of [
      ...planned.map((p) => p.target),
      ...httpItems.map((i) => ({ checkpoint_items: [i.id] })),
    ])
      if ('checkpoint_items' in item) expect(left.has(item.checkpoint_items?.[0] ?? '')).toBe(false);
    // Every checkpoint item was named by one DELETE only, whoever asked for it.
    for (const item of allItems) expect(inspection.deleteCalls(item), item).toBeLessThanOrEqual(1);
    expect(inspection.pendingDeletions).toBe(0);
    // Every slot was given back: the lane is free for the next caller.
    for (let i = 0; i < 5; i++)
      expect((await semaphore.acquire(`csbs/${projectId}`, `probe-${i}`, 5, 1_000)).ok).toBe(true);
  }, 240_000);

  it('runs one sweep of a policy at a time: a second one is refused while the first holds the lock', async () => {
    const now = new Date();
    let second: unknown;
    const first = runSweep(
      { policy: policy('servers', 2), sweepId: 'lock-1', dryRun: false, now },
      {
        ...deps(),
        onProgress: (event) => {
          if (event.type === 'planned' && second === undefined) {
            second = runSweep(
              { policy: policy('servers', 3), sweepId: 'lock-2', dryRun: false, now },
              deps(),
            ).catch((error: unknown) => error);
          }
        },
      },
    );
    expect((await first).status).toBe('completed');
    const refused = await second;
    expect(refused).toBeInstanceOf(SweepRunningError);
    expect(refused).toMatchObject({ code: 'SWEEP_RUNNING', runningSweepId: 'lock-1' });
    expect(await ledger.getSweep('lock-2')).toBeUndefined();
    // Once the first is over, the policy is free again; a dry run never needs the lock.
    const third = await runSweep(
      { policy: policy('servers', 3), sweepId: 'lock-3', dryRun: false, now: new Date() },
      deps(),
    );
    expect(third.status).toBe('completed');
  }, 60_000);
});
