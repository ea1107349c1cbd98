/** The ledger's closed error set; lib/errors.ts's table says what each code means to a caller. */
import { AppError } from '../errors.ts';

/** A conditional write lost: the record is not in one of the expected states (or already exists). */
export class LedgerConflictError extends AppError {
  override name = 'LedgerConflictError';
  readonly code = 'LEDGER_CONFLICT';
  readonly id: string;
  /** The status found, when known (`undefined` when the record does not exist). */
  readonly currentStatus: string | undefined;
  constructor(id: string, message: string, currentStatus: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.id = id;
    this.currentStatus = currentStatus;
  }

  override publicDetails(): Record<string, unknown> {
    return { deletion_id: this.id };
  }
}

/** The record to transition does not exist. */
export class LedgerNotFoundError extends AppError {
  override name = 'LedgerNotFoundError';
  readonly code = 'LEDGER_NOT_FOUND';
  readonly id: string;
  constructor(id: string) {
    super(`ledger record ${id} does not exist`);
    this.id = id;
  }
}

/** The store is throttling (DynamoDB ProvisionedThroughputExceeded / ThrottlingException / RequestLimitExceeded). */
export class LedgerThrottledError extends AppError {
  override name = 'LedgerThrottledError';
  readonly code = 'LEDGER_THROTTLED';
}

/** The store failed for another reason (network, permissions, missing table, corrupt local file). */
export class LedgerUnavailableError extends AppError {
  override name = 'LedgerUnavailableError';
  readonly code = 'LEDGER_UNAVAILABLE';
}

/** The requested move is not in ALLOWED_TRANSITIONS (a programming error, found before touching the store). */
export class IllegalTransitionError extends AppError {
  override name = 'IllegalTransitionError';
  readonly code = 'LEDGER_ILLEGAL_TRANSITION';
  readonly from: string;
  readonly to: string;
  constructor(from: string, to: string) {
    super(`a deletion cannot move from ${from} to ${to}`);
    this.from = from;
    this.to = to;
  }
}

/** Another live process holds the local journal's lock: one writer per LEDGER_DIR. */
export class LedgerLockedError extends AppError {
  override name = 'LedgerLockedError';
  readonly code = 'LEDGER_LOCKED';
  /** The pid recorded in the lock file. */
  readonly ownerPid: number | undefined;
  constructor(message: string, ownerPid: number | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.ownerPid = ownerPid;
  }
}
