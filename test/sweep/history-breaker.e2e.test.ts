/**
 * The history breaker end to end: real sweeps against the simulator over loopback HTTP, with the local journal
 * ledger and with the DynamoDB ledger on DynamoDB Local. The simulator's request log is the judge of what was
 * deleted.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveSweep } from '../../lib/approval/approve.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import {
  createDynamoLedger,
  type Ledger,
  type LocalFileLedger,
  openLocalLedger,
} from '../../lib/ledger/index.ts';
import { type KeepRules, type Policy, parsePolicy } from '../../lib/retention/policy.ts';
import { adapters } from '../../lib/services/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import type { SweepReport } from '../../lib/sweep/report.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { fastDeps, projectsOf, REGION, startSweepSimulator, sweepClient } from './sweep-fixture.ts';

const dynamo = useDynamoDbLocal();
let sim: Simulator;
let client: HuaweiClient;
const dirs: string[] = [];
const opened: LocalFileLedger[] = [];

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 29, projects: 2 });
  client = sweepClient(sim);
});
afterEach(async () => {
  await sim.close();
  for (const ledger of opened.splice(0)) await ledger.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});
afterAll(async () => {
  await closeHuaweiPools();
});

const ledgers: [string, () => Promise<Ledger>][] = [
  [
    'the local journal ledger',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'hwc-history-'));
      dirs.push(dir);
      const ledger = await openLocalLedger(dir);
      opened.push(ledger);
      return ledger;
    },
  ],
  [
    'the DynamoDB ledger (DynamoDB Local)',
    async () =>
      createDynamoLedger({ tableName: await dynamo().createLedgerTable(), client: dynamo().documentClient }),
  ],
];

/** The three targets of the simulator's fleet; the target names (the policy's key) never change. */
function policy(keep: KeepRules, extra: Record<string, unknown> = {}): Policy {
  const projects = projectsOf(sim);
  return parsePolicy({
    version: 1,
    defaults: { keep, failed_max_age: '7d', max_delete_share: 0.95, ...extra },
    targets: [
      { name: 'servers', service: 'csbs', projects, regions: [REGION] },
      { name: 'vaults', service: 'cbr', projects, regions: [REGION] },
      { name: 'mongo', service: 'dds', projects, regions: [REGION], filters: { manual: 'manual' } },
    ],
  });
}
/** Keeps everything but failed backups older than 7 days. */
const GENEROUS: KeepRules = { last: 1000 };
const USUAL: KeepRules = { last: 3, monthly: 3 };

const deletesTo = (service: string) =>
  sim.inspect().requests.filter((request) => request.method === 'DELETE' && request.service === service)
    .length;

const target = (report: SweepReport, name: string) => {
  const found = report.targets.find((entry) => entry.name === name);
  if (found === undefined) throw new Error(`no target ${name} in the report`);
  return found;
};

async function sweep(ledger: Ledger, id: string, sweepPolicy: Policy, dryRun = false): Promise<SweepReport> {
  return runSweep(
    { policy: sweepPolicy, sweepId: id, dryRun, now: new Date() },
    fastDeps(sim, client, ledger),
  );
}

/** Deletes `count` finished CBR backups in scope of `vaults` behind the sweep's back (as a console user would). */
async function deleteVaultBackupsOutOfBand(count: number): Promise<void> {
  const victims = [];
  for (const projectId of projectsOf(sim)) {
    for await (const backup of adapters.cbr.listBackups(client, { region: REGION, projectId })) {
      if (backup.state === 'finished' && (backup.image_type ?? 'backup') === 'backup') victims.push(backup);
    }
  }
  expect(victims.length).toBeGreaterThanOrEqual(count);
  for (const backup of victims.slice(0, count)) {
    await adapters.cbr.deleteBackup(client, {
      region: REGION,
      projectId: backup.project_id,
      deleteId: backup.delete_id,
      itemId: backup.id,
    });
  }
  sim.advance(60_000);
}

const historyNeed = (report: SweepReport, name: string) => {
  const need = target(report, name).approval;
  return need?.code === 'HISTORY_BREAKER' ? need : undefined;
};

