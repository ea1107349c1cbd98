import { describe, expect, it } from 'vitest';
import { applyKeepRules, compareNewestFirst, plan } from '../../lib/retention/planner.ts';
import { KeepRulesSchema } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { backupsAt, iso, makeBackup } from './factories.ts';
import { RESTIC_GOLDEN, RESTIC_SNAPSHOTS } from './restic-golden.ts';

const NOW = new Date('2026-11-27T00:00:00Z');

function resticSnapshots(): Backup[] {
  return RESTIC_SNAPSHOTS.map(([time, tags], index) =>
    makeBackup({
      id: `s${String(index).padStart(3, '0')}`,
      created_at: Date.parse(time),
      tags: [...(tags ?? [])],
    }),
  );
}

function describeBackup(backup: Backup): string {
  return backup.tags.length === 0
    ? iso(backup.created_at)
    : `${iso(backup.created_at)} ${backup.tags.join(',')}`;
}

function normalise(expected: string): string {
  const [time, tags] = expected.split(' ');
  const normalised = iso(Date.parse(time as string));
  return tags === undefined ? normalised : `${normalised} ${tags}`;
}

function keptBy(keep: Record<string, unknown>, backups: Backup[], now = NOW) {
  const sorted = backups.slice().sort(compareNewestFirst);
  const reasons = applyKeepRules(sorted, { keep: KeepRulesSchema.parse(keep) }, now);
  return sorted.flatMap((backup, index) => {
    const why = reasons[index];
    return why === undefined ? [] : [{ backup, reasons: why }];
  });
}

describe("restic's golden results (internal/data/testdata/policy_keep_snapshots_N)", () => {
  for (const golden of RESTIC_GOLDEN) {
    it(`keeps what restic keeps for ${golden.policy} (golden ${golden.golden})`, () => {
      const kept = keptBy(golden.keep, resticSnapshots());
      expect(kept.map(({ backup }) => describeBackup(backup))).toEqual(golden.kept.map(normalise));
    });
  }

  it('marks the extra oldest backup "oldest" as restic does (golden 16 and 39)', () => {
    const yearly = keptBy({ yearly: 10 }, resticSnapshots());
    expect(yearly.at(-1)?.reasons).toEqual(['oldest yearly 2014']);
    expect(yearly[0]?.reasons).toEqual(['yearly 2016']);
    const mixed = keptBy({ daily: 3, weekly: 2, monthly: -1, yearly: -1 }, resticSnapshots());
    expect(mixed[0]?.reasons).toEqual([
      'daily 2016-01-18',
      'weekly 2016-W03',
      'monthly 2016-01',
      'yearly 2016',
    ]);
    expect(mixed.at(-1)?.reasons).toEqual(['oldest monthly 2014-08', 'oldest yearly 2014']);
  });

  it('gives the same keep set through plan(), where our extra rules change nothing here (golden 15)', () => {
    const golden = RESTIC_GOLDEN.find((entry) => entry.golden === 15);
    const target = {
      service: 'cbr' as const,
      projects: ['proj-1'],
      regions: ['ap-southeast-1'],
      keep: KeepRulesSchema.parse(golden?.keep),
    };
    const { decisions, created_at } = plan(resticSnapshots(), target, NOW);
    const kept = decisions.flatMap((d, index) =>
      d.action === 'keep' ? [iso(created_at[index] as number)] : [],
    );
    expect(kept).toEqual(golden?.kept.map(normalise));
    expect(decisions).toHaveLength(RESTIC_SNAPSHOTS.length);
  });
});

describe('restic documentation examples (doc/060_forget.rst)', () => {
  const sundays = [
    '2019-09-01T11:00:00Z',
    '2019-09-08T11:00:00Z',
    '2019-09-15T11:00:00Z',
    '2019-09-22T11:00:00Z',
    '2019-09-29T11:00:00Z',
    '2019-10-06T11:00:00Z',
    '2019-10-13T11:00:00Z',
    '2019-10-20T11:00:00Z',
    '2019-10-27T11:00:00Z',
    '2019-11-03T11:00:00Z',
    '2019-11-10T11:00:00Z',
    '2019-11-17T11:00:00Z',
  ];

  it('keeps the last four Sundays with keep-daily 4 when one backup was made every Sunday for 12 weeks', () => {
    const kept = keptBy({ daily: 4 }, backupsAt(sundays));
    expect(kept.map(({ backup }) => iso(backup.created_at))).toEqual(
      ['2019-11-17T11:00:00Z', '2019-11-10T11:00:00Z', '2019-11-03T11:00:00Z', '2019-10-27T11:00:00Z'].map(
        normalise,
      ),
    );
    expect(kept.map(({ reasons }) => reasons)).toEqual([
      ['daily 2019-11-17'],
      ['daily 2019-11-10'],
      ['daily 2019-11-03'],
      ['daily 2019-10-27'],
    ]);
  });

  it('keeps 7 dailies, 4 more weeklies, the month ends and year ends for one backup a day (7/5/12/75)', () => {
    const days: string[] = [];
    for (
      let day = Date.parse('2023-01-01T09:00:00Z');
      day <= Date.parse('2025-12-31T09:00:00Z');
      day += 86_400_000
    ) {
      days.push(iso(day));
    }
    const kept = keptBy({ daily: 7, weekly: 5, monthly: 12, yearly: 75 }, backupsAt(days));
    const byRule = (rule: string) => kept.filter(({ reasons }) => reasons.some((r) => r.startsWith(rule)));
    expect(byRule('daily').map(({ backup }) => iso(backup.created_at).slice(0, 10))).toEqual([
      '2025-12-31',
      '2025-12-30',
      '2025-12-29',
      '2025-12-28',
      '2025-12-27',
      '2025-12-26',
      '2025-12-25',
    ]);
    // 5 weeklies: the newest (a Wednesday, already a daily) then four Sundays.
    const weeklyOnly = byRule('weekly').filter(({ reasons }) => !reasons.some((r) => r.startsWith('daily')));
    expect(weeklyOnly).toHaveLength(3);
    for (const { backup } of byRule('weekly').slice(1))
      expect(new Date(backup.created_at).getUTCDay()).toBe(0);
    // Month ends: 12 monthly buckets, the newest being the newest backup.
    const monthly = byRule('monthly');
    expect(monthly).toHaveLength(12);
    for (const { backup } of monthly) {
      const next = new Date(backup.created_at + 86_400_000);
      expect(next.getUTCDate()).toBe(1);
    }
    // Yearly has counts left at the end: three year ends plus the oldest backup, marked "oldest".
    expect(byRule('yearly').map(({ reasons }) => reasons.find((r) => r.startsWith('yearly')))).toEqual([
      'yearly 2025',
      'yearly 2024',
      'yearly 2023',
    ]);
    expect(kept.at(-1)?.reasons).toEqual(['oldest yearly 2023']);
    expect(iso(kept.at(-1)?.backup.created_at as number)).toBe(normalise('2023-01-01T09:00:00Z'));
  });
});
