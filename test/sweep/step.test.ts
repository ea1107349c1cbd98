import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  type ExecutedDeletion,
  executeDeletion,
  plannedDeletionId,
  plannedTarget,
} from '../../lib/deletions/execute.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger, type PlannedItem } from '../../lib/ledger/index.ts';
import { adapters } from '../../lib/services/index.ts';
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import {
  type ExecuteDeletion,
  ledgerPlanLookup,
  pollPlannedDeletion,
  processPlannedDeletion,
  type StepDeps,
} from '../../lib/sweep/step.ts';
import { listEverything, REGION, sweepClient } from './sweep-fixture.ts';

const SWEEP = 'sweep-step';
const requestedBy = { kind: 'sweep' as const, principal: 'sweep:test' };
let ledger: Ledger;
let now: number;

function item(
  overrides: Partial<{ service: 'csbs' | 'cbr'; deleteId: string; itemId: string }> = {},
): PlannedItem {
  const ref = {
    service: overrides.service ?? ('csbs' as const),
    region: REGION,
    projectId: 'p'.repeat(32),
    deleteId: overrides.deleteId ?? '11111111-1111-1111-1111-111111111111',
    itemId: overrides.itemId ?? '22222222-2222-2222-2222-222222222222',
  };
  return {
    deletion_id: plannedDeletionId(ref),
    service: ref.service,
    region: ref.region,
    project_id: ref.projectId,
    target: plannedTarget(ref),
    reason: 'servers: older than 90d',
    size_bytes: 1024,
  };
}

function fakeDeps(execute: ExecuteDeletion, overrides: Partial<StepDeps> = {}): StepDeps {
  return {
    client: { request: vi.fn(async () => Promise.reject(new Error('no upstream call expected'))) },
    ledger,
    adapters,
    executeDeletion: execute,
    now: () => now,
    requestedBy,
    retry: { busyDelayMs: 30_000, maxAttempts: 3, baseMs: 100, capMs: 1_000, random: () => 0.5 },
    ...overrides,
  };
}

function failedWith(code: string, retryable: boolean, retryAfterMs?: number): ExecuteDeletion {
  return vi.fn(
    async () =>
      ({ kind: 'failed', code, message: code, retryable, retryAfterMs }) as unknown as ExecutedDeletion,
  );
}

beforeEach(() => {
  now = 1_800_000_000_000;
  ledger = createMemoryLedger({ now: () => now });
});

describe('processPlannedDeletion', () => {
  it('deletes nothing that is not in the plan', async () => {
    const execute = vi.fn<ExecuteDeletion>();
    const planned = item();
    const result = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: 'del_not_in_the_plan_aaaaaaaaaaaaaaaaa' },
      (id) => (id === planned.deletion_id ? planned : undefined),
      fakeDeps(execute),
    );
    expect(result).toMatchObject({ kind: 'finished', outcome: { status: 'skipped', code: 'NOT_PLANNED' } });
    expect(execute).not.toHaveBeenCalled();
  });

  it('refuses a plan item whose deletion id does not match its target', async () => {
    const execute = vi.fn<ExecuteDeletion>();
    const tampered = { ...item(), target: item({ itemId: '33333333-3333-3333-3333-333333333333' }).target };
    const result = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: tampered.deletion_id },
      () => tampered,
      fakeDeps(execute),
    );
    expect(result).toMatchObject({ kind: 'finished', outcome: { status: 'skipped', code: 'PLAN_MISMATCH' } });
    expect(execute).not.toHaveBeenCalled();
  });

  it('reports a deletion this sweep finished earlier as deleted without sending again', async () => {
    const planned = item();
    const begun = await ledger.beginDeletion({
      service: 'csbs',
      region: REGION,
      project_id: planned.project_id,
      target: planned.target,
      requested_by: requestedBy,
      sweep_id: SWEEP,
    });
    await ledger.transition(begun.record.id, { from: ['requested'], to: 'sent' });
    await ledger.transition(begun.record.id, { from: ['sent'], to: 'done' });
    const execute = vi.fn<ExecuteDeletion>();
    const result = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id },
      () => planned,
      fakeDeps(execute),
    );
    expect(result).toMatchObject({ kind: 'finished', outcome: { status: 'deleted', size_bytes: 1024 } });
    expect(execute).not.toHaveBeenCalled();
  });

  it('leaves a deletion another live caller holds alone, and takes over one left by a crash', async () => {
    const planned = item();
    const begun = await ledger.beginDeletion({
      service: 'csbs',
      region: REGION,
      project_id: planned.project_id,
      target: planned.target,
      requested_by: requestedBy,
    });
    const execute = vi.fn<ExecuteDeletion>(async (ref, deps) => executeDeletion(ref, deps));
    const live = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id },
      () => planned,
      fakeDeps(execute),
    );
    expect(live).toMatchObject({
      kind: 'finished',
      outcome: { status: 'skipped', code: 'IN_FLIGHT_ELSEWHERE' },
    });
    expect(execute).not.toHaveBeenCalled();
    // Ten minutes later the `requested` record is stale: nothing was sent, so it is released and claimed.
    now += 10 * 60_000;
    const claimed = vi.fn<ExecuteDeletion>(async () => ({ kind: 'done' }) as unknown as ExecutedDeletion);
    const stale = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id },
      () => planned,
      fakeDeps(claimed),
    );
    expect(stale).toMatchObject({ kind: 'finished', outcome: { status: 'deleted' } });
    expect(claimed).toHaveBeenCalledTimes(1);
    expect((await ledger.get(begun.record.id))?.history.map((entry) => entry.status)).toEqual([
      'requested',
      'failed',
    ]);
  });

  it('retries a busy item later without failing it, and fails it once its attempts are spent', async () => {
    const planned = item();
    const busy = failedWith('BUSY', true);
    const first = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id },
      () => planned,
      fakeDeps(busy),
    );
    expect(first).toEqual({ kind: 'retry', delayMs: 30_000, attempt: 1, code: 'BUSY' });
    const last = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id, attempt: 2 },
      () => planned,
      fakeDeps(busy),
    );
    expect(last).toMatchObject({ kind: 'finished', outcome: { status: 'failed', code: 'BUSY' } });
  });

  it('turns throttling into a lane slowdown, never a failure', async () => {
    const planned = item();
    const result = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id, attempt: 99 },
      () => planned,
      fakeDeps(failedWith('THROTTLED', true, 2_000)),
    );
    expect(result).toEqual({ kind: 'throttled', retryAfterMs: 2_000 });
  });

  it('fails a refused deletion at once with its code', async () => {
    const planned = item();
    const result = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: planned.deletion_id },
      () => planned,
      fakeDeps(failedWith('UPSTREAM_REJECTED', false)),
    );
    expect(result).toMatchObject({
      kind: 'finished',
      outcome: { status: 'failed', code: 'UPSTREAM_REJECTED' },
    });
  });
});

