/**
 * The review loop's records: what a sweep report says about approval, what the ledger keeps with an approved
 * run, and the body of `POST /sweeps/{sweep_id}/approve`. Zod schemas are the only source of these types.
 */
import { z } from 'zod';
import { CallerIdentitySchema } from '../ledger/schema.ts';
import { ApprovalNeedSchema } from './decision.ts';

/** `sha256:` and 64 lower-case hex digits. */
export const PlanHashSchema = z
  .string()
  .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256: and 64 lower-case hex digits (the plan_hash of a plan)');

/** Why an approved item was not deleted by the run that applied the approval. */
export const ApprovalSkipCodeSchema = z.enum([
  /** The fresh plan made at apply time keeps it now. */
  'NOW_KEPT',
  /** The fresh listing does not have it any more (deleted meanwhile). */
  'GONE',
  /** Its target's fresh listing failed: nothing of the target is deleted. */
  'LISTING_FAILED',
  /** Its target's fresh plan is over the target's circuit breaker (max_delete_share). */
  'TARGET_REFUSED',
]);
export type ApprovalSkipCode = z.infer<typeof ApprovalSkipCodeSchema>;

export const ApprovalSkipSchema = z.object({
  deletion_id: z.string().min(1),
  target: z.string(),
  code: ApprovalSkipCodeSchema,
  reason: z.string(),
});
export type ApprovalSkip = z.infer<typeof ApprovalSkipSchema>;

/** Kept with the run that applies an approval (its ledger record and its report). */
export const AppliedApprovalSchema = z.object({
  status: z.literal('approved'),
  /** The stored plan that was approved (a dry run, or a sweep that ended awaiting approval). */
  sweep_id: z.string().min(1),
  plan_id: z.string().min(1),
  plan_hash: PlanHashSchema,
  approved_by: CallerIdentitySchema,
  approved_at: z.iso.datetime(),
  /** Deletions in the approved plan. */
  approved: z.int().nonnegative(),
  /** Approved deletions the fresh plan still makes: the only ones this run may send. */
  executed: z.int().nonnegative(),
  skipped: z.array(ApprovalSkipSchema),
});
export type AppliedApproval = z.infer<typeof AppliedApprovalSchema>;

/** A sweep whose plan (or part of it) waits for approval. */
export const AwaitingApprovalSchema = z.object({
  status: z.literal('awaiting'),
  /** The stored plan to approve: `POST /sweeps/{sweep_id}/approve` with `{"plan_hash": ...}`. */
  sweep_id: z.string().min(1),
  plan_id: z.string().min(1),
  plan_hash: PlanHashSchema,
  /** Deletions awaiting approval. */
  items: z.int().nonnegative(),
  /** After this an approval is refused (410 APPROVAL_EXPIRED): plan again. */
  expires_at: z.iso.datetime(),
  targets: z.array(ApprovalNeedSchema),
});
export type AwaitingApproval = z.infer<typeof AwaitingApprovalSchema>;

export const ReportApprovalSchema = z.discriminatedUnion('status', [
  AwaitingApprovalSchema,
  AppliedApprovalSchema,
]);
export type ReportApproval = z.infer<typeof ReportApprovalSchema>;

/** `POST /sweeps/{sweep_id}/approve`: the plan hash the approver reviewed. */
export const ApproveRequestSchema = z.strictObject({ plan_hash: PlanHashSchema });
export type ApproveRequest = z.infer<typeof ApproveRequestSchema>;
