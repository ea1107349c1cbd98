import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type PlanTarget, plan } from '../../lib/retention/planner.ts';
import { parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { backupsAt, makeBackup } from './factories.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-27T00:00:00Z');

function target(settings: Record<string, unknown>): PlanTarget {
  const policy = parsePolicy({
    version: 1,
    targets: [{ name: 't', service: 'cbr', projects: ['proj-1'], regions: ['ap-southeast-1'], ...settings }],
  });
  return resolveTargets(policy)[0] as PlanTarget;
}

/** One finished backup a day at 01:00 UTC, newest on 2026-11-26. */
function daily(days: number): Backup[] {
  return backupsAt(
    Array.from({ length: days }, (_, n) =>
      new Date(Date.parse('2026-11-26T01:00:00Z') - n * DAY).toISOString(),
    ),
  );
}

const kept = (backups: Backup[], settings: Record<string, unknown>) =>
  plan(backups, target(settings), new Date(NOW)).decisions.filter((d) => d.action === 'keep');

describe('max_gap (RPO guard)', () => {
  it('keeps the backups that close a gap between kept restore points, with the reason max_gap 2d', () => {
    // Thursday 2026-11-26 back to Friday 2026-11-13: last and weekly keep b000 (W48) and b004 (Sunday, W47).
    const decisions = plan(
      daily(14),
      target({ keep: { last: 1, weekly: 2 }, max_gap: '2d' }),
      new Date(NOW),
    ).decisions;
    expect(decisions.filter((d) => d.action === 'keep').map((d) => [d.backup_id, d.reasons])).toEqual([
      ['b000', ['last', 'weekly 2026-W48', 'newest finished']],
      // Deleting b001 leaves b000 → b002 = 2 days; deleting b002 as well would leave 3.
      ['b002', ['max_gap 2d']],
      ['b004', ['weekly 2026-W47']],
    ]);
  });

  it('allows a gap of exactly max_gap: daily backups with max_gap 2d keep every other day', () => {
    const backups = daily(9);
    const decisions = plan(backups, target({ keep: { last: 1, daily: 9 }, max_gap: '2d' }), new Date(NOW));
    expect(decisions.summary.deleted).toBe(0);
    const sparse = plan(
      backups,
      target({ keep: { last: 1 }, protect: { ids: ['b008'] }, max_gap: '2d' }),
      new Date(NOW),
    );
    // Kept: b000 (newest), b008 (protected), and every second day in between (b002, b004, b006).
    expect(sparse.decisions.filter((d) => d.action === 'keep').map((d) => d.backup_id)).toEqual([
      'b000',
      'b002',
      'b004',
      'b006',
      'b008',
    ]);
    expect(sparse.decisions.find((d) => d.backup_id === 'b002')?.reasons).toEqual(['max_gap 2d']);
  });

  it('does not keep what lies beyond the oldest kept restore point: that is retention, not a gap', () => {
    const ids = kept(daily(30), { keep: { daily: 3 }, max_gap: '1d' }).map((d) => d.backup_id);
    expect(ids).toEqual(['b000', 'b001', 'b002']);
  });

  it('cannot close a gap that was already there between two adjacent backups', () => {
    const backups = backupsAt(['2026-11-26T01:00:00Z', '2026-11-25T01:00:00Z', '2026-11-10T01:00:00Z']);
    const decisions = plan(
      backups,
      target({ keep: { last: 1 }, protect: { ids: ['b002'] }, max_gap: '2d' }),
      new Date(NOW),
    ).decisions;
    // Deleting b001 would leave 16 days between b000 and b002; with it the gap of 15 days stays as it was.
    expect(decisions.map((d) => [d.backup_id, d.action, d.reasons])).toEqual([
      ['b000', 'keep', ['last', 'newest finished']],
      ['b001', 'keep', ['max_gap 2d']],
      ['b002', 'keep', ['protected id']],
    ]);
  });

  it('is rejected like every duration when it is zero or malformed', () => {
    expect(() => target({ keep: { last: 1 }, max_gap: '0d' })).toThrow(/zero/);
    expect(() => target({ keep: { last: 1 }, max_gap: '2w' })).toThrow(/invalid duration/);
  });
});