describe('pollPlannedDeletion (simulator)', () => {
  let sim: Simulator;
  let client: HuaweiClient;
  beforeAll(async () => {
    sim = await startSimulator({
      deletion: { csbsMs: 600_000, cbrMs: 30, ddsMs: 30 },
      generate: {
        seed: 3,
        projects: 1,
        regions: [REGION],
        services: ['csbs', 'cbr'],
        resourcesPerProject: 2,
        backupsPerResource: 3,
        failedShare: 0,
        inProgressShare: 0,
        multiItemShare: 0,
      },
    });
    client = sweepClient(sim);
  });
  afterAll(async () => {
    await sim.close();
    await closeHuaweiPools();
  });

  it('tracks a deletion until the ceiling and records it failed with TRACKING_TIMEOUT', async () => {
    now = Date.now();
    const backup = (await listEverything(sim, client)).find(
      (b) => b.service === 'csbs' && b.state === 'finished',
    );
    if (backup === undefined) throw new Error('no CSBS item');
    const planned = item({ deleteId: backup.delete_id, itemId: backup.id });
    const withProject = (() => {
      const ref = {
        service: 'csbs' as const,
        region: REGION,
        projectId: backup.project_id,
        deleteId: backup.delete_id,
        itemId: backup.id,
      };
      return {
        ...planned,
        project_id: backup.project_id,
        deletion_id: plannedDeletionId(ref),
        target: plannedTarget(ref),
      };
    })();
    const deps: StepDeps = { ...fakeDeps(executeDeletion), client, tracking: { ceilingMs: 1_800_000 } };
    const started = await processPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: withProject.deletion_id },
      () => withProject,
      deps,
    );
    expect(started.kind).toBe('track');
    if (started.kind !== 'track') return;
    const running = await pollPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: withProject.deletion_id, tracking: started.tracking },
      () => withProject,
      deps,
    );
    expect(running.kind).toBe('track');
    if (running.kind !== 'track') return;
    // 31 minutes after acceptance the upstream deletion is still running: tracking gives up.
    now += 31 * 60_000;
    const timedOut = await pollPlannedDeletion(
      { sweep_id: SWEEP, deletion_id: withProject.deletion_id, tracking: running.tracking },
      () => withProject,
      deps,
    );
    expect(timedOut).toMatchObject({
      kind: 'finished',
      outcome: { status: 'failed', code: 'TRACKING_TIMEOUT' },
    });
    expect((await ledger.get(withProject.deletion_id))?.status).toBe('failed');
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });
});

describe('ledgerPlanLookup (what a queued worker checks each message against)', () => {
  it('finds planned items of a stored real sweep, nothing of a dry run or an unknown sweep', async () => {
    const planned = item();
    await ledger.putSweepPlan({
      sweep_id: 'real',
      dry_run: false,
      requested_by: requestedBy,
      summary: {},
      items: [planned],
    });
    await ledger.putSweepPlan({
      sweep_id: 'dry',
      dry_run: true,
      requested_by: requestedBy,
      summary: {},
      items: [planned],
    });
    const lookup = ledgerPlanLookup(ledger);
    expect(await lookup('real')(planned.deletion_id)).toMatchObject({ deletion_id: planned.deletion_id });
    expect(await lookup('real')('del_other')).toBeUndefined();
    expect(await lookup('dry')(planned.deletion_id)).toBeUndefined();
    expect(await lookup('unknown')(planned.deletion_id)).toBeUndefined();
  });
});
