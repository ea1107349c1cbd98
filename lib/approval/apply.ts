/**
 * Applying an approval: the run deletes the approved plan **intersected with a fresh plan made at apply
 * time** — an approved deletion is sent only when the fresh plan still makes it; every other approved item is
 * skipped with its reason, and nothing outside the approved plan is ever sent (the run's stored plan is this
 * intersection, and the steps delete only what the stored plan holds).
 *
 * Also here: how old a plan may be when approved (`approval.expires_after`, default 24h) and the ids of the
 * records the loop derives from a plan's sweep id.
 */
import { createHash } from 'node:crypto';
import type { CallerIdentity, PlannedItem } from '../ledger/schema.ts';
import type { CalendarDuration } from '../retention/duration.ts';
import type { Policy } from '../retention/policy.ts';
import { type PlannedTarget, type SweepSummary, targetOfItem } from '../sweep/plan-sweep.ts';
import type { Refusal } from '../sweep/report.ts';
import type { ApprovalSkip } from './schema.ts';

/** An approval to apply: the stored plan it names and who gave it when. */
export interface ApprovedPlan {
  /** The stored plan's sweep id (a dry run, or a sweep that ended awaiting approval). */
  readonly sweepId: string;
  readonly planId: string;
  readonly planHash: string;
  readonly items: readonly PlannedItem[];
  readonly approvedBy: CallerIdentity;
  readonly approvedAt: Date;
}

/** What the fresh plan says, as far as the intersection needs it. */
export interface FreshPlan {
  readonly summary: SweepSummary;
  readonly items: readonly PlannedItem[];
  readonly refusals: readonly Refusal[];
  /** The deletion id of every backup the fresh listings hold (for "gone" against "now kept"). */
  readonly listed: ReadonlySet<string>;
}

export interface Intersection {
  /** Approved and still planned: the only deletions the run may send (the fresh plan's copies). */
  readonly run: PlannedItem[];
  readonly skipped: ApprovalSkip[];
  /** The fresh summary with each target's `planned` (and bytes) counting `run` only. */
  readonly summary: SweepSummary;
}

/** approved ∩ fresh, with a reason for every approved item left out. */
export function intersectApproved(approved: readonly PlannedItem[], fresh: FreshPlan): Intersection {
  const names = fresh.summary.targets.map((target) => target.name);
  const freshById = new Map(fresh.items.map((item) => [item.deletion_id, item]));
  const targets = new Map(fresh.summary.targets.map((target) => [target.name, target]));
  const refused = new Set(fresh.refusals.map((refusal) => refusal.target));
  const run: PlannedItem[] = [];
  const skipped: ApprovalSkip[] = [];
  const seen = new Set<string>();
  for (const item of approved) {
    if (seen.has(item.deletion_id)) continue;
    seen.add(item.deletion_id);
    const name = targetOfItem(item, names) ?? '(unknown)';
    const target = targets.get(name);
    const skip = (code: ApprovalSkip['code'], reason: string) =>
      skipped.push({ deletion_id: item.deletion_id, target: name, code, reason });
    if (target?.failure !== undefined) {
      skip(
        'LISTING_FAILED',
        `the fresh listing of ${name} failed (${target.failure.code}): nothing of it is deleted`,
      );
      continue;
    }
    if (refused.has(name)) {
      skip(
        'TARGET_REFUSED',
        `the fresh plan of ${name} is over its max_delete_share: nothing of it is deleted`,
      );
      continue;
    }
    const now = freshById.get(item.deletion_id);
    if (now !== undefined && target !== undefined) run.push(now);
    else if (fresh.listed.has(item.deletion_id)) skip('NOW_KEPT', 'the fresh plan keeps this backup now');
    else skip('GONE', 'the fresh listing no longer has this backup (deleted meanwhile)');
  }
  const counts = new Map<string, { planned: number; bytes: number }>();
  for (const item of run) {
    const name = targetOfItem(item, names) ?? '(unknown)';
    const entry = counts.get(name) ?? { planned: 0, bytes: 0 };
    entry.planned += 1;
    entry.bytes += item.size_bytes ?? 0;
    counts.set(name, entry);
  }
  const summary: SweepSummary = {
    ...fresh.summary,
    targets: fresh.summary.targets.map(
      (target): PlannedTarget => ({
        ...target,
        planned: counts.get(target.name)?.planned ?? 0,
        planned_bytes: counts.get(target.name)?.bytes ?? 0,
      }),
    ),
  };
  return { run, skipped, summary };
}

/** `approval.expires_after` when nothing sets it. */
export const DEFAULT_APPROVAL_EXPIRY_TEXT = '24h';
const DEFAULT_EXPIRY = { years: 0, months: 0, days: 0, hours: 24 } as const;

/** The approval settings of one target: its own `approval`, else the policy's. */
export function approvalSettingsOf(policy: Policy, targetName: string) {
  return policy.targets.find((target) => target.name === targetName)?.approval ?? policy.approval;
}

/** `at` plus a calendar duration, on the UTC calendar (years, months and days first, then hours). */
function addDuration(at: Date, duration: CalendarDuration): Date {
  const shifted = Date.UTC(
    at.getUTCFullYear() + duration.years,
    at.getUTCMonth() + duration.months,
    at.getUTCDate() + duration.days,
    at.getUTCHours(),
    at.getUTCMinutes(),
    at.getUTCSeconds(),
    at.getUTCMilliseconds(),
  );
  return new Date(shifted + duration.hours * 3_600_000);
}

/**
 * When an approval of a plan made at `plannedAt` over `targetNames` stops being accepted: the earliest
 * expiry of those targets' `approval.expires_after` (default 24h).
 */
export function approvalExpiresAt(policy: Policy, targetNames: readonly string[], plannedAt: Date): Date {
  const names = targetNames.length > 0 ? targetNames : policy.targets.map((target) => target.name);
  let earliest: Date | undefined;
  for (const name of names) {
    const expiresAt = addDuration(
      plannedAt,
      approvalSettingsOf(policy, name)?.expires_after ?? DEFAULT_EXPIRY,
    );
    if (earliest === undefined || expiresAt < earliest) earliest = expiresAt;
  }
  return earliest ?? addDuration(plannedAt, DEFAULT_EXPIRY);
}

const SWEEP_ID_MAX = 128;

/** `<sweepId><suffix>`, shortened with a digest of the id when that would pass the sweep id's 128 characters. */
function derivedId(sweepId: string, suffix: string): string {
  const plain = `${sweepId}${suffix}`;
  if (plain.length <= SWEEP_ID_MAX) return plain;
  const digest = createHash('sha256').update(sweepId).digest('hex').slice(0, 16);
  return `${sweepId.slice(0, SWEEP_ID_MAX - suffix.length - 17)}-${digest}${suffix}`;
}

/** The run that applies an approval of plan `sweepId`: one per plan (its creation is the conditional write). */
export function applySweepId(sweepId: string): string {
  return derivedId(sweepId, '.apply');
}

/** Where a sweep stores the part of its plan that waits for approval while its other targets proceed. */
export function awaitingSweepId(sweepId: string): string {
  return derivedId(sweepId, '.approval');
}
