/**
 * Auto fan-out: how long a plan takes to run inline, and whether that fits the invocation. A lane (service and
 * project, lib/sweep/lanes.ts) runs at most its limit of steps at once. A CSBS deletion holds its slot from the
 * DELETE until its poll says done (upstream counts it as a running task, lib/sweep/inline.ts); the other
 * services hold a slot only for each request and are tracked outside it. So a lane of n items takes
 * ceil(n / limit) × the service's slot time, plus the tracking tail of its last deletion; lanes run side by
 * side, so the plan takes as long as its longest lane (and no less than the total slot time spread over the
 * global limit, when there is one). `auto` runs inline when that estimate fits the time left, queued otherwise.
 *
 * The times are our estimates, not published figures: Huawei documents CSBS deletions as queued "up to 30 min"
 * (API.md) and gives none for CBR, DDS or DIS. They are pessimistic for the asynchronous services, so a plan
 * that is close to the limit goes to the queue, where a slow deletion costs nothing.
 */
import { z } from 'zod';
import { type SweepMode, SweepModeSchema } from '../config.ts';
import type { LedgerService, PlannedItem } from '../ledger/schema.ts';
import { DEFAULT_LANE_LIMITS, type LaneLimits, laneKey, limitOfLanes } from './lanes.ts';

export { type SweepMode, SweepModeSchema };

/** What the sweep report says about the fan-out it chose. */
export const FanOutDecisionSchema = z.object({
  requested: SweepModeSchema,
  chosen: z.enum(['inline', 'queued']),
  /** The plan's estimated inline run time (see the module comment). */
  estimated_ms: z.number().nonnegative(),
  /** Time left in the invocation when the choice was made; null when the invocation has no known deadline. */
  budget_ms: z.number().nonnegative().nullable(),
  reason: z.string(),
});
export type FanOutDecision = z.infer<typeof FanOutDecisionSchema>;

/** Per service: how long one deletion occupies its lane slot, and how long it is tracked after its slot. */
export interface TaskTime {
  readonly slotMs: number;
  readonly tailMs: number;
}
export type TaskTimes = Readonly<Record<LedgerService, TaskTime>>;

export const DEFAULT_TASK_TIMES: TaskTimes = Object.freeze({
  // Queued upstream, "up to 30 min" documented; held in the slot from the DELETE to the end.
  csbs: { slotMs: 300_000, tailMs: 0 },
  // A DELETE and a few polls in the slot; the background deletion is tracked outside it.
  cbr: { slotMs: 2_000, tailMs: 60_000 },
  dds: { slotMs: 2_000, tailMs: 120_000 },
  // Synchronous DELETE, nothing to track.
  dis: { slotMs: 1_000, tailMs: 0 },
});

export interface EstimateOptions {
  readonly taskTimes?: Partial<TaskTimes> | undefined;
  readonly laneLimits?: LaneLimits | undefined;
  /** At most this many deletions at once across lanes (Infinity or undefined: no global limit). */
  readonly globalLimit?: number | undefined;
}

/** The plan's estimated inline run time in ms (0 for an empty plan). */
export function estimateSweepMs(items: readonly PlannedItem[], options: EstimateOptions = {}): number {
  const limitOf = limitOfLanes(options.laneLimits ?? DEFAULT_LANE_LIMITS);
  const taskOf = (service: LedgerService) => options.taskTimes?.[service] ?? DEFAULT_TASK_TIMES[service];
  const lanes = new Map<string, { service: LedgerService; count: number }>();
  for (const item of items) {
    const key = laneKey(item.service, item.project_id);
    const lane = lanes.get(key) ?? { service: item.service, count: 0 };
    lane.count += 1;
    lanes.set(key, lane);
  }
  let longest = 0;
  let work = 0;
  for (const [key, lane] of lanes) {
    const task = taskOf(lane.service);
    longest = Math.max(longest, Math.ceil(lane.count / limitOf(key)) * task.slotMs + task.tailMs);
    work += lane.count * task.slotMs;
  }
  const global = options.globalLimit;
  return global === undefined || !Number.isFinite(global) ? longest : Math.max(longest, work / global);
}

function seconds(ms: number): string {
  return ms < 120_000 ? `${Math.round(ms / 1000)} s` : `${Math.round(ms / 60_000)} min`;
}

/**
 * The fan-out for a plan: `inline` and `queued` as asked; `auto` inline when the estimate fits the budget (or
 * there is no deadline), queued when it does not.
 */
export function chooseFanOut(
  requested: SweepMode,
  estimatedMs: number,
  budgetMs: number | undefined,
): FanOutDecision {
  const budget = budgetMs === undefined ? null : Math.max(0, budgetMs);
  const base = { requested, estimated_ms: estimatedMs, budget_ms: budget };
  if (requested !== 'auto') return { ...base, chosen: requested, reason: `sweep mode ${requested}` };
  if (budget === null) return { ...base, chosen: 'inline', reason: 'no invocation deadline: inline' };
  return estimatedMs <= budget
    ? {
        ...base,
        chosen: 'inline',
        reason: `estimated ${seconds(estimatedMs)} fits the ${seconds(budget)} left`,
      }
    : {
        ...base,
        chosen: 'queued',
        reason: `estimated ${seconds(estimatedMs)} exceeds the ${seconds(budget)} left`,
      };
}
