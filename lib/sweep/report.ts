/**
 * The sweep report: what one sweep listed, kept, planned and did, per target and in total. It is logged as one
 * structured line, returned (the body of `POST /sweeps`) and stored with `ledger.finishSweep`.
 */
import { z } from 'zod';
import { ApprovalNeedSchema } from '../approval/decision.ts';
import { PlanHashSchema, ReportApprovalSchema } from '../approval/schema.ts';
import { BackupServiceSchema } from '../services/backup.ts';
import { FanOutDecisionSchema } from './estimate.ts';

/** How one planned deletion ended in this run. `pending`: not finished (the run was aborted); a rerun resumes it. */
export const ItemStatusSchema = z.enum(['deleted', 'already_gone', 'failed', 'skipped', 'pending']);
export type ItemStatus = z.infer<typeof ItemStatusSchema>;

export const ItemOutcomeSchema = z.object({
  deletion_id: z.string(),
  status: ItemStatusSchema,
  /** Stable code for failed and skipped items (e.g. BUSY, TRACKING_TIMEOUT, IN_FLIGHT_ELSEWHERE). */
  code: z.string().optional(),
  reason: z.string().optional(),
  size_bytes: z.number().nonnegative().optional(),
});
export type ItemOutcome = z.infer<typeof ItemOutcomeSchema>;

const Count = z.int().nonnegative();

export const SweepCountsSchema = z.object({
  listed: Count,
  kept: Count,
  planned: Count,
  deleted: Count,
  already_gone: Count,
  failed: Count,
  skipped: Count,
  /** Planned and not finished (aborted run): a rerun with the same sweep id resumes them. */
  pending: Count,
  /** Failures and skips by code. */
  failure_codes: z.record(z.string(), Count),
  skip_codes: z.record(z.string(), Count),
  /** Sum of the sizes of deleted backups, where the service reports sizes. */
  bytes_reclaimed: z.number().nonnegative(),
});
export type SweepCounts = z.infer<typeof SweepCountsSchema>;

/** One (service/region/project) listing that failed after the client's retries. */
export const ListingFailureSchema = z.object({
  /** `<service>/<region>/<project id>` */
  key: z.string(),
  /** The error's stable code (UPSTREAM_UNAVAILABLE, THROTTLED, UPSTREAM_AUTH, UPSTREAM_NETWORK, ...). */
  code: z.string(),
  message: z.string(),
});
export type ListingFailure = z.infer<typeof ListingFailureSchema>;

/** Why a target was not carried out: `LISTING`, a listing it needs failed, so it deleted nothing. */
export const TargetFailureSchema = z.object({
  stage: z.literal('LISTING'),
  /** The first failed listing's code. */
  code: z.string(),
  message: z.string(),
  listings: z.array(ListingFailureSchema),
});
export type TargetFailure = z.infer<typeof TargetFailureSchema>;

export const TargetReportSchema = SweepCountsSchema.extend({
  name: z.string(),
  service: BackupServiceSchema,
  /** Deletions another target's keep rules vetoed (counted in `kept`). */
  kept_by_other_target: Count,
  delete_share: z.number().min(0).max(1),
  max_delete_share: z.number().min(0).max(1),
  /** From the start of the sweep until this target's last item finished. */
  duration_ms: z.number().nonnegative(),
  /** Present when the target failed as a whole (its listing): it planned and deleted nothing. */
  failure: TargetFailureSchema.optional(),
  /**
   * Present when the target's planned deletions wait for approval (see `approval` of the report); in a dry
   * run, what a real run of this plan would wait for (approving the dry run's plan is that approval).
   */
  approval: ApprovalNeedSchema.optional(),
});
export type TargetReport = z.infer<typeof TargetReportSchema>;

export const RefusalSchema = z.object({
  target: z.string(),
  delete_share: z.number(),
  max_delete_share: z.number(),
  planned: Count,
  candidates: Count,
});
export type Refusal = z.infer<typeof RefusalSchema>;

