/**
 * The report's data: per target its totals, per resource its backups as compact parallel arrays (a time, a
 * mark class, an index into shared reason lists, the id and name) plus restore-point statistics before and
 * after. Built from a plan (`reportFromPlan`) or from a stored sweep (lib/report/stored-sweep.ts) and rendered
 * by lib/report/html.ts. Nothing here is escaped: that is the renderer's job, for every string.
 */
import { z } from 'zod';
import { type PolicyPlan, resourceRuns } from '../retention/plan-targets.ts';
import type { Decision } from '../retention/planner.ts';
import { SIMULATION_ASSUMPTIONS, type TargetSimulation } from '../retention/simulate.ts';
import { type Backup, resourceKey } from '../services/backup.ts';
import { DEFAULT_MAX_DELETE_SHARE } from '../sweep/plan-sweep.ts';
import { classifyDecision, MARK_CLASSES, markClassIndex } from './marks.ts';

const IN_PROGRESS = markClassIndex('in_progress');
const FAILED = markClassIndex('failed');

/**
 * A resource's restore points (finished backups) as `[count, newest, oldest, largest gap]`, times and the gap
 * in seconds (newest/oldest epoch seconds); null where there are too few points. A tuple, not an object: the
 * report carries two per resource, 20,000 for a 100,000-backup fleet.
 */
const RestorePointsSchema = z.tuple([
  z.number().int(),
  z.number().nullable(),
  z.number().nullable(),
  z.number().nullable(),
]);
export type RestorePoints = z.infer<typeof RestorePointsSchema>;

export const ResourceSimulationSchema = z.object({
  cadence_ms: z.number().nullable(),
  restore_points: z.number().int(),
  oldest: z.string().nullable(),
  newest: z.string().nullable(),
  largest_gap_ms: z.number().nullable(),
  max_gap_points: z.number().int(),
  points_by_day: z.array(z.number().int()),
  /** Per mark (same order as `t`): the simulated sweep day that deletes it, −1 when it survives. */
  deleted_day: z.array(z.number().int()),
});

export const ResourceReportSchema = z.object({
  key: z.string(),
  /** What people call it: the resource name where upstream reports one, else its id. */
  label: z.string(),
  /** Per mark, newest first: creation time in seconds after the target's `t_min`. */
  t: z.array(z.number()),
  /** Per mark: index into MARK_CLASSES. */
  c: z.array(z.number().int()),
  /** Per mark: index into the report's `reasons`. */
  r: z.array(z.number().int()),
  /** Per mark: backup id. */
  id: z.array(z.string()),
  /** Per mark: the name after the resource's common prefix `np`; null when upstream gives none. */
  np: z.string(),
  name: z.array(z.string().nullable()),
  before: RestorePointsSchema,
  after: RestorePointsSchema,
  simulation: ResourceSimulationSchema.optional(),
});
export type ResourceReport = z.infer<typeof ResourceReportSchema>;

export const TargetReportSchema = z.object({
  name: z.string(),
  service: z.string(),
  listed: z.number().int(),
  considered: z.number().int(),
  kept: z.number().int(),
  deleted: z.number().int(),
  /** Counts per mark class over the whole target. */
  counts: z.record(z.string(), z.number().int()),
  delete_share: z.number(),
  max_delete_share: z.number(),
  /** The breaker is the sweep's default, not the target's own setting. */
  max_delete_share_default: z.boolean(),
  max_delete_share_exceeded: z.boolean(),
  /** Bytes the deletions free, from the sizes upstream reports; null when no deleted backup has one. */
  bytes_to_reclaim: z.number().nullable(),
  /** Deleted backups without a size (CSBS reports none). */
  bytes_unknown: z.number().int(),
  /** The time axis every resource of the target shares (epoch seconds). */
  t_min: z.number(),
  t_max: z.number(),
  resources: z.array(ResourceReportSchema),
  simulation: z
    .object({
      days: z.number().int(),
      sweep_times: z.array(z.string()),
      /** Restore points of the whole target after each day's sweep. */
      total_by_day: z.array(z.number().int()),
    })
    .optional(),
});
export type TargetReport = z.infer<typeof TargetReportSchema>;

export const ReportModelSchema = z.object({
  version: z.literal(1),
  title: z.string(),
  /** What the page shows: a plan (nothing deleted yet) or a stored sweep's outcome. */
  kind: z.enum(['plan', 'sweep']),
  generated_at: z.string(),
  timezone: z.string(),
  /** Lines shown under the title (sweep status, where kept backups are not stored, …). */
  notes: z.array(z.string()),
  simulation_assumptions: z.string().optional(),
  classes: z.array(
    z.object({ id: z.string(), label: z.string(), color: z.string(), goes: z.boolean(), shape: z.string() }),
  ),
  /** Distinct reason lists; marks point into it. */
  reasons: z.array(z.array(z.string())),
  targets: z.array(TargetReportSchema),
});
export type ReportModel = z.infer<typeof ReportModelSchema>;

