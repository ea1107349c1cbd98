import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeDeletion } from '../../lib/deletions/execute.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import type { Backup } from '../../lib/services/backup.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import type { ExecuteDeletion } from '../../lib/sweep/step.ts';
import { runSweep, SweepConflictError } from '../../lib/sweep/sweep.ts';
import { checkAgainstSimulator, plannedBackupId } from '../../lib/sweep/verify.ts';
import { simulatorClient as simulatorClientWithoutRetries } from '../simulator/helpers.ts';
import {
  fastDeps,
  listEverything,
  projectsOf,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from './sweep-fixture.ts';

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let before: Backup[];

beforeEach(async () => {
  sim = await startSweepSimulator();
  client = sweepClient(sim);
  ledger = createMemoryLedger();
  before = await listEverything(sim, client);
  sim.resetInspection();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

/** The end state every real sweep must reach, whatever happened on the way. */
async function expectSafeEndState(sweepId: string) {
  const stored = await ledger.getSweep(sweepId);
  expect(stored).toBeDefined();
  const planned = new Set((stored?.items ?? []).map((item) => plannedBackupId(item) as string));
  expect(planned.size).toBeGreaterThan(10);
  const inspection = sim.inspect();
  // Every planned deletion ended deleted: gone from the listing, and `done` in the ledger.
  const after = await listEverything(sim, client);
  // CSBS lists a deleted item as `deleted` for a while before it is gone.
  const remaining = new Set(after.filter((backup) => backup.status !== 'deleted').map((backup) => backup.id));
  for (const id of planned) expect(remaining.has(id), `planned ${id} still listed`).toBe(false);
  const records = await ledger.listBySweep(sweepId);
  expect(records.map((record) => record.status).filter((status) => status !== 'done')).toEqual([]);
  expect(records).toHaveLength(planned.size);
  // Kept backups are all still there, received no DELETE; none was deleted twice; CSBS stayed within 5.
  for (const backup of before) if (!planned.has(backup.id)) expect(remaining.has(backup.id)).toBe(true);
  const check = checkAgainstSimulator(inspection, before, stored?.items ?? []);
  expect(check.keptWithDelete).toEqual([]);
  expect(check.deletedTwice).toEqual([]);
  for (const projectId of projectsOf(sim)) {
    expect(check.csbsMaxConcurrent[projectId] ?? 0).toBeLessThanOrEqual(5);
    expect(inspection.maxRunningCsbsTasks[projectId] ?? 0).toBeLessThanOrEqual(5);
  }
  expect(check.ok).toBe(true);
  return { planned, inspection };
}

describe('runSweep (inline, simulator over loopback)', () => {
  it('deletes every planned backup exactly once and never touches a kept one', async () => {
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'sweep-e2e', dryRun: false, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    const { planned } = await expectSafeEndState('sweep-e2e');
    expect(report.status).toBe('completed');
    expect(report.totals.planned).toBe(planned.size);
    expect(report.totals.deleted).toBe(planned.size);
    expect(report.totals.failed).toBe(0);
    expect(report.targets.map((target) => target.name)).toEqual(['servers', 'vaults', 'mongo']);
    for (const target of report.targets) {
      expect(target.deleted + target.already_gone).toBe(target.planned);
      expect(target.listed).toBeGreaterThan(target.planned);
    }
    const stored = await ledger.getSweep('sweep-e2e');
    expect(stored?.sweep.status).toBe('finished');
    expect(stored?.sweep.report).toMatchObject({ sweep_id: 'sweep-e2e', status: 'completed' });
  });

  it('makes no DELETE call and writes no deletion record in a dry run', async () => {
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'dry-1', dryRun: true, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    expect(report.dry_run).toBe(true);
    expect(report.totals.planned).toBeGreaterThan(10);
    expect(report.totals.deleted).toBe(0);
    const inspection = sim.inspect();
    expect(inspection.requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(await ledger.listBySweep('dry-1')).toEqual([]);
    // A dry run's id cannot be reused to delete.
    await expect(
      runSweep(
        { policy: sweepPolicy(sim), sweepId: 'dry-1', dryRun: false, now: new Date() },
        fastDeps(sim, client, ledger),
      ),
    ).rejects.toBeInstanceOf(SweepConflictError);
  });

  it('refuses to start when a target would delete more than its max_delete_share', async () => {
    const report = await runSweep(
      {
        policy: sweepPolicy(sim, { maxDeleteShare: 0.2 }),
        sweepId: 'breaker',
        dryRun: false,
        now: new Date(),
      },
      fastDeps(sim, client, ledger),
    );
    expect(report.status).toBe('refused');
    expect(report.refused?.length).toBeGreaterThan(0);
    for (const refusal of report.refused ?? []) expect(refusal.delete_share).toBeGreaterThan(0.2);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect(await ledger.getSweep('breaker')).toBeUndefined();
  });

  it('reaches the same end state with 20% throttling, 503s and connection resets', async () => {
    sim.setFaults({
      seed: 5,
      all: {
        throttleRate: 0.1,
        retryAfterSeconds: 0,
        serverErrorRate: 0.05,
        serverErrorStatuses: [503],
        resetRate: 0.05,
      },
    });
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'faulty', dryRun: false, now: new Date() },
      // One sweep alone, and every fault stops a DELETE before the service: a DELETE left without an answer
      // never lands, so a short in-flight horizon lets the sweep re-send it within the test.
      { ...fastDeps(sim, client, ledger), staleAfterMs: 2_000 },
    );
    sim.setFaults({});
    const { inspection } = await expectSafeEndState('faulty');
    expect(report.status).toBe('completed');
    expect(inspection.requests.some((request) => request.fault === 'reset')).toBe(true);
    expect(inspection.requests.some((request) => request.fault === 'throttle')).toBe(true);
  });

  it('slows a throttled lane down instead of failing its items', async () => {
    const throttled = { throttleRate: 0.3, retryAfterSeconds: 0 };
    sim.setFaults({
      seed: 9,
      services: {
        csbs: { operations: { deleteCheckpoint: throttled, getCheckpointItem: throttled } },
        cbr: { operations: { deleteBackup: throttled, getBackup: throttled } },
        dds: { operations: { deleteBackup: throttled, getJob: throttled } },
      },
    });
    const lanesThrottled = new Set<string>();
    // No client-side retries: every 429 reaches the sweep, which must absorb it in the lane.
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'throttled', dryRun: false, now: new Date() },
      {
        ...fastDeps(sim, simulatorClientWithoutRetries(sim), ledger),
        onProgress: (event) => {
          if (event.type === 'lane' && event.event.type === 'throttled') lanesThrottled.add(event.event.lane);
        },
      },
    );
    sim.setFaults({});
    expect(report.status).toBe('completed');
    expect(report.totals.failed).toBe(0);
    expect([...lanesThrottled].some((lane) => lane.startsWith('csbs/'))).toBe(true);
    expect(sim.inspect().requests.filter((request) => request.fault === 'throttle').length).toBeGreaterThan(
      10,
    );
    await expectSafeEndState('throttled');
  });

  it('resumes an aborted sweep with the same id: same end state, no DELETE sent twice', async () => {
    const controller = new AbortController();
    let deletions = 0;
    const counting: ExecuteDeletion = async (ref, deps) => {
      const outcome = await executeDeletion(ref, deps);
      deletions += 1;
      if (deletions === 12) controller.abort(new Error('operator stop'));
      return outcome;
    };
    const first = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'resume-abort', dryRun: false, now: new Date() },
      { ...fastDeps(sim, client, ledger), executeDeletion: counting, signal: controller.signal },
    );
    expect(first.status).toBe('aborted');
    expect(first.totals.pending).toBeGreaterThan(0);
    expect((await ledger.getSweep('resume-abort'))?.sweep.status).toBe('planned');

    const second = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'resume-abort', dryRun: false, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    expect(second.resumed).toBe(true);
    expect(second.status).toBe('completed');
    await expectSafeEndState('resume-abort');
  });

  it('resumes after a crash that left claimed deletions behind, without sending any twice', async () => {
    let deletions = 0;
    // The 8th deletion "crashes" after claiming the record (sent) but before the DELETE; the 9th after sending.
    const crashing: ExecuteDeletion = async (ref, deps) => {
      deletions += 1;
      if (deletions === 8) {
        const begun = await deps.ledger.beginDeletion({
          service: ref.service,
          region: ref.region,
          project_id: ref.projectId,
          target:
            ref.service === 'csbs'
              ? {
                  kind: 'checkpoint',
                  provider_id: 'fc4d5750-22e7-4798-8a46-f48f62c4c1da',
                  checkpoint_id: ref.deleteId,
                  checkpoint_items: [ref.itemId],
                }
              : { kind: 'backup', backup_id: ref.deleteId },
          requested_by: ref.requestedBy,
          sweep_id: ref.sweepId,
        });
        await deps.ledger.transition(begun.record.id, { from: ['requested'], to: 'sent' });
        throw new Error('simulated crash after the claim');
      }
      return executeDeletion(ref, deps);
    };
    await expect(
      runSweep(
        { policy: sweepPolicy(sim), sweepId: 'resume-crash', dryRun: false, now: new Date() },
        { ...fastDeps(sim, client, ledger), executeDeletion: crashing },
      ),
    ).rejects.toThrow('simulated crash');
    const left = await ledger.listBySweep('resume-crash');
    expect(left.some((record) => record.status === 'sent')).toBe(true);

    const second = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'resume-crash', dryRun: false, now: new Date() },
      // The crashed run is over: its claims are stale at once.
      { ...fastDeps(sim, client, ledger), staleAfterMs: 0 },
    );
    expect(second.status).toBe('completed');
    await expectSafeEndState('resume-crash');
  });
});
