/**
 * The review loop from the command line, end to end against the embedded simulator loaded from a fleet
 * fixture (deterministic): `plan --save` → `sweep --plan --approve`. Each apply runs in its own process with
 * its own simulator and local ledger; what was sent is read from that simulator's own request log (the
 * `simulator.delete_attempts` of `--json`), not from the sweep's bookkeeping.
 *
 * The fleet: one CBR resource with eight backups b1 (oldest) … b8; the policy keeps the last three, so
 * the saved plan deletes b1…b5.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PlanFileSchema } from '../../lib/approval/plan-file.ts';
import { bareEnv, runBin } from '../cli/run-bin.ts';
import { backupId, cbrPolicyYaml, cbrFleet as fleet } from './fleet.ts';

const POLICY = cbrPolicyYaml('vaults', 3);

let dir: string;
let planFile: string;
let planHash: string;
const ids = (numbers: readonly number[]) => numbers.map(backupId).sort();

function write(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** `sweep` in its own process with a fresh local ledger (unless given); the JSON document it printed. */
async function sweep(args: readonly string[], ledgerDir = mkdtempSync(join(dir, 'ledger-'))) {
  const result = await runBin('sweep', [...args, '--json'], { env: { ...bareEnv(), LEDGER_DIR: ledgerDir } });
  const json = result.stdout === '' ? undefined : (JSON.parse(result.stdout) as SweepJson);
  return { ...result, json };
}

/** `sweep --plan FILE --approve HASH --fixture <fleet in dir>`. */
const apply = (file: string, hash: string, fleetName: string, ledgerDir?: string) =>
  sweep(['--plan', file, '--approve', hash, '--fixture', join(dir, fleetName)], ledgerDir);

interface SweepJson {
  error?: { code: string; message: string };
  report: {
    status: string;
    totals: { deleted: number; planned: number };
    approval?: {
      status: string;
      skipped: { deletion_id: string; code: string }[];
      approved: number;
      executed: number;
    };
  };
  simulator: { delete_attempts: Record<string, number>; outside_plan: string[] };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'approval-cli-'));
  write('policy.yaml', POLICY);
  write('fleet-a.json', fleet([1, 2, 3, 4, 5, 6, 7, 8]));
  planFile = join(dir, 'plan.json');
  const result = await runBin(
    'plan',
    ['--policy', join(dir, 'policy.yaml'), '--fixture', join(dir, 'fleet-a.json'), '--save', planFile],
    { env: bareEnv() },
  );
  expect(result.code, result.stderr).toBe(0);
  planHash = PlanFileSchema.parse(JSON.parse(readFileSync(planFile, 'utf8'))).plan_hash;
  // The line to copy names the plan, its hash and the fleet it was made against.
  expect(result.stdout).toContain(
    `npm run sweep -- --plan ${planFile} --approve ${planHash} --fixture ${join(dir, 'fleet-a.json')}`,
  );
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run plan -- --save', () => {
  it('saves the five deletions the sweep would make, with a hash that does not depend on the listing order', async () => {
    const saved = PlanFileSchema.parse(JSON.parse(readFileSync(planFile, 'utf8')));
    const deleted = saved.items
      .map((item) => (item.target.kind === 'backup' ? item.target.backup_id : ''))
      .sort();
    expect(deleted).toEqual(ids([1, 2, 3, 4, 5]));
    // The same fleet listed in another order plans the same and hashes the same.
    write('fleet-a-reversed.json', fleet([8, 7, 6, 5, 4, 3, 2, 1]));
    const again = join(dir, 'plan-again.json');
    const result = await runBin(
      'plan',
      [
        '--policy',
        join(dir, 'policy.yaml'),
        '--fixture',
        join(dir, 'fleet-a-reversed.json'),
        '--save',
        again,
      ],
      { env: bareEnv() },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(PlanFileSchema.parse(JSON.parse(readFileSync(again, 'utf8'))).plan_hash).toBe(saved.plan_hash);
  }, 60_000);

  it('with --json carries the saved plan (file, plan_id, plan_hash, deletions) in the one JSON document', async () => {
    const file = join(dir, 'plan-json.json');
    const fixture = join(dir, 'fleet-a.json');
    const result = await runBin(
      'plan',
      ['--policy', join(dir, 'policy.yaml'), '--fixture', fixture, '--save', file, '--json'],
      { env: bareEnv() },
    );
    expect(result.code, result.stderr).toBe(0);
    const saved = PlanFileSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    expect((JSON.parse(result.stdout) as { saved_plan: unknown }).saved_plan).toMatchObject({
      file,
      plan_id: saved.plan_id,
      plan_hash: planHash,
      deletions: 5,
    });
  }, 60_000);

  it('exits 2 with one line, before listing anything, when --save names a directory', async () => {
    const result = await runBin('plan', ['--policy', join(dir, 'policy.yaml'), '--save', dir], {
      env: bareEnv(),
    });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `plan: --save ${dir}: is a directory; name the plan file, e.g. ${dir}/plan.json (see npm run plan -- --help)\n`,
    );
  }, 60_000);
});

