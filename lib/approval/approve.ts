/**
 * Approving a stored plan and applying it — the one path for `POST /sweeps/{sweep_id}/approve` and
 * `npm run sweep -- --plan FILE --approve HASH`:
 *
 *   the plan (a dry run, or a sweep that ended awaiting approval) → the hash given must be its plan_hash
 *   (409 PLAN_HASH_MISMATCH) → the policy must be the one it was made with (409 POLICY_CHANGED) → it must
 *   not be older than `approval.expires_after` (410 APPROVAL_EXPIRED) → its run must not exist yet (409
 *   ALREADY_APPROVED) → runSweep with `approved`: under the policy's sweep lock, a fresh plan, approved ∩
 *   fresh stored as the run `<sweep_id>.apply` (created once: the conditional write two racing approvals
 *   contend for; the loser sends nothing), then the usual inline or queued fan-out through the lifecycle.
 *
 * Nothing is sent before every check passed, and only the intersection is ever sent.
 */
import type { CallerIdentity } from '../ledger/schema.ts';
import type { Policy } from '../retention/policy.ts';
import { SweepSummarySchema } from '../sweep/plan-sweep.ts';
import type { SweepReport } from '../sweep/report.ts';
import { runSweep, type SweepDeps } from '../sweep/sweep.ts';
import { applySweepId, approvalExpiresAt } from './apply.ts';
import { ApprovalError } from './errors.ts';
import { planHash } from './plan-hash.ts';

export interface ApproveSweepInput {
  /** The stored plan's sweep id. */
  readonly sweepId: string;
  /** The hash the approver reviewed. */
  readonly planHash: string;
  readonly approvedBy: CallerIdentity;
  /** The policy to apply it with: the configured one (HTTP) or the saved plan's (CLI). */
  readonly policy: Policy;
  /** Approval time, and the fresh plan's `now`. */
  readonly now: Date;
}

/** Checks the approval (see the module comment) and applies it; resolves with the run's report. */
export async function approveSweep(input: ApproveSweepInput, deps: SweepDeps): Promise<SweepReport> {
  const stored = await deps.ledger.getSweep(input.sweepId);
  if (stored === undefined) {
    throw new ApprovalError('PLAN_NOT_FOUND', `no stored plan has the sweep id ${input.sweepId}`, {
      sweep_id: input.sweepId,
    });
  }
  const { sweep, items } = stored;
  const storedHash = sweep.plan_hash;
  if (storedHash === undefined || !(sweep.dry_run || sweep.status === 'awaiting_approval')) {
    throw new ApprovalError(
      'NOT_APPROVABLE',
      `sweep ${input.sweepId} holds no plan to approve (only dry runs and sweeps awaiting approval do)`,
      { sweep_id: input.sweepId },
    );
  }
  if (input.planHash !== storedHash) {
    throw new ApprovalError(
      'PLAN_HASH_MISMATCH',
      `the plan_hash given is not the hash of plan ${input.sweepId}: nothing was approved or deleted (review the plan and approve its hash)`,
      { sweep_id: input.sweepId, given: input.planHash },
    );
  }
  if (planHash(input.policy, items) !== storedHash) {
    throw new ApprovalError(
      'POLICY_CHANGED',
      `the policy is not the one plan ${input.sweepId} was made with: nothing was approved or deleted (plan again)`,
      { sweep_id: input.sweepId },
    );
  }
  const summary = SweepSummarySchema.parse(sweep.summary);
  const names = summary.targets.map((target) => target.name);
  const expiresAt = approvalExpiresAt(input.policy, names, new Date(summary.generated_at));
  if (input.now.getTime() > expiresAt.getTime()) {
    throw new ApprovalError(
      'APPROVAL_EXPIRED',
      `plan ${input.sweepId} was made at ${summary.generated_at}; approvals were accepted until ${expiresAt.toISOString()} (approval.expires_after): plan again`,
      { sweep_id: input.sweepId, expires_at: expiresAt.toISOString() },
    );
  }
  const runId = applySweepId(input.sweepId);
  const run = await deps.ledger.getSweep(runId);
  if (run !== undefined) {
    throw new ApprovalError('ALREADY_APPROVED', `plan ${input.sweepId} was approved before; it runs once`, {
      sweep_id: input.sweepId,
      run_sweep_id: runId,
    });
  }
  return runSweep(
    {
      policy: input.policy,
      sweepId: runId,
      dryRun: false,
      ...(names.length > 0 ? { targetFilter: names } : {}),
      now: input.now,
      requestedBy: input.approvedBy,
      approved: {
        sweepId: input.sweepId,
        planId: sweep.plan_id ?? input.sweepId,
        planHash: storedHash,
        items,
        approvedBy: input.approvedBy,
        approvedAt: input.now,
      },
    },
    deps,
  );
}
