/** The review loop's closed error set; lib/errors.ts's table says what each code means to a caller. */
import { AppError } from '../errors.ts';

export type ApprovalErrorCode =
  /** The hash given is not the stored plan's: nothing was approved, nothing sent. */
  | 'PLAN_HASH_MISMATCH'
  /** The plan is older than its `approval.expires_after`: plan again. */
  | 'APPROVAL_EXPIRED'
  /** The plan was approved before (its run exists): it runs once. */
  | 'ALREADY_APPROVED'
  /** The configured policy is not the one the plan was made with (its hash no longer matches). */
  | 'POLICY_CHANGED'
  /** The sweep holds no plan to approve (a real run that did not wait for approval). */
  | 'NOT_APPROVABLE'
  /** The sweep's plan waits for approval: a rerun of its id sends nothing; approve it instead. */
  | 'APPROVAL_REQUIRED'
  /** No stored plan has this sweep id. */
  | 'PLAN_NOT_FOUND';

export class ApprovalError extends AppError {
  override name = 'ApprovalError';
  readonly code: ApprovalErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ApprovalErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.code = code;
    this.details = details;
  }

  override publicDetails(): Record<string, unknown> {
    return this.details;
  }
}
