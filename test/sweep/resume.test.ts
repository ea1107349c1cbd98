/** A scheduled sweep stopped at its deadline is resumed by the next scheduled run of the same policy. */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { MemorySweepLock, policyLockKey } from '../../lib/sweep/sweep-lock.ts';
import { plannedBackupId } from '../../lib/sweep/verify.ts';
import { fastDeps, startSweepSimulator, sweepClient, sweepPolicy } from './sweep-fixture.ts';

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let lock: MemorySweepLock;

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 29, projects: 1 });
  sim.advance(1_000);
  client = sweepClient(sim);
  ledger = createMemoryLedger();
  lock = new MemorySweepLock();
  sim.resetInspection();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

describe('resuming an aborted scheduled sweep', () => {
  it('resumes the unfinished sweep first on the next run, sending no DELETE twice, then starts fresh', async () => {
    const policy = sweepPolicy(sim);
    const controller = new AbortController();
    let finished = 0;
    const first = await runSweep(
      { policy, sweepId: 'scheduled-1', dryRun: false, now: new Date(), resumeUnfinished: true },
      {
        ...fastDeps(sim, client, ledger),
        sweepLock: lock,
        signal: controller.signal,
        onProgress: (event) => {
          if (event.type === 'item' && ++finished === 5) controller.abort();
        },
      },
    );
    expect(first.status).toBe('aborted');
    // The lock is free (a stopped sweep holds nothing) but still names the unfinished sweep.
    expect(await lock.current(policyLockKey(policy))).toEqual({ sweepId: 'scheduled-1', leaseUntil: 0 });

    const second = await runSweep(
      { policy, sweepId: 'scheduled-2', dryRun: false, now: new Date(), resumeUnfinished: true },
      { ...fastDeps(sim, client, ledger), sweepLock: lock },
    );
    expect(second).toMatchObject({ sweep_id: 'scheduled-1', resumed: true, status: 'completed' });
    expect(await ledger.getSweep('scheduled-2')).toBeUndefined();
    expect((await ledger.getSweep('scheduled-1'))?.sweep.status).toBe('finished');
    const inspection = sim.inspect();
    const items = (await ledger.getSweep('scheduled-1'))?.items ?? [];
    expect(items.length).toBeGreaterThan(5);
    for (const item of items) {
      const id = plannedBackupId(item) as string;
      expect(inspection.deleteAttempts(id), id).toBe(1);
    }

    // Nothing unfinished any more: the next run is a sweep of its own.
    const third = await runSweep(
      { policy, sweepId: 'scheduled-3', dryRun: false, now: new Date(), resumeUnfinished: true },
      { ...fastDeps(sim, client, ledger), sweepLock: lock },
    );
    expect(third).toMatchObject({ sweep_id: 'scheduled-3', resumed: false });
  }, 60_000);
});
