/**
 * The sweep and the deletion lifecycle over loopback against the simulator: a crash with DELETEs in flight,
 * lost answers, a resume inside the stale window, and permanent refusals. The simulator's own request log is
 * the witness: how many DELETEs reached each backup.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { executeDeletion, plannedTarget } from '../../lib/deletions/execute.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger, type PlannedItem } from '../../lib/ledger/index.ts';
import { adapters } from '../../lib/services/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import type { ExecuteDeletion } from '../../lib/sweep/step.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { plannedBackupId } from '../../lib/sweep/verify.ts';
import {
  deletesTimingOut,
  fastDeps,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from './sweep-fixture.ts';

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 31, projects: 2 });
  // Backups still being created are finished, so no DELETE meets a busy resource.
  sim.advance(1_000);
  client = sweepClient(sim);
  ledger = createMemoryLedger();
  sim.resetInspection();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

/** A sweep process that dies right after its DELETE went out: the record stays `sent`, upstream deletes. */
const crashAfterSending: ExecuteDeletion = async (ref, deps) => {
  const begun = await deps.ledger.beginDeletion({
    service: ref.service,
    region: ref.region,
    project_id: ref.projectId,
    target: plannedTarget(ref),
    requested_by: ref.requestedBy,
    sweep_id: ref.sweepId,
  });
  await deps.ledger.transition(begun.record.id, { from: ['requested'], to: 'sent' });
  await adapters[ref.service].deleteBackup(deps.client, {
    region: ref.region,
    projectId: ref.projectId,
    deleteId: ref.deleteId,
    itemId: ref.itemId,
  });
  throw new Error('the sweep process was killed');
};

async function plannedItems(sweepId: string): Promise<PlannedItem[]> {
  return (await ledger.getSweep(sweepId))?.items ?? [];
}

function deleteCallsPerBackup(items: readonly PlannedItem[]): number[] {
  const inspection = sim.inspect();
  return items.map((item) => inspection.deleteCalls(plannedBackupId(item) as string));
}

describe('a sweep and the deletion lifecycle', () => {
  it('resumes a crash with DDS DELETEs in flight without a second DELETE, and reports them deleted', async () => {
    const input = { policy: sweepPolicy(sim), sweepId: 'dds-crash', dryRun: false, targetFilter: ['mongo'] };
    await expect(
      runSweep(
        { ...input, now: new Date() },
        { ...fastDeps(sim, client, ledger), executeDeletion: crashAfterSending },
      ),
    ).rejects.toThrow('killed');
    const left = await ledger.listBySweep('dds-crash');
    const inFlight = left.filter((record) => record.status === 'sent');
    expect(inFlight.length).toBeGreaterThan(1);
    // Resumed after the stale window (the crashed run is over, so its claims are stale at once).
    const resumed = await runSweep(
      { ...input, now: new Date() },
      { ...fastDeps(sim, client, ledger), staleAfterMs: 0 },
    );
    const items = await plannedItems('dds-crash');
    expect(items.length).toBeGreaterThan(5);
    expect(deleteCallsPerBackup(items).every((calls) => calls === 1)).toBe(true);
    expect(resumed).toMatchObject({ status: 'completed' });
    expect(resumed.totals).toMatchObject({ deleted: items.length, already_gone: 0, failed: 0 });
    const records = await ledger.listBySweep('dds-crash');
    expect(records.every((record) => record.status === 'done')).toBe(true);
  });

  it('asks upstream after a timed-out DELETE instead of resending it (DDS answers after 1.5 s, the client waits 0.5 s)', async () => {
    // One attempt per DELETE, given up after 0.5 s: the client's own retries are not what this is about.
    const deletesTimeOut = deletesTimingOut(sim, client, 500);
    sim.setFaults({
      services: { dds: { operations: { deleteBackup: { latency: { kind: 'fixed', ms: 1_500 } } } } },
    });
    const report = await runSweep(
      {
        policy: sweepPolicy(sim),
        sweepId: 'dds-slow',
        dryRun: false,
        targetFilter: ['mongo'],
        now: new Date(),
      },
      // The in-flight horizon outlasts a DELETE that lands 1.5 s after it reached upstream.
      { ...fastDeps(sim, deletesTimeOut, ledger), staleAfterMs: 60_000 },
    );
    const items = await plannedItems('dds-slow');
    expect(items.length).toBeGreaterThan(5);
    expect(Math.max(...deleteCallsPerBackup(items))).toBeLessThanOrEqual(1);
    expect(report).toMatchObject({ status: 'completed' });
    expect(report.totals).toMatchObject({ deleted: items.length, failed: 0 });
    const records = await ledger.listBySweep('dds-slow');
    expect(records.map((record) => record.status)).toEqual(records.map(() => 'done'));
  });

  it('resolves items a crash left sent inside the stale window instead of skipping them', async () => {
    const input = { policy: sweepPolicy(sim), sweepId: 'cbr-crash', dryRun: false, targetFilter: ['vaults'] };
    await expect(
      runSweep(
        { ...input, now: new Date() },
        { ...fastDeps(sim, client, ledger), executeDeletion: crashAfterSending },
      ),
    ).rejects.toThrow('killed');
    expect((await ledger.listBySweep('cbr-crash')).some((record) => record.status === 'sent')).toBe(true);
    // At once: the stale window (10 minutes by default) has not passed.
    const resumed = await runSweep({ ...input, now: new Date() }, fastDeps(sim, client, ledger));
    expect(resumed.totals.skip_codes.IN_FLIGHT_ELSEWHERE).toBeUndefined();
    expect(resumed).toMatchObject({ status: 'completed' });
    const items = await plannedItems('cbr-crash');
    expect(resumed.totals.deleted).toBe(items.length);
    expect(deleteCallsPerBackup(items).every((calls) => calls === 1)).toBe(true);
    const records = await ledger.listBySweep('cbr-crash');
    expect(records.every((record) => record.status === 'done')).toBe(true);
  });

  it('skips a backup upstream refused for good on the next sweep, sending it no DELETE', async () => {
    const input = { policy: sweepPolicy(sim), dryRun: false, targetFilter: ['vaults'] };
    const dry = await runSweep(
      { ...input, sweepId: 'dry', dryRun: true, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    expect(dry.totals.planned).toBeGreaterThan(1);
    const refusedId = plannedBackupId((await plannedItems('dry'))[0] as PlannedItem) as string;
    const refused = sim.state.cbrBackup(refusedId);
    if (refused === undefined) throw new Error('planned backup missing');
    // The backup starts being restored just as its DELETE goes out: CBR answers 6201 (seed 002: the backup
    // does not support deletion).
    const restoringAtDelete: ExecuteDeletion = async (ref, deps) => {
      if (ref.itemId !== refusedId) return executeDeletion(ref, deps);
      refused.status = 'restoring';
      try {
        return await executeDeletion(ref, deps);
      } finally {
        refused.status = 'available';
      }
    };
    const one = await runSweep(
      { ...input, sweepId: 'real-1', now: new Date() },
      { ...fastDeps(sim, client, ledger), executeDeletion: restoringAtDelete },
    );
    expect(one.totals.failure_codes).toEqual({ UPSTREAM_REJECTED: 1 });
    const two = await runSweep(
      { ...input, sweepId: 'real-2', now: new Date() },
      fastDeps(sim, client, ledger),
    );
    expect(two.totals.skip_codes).toEqual({ REFUSED_UPSTREAM: 1 });
    expect(two.totals.planned).toBe(1);
    expect(sim.inspect().deleteCalls(refusedId)).toBe(1);
  });
});
