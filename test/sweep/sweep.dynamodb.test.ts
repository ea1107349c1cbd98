import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createDynamoLedger, type Ledger } from '../../lib/ledger/index.ts';
import type { Backup } from '../../lib/services/backup.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { checkAgainstSimulator, plannedBackupId } from '../../lib/sweep/verify.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import {
  deletesTimingOut,
  fastDeps,
  listEverything,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from './sweep-fixture.ts';

const dynamo = useDynamoDbLocal();
let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let before: Backup[];

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 23, projects: 2 });
  client = sweepClient(sim);
  ledger = createDynamoLedger({
    tableName: await dynamo().createLedgerTable(),
    client: dynamo().documentClient,
  });
  before = await listEverything(sim, client);
  sim.resetInspection();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

async function expectEveryPlannedDeletionDone(sweepIds: readonly string[], oneSweepAtATime = true) {
  const items = (await Promise.all(sweepIds.map((id) => ledger.getSweep(id)))).flatMap((s) => s?.items ?? []);
  const planned = new Set(items.map((item) => plannedBackupId(item)));
  expect(planned.size).toBeGreaterThan(10);
  // A CSBS item stays listed as `deleted` for a moment after its deletion (the documented status): deleted.
  const remaining = new Set(
    (await listEverything(sim, client)).filter((b) => b.status !== 'deleted').map((backup) => backup.id),
  );
  for (const id of planned) expect(remaining.has(id as string)).toBe(false);
  const check = checkAgainstSimulator(sim.inspect(), before, items);
  expect(check.keptWithDelete).toEqual([]);
  expect(check.deletedTwice).toEqual([]);
  // The CSBS cap is per sweep (inline lanes): two overlapping sweeps may each run 5 (upstream queues the rest).
  if (oneSweepAtATime) expect(check.ok).toBe(true);
}