describe.each(ledgers)('the history breaker with %s', (_name, makeLedger) => {
  it('holds a target that lost 40% of its backups since the last sweep for approval, night after night, until approved', async () => {
    const ledger = await makeLedger();
    const first = await sweep(ledger, 'night-1', policy(GENEROUS));
    expect(first.status).toBe('completed');
    expect(first.approval).toBeUndefined();
    const stored = (await ledger.getSweep('night-1'))?.sweep.history;
    const vaults = stored?.targets.find((entry) => entry.name === 'vaults');
    if (vaults === undefined) throw new Error('no history of vaults');
    const baseline = vaults.inventory - vaults.planned;
    const lost = Math.ceil(baseline * 0.4);
    await deleteVaultBackupsOutOfBand(lost);
    sim.resetInspection();

    // The usual rules now plan deletions everywhere; growth is not what this test is about.
    const usual = policy(USUAL, { max_delete_growth: 1000 });
    const second = await sweep(ledger, 'night-2', usual);
    const need = historyNeed(second, 'vaults');
    expect(need?.reason).toContain(`(${baseline} → ${baseline - lost} backups in scope) since sweep night-1`);
    expect(need?.reason).toMatch(/^inventory dropped 4\d(\.\d)?% /);
    expect(second.approval).toMatchObject({ status: 'awaiting', targets: [need] });
    // Nothing of the held target was sent a DELETE; the other targets were carried out.
    expect(target(second, 'vaults').deleted).toBe(0);
    expect(deletesTo('cbr')).toBe(0);
    for (const name of ['servers', 'mongo']) {
      const other = target(second, name);
      expect(other.approval).toBeUndefined();
      expect(other.deleted + other.already_gone).toBe(other.planned);
    }
    expect(deletesTo('csbs') + deletesTo('dds')).toBeGreaterThan(0);
    // The held deletions wait as their own plan; the run's plan has none of them.
    const awaitingId = second.approval?.sweep_id ?? '';
    const awaiting = await ledger.getSweep(awaitingId);
    expect(awaiting?.sweep.status).toBe('awaiting_approval');
    expect(awaiting?.items.length).toBeGreaterThan(0);
    expect(awaiting?.items.every((item) => item.service === 'cbr')).toBe(true);
    expect((await ledger.getSweep('night-2'))?.items.some((item) => item.service === 'cbr')).toBe(false);

    // The next night compares with night-1 again (night-2 held the target): still held, still no DELETE.
    sim.resetInspection();
    const third = await sweep(ledger, 'night-3', usual);
    expect(historyNeed(third, 'vaults')?.reason).toContain('since sweep night-1');
    expect(deletesTo('cbr')).toBe(0);
    // Only vaults had anything left to delete: night-3 is a plan awaiting approval as a whole (no history).
    expect(third.status).toBe('awaiting_approval');
    const key = (await ledger.getSweep('night-2'))?.sweep.history?.policy_key ?? '';
    const recent = await ledger.recentSweeps(key, 5);
    expect(recent.map((entry) => entry.sweep_id)).toEqual(['night-2', 'night-1']);
    expect(recent[0]?.targets.find((entry) => entry.name === 'vaults')?.held).toBe(true);

    // A person approves night-3's held plan: it runs, and becomes the baseline of the nights after it.
    const approval = third.approval;
    if (approval?.status !== 'awaiting') throw new Error('night-3 awaits no approval');
    const applied = await approveSweep(
      {
        sweepId: approval.sweep_id,
        planHash: approval.plan_hash,
        approvedBy: { kind: 'iam', principal: 'arn:aws:iam::123456789012:user/sre' },
        policy: usual,
        now: new Date(),
      },
      fastDeps(sim, client, ledger),
    );
    expect(target(applied, 'vaults').deleted).toBeGreaterThan(0);
    sim.resetInspection();
    const fourth = await sweep(ledger, 'night-4', usual);
    expect(historyNeed(fourth, 'vaults')).toBeUndefined();
  });

  it('holds targets planning more than 3 × the median of their last sweeps', async () => {
    const ledger = await makeLedger();
    const first = await sweep(ledger, 'quiet', policy(GENEROUS));
    const quietPlanned = target(first, 'servers').planned;
    sim.resetInspection();
    const second = await sweep(ledger, 'busy', policy(USUAL));
    const need = historyNeed(second, 'servers');
    expect(need?.reason).toMatch(
      new RegExp(
        `^\\d+ planned deletions exceed max_delete_growth 3 × the median ${quietPlanned} of the last 1 sweeps`,
      ),
    );
    expect(target(second, 'servers').deleted).toBe(0);
    expect(deletesTo('csbs')).toBe(0);
  });

  it('leaves a first sweep to the static share: it deletes within it, and is refused above it', async () => {
    const ledger = await makeLedger();
    const refused = await sweep(ledger, 'first-refused', policy(USUAL, { max_delete_share: 0.05 }));
    expect(refused.status).toBe('refused');
    expect(deletesTo('csbs') + deletesTo('cbr') + deletesTo('dds')).toBe(0);
    const first = await sweep(ledger, 'first', policy(USUAL));
    expect(first.status).toBe('completed');
    expect(first.approval).toBeUndefined();
    expect(first.targets.every((entry) => entry.planned > 0)).toBe(true);
    expect(first.totals.deleted + first.totals.already_gone).toBe(first.totals.planned);
  });

  it('shows in a dry run which targets a real run would hold, and stores no history for it', async () => {
    const ledger = await makeLedger();
    const quiet = await sweep(ledger, 'quiet', policy(GENEROUS));
    sim.resetInspection();
    const dry = await sweep(ledger, 'dry', policy(USUAL), true);
    // The same check a real run makes: servers plans more than 3 × what it planned last time.
    expect(target(quiet, 'servers').planned * 3).toBeLessThan(target(dry, 'servers').planned);
    expect(historyNeed(dry, 'servers')?.reason).toMatch(/exceed max_delete_growth 3 × the median/);
    // A dry run holds nothing back and sends nothing: its plan keeps every planned deletion, to approve as a whole.
    expect(dry).toMatchObject({ dry_run: true, status: 'completed' });
    expect(dry.approval).toBeUndefined();
    expect((await ledger.getSweep('dry'))?.items).toHaveLength(dry.totals.planned);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toEqual([]);
    expect((await ledger.getSweep('dry'))?.sweep.history).toBeUndefined();
    const key = (await ledger.getSweep('quiet'))?.sweep.history?.policy_key ?? '';
    expect((await ledger.recentSweeps(key, 5)).map((entry) => entry.sweep_id)).toEqual(['quiet']);
  });
});