describe('npm run sweep -- --plan PLAN.json --approve HASH', () => {
  it('deletes exactly the planned backups with the right hash (the simulator log names no other)', async () => {
    const result = await apply(planFile, planHash, 'fleet-a.json');
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(result.json?.simulator.delete_attempts ?? {}).sort()).toEqual(ids([1, 2, 3, 4, 5]));
    expect(result.json?.simulator.outside_plan).toEqual([]);
    expect(result.json?.report.status).toBe('completed');
    expect(result.json?.report.totals.deleted).toBe(5);
    expect(result.json?.report.approval).toMatchObject({
      status: 'approved',
      approved: 5,
      executed: 5,
      skipped: [],
    });
    // The outcome notice a deployed sweep publishes, printed (stderr under --json).
    expect(result.stderr).toMatch(/^Notice: hwc-retention: sweep completed, 5 deleted \(/m);
  }, 60_000);

  it('exits 1 and sends no DELETE for a wrong hash', async () => {
    const wrong = `sha256:${'0'.repeat(64)}`;
    const result = await apply(planFile, wrong, 'fleet-a.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is not the hash of plan');
    expect(result.json?.error?.code).toBe('PLAN_HASH_MISMATCH');
    expect(result.json?.simulator.delete_attempts).toEqual({});
  }, 60_000);

  it('exits 1 and sends no DELETE for a plan file edited after it was saved', async () => {
    const saved = JSON.parse(readFileSync(planFile, 'utf8')) as { items: unknown[] };
    const edited = write('plan-edited.json', { ...saved, items: saved.items.slice(1) });
    const result = await apply(edited, planHash, 'fleet-a.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no longer hash to its plan_hash');
    // Refused while reading the file: no simulator was even started, and the JSON says why.
    expect(result.json?.error?.code).toBe('PLAN_HASH_MISMATCH');
    expect(result.json?.simulator).toBeUndefined();
  }, 60_000);

  it('exits 2 with one line on stderr and an error document on stdout for a file that is not JSON', async () => {
    const garbage = write('garbage.json', 'garbage\n');
    const result = await apply(garbage, planHash, 'fleet-a.json');
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^sweep: --plan \S+garbage\.json: not JSON /);
    expect(result.json?.error?.code).toBe('USAGE');
  }, 60_000);

  it('exits 2 when planned_at was edited: approvals expire counted from the time the plan was made', async () => {
    const saved = JSON.parse(readFileSync(planFile, 'utf8')) as { planned_at: string };
    const later = new Date(Date.parse(saved.planned_at) + 3_600_000).toISOString();
    const result = await apply(
      write('plan-later.json', { ...saved, planned_at: later }),
      planHash,
      'fleet-a.json',
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('is not summary.generated_at');
    expect(result.json?.error?.code).toBe('USAGE');
  }, 60_000);

  it('exits 1 and sends no DELETE when the plan is older than approval.expires_after (24h by default)', async () => {
    const saved = JSON.parse(readFileSync(planFile, 'utf8')) as {
      planned_at: string;
      summary: { generated_at: string };
    };
    const dayAndMore = new Date(Date.parse(saved.planned_at) - 25 * 3_600_000).toISOString();
    const old = write('plan-old.json', {
      ...saved,
      planned_at: dayAndMore,
      summary: { ...saved.summary, generated_at: dayAndMore },
    });
    const result = await apply(old, planHash, 'fleet-a.json');
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^sweep: refused \(APPROVAL_EXPIRED\): .*approvals were accepted until/m);
    expect(result.json?.error?.code).toBe('APPROVAL_EXPIRED');
    expect(result.json?.simulator.delete_attempts).toEqual({});
  }, 60_000);

  it('runs once: the same plan approved again in the same ledger exits 1 and sends nothing', async () => {
    const ledger = mkdtempSync(join(dir, 'ledger-'));
    const first = await apply(planFile, planHash, 'fleet-a.json', ledger);
    expect(first.code, first.stderr).toBe(0);
    const second = await apply(planFile, planHash, 'fleet-a.json', ledger);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('was approved before; it runs once');
    expect(second.json?.error?.code).toBe('ALREADY_APPROVED');
    expect(second.json?.simulator.delete_attempts).toEqual({});
  }, 90_000);

  it('skips what was deleted meanwhile or is kept now, and deletes only approved ∩ fresh plan', async () => {
    // Meanwhile: b2 was deleted by hand, and so were b7 and b8 (two of the kept ones), while b9 is new. The
    // fresh plan keeps b9, b6 and b5 and deletes b1, b3, b4.
    write('fleet-b.json', fleet([1, 3, 4, 5, 6, 9]));
    const result = await apply(planFile, planHash, 'fleet-b.json');
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(result.json?.simulator.delete_attempts ?? {}).sort()).toEqual(ids([1, 3, 4]));
    const approval = result.json?.report.approval;
    expect(approval).toMatchObject({ approved: 5, executed: 3 });
    expect(approval?.skipped.map((skip) => skip.code).sort()).toEqual(['GONE', 'NOW_KEPT']);
  }, 60_000);

  it('says so when none of the approved backups is listed any more (a plan applied to another fleet)', async () => {
    write('fleet-other.json', fleet([9, 10]));
    const result = await apply(planFile, planHash, 'fleet-other.json');
    expect(result.code, result.stderr).toBe(0);
    expect(result.json?.simulator.delete_attempts).toEqual({});
    expect(result.json?.report.approval).toMatchObject({ approved: 5, executed: 0 });
    expect(result.stderr).toContain(
      'none of the 5 approved backups is listed any more: was the plan made against another fleet?',
    );
  }, 60_000);

  it('never deletes a backup the fresh plan deletes but the approved plan did not name', async () => {
    // Two newer backups: the fresh plan deletes b1…b7; only the approved b1…b5 go.
    write('fleet-c.json', fleet([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    const result = await apply(planFile, planHash, 'fleet-c.json');
    expect(result.code, result.stderr).toBe(0);
    expect(Object.keys(result.json?.simulator.delete_attempts ?? {}).sort()).toEqual(ids([1, 2, 3, 4, 5]));
  }, 60_000);
});

describe('npm run sweep -- --policy FILE', () => {
  it('a dry run stores its plan in the local ledger; the approve line it prints then applies it as printed', async () => {
    const ledger = mkdtempSync(join(dir, 'ledger-'));
    const fixture = ['--fixture', join(dir, 'fleet-a.json')];
    const dry = await sweep(['--policy', join(dir, 'policy.yaml'), '--dry-run', ...fixture], ledger);
    expect(dry.code, dry.stderr).toBe(0);
    const report = dry.json?.report as SweepJson['report'] & { sweep_id: string; plan_hash: string };
    expect(report.plan_hash).toBe(planHash);
    expect(dry.json?.simulator.delete_attempts).toEqual({});
    const line = /approve: npm run sweep -- (.+)$/m.exec(dry.stderr)?.[1];
    expect(line).toBe(
      `--sweep ${report.sweep_id} --approve ${report.plan_hash} --policy ${join(dir, 'policy.yaml')} ${fixture.join(' ')}`,
    );
    const applied = await sweep((line as string).split(' '), ledger);
    expect(applied.code, applied.stderr).toBe(0);
    expect(Object.keys(applied.json?.simulator.delete_attempts ?? {}).sort()).toEqual(ids([1, 2, 3, 4, 5]));
  }, 90_000);

  it('with approval.required ends awaiting_approval, exit 0, sending nothing, and says how to approve', async () => {
    const held = write('policy-held.yaml', cbrPolicyYaml('vaults', 3, 'approval: { required: true }\n'));
    const result = await sweep(['--policy', held, '--fixture', join(dir, 'fleet-a.json')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.json?.report.status).toBe('awaiting_approval');
    expect(result.json?.simulator.delete_attempts).toEqual({});
    expect(result.stderr).toMatch(
      /approve: npm run sweep -- --sweep \S+ --approve sha256:[0-9a-f]{64} --policy \S+policy-held\.yaml --fixture /,
    );
  }, 60_000);

  it('exits 1 naming the ledger it searched when --sweep names no stored plan', async () => {
    const ledger = mkdtempSync(join(dir, 'ledger-'));
    const result = await sweep(
      [
        '--sweep',
        'sweep-20260101T000000Z-00000000',
        '--approve',
        planHash,
        '--policy',
        join(dir, 'policy.yaml'),
      ],
      ledger,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`refused (PLAN_NOT_FOUND): no stored plan has the sweep id`);
    expect(result.stderr).toContain(`in the local ledger ${ledger} (LEDGER_DIR)`);
    expect(result.json?.error?.code).toBe('PLAN_NOT_FOUND');
    expect(result.json?.simulator.delete_attempts).toEqual({});
  }, 60_000);
});
