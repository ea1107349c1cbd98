/**
 * Whether a target of a sweep's plan may delete now or waits for a person's approval, and the outcomes of a
 * sweep worth telling a person about.
 *
 * The hook: a sweep (lib/sweep/sweep.ts) runs every `ApprovalCheck` it is given over its fresh plan, after
 * planning and before anything is stored or sent. A check answers with the targets that need approval, each
 * with a stable code and a sentence for the report. When any target needs approval, those targets' planned
 * deletions are stored as a plan awaiting approval (status `awaiting_approval`, with its plan hash) and are
 * not deleted; the targets no check named proceed as usual. The policy's own switch (`approval.required`) is
 * the check `policyApprovalCheck`, always applied; other checks (a breaker that compares with earlier sweeps)
 * are passed in `SweepDeps.approvalChecks`. A check never sees an approved run (that is the approval).
 *
 * Notices: a sweep calls `SweepDeps.notifySweepOutcome` once at its end with `sweepOutcomeNotice(report)`
 * when that outcome is worth a human (awaiting approval, completed, failures); the default does nothing.
 */
import { z } from 'zod';
import type { PlannedItem } from '../ledger/schema.ts';
import type { Policy } from '../retention/policy.ts';
import type { SweepSummary } from '../sweep/plan-sweep.ts';
import type { SweepReport } from '../sweep/report.ts';

/**
 * Why a target waits: POLICY_REQUIRES_APPROVAL, its policy says `approval.required: true`; HISTORY_BREAKER,
 * its plan differs too much from the earlier sweeps stored in the ledger.
 */
export const ApprovalReasonCodeSchema = z.enum(['POLICY_REQUIRES_APPROVAL', 'HISTORY_BREAKER']);
export type ApprovalReasonCode = z.infer<typeof ApprovalReasonCodeSchema>;

/** One target that needs approval before it deletes anything. */
export const ApprovalNeedSchema = z.object({
  target: z.string().min(1),
  code: ApprovalReasonCodeSchema,
  /** For the report and the notice: what was found, in a sentence (no secrets). */
  reason: z.string().min(1),
});
export type ApprovalNeed = z.infer<typeof ApprovalNeedSchema>;

/** What a check sees: the sweep's fresh plan (summary per target and every planned deletion). */
export interface ApprovalCheckInput {
  readonly sweepId: string;
  readonly policy: Policy;
  /** The planner's `now`. */
  readonly now: Date;
  readonly summary: SweepSummary;
  readonly items: readonly PlannedItem[];
}

/** Answers with the targets that need approval (none: an empty list). A check that throws stops the sweep. */
export type ApprovalCheck = (
  input: ApprovalCheckInput,
) => readonly ApprovalNeed[] | Promise<readonly ApprovalNeed[]>;

/** The targets whose policy (target-level `approval`, else policy-level) says `required: true`. */
export const policyApprovalCheck: ApprovalCheck = ({ policy, summary }) => {
  const byName = new Map(policy.targets.map((target) => [target.name, target]));
  return summary.targets.flatMap((target): ApprovalNeed[] => {
    const approval = byName.get(target.name)?.approval ?? policy.approval;
    if (approval?.required !== true) return [];
    return [
      {
        target: target.name,
        code: 'POLICY_REQUIRES_APPROVAL',
        reason: 'the policy requires an approval of the plan before this target deletes',
      },
    ];
  });
};

/**
 * Every check's needs, one per target (the first check naming a target wins; the policy's check runs first),
 * restricted to targets of the plan that plan at least one deletion: a target with nothing to delete has
 * nothing to approve.
 */
export async function approvalNeeds(
  checks: readonly ApprovalCheck[],
  input: ApprovalCheckInput,
): Promise<ApprovalNeed[]> {
  const planned = new Set(input.summary.targets.filter((target) => target.planned > 0).map((t) => t.name));
  const needs = new Map<string, ApprovalNeed>();
  for (const check of [policyApprovalCheck, ...checks]) {
    for (const need of await check(input)) {
      const parsed = ApprovalNeedSchema.parse(need);
      if (planned.has(parsed.target) && !needs.has(parsed.target)) needs.set(parsed.target, parsed);
    }
  }
  return [...needs.values()];
}

/** The outcomes a person hears about. */
export const SweepOutcomeKindSchema = z.enum(['awaiting_approval', 'completed', 'failed']);
export type SweepOutcomeKind = z.infer<typeof SweepOutcomeKindSchema>;

export interface SweepOutcomeNotice {
  readonly kind: SweepOutcomeKind;
  /** The sweep's report; `report.approval` says what awaits approval (sweep id, plan hash, targets). */
  readonly report: SweepReport;
}

/** Delivers a notice (SNS when deployed, stdout for the CLI); it must not throw for a delivery problem. */
export type NotifySweepOutcome = (notice: SweepOutcomeNotice) => Promise<void>;

/**
 * The notice for a finished run, or undefined when nobody needs to hear of it: dry runs, queued hand-overs
 * (their workers finish later) and aborted runs (the next run resumes them) say nothing.
 */
export function sweepOutcomeNotice(report: SweepReport): SweepOutcomeNotice | undefined {
  if (report.dry_run) return undefined;
  if (report.approval?.status === 'awaiting') return { kind: 'awaiting_approval', report };
  switch (report.status) {
    case 'completed':
      return { kind: 'completed', report };
    case 'completed_with_failures':
    case 'refused':
      return { kind: 'failed', report };
    default:
      return undefined;
  }
}