describe('runSweep with the DynamoDB ledger (DynamoDB Local)', () => {
  it('stores the plan, deletes it all once, resumes an aborted run, and stores the report', async () => {
    const controller = new AbortController();
    let finished = 0;
    const first = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'ddb-1', dryRun: false, now: new Date() },
      {
        ...fastDeps(sim, client, ledger),
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type === 'item' && ++finished === 10) controller.abort();
        },
      },
    );
    expect(first.status).toBe('aborted');
    const second = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'ddb-1', dryRun: false, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    expect(second).toMatchObject({ status: 'completed', resumed: true });
    expect(second.totals.deleted).toBe(second.totals.planned);
    await expectEveryPlannedDeletionDone(['ddb-1']);
    const stored = await ledger.getSweep('ddb-1');
    expect(stored?.sweep.status).toBe('finished');
    expect(stored?.sweep.report).toMatchObject({ status: 'completed', sweep_id: 'ddb-1' });
    const records = await ledger.listBySweep('ddb-1');
    expect(records.every((record) => record.status === 'done' && record.attempts === 1)).toBe(true);
  });

  it('lets two overlapping sweeps of the same policy send each DELETE once between them', async () => {
    const [a, b] = await Promise.all([
      runSweep(
        { policy: sweepPolicy(sim), sweepId: 'ddb-a', dryRun: false, now: new Date() },
        fastDeps(sim, client, ledger),
      ),
      runSweep(
        { policy: sweepPolicy(sim), sweepId: 'ddb-b', dryRun: false, now: new Date() },
        fastDeps(sim, client, ledger),
      ),
    ]);
    await expectEveryPlannedDeletionDone(['ddb-a', 'ddb-b'], false);
    // Each deletion either plan holds is reported deleted by exactly one sweep; the other saw it in flight or
    // done. (The plans may differ a little: backups finish being created between the two listings.)
    const union = new Set(
      (await Promise.all(['ddb-a', 'ddb-b'].map((id) => ledger.getSweep(id)))).flatMap((stored) =>
        (stored?.items ?? []).map((item) => item.deletion_id),
      ),
    );
    expect(a.totals.deleted + b.totals.deleted).toBe(union.size);
    expect(a.totals.failed + b.totals.failed).toBe(0);
  });

  it('lets a second sweep ask upstream about a DELETE the first one lost the answer to, never resending it', async () => {
    // The interleaving that exposed the race: sweep A's CSBS DELETEs reach upstream but their answers are lost
    // (CSBS answers after 1.5 s, A's client gives up after 0.5 s without retrying), A records the outcome, and
    // only then does sweep B reach the same deletions. A outcome recorded as a failure let B re-arm and send a
    // second DELETE; recorded unknown, B asks upstream and tracks what A started.
    sim.setFaults({
      services: { csbs: { operations: { deleteCheckpoint: { latency: { kind: 'fixed', ms: 1_500 } } } } },
    });
    // One attempt per DELETE, given up after 0.5 s: the client's own retries are not what this is about.
    const deletesTimeOut = deletesTimingOut(sim, client, 500);
    // B's ledger holds each of B's steps until A has recorded how its own attempt at that deletion ended.
    const gatedForB: Ledger = {
      ...ledger,
      beginDeletion: (input) => ledger.beginDeletion(input),
      transition: (id, request) => ledger.transition(id, request),
      listBySweep: (id) => ledger.listBySweep(id),
      putSweepPlan: (plan) => ledger.putSweepPlan(plan),
      getSweep: (id) => ledger.getSweep(id),
      finishSweep: (id, report) => ledger.finishSweep(id, report),
      recentSweeps: (key, limit) => ledger.recentSweeps(key, limit),
      get: async (id) => {
        await untilRecordedByA(id);
        return ledger.get(id);
      },
    };
    let planOfA: Set<string> | undefined;
    async function untilRecordedByA(id: string): Promise<void> {
      for (;;) {
        if (planOfA === undefined) {
          const stored = await ledger.getSweep('race-a');
          if (stored !== undefined) planOfA = new Set(stored.items.map((item) => item.deletion_id));
        }
        if (planOfA !== undefined) {
          if (!planOfA.has(id)) return;
          const record = await ledger.get(id);
          if (record !== undefined && record.status !== 'requested' && record.status !== 'sent') return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    // One project's CSBS backups are enough to show it.
    const policy = sweepPolicy(sim);
    const first = policy.targets[0]?.projects.slice(0, 1) ?? [];
    const servers = { ...policy, targets: policy.targets.map((target) => ({ ...target, projects: first })) };
    const input = { policy: servers, dryRun: false, targetFilter: ['servers'], now: new Date() };
    // Wide lanes keep the test short (upstream itself runs five CSBS deletions per project and queues the
    // rest); asking upstream every 250 ms at most keeps DynamoDB Local's load down.
    const laneLimits = { default: 10, byService: { csbs: 20 } };
    const tracking = { baseMs: 50, capMs: 250, minDelayMs: 50 };
    // The in-flight horizon must outlast a DELETE that lands 1.5 s after it reached upstream, on a loaded machine.
    const staleAfterMs = 60_000;
    const [a, b] = await Promise.all([
      runSweep(
        { ...input, sweepId: 'race-a' },
        { ...fastDeps(sim, deletesTimeOut, ledger), laneLimits, tracking, staleAfterMs },
      ),
      runSweep(
        { ...input, sweepId: 'race-b' },
        { ...fastDeps(sim, client, gatedForB), laneLimits, tracking, staleAfterMs },
      ),
    ]);
    await expectEveryPlannedDeletionDone(['race-a', 'race-b'], false);
    const stored = await ledger.listBySweep('race-a');
    expect(stored.length).toBeGreaterThan(5);
    expect(stored.every((record) => record.status === 'done' && record.attempts === 1)).toBe(true);
    expect(a.totals).toMatchObject({ deleted: stored.length, failed: 0 });
    expect(b.totals.failed).toBe(0);
    expect(b.totals.deleted).toBe(0);
    // About 29 deletions, each a 1.5 s DELETE plus asks and polls against DynamoDB Local: ~5 s on an idle
    // machine, up to a minute on a loaded one (as the queued e2e tests, a bound for the workload, not a retry).
  }, 120_000);
});