// --- properties ---

const backupArbitrary = fc.record({
  resource: fc.constantFrom('res-1', 'res-2'),
  hoursAgo: fc.integer({ min: 0, max: 24 * 120 }),
  state: fc.constantFrom('finished', 'finished', 'finished', 'failed', 'in_progress'),
  tags: fc.subarray(['a', 'hold=1']),
});
const fleetArbitrary = fc.array(backupArbitrary, { maxLength: 50 }).map((rows) =>
  rows.map((row, index) =>
    makeBackup({
      id: `b${index}`,
      resource_id: row.resource,
      created_at: NOW - row.hoursAgo * HOUR,
      state: row.state as Backup['state'],
      status: row.state,
      tags: row.tags,
    }),
  ),
);
const count = fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 5 }));
const settingsArbitrary = fc.record({
  keep: fc.record({ last: count, daily: count, weekly: count, monthly: count }),
  min_keep: fc.integer({ min: 0, max: 3 }),
  max_age: fc.option(fc.constantFrom('3d', '20d', '60d'), { nil: undefined }),
  protect: fc.option(fc.constant({ tags: ['hold=*'] }), { nil: undefined }),
  allow_delete_newest: fc.boolean(),
  max_gap_hours: fc.integer({ min: 1, max: 24 * 20 }),
});
type Settings = typeof settingsArbitrary extends fc.Arbitrary<infer T> ? T : never;

function policyTarget(settings: Settings, withGap: boolean): PlanTarget {
  const { max_gap_hours, ...rest } = settings;
  const clean = JSON.parse(JSON.stringify(rest));
  return target({ allow_empty_keep: true, ...clean, ...(withGap ? { max_gap: `${max_gap_hours}h` } : {}) });
}

/** The largest distance between consecutive finished backups of one resource that `keep` selects. */
function largestGap(backups: readonly Backup[], keep: (backup: Backup) => boolean): number {
  const times = backups
    .filter((backup) => backup.state === 'finished' && keep(backup))
    .map((backup) => backup.created_at)
    .sort((a, b) => b - a);
  let largest = 0;
  for (let index = 1; index < times.length; index += 1)
    largest = Math.max(largest, (times[index - 1] as number) - (times[index] as number));
  return largest;
}

describe('max_gap invariants (fast-check)', () => {
  it('never deletes what the policy without max_gap keeps (it only adds keeps)', () => {
    fc.assert(
      fc.property(fleetArbitrary, settingsArbitrary, (backups, settings) => {
        const now = new Date(NOW);
        const without = plan(backups, policyTarget(settings, false), now).decisions;
        const withGap = new Map(
          plan(backups, policyTarget(settings, true), now).decisions.map((d) => [d.backup_id, d]),
        );
        for (const decision of without) {
          const guarded = withGap.get(decision.backup_id);
          if (decision.action === 'keep') expect(guarded?.action).toBe('keep');
          if (guarded?.action === 'keep' && decision.action === 'delete')
            expect(guarded.reasons).toEqual([`max_gap ${settings.max_gap_hours}h`]);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('leaves no gap between kept restore points longer than max(max_gap, the largest gap already there)', () => {
    fc.assert(
      fc.property(fleetArbitrary, settingsArbitrary, (backups, settings) => {
        const { decisions } = plan(backups, policyTarget(settings, true), new Date(NOW));
        const action = new Map(decisions.map((d) => [d.backup_id, d.action]));
        for (const resource of ['res-1', 'res-2']) {
          const members = backups.filter((backup) => backup.resource_id === resource);
          const before = largestGap(members, () => true);
          const after = largestGap(members, (backup) => action.get(backup.id) === 'keep');
          expect(after).toBeLessThanOrEqual(Math.max(settings.max_gap_hours * HOUR, before));
        }
      }),
      { numRuns: 1500 },
    );
  });
});
