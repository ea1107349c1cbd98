import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { HuaweiServerError } from '../../lib/huawei/errors.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { parsePolicy } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { adapters, type BackupServiceAdapter } from '../../lib/services/index.ts';
import type { FaultConfig, Simulator } from '../../lib/simulator/index.ts';
import { planSweep } from '../../lib/sweep/plan-sweep.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { plannedBackupId } from '../../lib/sweep/verify.ts';
import { backupsAt } from '../retention/factories.ts';
import {
  fastDeps,
  projectsOf,
  REGION,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from './sweep-fixture.ts';

/**
 * A listing that still fails after the client's retries fails its target, not the sweep: the target is reported
 * `failure: LISTING` with the error's code and deletes nothing, every other target proceeds.
 */

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;

beforeEach(async () => {
  sim = await startSweepSimulator();
  client = sweepClient(sim);
  ledger = createMemoryLedger();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

const deletesTo = (service: string) =>
  sim.inspect().requests.filter((request) => request.method === 'DELETE' && request.service === service)
    .length;

function cbrListing(rule: NonNullable<FaultConfig['all']>): FaultConfig {
  return { seed: 3, services: { cbr: { operations: { listBackups: rule } } } };
}

describe('a target whose listing fails', () => {
  it.each([
    [
      '500 on every attempt',
      cbrListing({ serverErrorRate: 1, serverErrorStatuses: [500] }),
      'UPSTREAM_UNAVAILABLE',
    ],
    [
      '502/503 on every attempt',
      cbrListing({ serverErrorRate: 1, serverErrorStatuses: [502, 503] }),
      'UPSTREAM_UNAVAILABLE',
    ],
    ['429 on every attempt', cbrListing({ throttleRate: 1, retryAfterSeconds: 0 }), 'THROTTLED'],
  ])(
    'is reported failed LISTING (%s), deletes nothing, and the other targets proceed',
    async (_, faults, code) => {
      sim.setFaults(faults);
      const report = await runSweep(
        { policy: sweepPolicy(sim), sweepId: 'listing-1', dryRun: false, now: new Date() },
        fastDeps(sim, client, ledger),
      );
      expect(report.status).toBe('completed_with_failures');
      const byName = Object.fromEntries(report.targets.map((target) => [target.name, target]));
      expect(byName.vaults?.failure).toMatchObject({ stage: 'LISTING', code });
      expect(byName.vaults?.failure?.listings).toHaveLength(projectsOf(sim).length);
      expect(byName.vaults?.planned).toBe(0);
      expect(deletesTo('cbr')).toBe(0);
      for (const name of ['servers', 'mongo']) {
        expect(byName[name]?.failure).toBeUndefined();
        expect(byName[name]?.planned).toBeGreaterThan(0);
        expect(byName[name]?.deleted).toBe(byName[name]?.planned);
      }
      // The stored plan carries the failure too, so the report of a resumed sweep says the same.
      const stored = await ledger.getSweep('listing-1');
      expect(JSON.stringify(stored?.sweep.summary)).toContain('"stage":"LISTING"');
      expect(stored?.items.every((item) => item.service !== 'cbr')).toBe(true);
    },
  );

  it('reports each target failed as a whole or carried out under a 20% mix of 429/5xx on every listing', async () => {
    sim.setFaults({
      seed: 5,
      services: Object.fromEntries(
        (['csbs', 'cbr', 'dds'] as const).map((service) => [
          service,
          {
            operations: {
              [service === 'csbs' ? 'listCheckpointItems' : 'listBackups']: {
                serverErrorRate: 0.1,
                throttleRate: 0.1,
                retryAfterSeconds: 0,
              },
            },
          },
        ]),
      ),
    });
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'listing-mix', dryRun: false, now: new Date() },
      fastDeps(sim, client, ledger),
    );
    // Whatever failed after the retries is reported per target; every target either failed as a whole and
    // deleted nothing, or was carried out.
    const stored = await ledger.getSweep('listing-mix');
    const planned = new Set((stored?.items ?? []).map((item) => plannedBackupId(item)));
    for (const target of report.targets) {
      if (target.failure !== undefined) {
        expect(target.planned).toBe(0);
        expect(deletesTo(target.service)).toBe(0);
      } else expect(target.deleted + target.already_gone).toBe(target.planned);
    }
    expect(report.status).toBe(
      report.targets.some((target) => target.failure !== undefined) ? 'completed_with_failures' : 'completed',
    );
    expect(report.totals.deleted).toBe(planned.size);
  });
});

describe('planSweep over a listing that breaks off after some pages', () => {
  const backups = backupsAt(
    ['2026-11-26T00:00:00Z', '2026-11-25T00:00:00Z', '2026-11-24T00:00:00Z', '2026-11-23T00:00:00Z'],
    { service: 'cbr', region: REGION },
  );
  const policy = parsePolicy({
    version: 1,
    defaults: { keep: { last: 1 }, max_delete_share: 1 },
    targets: [
      { name: 'broken', service: 'cbr', projects: ['proj-1'], regions: [REGION] },
      { name: 'fine', service: 'cbr', projects: ['proj-2'], regions: [REGION] },
    ],
  });
  /** proj-1 lists two backups and then fails; proj-2 lists all four. */
  const flaky: BackupServiceAdapter = {
    ...adapters.cbr,
    async *listBackups(_client, target) {
      if (target.projectId === 'proj-1') {
        yield* backups.slice(0, 2);
        throw new HuaweiServerError({ service: 'cbr', operation: 'cbr.listBackups', status: 500 });
      }
      yield* backups.map((backup) => ({ ...backup, project_id: 'proj-2' }));
    },
  };

  it('plans no deletion from the partial listing and still plans the other target', async () => {
    const result = await planSweep(
      { policy, now: new Date('2026-11-27T00:00:00Z') },
      { client, adapters: { ...adapters, cbr: flaky } },
    );
    const [broken, fine] = result.summary.targets;
    expect(broken).toMatchObject({
      name: 'broken',
      planned: 0,
      failure: { stage: 'LISTING', code: 'UPSTREAM_UNAVAILABLE' },
    });
    expect(broken?.failure?.listings).toEqual([
      expect.objectContaining({ key: `cbr/${REGION}/proj-1`, code: 'UPSTREAM_UNAVAILABLE' }),
    ]);
    expect(fine).toMatchObject({ name: 'fine', planned: 3 });
    expect(fine?.failure).toBeUndefined();
    expect(result.items.map((item) => item.project_id)).toEqual(['proj-2', 'proj-2', 'proj-2']);
    expect(result.refusals).toEqual([]);
  });

  it('lets an abort stop the planning instead of reading it as a failed listing', async () => {
    const controller = new AbortController();
    const aborting: BackupServiceAdapter = {
      ...adapters.cbr,
      // biome-ignore lint/correctness/useYield: the listing is aborted before its first page
      async *listBackups(): AsyncGenerator<Backup> {
        controller.abort(new Error('deadline'));
        throw new HuaweiServerError({ service: 'cbr', operation: 'cbr.listBackups', status: 500 });
      },
    };
    await expect(
      planSweep(
        { policy, now: new Date('2026-11-27T00:00:00Z') },
        { client, adapters: { ...adapters, cbr: aborting }, signal: controller.signal },
      ),
    ).rejects.toThrow(HuaweiServerError);
  });
});
