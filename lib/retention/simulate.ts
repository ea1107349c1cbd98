import { z } from 'zod';
import { type Backup, resourceKey } from '../services/backup.ts';
import { calendarFor } from './calendar.ts';
import { compareNewestFirst, type PlanTarget, planResource } from './planner.ts';
import type { ResolvedTarget } from './policy.ts';

/**
 * Forward simulation: what a target's restore points look like after N more days of backups and sweeps.
 *
 * Assumptions, stated in every output that shows a simulation (SIMULATION_ASSUMPTIONS):
 * - each resource keeps producing finished backups at its observed cadence — the median interval between its
 *   most recent finished backups — starting one cadence after its newest finished backup; a resource with
 *   fewer than two finished backups gets no new ones;
 * - the sweep runs now (day 0, the current plan) and then once a day at the scheduled wall-clock time in the
 *   policy's time zone (default 02:00), deleting exactly what the plan at that moment says;
 * - backups in progress now are assumed to finish (they count as restore points), failed ones stay failed,
 *   backups being deleted are gone.
 * Pure: `now` is an argument, and nothing here lists or deletes.
 */

/** The cadence is the median of at most this many of the newest intervals between finished backups. */
export const CADENCE_INTERVALS = 10;

export const SimulatedBackupSchema = z.object({
  backup_id: z.string(),
  /** The sweep day (0 = now) that deletes it; null: still there after the last simulated day. */
  deleted_day: z.number().int().nullable(),
  deleted_at: z.iso.datetime().nullable(),
});

export const SimulatedResourceSchema = z.object({
  resource_key: z.string(),
  /** Median interval of its recent finished backups; null when it has fewer than two. */
  cadence_ms: z.number().nullable(),
  intervals_observed: z.number().int(),
  restore_points: z.number().int(),
  oldest: z.iso.datetime().nullable(),
  newest: z.iso.datetime().nullable(),
  /** Largest gap between consecutive restore points at the end; null with fewer than two. */
  largest_gap_ms: z.number().nullable(),
  /** Restore points at the end that only the RPO guard (`max_gap`) keeps. */
  max_gap_points: z.number().int(),
  /** Restore points after each day's sweep: index 0 is now (after the current plan), the last is day N. */
  points_by_day: z.array(z.number().int()),
  /** Every backup that exists now, and when the simulated sweeps delete it. */
  current: z.array(SimulatedBackupSchema),
});
export type SimulatedResource = z.infer<typeof SimulatedResourceSchema>;

export const TargetSimulationSchema = z.object({
  name: z.string(),
  days: z.number().int(),
  /** The sweep time of each day, ISO (index 0 is now). */
  sweep_times: z.array(z.iso.datetime()),
  resources: z.array(SimulatedResourceSchema),
});
export type TargetSimulation = z.infer<typeof TargetSimulationSchema>;

export const SIMULATION_ASSUMPTIONS =
  'Assumes each resource keeps producing backups at its observed cadence (the median interval of its ' +
  `${CADENCE_INTERVALS} most recent finished backup intervals), a sweep now and then daily at the scheduled time in ` +
  "the policy's time zone, in-progress backups finishing and failed ones staying failed.";

export interface SimulationOptions {
  readonly days: number;
  /** Wall-clock time of the daily sweep in the policy's time zone. Default 02:00. */
  readonly sweepAt?: { readonly hour: number; readonly minute: number };
}

/** `90d` → 90. Days only: a simulation is counted in daily sweeps. */
export function parseSimulationDays(text: string): number {
  const match = /^(\d{1,4})d$/.exec(text.trim());
  const days = match === null ? Number.NaN : Number(match[1]);
  if (!Number.isInteger(days) || days < 1 || days > 3660) {
    throw new RangeError(`--simulate takes a number of days from 1d to 3660d, such as 90d (got "${text}")`);
  }
  return days;
}

/** The sweep instants: `now`, then the scheduled wall-clock time on each following day, N in all after now. */
export function sweepTimes(
  now: Date,
  days: number,
  timezone: string,
  sweepAt = { hour: 2, minute: 0 },
): number[] {
  const calendar = calendarFor(timezone);
  const nowMs = now.getTime();
  const today = calendar.civil(nowMs);
  const times = [nowMs];
  for (let offset = 0; times.length <= days; offset += 1) {
    const wall = Date.UTC(today.year, today.month - 1, today.day + offset, sweepAt.hour, sweepAt.minute);
    const at = calendar.fromWall(wall);
    if (at > nowMs) times.push(at);
  }
  return times;
}

/** Median of the newest CADENCE_INTERVALS positive intervals between finished backups (sorted newest first). */
export function observedCadence(finishedNewestFirst: readonly Backup[]): {
  cadenceMs: number | null;
  intervals: number;
} {
  const intervals: number[] = [];
  for (
    let index = 1;
    index < finishedNewestFirst.length && intervals.length < CADENCE_INTERVALS;
    index += 1
  ) {
    const gap =
      (finishedNewestFirst[index - 1] as Backup).created_at -
      (finishedNewestFirst[index] as Backup).created_at;
    if (gap > 0) intervals.push(gap);
  }
  if (intervals.length === 0) return { cadenceMs: null, intervals: 0 };
  intervals.sort((a, b) => a - b);
  const middle = Math.floor(intervals.length / 2);
  const cadenceMs =
    intervals.length % 2 === 1
      ? (intervals[middle] as number)
      : ((intervals[middle - 1] as number) + (intervals[middle] as number)) / 2;
  return { cadenceMs, intervals: intervals.length };
}

