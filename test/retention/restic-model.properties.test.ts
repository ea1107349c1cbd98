import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../lib/retention/duration.ts';
import { applyKeepRules, compareNewestFirst } from '../../lib/retention/planner.ts';
import { KeepRulesSchema } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { makeBackup } from './factories.ts';

/**
 * Differential test: the planner's keep rules against a plain transcription of RETENTION.md (and restic's
 * ApplyPolicy) written with Date's UTC getters — slow and obvious, sharing no code with the planner.
 */
const RUNS = 1500;
const NOW = Date.parse('2026-11-27T00:00:00Z');

const isoWeek = (ms: number) => {
  const date = new Date(ms);
  const weekday = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(
    Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 3 - weekday),
  );
  const year = thursday.getUTCFullYear();
  return year * 100 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / 604_800_000) + 1;
};
const BUCKETS: Record<string, (ms: number, nr: number) => number> = {
  last: (_ms, nr) => nr,
  hourly: (ms) => {
    const d = new Date(ms);
    return d.getUTCFullYear() * 1e6 + (d.getUTCMonth() + 1) * 1e4 + d.getUTCDate() * 100 + d.getUTCHours();
  },
  daily: (ms) => {
    const d = new Date(ms);
    return d.getUTCFullYear() * 1e4 + (d.getUTCMonth() + 1) * 100 + d.getUTCDate();
  },
  weekly: isoWeek,
  monthly: (ms) => new Date(ms).getUTCFullYear() * 100 + new Date(ms).getUTCMonth() + 1,
  yearly: (ms) => new Date(ms).getUTCFullYear(),
};

function minus(ms: number, text: string): number {
  const { years, months, days, hours } = parseDuration(text);
  const d = new Date(ms);
  d.setUTCFullYear(d.getUTCFullYear() - years, d.getUTCMonth() - months, d.getUTCDate() - days);
  return d.getTime() - hours * 3_600_000;
}

type Keep = Partial<Record<'last' | 'hourly' | 'daily' | 'weekly' | 'monthly' | 'yearly', number>> &
  Partial<
    Record<
      'within' | 'within_hourly' | 'within_daily' | 'within_weekly' | 'within_monthly' | 'within_yearly',
      string
    >
  > & {
    tags?: string[][];
  };

function referenceKept(sorted: Backup[], keep: Keep): boolean[] {
  const oldest = sorted.length - 1;
  let latest = 0;
  for (const b of sorted) if (b.created_at > latest && b.created_at < NOW) latest = b.created_at;
  const counted = (['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).map((rule) => ({
    bucket: BUCKETS[rule] as (ms: number, nr: number) => number,
    count: keep[rule] ?? 0,
    last: Number.NaN,
  }));
  const windows = (['hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const).flatMap((rule) => {
    const text = keep[`within_${rule}`];
    return text === undefined
      ? []
      : [
          {
            bucket: BUCKETS[rule] as (ms: number, nr: number) => number,
            threshold: minus(latest, text),
            last: Number.NaN,
          },
        ];
  });
  return sorted.map((backup, nr) => {
    let kept = (keep.tags ?? []).some((set) => set.every((tag) => backup.tags.includes(tag)));
    if (keep.within !== undefined && backup.created_at > minus(latest, keep.within)) kept = true;
    for (const rule of counted) {
      if (rule.count === 0) continue;
      const value = rule.bucket(backup.created_at, nr);
      if (value !== rule.last || nr === oldest) {
        kept = true;
        rule.last = value;
        if (rule.count > 0) rule.count -= 1;
      }
    }
    for (const window of windows) {
      if (!(backup.created_at > window.threshold)) continue;
      const value = window.bucket(backup.created_at, nr);
      if (value !== window.last || nr === oldest) {
        kept = true;
        window.last = value;
      }
    }
    return kept;
  });
}

const count = fc.oneof(fc.constant(0), fc.integer({ min: -1, max: 8 }));
const duration = fc
  .tuple(fc.nat(1), fc.nat(3), fc.nat(40), fc.nat(72))
  .map(
    ([y, m, d, h]) => `${y ? `${y}y` : ''}${m ? `${m}m` : ''}${d ? `${d}d` : ''}${h ? `${h}h` : ''}` || '1d',
  );
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 2 });

describe('keep rules against a reference model of restic (UTC)', () => {
  it('keep exactly the backups the reference model keeps', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            hoursAgo: fc.integer({ min: 1, max: 24 * 400 }),
            minute: fc.constantFrom(0, 0, 17, 59),
            tags: fc.subarray(['a', 'b']),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        fc.record({
          last: count,
          hourly: count,
          daily: count,
          weekly: count,
          monthly: count,
          yearly: count,
          within: maybe(duration),
          within_hourly: maybe(duration),
          within_daily: maybe(duration),
          within_weekly: maybe(duration),
          within_monthly: maybe(duration),
          within_yearly: maybe(duration),
          tags: maybe(fc.array(fc.subarray(['a', 'b'], { minLength: 1 }), { minLength: 1, maxLength: 2 })),
        }),
        (rows, keep) => {
          const backups = rows.map((row, index) =>
            makeBackup({
              id: `b${String(index).padStart(3, '0')}`,
              created_at: NOW - row.hoursAgo * 3_600_000 + row.minute * 60_000,
              tags: row.tags,
            }),
          );
          const clean = JSON.parse(JSON.stringify(keep)) as Keep;
          // Put backups right at and just before each window's threshold (both outside: "strictly newer"), and
          // for plain `within` one just after (inside).
          const latest = Math.max(...backups.map((b) => b.created_at));
          const windows: [string | undefined, number[]][] = [
            [clean.within, [-1, 0, 1]],
            ...[
              clean.within_hourly,
              clean.within_daily,
              clean.within_weekly,
              clean.within_monthly,
              clean.within_yearly,
            ].map((text): [string | undefined, number[]] => [text, [-1, 0]]),
          ];
          for (const [text, deltas] of windows) {
            if (text === undefined) continue;
            for (const delta of deltas) {
              backups.push(makeBackup({ id: `e${backups.length}`, created_at: minus(latest, text) + delta }));
            }
          }
          const sorted = backups.sort(compareNewestFirst);
          const ours = applyKeepRules(sorted, { keep: KeepRulesSchema.parse(clean) }, new Date(NOW)).map(
            (reasons) => reasons !== undefined,
          );
          expect(ours).toEqual(referenceKept(sorted, clean));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
