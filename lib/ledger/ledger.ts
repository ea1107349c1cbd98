/**
 * The `Ledger` interface and the pure record logic every store shares: building a new record, deciding
 * whether an existing one may be re-armed, and applying a transition. Stores only add atomicity.
 */
import { BUDGETS } from '../budgets.ts';
import { IllegalTransitionError, LedgerConflictError } from './errors.ts';
import {
  type BeginResult,
  COMPLETED_OUTCOMES,
  canonicalTarget,
  type DeletionPatch,
  DeletionPatchSchema,
  type DeletionRecord,
  type DeletionStatus,
  deletionId,
  isAllowedTransition,
  type NewDeletion,
  NewDeletionSchema,
  type NewSweepPlan,
  type SweepHistoryEntry,
  type SweepRecord,
  type SweepWithItems,
  type TransitionRequest,
} from './schema.ts';

/**
 * The at-most-once protocol for callers (HTTP functions, sweep, worker):
 *   1. `beginDeletion(...)` — records the intent (or finds the existing record).
 *   2. `transition(id, { from: ['requested'], to: 'sent' })` BEFORE sending the upstream DELETE. This conditional
 *      write is the claim: exactly one caller wins it, and only the winner sends. `requested` therefore always
 *      means "no DELETE sent", so a record left in `requested` by a crash can be claimed again safely.
 *   3. After the response: `sent → accepted | running | done | gone | failed` with the upstream request id.
 * A record left in `sent` by a crash (DELETE maybe sent) is resolved by asking upstream, never by resending.
 */
export interface Ledger {
  /**
   * Records the intent to delete, keyed by the deterministic deletion id. `created: true` means the caller owns
   * this attempt and may send the upstream DELETE; `created: false` returns the record that already exists
   * (in flight, or finished within the idempotency window) and the caller must not send anything.
   * A `failed` record is re-armed (→ requested, history kept); a `done`/`gone` record older than the window is
   * replaced by a fresh one.
   */
  beginDeletion(input: NewDeletion): Promise<BeginResult>;
  /** Moves a deletion if its current status is in `from`; LedgerConflictError otherwise, LedgerNotFoundError if absent. */
  transition(id: string, request: TransitionRequest): Promise<DeletionRecord>;
  get(id: string): Promise<DeletionRecord | undefined>;
  /** Every deletion recorded with this sweep id (any order). */
  listBySweep(sweepId: string): Promise<DeletionRecord[]>;
  /** Stores the plan once: a second call for the same sweep id returns the existing one (`created: false`). */
  putSweepPlan(plan: NewSweepPlan): Promise<{ created: boolean; sweep: SweepRecord }>;
  getSweep(sweepId: string): Promise<SweepWithItems | undefined>;
  /** Marks the sweep finished with its report (allowed again: a resumed sweep re-reports). */
  finishSweep(sweepId: string, report: Record<string, unknown>): Promise<SweepRecord>;
  /**
   * The policy's last `limit` finished real sweeps that ran to their end (report status in
   * COMPLETED_OUTCOMES) and stored a history, newest first.
   */
  recentSweeps(policyKey: string, limit: number): Promise<SweepHistoryEntry[]>;
}

export interface LedgerOptions {
  /** Clock (epoch ms); injected for tests. */
  readonly now?: () => number;
  /** How long a finished deletion blocks a new one for the same target. Default 24 h. */
  readonly idempotencyWindowMs?: number;
  /** How long records are kept (DynamoDB TTL `expires_at`). Default 400 days. */
  readonly retentionDays?: number;
}

export const DEFAULT_IDEMPOTENCY_WINDOW_MS = BUDGETS.idempotencyWindowMs;
export const DEFAULT_RETENTION_DAYS = 400;

export interface ResolvedLedgerOptions {
  readonly now: () => number;
  readonly idempotencyWindowMs: number;
  readonly retentionDays: number;
}

export function resolveOptions(options: LedgerOptions = {}): ResolvedLedgerOptions {
  return {
    now: options.now ?? Date.now,
    idempotencyWindowMs: options.idempotencyWindowMs ?? DEFAULT_IDEMPOTENCY_WINDOW_MS,
    retentionDays: options.retentionDays ?? DEFAULT_RETENTION_DAYS,
  };
}

/**
 * A finished sweep as a history entry, or undefined when it does not count: a dry run, no stored history, not
 * finished, or a report status other than COMPLETED_OUTCOMES.
 */
export function historyEntryOf(
  sweep: Pick<SweepRecord, 'sweep_id' | 'dry_run' | 'status' | 'finished_at' | 'history' | 'report'>,
): SweepHistoryEntry | undefined {
  const outcome = sweep.report?.status;
  if (sweep.dry_run || sweep.history === undefined || sweep.status !== 'finished') return undefined;
  if (typeof outcome !== 'string' || !COMPLETED_OUTCOMES.includes(outcome)) return undefined;
  return {
    sweep_id: sweep.sweep_id,
    finished_at: sweep.finished_at ?? 0,
    outcome,
    targets: sweep.history.targets,
  };
}