/**
 * Simulates one target over the listing that `plan` saw (backups outside the target's scope are ignored by
 * the caller: pass the in-scope backups, e.g. those that got a decision).
 */
export function simulateTarget(
  name: string,
  backups: readonly Backup[],
  target: PlanTarget | ResolvedTarget,
  now: Date,
  options: SimulationOptions,
): TargetSimulation {
  const timezone = target.timezone ?? 'UTC';
  const times = sweepTimes(now, options.days, timezone, options.sweepAt);
  const byResource = new Map<string, Backup[]>();
  for (const backup of backups) {
    const key = resourceKey(backup);
    let list = byResource.get(key);
    if (list === undefined) {
      list = [];
      byResource.set(key, list);
    }
    list.push(backup);
  }
  const resources = [...byResource.keys()]
    .sort()
    .map((key) => simulateResource(key, byResource.get(key) as Backup[], target, times, timezone));
  return {
    name,
    days: options.days,
    sweep_times: times.map((at) => new Date(at).toISOString()),
    resources,
  };
}

function simulateResource(
  key: string,
  listing: readonly Backup[],
  target: PlanTarget | ResolvedTarget,
  times: readonly number[],
  timezone: string,
): SimulatedResource {
  const start = listing
    .filter((backup) => backup.state !== 'deleting')
    .map((backup): Backup => (backup.state === 'in_progress' ? { ...backup, state: 'finished' } : backup));
  const finished = listing.filter((backup) => backup.state === 'finished').sort(compareNewestFirst);
  const { cadenceMs, intervals } = observedCadence(finished);
  const template = finished[0];
  const deletedDay = new Map<string, number>();
  let alive: Backup[] = start;
  let nextAt =
    template === undefined || cadenceMs === null ? Number.POSITIVE_INFINITY : template.created_at + cadenceMs;
  let made = 0;
  const pointsByDay: number[] = [];
  let reasonsById = new Map<string, readonly string[]>();
  for (const [day, at] of times.entries()) {
    while (template !== undefined && cadenceMs !== null && nextAt <= at) {
      alive.push({
        ...template,
        id: `simulated-${made}`,
        delete_id: `simulated-${made}`,
        name: `simulated-${made}`,
        created_at: Math.round(nextAt),
        state: 'finished',
        manual: false,
        tags: [],
      });
      made += 1;
      nextAt += cadenceMs;
    }
    const decisions = planResource(alive, target, new Date(at), timezone);
    const keepIds = new Set<string>();
    reasonsById = new Map();
    for (const decision of decisions) {
      if (decision.action === 'keep') {
        keepIds.add(decision.backup_id);
        reasonsById.set(decision.backup_id, decision.reasons);
      } else if (!deletedDay.has(decision.backup_id)) deletedDay.set(decision.backup_id, day);
    }
    alive = alive.filter((backup) => keepIds.has(backup.id));
    pointsByDay.push(alive.filter((backup) => backup.state === 'finished').length);
  }
  const points = alive.filter((backup) => backup.state === 'finished').sort(compareNewestFirst);
  let largestGap: number | null = null;
  for (let index = 1; index < points.length; index += 1) {
    const gap = (points[index - 1] as Backup).created_at - (points[index] as Backup).created_at;
    largestGap = largestGap === null ? gap : Math.max(largestGap, gap);
  }
  const maxGapReason = target.max_gap === undefined ? undefined : `max_gap ${target.max_gap.text}`;
  const onlyGuard = points.filter((backup) => {
    const reasons = reasonsById.get(backup.id);
    return reasons?.length === 1 && reasons[0] === maxGapReason;
  }).length;
  const current = listing
    .slice()
    .sort(compareNewestFirst)
    .map((backup) => {
      const day = deletedDay.get(backup.id);
      return {
        backup_id: backup.id,
        deleted_day: day ?? null,
        deleted_at: day === undefined ? null : new Date(times[day] as number).toISOString(),
      };
    });
  const iso = (backup: Backup | undefined) =>
    backup === undefined ? null : new Date(backup.created_at).toISOString();
  return {
    resource_key: key,
    cadence_ms: cadenceMs,
    intervals_observed: intervals,
    restore_points: points.length,
    oldest: iso(points[points.length - 1]),
    newest: iso(points[0]),
    largest_gap_ms: largestGap,
    max_gap_points: onlyGuard,
    points_by_day: pointsByDay,
    current,
  };
}

/** Days in a fixed-length sense, for the terminal table and the report (`1d 12h`, `7d`, `3h`). */
export function formatSpan(ms: number | null): string {
  if (ms === null) return '-';
  const hours = Math.round(ms / 3_600_000);
  const days = Math.floor(hours / 24);
  const rest = hours - days * 24;
  if (days === 0) return `${rest}h`;
  return rest === 0 ? `${days}d` : `${days}d ${rest}h`;
}
