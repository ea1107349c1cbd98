import { describe, expect, it } from 'vitest';
import {
  PlanJsonSchema,
  type PlanProgress,
  planTargets,
  renderPlanSummary,
  renderPlanTable,
  toPlanJson,
} from '../../lib/retention/plan-targets.ts';
import { parsePolicy, type ResolvedTarget } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { makeBackup } from './factories.ts';

const NOW = new Date('2026-11-27T00:00:00Z');

const policy = parsePolicy({
  version: 1,
  timezone: 'Europe/Berlin',
  targets: [
    {
      name: 'vaults',
      service: 'cbr',
      projects: ['proj-1'],
      regions: ['ap-southeast-1'],
      keep: { daily: 2 },
      max_delete_share: 0.3,
    },
    { name: 'mongo', service: 'dds', projects: ['proj-1'], regions: ['ap-southeast-1'], keep: { last: 1 } },
  ],
});

const day = (d: number, hour = 10) =>
  Date.parse(`2026-11-${String(d).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00Z`);

const cbrBackups = [
  makeBackup({ id: 'c1', created_at: day(20), size_bytes: 1024 }),
  makeBackup({ id: 'c2', created_at: day(19), size_bytes: 1024 }),
  makeBackup({ id: 'c3', created_at: day(18), size_bytes: 3 * 1024 * 1024 }),
  makeBackup({ id: 'c4', created_at: day(17, 23), state: 'in_progress' }),
];
const ddsBackups = Array.from({ length: 2500 }, (_, index) =>
  makeBackup({
    id: `d${index}`,
    service: 'dds',
    resource_id: 'mongo-1',
    vault_id: undefined,
    created_at: day(1) + index,
  }),
);

async function* slowly(backups: Backup[]): AsyncGenerator<Backup> {
  for (const backup of backups) yield backup;
}

function lister(target: ResolvedTarget) {
  return target.service === 'cbr' ? slowly(cbrBackups) : ddsBackups;
}

describe('planTargets', () => {
  it('lists and plans each target, reporting progress while listing', async () => {
    const progress: PlanProgress[] = [];
    const result = await planTargets(policy, lister, NOW, (event) => progress.push(event));
    expect(result.targets.map((t) => [t.name, t.listed, t.summary.kept, t.summary.deleted])).toEqual([
      ['vaults', 4, 3, 1],
      ['mongo', 2500, 1, 2499],
    ]);
    expect(result.targets[0]?.summary.max_delete_share_exceeded).toBe(true);
    expect(
      progress.filter((event) => event.target === 'mongo').map((event) => `${event.phase} ${event.listed}`),
    ).toEqual(['listing 1000', 'listing 2000', 'listed 2500', 'planned 2500']);
    expect(progress[0]).toMatchObject({ target: 'vaults', targetIndex: 0, targetCount: 2 });
  });

  it('renders a table per resource with times in the policy zone and the reasons', async () => {
    const result = await planTargets(policy, lister, NOW);
    const table = renderPlanTable({ ...result, targets: result.targets.slice(0, 1) });
    const lines = table.split('\n');
    expect(lines[0]).toContain('nothing is deleted by planning');
    expect(table).toContain(
      'Target vaults (cbr): listed 4, in scope 4, out of scope 0, 1 resources, keep 3, delete 1 (3.0 MiB), delete share 33.3% (max 30.0%, EXCEEDED: the sweep will refuse)',
    );
    expect(table).toContain('  cbr/ap-southeast-1/proj-1/vault-1/res-1: keep 3, delete 1');
    expect(lines.find((line) => line.includes(' c1 '))).toMatch(
      /^ {4}keep +2026-11-20 11:00 +c1 +- +daily 2026-11-20, newest finished$/,
    );
    expect(lines.find((line) => line.includes(' c3 '))).toMatch(
      /^ {4}delete +2026-11-18 11:00 .* kept by no rule$/,
    );
    expect(lines.find((line) => line.includes(' c4 '))).toMatch(
      /^ {4}keep +2026-11-18 00:00 +c4 +- +in progress$/,
    );
  });

  it('prints resource and backup names beside their ids', async () => {
    const named = (target: ResolvedTarget) =>
      target.service === 'cbr'
        ? cbrBackups.map((backup) => ({ ...backup, resource_name: 'ecs-web-0', name: `bk-${backup.id}` }))
        : [];
    const table = renderPlanTable(await planTargets(policy, named, NOW));
    expect(table).toContain('  ecs-web-0 (cbr/ap-southeast-1/proj-1/vault-1/res-1): keep 3, delete 1');
    expect(table).toMatch(/ c1 +bk-c1 +daily/);
  });

  it('sums sizes it knows and prints unknown for the ones the service does not report', async () => {
    const unsized = (target: ResolvedTarget) =>
      target.service === 'cbr' ? cbrBackups.map(({ size_bytes: _size, ...backup }) => backup) : ddsBackups;
    const result = await planTargets(policy, unsized, NOW);
    expect(result.targets.map((target) => target.deleted_unknown_size)).toEqual([1, 2499]);
    const summary = renderPlanSummary(result);
    expect(summary).toMatch(/^ {2}vaults +cbr +4 +3 +1 +0 +1 +unknown /m);
    expect(summary).not.toMatch(/0 B|0\.0 GiB/);
  });

  it('summarises one row per target whose listed count is keep + delete + out of scope', async () => {
    const mixed = (target: ResolvedTarget) =>
      target.service === 'cbr'
        ? [...cbrBackups, makeBackup({ id: 'elsewhere', project_id: 'proj-2' })]
        : ddsBackups;
    const result = await planTargets(policy, mixed, NOW);
    const lines = renderPlanSummary(result).split('\n');
    const header = lines.find((line) => line.includes('TARGET')) as string;
    expect(header.trim().split(/ {2,}/)).toEqual([
      'TARGET',
      'SERVICE',
      'LISTED',
      'KEEP',
      'DELETE',
      'OUT OF SCOPE',
      'RESOURCES',
      'RECLAIMS',
      'SHARE',
      'MAX SHARE',
    ]);
    for (const name of ['vaults', 'mongo']) {
      const cells = (lines.find((line) => line.startsWith(`  ${name} `)) as string).trim().split(/ {2,}/);
      const [listed, keep, remove, outOfScope] = cells.slice(2, 6).map(Number);
      expect(listed).toBe((keep as number) + (remove as number) + (outOfScope as number));
    }
    expect(lines.find((line) => line.startsWith('  vaults '))).toMatch(/^ {2}vaults +cbr +5 +3 +1 +1 /);
    expect(lines.find((line) => line.startsWith('  total '))).toMatch(/^ {2}total +2505 +4 +2500 +1 /);
  });

  it('produces a JSON plan grouped by resource that validates against its schema', async () => {
    const json = toPlanJson(await planTargets(policy, lister, NOW));
    const parsed = PlanJsonSchema.parse(JSON.parse(JSON.stringify(json)));
    expect(parsed.targets[0]?.resources).toHaveLength(1);
    expect(parsed.targets[0]?.resources[0]).toMatchObject({ keep: 3, delete: 1 });
    expect(parsed.targets[1]?.resources[0]?.decisions[0]).toMatchObject({
      backup_id: 'd2499',
      action: 'keep',
    });
  });
});
