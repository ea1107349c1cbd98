import { describe, expect, it } from 'vitest';
import { parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import {
  observedCadence,
  parseSimulationDays,
  simulateTarget,
  sweepTimes,
} from '../../lib/retention/simulate.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { makeBackup } from './factories.ts';

const DAY = 86_400_000;
const HOUR = 3_600_000;
/** Wednesday 2026-12-02, noon UTC. */
const NOW = new Date('2026-12-02T12:00:00Z');

function target(settings: Record<string, unknown>, timezone = 'UTC') {
  const policy = parsePolicy({
    version: 1,
    timezone,
    targets: [{ name: 't', service: 'cbr', projects: ['proj-1'], regions: ['ap-southeast-1'], ...settings }],
  });
  return resolveTargets(policy)[0] as ReturnType<typeof resolveTargets>[number];
}

/** 40 finished backups, one a day at 01:00 UTC, the newest on Wednesday 2026-12-02 (ids d00 = newest). */
function dailyFleet(resource = 'res-1'): Backup[] {
  return Array.from({ length: 40 }, (_, n) =>
    makeBackup({
      id: `${resource}-d${String(n).padStart(2, '0')}`,
      resource_id: resource,
      created_at: Date.parse('2026-12-02T01:00:00Z') - n * DAY,
    }),
  );
}

const daysBack = (newest: string | null, oldest: string | null) =>
  ((Date.parse(newest ?? '') - Date.parse(oldest ?? '')) / DAY) as number;

describe('forward simulation', () => {
  it('parses days only', () => {
    expect(parseSimulationDays('90d')).toBe(90);
    expect(() => parseSimulationDays('3m')).toThrow(/number of days/);
    expect(() => parseSimulationDays('0d')).toThrow(/number of days/);
  });

  it('sweeps now and then daily at 02:00 in the policy time zone', () => {
    expect(sweepTimes(NOW, 3, 'UTC').map((at) => new Date(at).toISOString())).toEqual([
      '2026-12-02T12:00:00.000Z',
      '2026-12-03T02:00:00.000Z',
      '2026-12-04T02:00:00.000Z',
      '2026-12-05T02:00:00.000Z',
    ]);
    // 02:00 in Berlin is 01:00 UTC in winter; now (13:00 local) is past today's, so tomorrow comes first.
    expect(new Date(sweepTimes(NOW, 1, 'Europe/Berlin')[1] as number).toISOString()).toBe(
      '2026-12-03T01:00:00.000Z',
    );
  });

  it('takes the median of the recent intervals as the cadence', () => {
    const times = [0, 1, 2, 3, 10].map((h) =>
      makeBackup({ id: `b${h}`, created_at: Date.parse('2026-12-01T00:00:00Z') - h * HOUR }),
    );
    // Intervals 1, 1, 1, 7 hours: the median is 1 hour.
    expect(observedCadence(times)).toEqual({ cadenceMs: HOUR, intervals: 4 });
    expect(observedCadence(times.slice(0, 1))).toEqual({ cadenceMs: null, intervals: 0 });
  });

  // daily: 7, weekly: 4 in steady state, after the sweep on day D (the newest backup is D's): the 7 dailies
  // D-6..D, plus the newest backup of each older ISO week until weekly's 4 counts are spent (the first count
  // goes to D's own week). The previous Sunday, D-w (w = ISO weekday of D), is a daily unless D is a Sunday.
  // So: D a Sunday → 10 points, the oldest 21 days back; any other day → 9 points, the oldest 14 + w back.
  // With 90 days from Wednesday 2026-12-02 the last sweep is Tuesday 2027-03-02 02:00.
  it.each([
    [90, 'Tuesday', 9, 16],
    [91, 'Wednesday', 9, 17],
    [92, 'Thursday', 9, 18],
    [93, 'Friday', 9, 19],
    [94, 'Saturday', 9, 20],
    [95, 'Sunday', 10, 21],
    [96, 'Monday', 9, 15],
  ])(
    'daily backups with daily 7, weekly 4 after %i days (last sweep on a %s): %i restore points, the oldest %i days back',
    (days, _weekday, points, back) => {
      const simulation = simulateTarget('t', dailyFleet(), target({ keep: { daily: 7, weekly: 4 } }), NOW, {
        days,
      });
      const [resource] = simulation.resources;
      expect(resource?.cadence_ms).toBe(DAY);
      expect(resource?.restore_points).toBe(points);
      expect(daysBack(resource?.newest ?? null, resource?.oldest ?? null)).toBe(back);
      expect(resource?.largest_gap_ms).toBe(7 * DAY);
      expect(resource?.points_by_day).toHaveLength(days + 1);
    },
  );

  it('names the day each current backup is deleted', () => {
    const simulation = simulateTarget('t', dailyFleet(), target({ keep: { daily: 7, weekly: 4 } }), NOW, {
      days: 90,
    });
    const current = new Map(simulation.resources[0]?.current.map((entry) => [entry.backup_id, entry]));
    // Day 0 (now, Wed 12-02): dailies 11-26..12-02 and the weeklies 11-29, 11-22, 11-15 stay; the rest go now.
    expect(current.get('res-1-d07')?.deleted_day).toBe(0); // 11-25, neither a daily nor a week's newest
    expect(current.get('res-1-d06')?.deleted_day).toBe(1); // 11-26 leaves the dailies on Thu 12-03
    // 11-15 is weekly's 4th count until week 50 begins: the sweep on Monday 12-07 (day 5).
    expect(current.get('res-1-d17')?.deleted_day).toBe(5);
    // Sunday 11-29 (week 48) is weekly until the sweep of Monday 12-21 (day 19) starts week 52.
    expect(current.get('res-1-d03')).toEqual({
      backup_id: 'res-1-d03',
      deleted_day: 19,
      deleted_at: '2026-12-21T02:00:00.000Z',
    });
    expect([...current.values()].filter((entry) => entry.deleted_day === null)).toEqual([]);
    expect(simulation.resources[0]?.points_by_day.slice(0, 2)).toEqual([9, 9]);
  });

  it('shows where max_gap applies: with max_gap 2d every second day between the weeklies stays', () => {
    const simulation = simulateTarget(
      't',
      dailyFleet(),
      target({ keep: { daily: 7, weekly: 4 }, max_gap: '2d' }),
      NOW,
      {
        days: 90,
      },
    );
    const [resource] = simulation.resources;
    // Last sweep Tuesday 2027-03-02: dailies 02-24..03-02, weeklies 02-21 and 02-14; max_gap keeps 02-22 (02-24
    // to 02-21 would be 3 days) and 02-19, 02-17, 02-15 between the weeklies (7 days apart).
    expect(resource?.largest_gap_ms).toBe(2 * DAY);
    expect(resource?.max_gap_points).toBe(4);
    expect(resource?.restore_points).toBe(13);
  });

  it('gives a resource with a single finished backup no new backups, and says so with a null cadence', () => {
    const simulation = simulateTarget('t', dailyFleet().slice(0, 1), target({ keep: { daily: 7 } }), NOW, {
      days: 10,
    });
    expect(simulation.resources[0]).toMatchObject({ cadence_ms: null, restore_points: 1 });
  });
});