/** The optional plan fields a new sweep record copies from its plan (absent ones stay absent). */
export function sweepPlanFields(
  plan: Pick<NewSweepPlan, 'plan_id' | 'plan_hash' | 'approval'>,
): Pick<SweepRecord, 'plan_id' | 'plan_hash' | 'approval'> {
  return {
    ...(plan.plan_id === undefined ? {} : { plan_id: plan.plan_id }),
    ...(plan.plan_hash === undefined ? {} : { plan_hash: plan.plan_hash }),
    ...(plan.approval === undefined ? {} : { approval: plan.approval }),
  };
}

/** DynamoDB TTL value (epoch seconds) for a record written at `now`. */
export function expiresAt(now: number, retentionDays: number): number {
  return Math.floor(now / 1000) + retentionDays * 24 * 60 * 60;
}

export function newDeletionRecord(input: NewDeletion, now: number): DeletionRecord {
  const parsed = NewDeletionSchema.parse(input);
  return {
    ...parsed,
    target: canonicalTarget(parsed.target),
    id: deletionId(parsed.service, parsed.region, parsed.project_id, parsed.target),
    status: 'requested',
    attempts: 0,
    upstream_request_ids: [],
    history: [{ status: 'requested', at: now }],
    created_at: now,
    updated_at: now,
    version: 1,
  };
}

export type RearmDecision = { kind: 'keep' } | { kind: 'rearm'; record: DeletionRecord };

/**
 * What `beginDeletion` does with an existing record: keep it (in flight, finished within the window, or
 * refused for good) or replace it — a failed one becomes `requested` again with its history; a finished one
 * older than the window starts over. A finished DIS deletion always starts over: a consumer can commit the
 * checkpoint again, and deleting a DIS checkpoint is idempotent upstream, so a repeat is a new DELETE.
 */
export function decideRearm(
  existing: DeletionRecord,
  fresh: DeletionRecord,
  now: number,
  windowMs: number,
): RearmDecision {
  if (existing.status === 'failed') {
    if (existing.error?.permanent === true) return { kind: 'keep' };
    const note = fresh.sweep_id === undefined ? 'retry' : `retry by sweep ${fresh.sweep_id}`;
    return {
      kind: 'rearm',
      record: {
        ...existing,
        requested_by: fresh.requested_by,
        ...(fresh.sweep_id === undefined ? {} : { sweep_id: fresh.sweep_id }),
        status: 'requested',
        error: undefined,
        history: [...existing.history, { status: 'requested', at: now, note }],
        updated_at: now,
        version: existing.version + 1,
      },
    };
  }
  const finished = existing.status === 'done' || existing.status === 'gone';
  if (finished && (existing.service === 'dis' || existing.updated_at < now - windowMs)) {
    return { kind: 'rearm', record: { ...fresh, version: existing.version + 1 } };
  }
  return { kind: 'keep' };
}

/** Applies a transition to a record (pure); throws IllegalTransitionError or LedgerConflictError. */
export function applyTransition(
  record: DeletionRecord,
  request: TransitionRequest,
  now: number,
): DeletionRecord {
  assertLegal(request);
  if (!request.from.includes(record.status)) {
    throw new LedgerConflictError(
      record.id,
      `deletion ${record.id} is ${record.status}, expected ${request.from.join('|')}`,
      record.status,
    );
  }
  const patch = DeletionPatchSchema.parse(request.patch ?? {});
  const { upstream_request_id, note, ...fields } = patch;
  const entry = {
    status: request.to,
    at: now,
    ...(note === undefined ? {} : { note }),
    ...(upstream_request_id === undefined ? {} : { upstream_request_id }),
  };
  return {
    ...record,
    ...definedOnly(fields),
    status: request.to,
    attempts: record.attempts + (request.to === 'sent' ? 1 : 0),
    upstream_request_ids:
      upstream_request_id === undefined
        ? record.upstream_request_ids
        : [...record.upstream_request_ids, upstream_request_id],
    history: [...record.history, entry],
    updated_at: now,
    version: record.version + 1,
  };
}

/** Every `from → to` pair must be allowed; checked before any store is touched. */
export function assertLegal(request: TransitionRequest): void {
  if (request.from.length === 0) throw new IllegalTransitionError('(nothing)', request.to);
  for (const from of request.from) {
    if (!isAllowedTransition(from, request.to)) throw new IllegalTransitionError(from, request.to);
  }
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, inner]) => inner !== undefined)) as Partial<T>;
}

/** Drops `undefined` fields so records compare and serialise the same in every store. */
export function cleanRecord(record: DeletionRecord): DeletionRecord {
  return definedOnly(record) as DeletionRecord;
}

export type { DeletionPatch, DeletionStatus };
