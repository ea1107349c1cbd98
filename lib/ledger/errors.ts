/** The ledger's closed error set; the HTTP layer maps these in lib/http/error-response.ts. */

/** A conditional write lost: the record is not in one of the expected states (or already exists). */
export class LedgerConflictError extends Error {
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
}

/** The record to transition does not exist. */
export class LedgerNotFoundError extends Error {
  override name = 'LedgerNotFoundError';
  readonly code = 'LEDGER_NOT_FOUND';
  readonly id: string;
  constructor(id: string) {
    super(`ledger record ${id} does not exist`);
    this.id = id;
  }
}

/** The store is throttling (DynamoDB ProvisionedThroughputExceeded / ThrottlingException / RequestLimitExceeded). */
export class LedgerThrottledError extends Error {
  override name = 'LedgerThrottledError';
  readonly code = 'LEDGER_THROTTLED';
}

/** The store failed for another reason (network, permissions, missing table, corrupt local file). */
export class LedgerUnavailableError extends Error {
  override name = 'LedgerUnavailableError';
  readonly code = 'LEDGER_UNAVAILABLE';
}

/** The requested move is not in ALLOWED_TRANSITIONS (a programming error, found before touching the store). */
export class IllegalTransitionError extends Error {
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
