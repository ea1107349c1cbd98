/**
 * The breaker that remembers: per target, today's plan is compared with the policy's last finished sweeps in
 * the ledger (`Ledger.recentSweeps`), and a target that looks unlike its own history deletes nothing and asks
 * for approval instead: `historyApprovalCheck` is an approval check (lib/approval/decision.ts) answering
 * HISTORY_BREAKER with a reason that carries the numbers, so the target's deletions are stored as a plan
 * awaiting approval while the other targets proceed. Two checks, each with a policy setting (policy
 * `defaults` or per target):
 *
 * - **Inventory drop** (`max_inventory_drop`, default 0.3): the target's backups in scope shrank by more than
 *   this share since the last sweep that carried it out. That sweep's baseline is what it meant to leave:
 *   its inventory minus its planned deletions (so a sweep's own deletions are no drop; a planned deletion
 *   that failed makes the next drop look smaller by one). A baseline of 0 cannot shrink.
 * - **Delete growth** (`max_delete_growth`, default 3): the planned deletions exceed this many times the median
 *   of the planned deletions of the last HISTORY_MEDIAN_WINDOW sweeps that carried the target out (fewer when
 *   there are fewer; an even count takes the mean of the two middle values). The median is floored at 1, so
 *   a target that deleted nothing for a week may delete up to `max_delete_growth` backups without a hold.
 *
 * A target the breaker held in an earlier sweep (its entry is `held`) is no baseline: nothing of it was
 * deleted, and comparing with its shrunken inventory would let the next night delete without approval. A
 * target with held entries only (in the HISTORY_LOOKBACK sweeps read) stays held while the drop check is on.
 * A target planning no deletion is never held (there is nothing to approve). Without any history (a first
 * sweep) only the static `max_delete_share` breaker applies.
 *
 * `judgeTargetHistory` is pure (the history and the clock's `now`, used in the reason text, are passed in);
 * `historyApprovalCheck` reads the ledger once per sweep and judges every target with it.
 */
import { z } from 'zod';
import type { ApprovalCheck, ApprovalNeed } from '../approval/decision.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { SweepHistory, SweepHistoryEntry, TargetHistory } from '../ledger/schema.ts';
import type { Policy, ResolvedTarget } from '../retention/policy.ts';
import { resolveTargets } from '../retention/policy.ts';
import type { PlannedTarget } from './plan-sweep.ts';
import { policyLockKey } from './sweep-lock.ts';

export const DEFAULT_MAX_INVENTORY_DROP = 0.3;
export const DEFAULT_MAX_DELETE_GROWTH = 3;
/** How many sweeps that carried a target out the growth check takes its median over. */
export const HISTORY_MEDIAN_WINDOW = 5;
/** How many finished sweeps of the policy the sweep reads (more than the window: held entries are skipped). */
export const HISTORY_LOOKBACK = 20;
/** The reason code of a target the breaker held (report `held.code`, notifications). */
export const HISTORY_BREAKER = 'HISTORY_BREAKER';

/** Why the breaker holds a target: the numbers behind the reason (logged with the hold). */
export const TargetHoldSchema = z.object({
  code: z.literal(HISTORY_BREAKER),
  /** One sentence with the numbers, e.g. `inventory dropped 40% (100 → 60) since sweep … 1d ago, …`. */
  reason: z.string(),
  /** `inventory_drop`, `delete_growth`, or `held_before` (held in every sweep read). */
  checks: z.array(z.enum(['inventory_drop', 'delete_growth', 'held_before'])).min(1),
  /** The deletions the plan would have made; none is made. */
  planned: z.int().nonnegative(),
  inventory: z.int().nonnegative(),
  /** What the last sweep that carried the target out left in scope (its inventory − its deletions). */
  baseline_inventory: z.int().nonnegative().optional(),
  inventory_drop: z.number().min(0).max(1).optional(),
  max_inventory_drop: z.number(),
  median_planned: z.number().nonnegative().optional(),
  max_delete_growth: z.number(),
  /** The sweeps compared with, newest first. */
  compared_sweeps: z.array(z.string()),
});
export type TargetHold = z.infer<typeof TargetHoldSchema>;

export interface HistoryLimits {
  readonly maxInventoryDrop: number;
  readonly maxDeleteGrowth: number;
}

/** Today's plan of one target. */
export interface TargetObservation {
  readonly name: string;
  readonly inventory: number;
  readonly planned: number;
}

export type HistoryVerdict =
  | { readonly held: false; readonly basis: 'no_history' | 'history' }
  | { readonly held: true; readonly hold: TargetHold };

/** The median of a non-empty list (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const percent = (share: number) => `${Math.round(share * 1000) / 10}%`;

/** `3d 4h`, `5h`, `12m`: how long ago a sweep finished. */
function ago(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  if (days > 0) return hours > 0 ? `${days}d ${hours}h` : `${days}d`;
  if (hours > 0) return `${hours}h`;
  return `${minutes}m`;
}

/**
 * Judges one target against the policy's history (`history`: finished sweeps, newest first, as
 * `Ledger.recentSweeps` returns them).
 */