export const SweepReportSchema = z.object({
  sweep_id: z.string(),
  /**
   * completed: every planned item ended deleted/already gone; completed_with_failures: some failed or were
   * skipped, or a target failed as a whole (`targets[].failure`, e.g. its listing); refused: the circuit breaker stopped the sweep before anything was recorded or deleted;
   * aborted: stopped early, a rerun with the same sweep id resumes; queued: handed to the delete-workers;
   * awaiting_approval: every planned deletion waits for approval (lib/approval), nothing was sent.
   */
  status: z.enum([
    'completed',
    'completed_with_failures',
    'refused',
    'aborted',
    'queued',
    'awaiting_approval',
  ]),
  dry_run: z.boolean(),
  /** The plan came from the ledger (a rerun of an existing sweep id), not from a fresh listing. */
  resumed: z.boolean(),
  /** queued: the items went to the sweep queue; status `queued`, every item pending (lib/sweep/queued). */
  mode: z.enum(['inline', 'queued']),
  /** How the fan-out was chosen (sweep mode, estimate, budget) when a queue was configured. */
  fan_out: FanOutDecisionSchema.optional(),
  started_at: z.iso.datetime(),
  finished_at: z.iso.datetime(),
  duration_ms: z.number().nonnegative(),
  totals: SweepCountsSchema,
  targets: z.array(TargetReportSchema),
  refused: z.array(RefusalSchema).optional(),
  /**
   * The plan's id and hash (lib/approval/plan-hash.ts): a dry run's, to approve it; an approved run's, the one
   * it applied; a sweep's that awaits approval, the one to approve (also in `approval`).
   */
  plan_id: z.string().optional(),
  plan_hash: PlanHashSchema.optional(),
  /** What awaits approval (status awaiting), or the approval this run applied (status approved). */
  approval: ReportApprovalSchema.optional(),
});
export type SweepReport = z.infer<typeof SweepReportSchema>;

export function emptyCounts(): SweepCounts {
  return {
    listed: 0,
    kept: 0,
    planned: 0,
    deleted: 0,
    already_gone: 0,
    failed: 0,
    skipped: 0,
    pending: 0,
    failure_codes: {},
    skip_codes: {},
    bytes_reclaimed: 0,
  };
}

/** Adds one item's outcome to the counts (planned is counted from the plan, not here). */
export function countOutcome(counts: SweepCounts, outcome: ItemOutcome): void {
  counts[outcome.status] += 1;
  const code = outcome.code ?? 'UNKNOWN';
  if (outcome.status === 'failed') counts.failure_codes[code] = (counts.failure_codes[code] ?? 0) + 1;
  if (outcome.status === 'skipped') counts.skip_codes[code] = (counts.skip_codes[code] ?? 0) + 1;
  if (outcome.status === 'deleted' && outcome.size_bytes !== undefined)
    counts.bytes_reclaimed += outcome.size_bytes;
}

/** Sums target counts into sweep totals. */
export function sumCounts(parts: readonly SweepCounts[]): SweepCounts {
  const total = emptyCounts();
  for (const part of parts) {
    for (const key of [
      'listed',
      'kept',
      'planned',
      'deleted',
      'already_gone',
      'failed',
      'skipped',
      'pending',
      'bytes_reclaimed',
    ] as const) {
      total[key] += part[key];
    }
    for (const [code, n] of Object.entries(part.failure_codes))
      total.failure_codes[code] = (total.failure_codes[code] ?? 0) + n;
    for (const [code, n] of Object.entries(part.skip_codes))
      total.skip_codes[code] = (total.skip_codes[code] ?? 0) + n;
  }
  return total;
}

/** The run's status from its counts; `failedTargets`: targets that failed as a whole (their listing). */
export function statusOf(totals: SweepCounts, aborted: boolean, failedTargets = 0): SweepReport['status'] {
  if (aborted || totals.pending > 0) return 'aborted';
  return totals.failed > 0 || totals.skipped > 0 || failedTargets > 0
    ? 'completed_with_failures'
    : 'completed';
}