/** Interns reason lists: a million decisions share a few thousand lists. */
export class ReasonTable {
  readonly lists: string[][] = [];
  readonly #index = new Map<string, number>();
  readonly #byArray = new WeakMap<readonly string[], number>();

  add(reasons: readonly string[]): number {
    const known = this.#byArray.get(reasons);
    if (known !== undefined) return known;
    const key = reasons.join('\u0000');
    let index = this.#index.get(key);
    if (index === undefined) {
      index = this.lists.length;
      this.lists.push([...reasons]);
      this.#index.set(key, index);
    }
    this.#byArray.set(reasons, index);
    return index;
  }
}

/**
 * A plan's backups by id, without building a key string per backup: ids are unique within a service, so the
 * resource key is built only for an id listed under two resources (rare, and then both are kept apart).
 */
class BackupLookup {
  readonly #byId = new Map<string, Backup>();
  readonly #repeated = new Map<string, Backup>();

  constructor(backups: readonly Backup[]) {
    for (const backup of backups) {
      const first = this.#byId.get(backup.id);
      if (first === undefined) this.#byId.set(backup.id, backup);
      else this.#repeated.set(`${resourceKey(backup)}#${backup.id}`, backup);
    }
  }

  get(key: string, id: string): Backup | undefined {
    const backup = this.#byId.get(id);
    if (backup === undefined || this.#repeated.size === 0) return backup;
    return resourceKey(backup) === key ? backup : this.#repeated.get(`${key}#${id}`);
  }
}

/** Restore points of a resource from its finished backups' times (epoch ms), newest first. */
export function restorePoints(timesNewestFirst: readonly number[]): RestorePoints {
  let largest: number | null = null;
  for (let index = 1; index < timesNewestFirst.length; index += 1) {
    const gap = (timesNewestFirst[index - 1] as number) - (timesNewestFirst[index] as number);
    largest = largest === null ? gap : Math.max(largest, gap);
  }
  const seconds = (ms: number | null | undefined) =>
    ms === null || ms === undefined ? null : Math.floor(ms / 1000);
  return [
    timesNewestFirst.length,
    seconds(timesNewestFirst[0]),
    seconds(timesNewestFirst[timesNewestFirst.length - 1]),
    seconds(largest),
  ];
}

/** The longest prefix every non-empty name shares. */
export function commonPrefix(names: readonly (string | null)[]): string {
  let prefix: string | undefined;
  for (const name of names) {
    if (name === null) continue;
    if (prefix === undefined) prefix = name;
    else {
      let length = 0;
      while (
        length < prefix.length &&
        length < name.length &&
        prefix.charCodeAt(length) === name.charCodeAt(length)
      )
        length += 1;
      prefix = prefix.slice(0, length);
    }
    if (prefix === '') break;
  }
  return prefix ?? '';
}

/** A resource with no marks yet (filled in place by the model builders). */
export function emptyResource(key: string, label: string): ResourceReport {
  const none = restorePoints([]);
  return { key, label, t: [], c: [], r: [], id: [], np: '', name: [], before: none, after: none };
}

/** Adds one to `counts[classId]`. */
export function countClass(counts: Record<string, number>, classIndex: number): void {
  const id = (MARK_CLASSES[classIndex] as (typeof MARK_CLASSES)[number]).id;
  counts[id] = (counts[id] ?? 0) + 1;
}

export interface PlanReportInput {
  readonly plan: PolicyPlan;
  /** The listing each target was planned over (by target name), for names, states and sizes. */
  readonly listings: ReadonlyMap<string, readonly Backup[]>;
  readonly simulations?: ReadonlyMap<string, TargetSimulation> | undefined;
  readonly title?: string | undefined;
}

export function reportFromPlan(input: PlanReportInput): ReportModel {
  const reasons = new ReasonTable();
  const targets = input.plan.targets.map((target): TargetReport => {
    const backups = new BackupLookup(input.listings.get(target.name) ?? []);
    const simulation = input.simulations?.get(target.name);
    const simulated = new Map(simulation?.resources.map((resource) => [resource.resource_key, resource]));
    const targetCounts: Record<string, number> = {};
    let bytes = 0;
    let bytesKnown = 0;
    let bytesUnknown = 0;
    let tMin = Number.POSITIVE_INFINITY;
    let tMax = Number.NEGATIVE_INFINITY;
    for (const createdAt of target.created_at) {
      tMin = Math.min(tMin, Math.floor(createdAt / 1000));
      tMax = Math.max(tMax, Math.ceil(createdAt / 1000));
    }
    if (!Number.isFinite(tMin)) {
      tMin = 0;
      tMax = 0;
    }
    const resources = resourceRuns(target.decisions).map(([start, end]): ResourceReport => {
      const key = (target.decisions[start] as Decision).resource_key;
      const marks = emptyResource(key, key.slice(key.lastIndexOf('/') + 1));
      const pointsBefore: number[] = [];
      const pointsAfter: number[] = [];
      for (let index = start; index < end; index += 1) {
        const decision = target.decisions[index] as Decision;
        const createdAt = target.created_at[index] as number;
        const backup = backups.get(key, decision.backup_id);
        const notDeletable = (backup as { not_deletable?: unknown } | undefined)?.not_deletable !== undefined;
        const classIndex = classifyDecision(decision.action, decision.reasons, notDeletable);
        if (backup?.resource_name !== undefined) marks.label = backup.resource_name;
        marks.t.push(Math.floor(createdAt / 1000) - tMin);
        marks.c.push(classIndex);
        marks.r.push(reasons.add(decision.reasons));
        marks.id.push(decision.backup_id);
        marks.name.push(backup?.name ?? null);
        countClass(targetCounts, classIndex);
        if (decision.action === 'delete') {
          if (backup?.size_bytes === undefined) bytesUnknown += 1;
          else {
            bytes += backup.size_bytes;
            bytesKnown += 1;
          }
        }
        const finished =
          backup === undefined
            ? classIndex !== IN_PROGRESS && classIndex !== FAILED
            : backup.state === 'finished';
        if (finished) {
          pointsBefore.push(createdAt);
          if (decision.action === 'keep') pointsAfter.push(createdAt);
        }
      }
      marks.np = commonPrefix(marks.name);
      if (marks.np !== '')
        marks.name = marks.name.map((name) => (name === null ? null : name.slice(marks.np.length)));
      marks.before = restorePoints(pointsBefore);
      marks.after = restorePoints(pointsAfter);
      const sim = simulated.get(key);
      if (sim !== undefined) {
        const dayById = new Map(sim.current.map((entry) => [entry.backup_id, entry.deleted_day ?? -1]));
        marks.simulation = {
          cadence_ms: sim.cadence_ms,
          restore_points: sim.restore_points,
          oldest: sim.oldest,
          newest: sim.newest,
          largest_gap_ms: sim.largest_gap_ms,
          max_gap_points: sim.max_gap_points,
          points_by_day: sim.points_by_day,
          deleted_day: marks.id.map((id) => dayById.get(id) ?? -1),
        };
      }
      return marks;
    });
    const limit = target.max_delete_share ?? DEFAULT_MAX_DELETE_SHARE;
    return {
      name: target.name,
      service: target.service,
      listed: target.listed,
      considered: target.summary.considered,
      kept: target.summary.kept,
      deleted: target.summary.deleted,
      counts: targetCounts,
      delete_share: target.summary.delete_share,
      max_delete_share: limit,
      max_delete_share_default: target.max_delete_share === undefined,
      max_delete_share_exceeded: target.summary.delete_share > limit,
      bytes_to_reclaim: bytesKnown === 0 ? null : bytes,
      bytes_unknown: bytesUnknown,
      t_min: tMin,
      t_max: tMax,
      resources,
      ...(simulation === undefined ? {} : { simulation: simulationTotals(simulation) }),
    };
  });
  return {
    version: 1,
    title: input.title ?? 'Retention plan',
    kind: 'plan',
    generated_at: input.plan.generated_at,
    timezone: input.plan.timezone,
    notes: ['A plan: nothing has been deleted. The sweep deletes exactly the marks in the lower lane.'],
    ...(input.simulations === undefined ? {} : { simulation_assumptions: SIMULATION_ASSUMPTIONS }),
    classes: MARK_CLASSES.map((markClass) => ({ ...markClass })),
    reasons: reasons.lists,
    targets,
  };
}

function simulationTotals(simulation: TargetSimulation): NonNullable<TargetReport['simulation']> {
  const total = simulation.sweep_times.map(() => 0);
  for (const resource of simulation.resources) {
    resource.points_by_day.forEach((points, day) => {
      total[day] = (total[day] ?? 0) + points;
    });
  }
  return { days: simulation.days, sweep_times: simulation.sweep_times, total_by_day: total };
}