export function judgeTargetHistory(
  current: TargetObservation,
  history: readonly SweepHistoryEntry[],
  limits: HistoryLimits,
  now: Date,
): HistoryVerdict {
  const mine: { sweep: SweepHistoryEntry; entry: TargetHistory }[] = [];
  for (const sweep of history) {
    const entry = sweep.targets.find((target) => target.name === current.name);
    if (entry !== undefined) mine.push({ sweep, entry });
  }
  if (mine.length === 0) return { held: false, basis: 'no_history' };
  if (current.planned === 0) return { held: false, basis: 'history' };
  const carried = mine.filter(({ entry }) => entry.held !== true);
  const base = {
    code: HISTORY_BREAKER,
    planned: current.planned,
    inventory: current.inventory,
    max_inventory_drop: limits.maxInventoryDrop,
    max_delete_growth: limits.maxDeleteGrowth,
  } as const;
  const held = `${current.planned} planned deletions held for approval`;

  const last = carried[0];
  if (last === undefined) {
    // Held in every sweep read: the drop it was held for has not been approved yet.
    if (limits.maxInventoryDrop >= 1) return { held: false, basis: 'history' };
    const oldest = mine[mine.length - 1]?.sweep;
    return {
      held: true,
      hold: {
        ...base,
        checks: ['held_before'],
        reason: `held by the history breaker in each of the last ${mine.length} sweeps (since ${oldest?.sweep_id}) and never approved; ${held}`,
        compared_sweeps: mine.map(({ sweep }) => sweep.sweep_id),
      },
    };
  }

  const checks: TargetHold['checks'] = [];
  const reasons: string[] = [];
  const baseline = Math.max(0, last.entry.inventory - last.entry.planned);
  let drop: number | undefined;
  if (baseline > 0) {
    drop = Math.max(0, (baseline - current.inventory) / baseline);
    if (drop > limits.maxInventoryDrop) {
      checks.push('inventory_drop');
      reasons.push(
        `inventory dropped ${percent(drop)} (${baseline} → ${current.inventory} backups in scope) since sweep ${last.sweep.sweep_id} ${ago(now.getTime() - last.sweep.finished_at)} ago, more than max_inventory_drop ${percent(limits.maxInventoryDrop)}`,
      );
    }
  }
  const window = carried.slice(0, HISTORY_MEDIAN_WINDOW);
  const middle = median(window.map(({ entry }) => entry.planned));
  const allowed = limits.maxDeleteGrowth * Math.max(1, middle);
  if (current.planned > allowed) {
    checks.push('delete_growth');
    reasons.push(
      `${current.planned} planned deletions exceed max_delete_growth ${limits.maxDeleteGrowth} × the median ${middle} of the last ${window.length} sweeps (at most ${Math.floor(allowed)})`,
    );
  }
  if (checks.length === 0) return { held: false, basis: 'history' };
  return {
    held: true,
    hold: {
      ...base,
      checks,
      reason: `${reasons.join('; ')}; ${held}`,
      baseline_inventory: baseline,
      ...(drop === undefined ? {} : { inventory_drop: drop }),
      median_planned: middle,
      compared_sweeps: window.map(({ sweep }) => sweep.sweep_id),
    },
  };
}

/** A target's in-scope backups: the summary's `inventory`, or kept + planned for a summary stored without it. */
function inventoryOf(target: PlannedTarget): number {
  return target.inventory ?? target.kept + target.planned;
}

/**
 * The approval check of the history breaker: reads the policy's last HISTORY_LOOKBACK finished sweeps and
 * answers HISTORY_BREAKER for every target whose plan looks unlike its history. A target whose listing failed
 * plans nothing and is not judged. `onHold` sees each hold with its numbers (the sweep logs them).
 */
export function historyApprovalCheck(
  ledger: Pick<Ledger, 'recentSweeps'>,
  onHold?: (target: string, hold: TargetHold) => void,
): ApprovalCheck {
  return async ({ policy, summary, now }) => {
    const history = await ledger.recentSweeps(policyLockKey(policy), HISTORY_LOOKBACK);
    if (history.length === 0) return [];
    const resolved = new Map(resolveTargets(policy).map((target) => [target.name, target]));
    const needs: ApprovalNeed[] = [];
    for (const target of summary.targets) {
      if (target.failure !== undefined) continue;
      const settings: Partial<ResolvedTarget> = resolved.get(target.name) ?? {};
      const verdict = judgeTargetHistory(
        { name: target.name, inventory: inventoryOf(target), planned: target.planned },
        history,
        {
          maxInventoryDrop: settings.max_inventory_drop ?? DEFAULT_MAX_INVENTORY_DROP,
          maxDeleteGrowth: settings.max_delete_growth ?? DEFAULT_MAX_DELETE_GROWTH,
        },
        now,
      );
      if (!verdict.held) continue;
      onHold?.(target.name, verdict.hold);
      needs.push({ target: target.name, code: HISTORY_BREAKER, reason: verdict.hold.reason });
    }
    return needs;
  };
}

/**
 * What a real run stores for later sweeps of `policy`: per target of its summary (a failed listing's target
 * has no entry), its listing, inventory and planned deletions; `held` for targets whose deletions wait for
 * approval. `only`: an approved run stores just the targets it applied.
 */
export function sweepHistoryOf(
  policy: Pick<Policy, 'targets'>,
  targets: readonly PlannedTarget[],
  held: ReadonlySet<string>,
  only?: ReadonlySet<string>,
): SweepHistory {
  return {
    policy_key: policyLockKey(policy),
    targets: targets
      .filter((target) => target.failure === undefined && (only === undefined || only.has(target.name)))
      .map((target) => ({
        name: target.name,
        listed: target.listed,
        inventory: inventoryOf(target),
        planned: target.planned,
        ...(held.has(target.name) ? { held: true } : {}),
      })),
  };
}
