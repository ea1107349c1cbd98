/**
 * The cross-invocation lane cap for the HTTP deletion functions: the same lane semaphore as the sweeps
 * (lib/sweep/queued/semaphore.ts — DynamoDB with the DynamoDB ledger, the in-memory twin with the local one),
 * so "at most 5 CSBS deletions of a project in flight" counts every caller at once.
 *
 * A slot's holder is the deletion id (the same id a sweep uses for the same deletion, so a sweep tracking an
 * HTTP-started deletion and the HTTP caller share one slot). Life of a slot taken by an HTTP DELETE:
 *
 *   DELETE /…   no slot free     → 429 LANE_FULL with Retry-After; nothing sent, nothing recorded
 *               slot taken       → the DELETE is sent; then
 *                 CSBS accepted  → the slot stays taken, leased for HTTP_HOLD_LEASE_MS (upstream counts the
 *                                  deletion as a running task until the items are gone)
 *                 anything else  → released at once (done, gone, refused, failed, or an identical request's
 *                                  record answered and nothing was sent)
 *   GET /deletions/{id} polls a held deletion: still running → the lease is extended by HTTP_HOLD_LEASE_MS;
 *               finished → released. A sweep that tracks the same deletion releases it the same way.
 *   Nobody looks (the caller never polls, or the Lambda died mid-call): the lease ends and frees the slot.
 *
 * The lease is a trade-off: a CSBS deletion that runs longer than HTTP_HOLD_LEASE_MS without anyone polling
 * it frees its slot early (upstream then queues the sixth task rather than failing it); a shorter lease
 * would free slots of crashed callers sooner but break the cap for every slow deletion.
 */
import { HttpLayerError } from '../http/errors.ts';
import type { DeletionRecord, LedgerService } from '../ledger/schema.ts';
import { DEFAULT_LANE_LIMITS, type LaneLimits, laneKey, limitOfLanes } from './lanes.ts';
import type { LaneSemaphore } from './queued/semaphore.ts';

/**
 * An HTTP-started CSBS deletion keeps its slot this long after the DELETE (and after every GET that still
 * sees it running). The sweep's tracking ceiling is 30 minutes; a deletion nobody polls for that long is
 * given up on the same way.
 */
export const HTTP_HOLD_LEASE_MS = 30 * 60_000;
/** A slot that only covers the DELETE call itself: longer than the client's whole retry budget. */
export const HTTP_CALL_LEASE_MS = 2 * 60_000;
/** Retry-After of a LANE_FULL answer when the lane is simply full (not paused): about one poll interval. */
export const LANE_FULL_RETRY_AFTER_MS = 10_000;

/** No slot of the lane is free right now: nothing was sent; try again after `retryAfterMs`. */
export class LaneFullError extends HttpLayerError {
  override name = 'LaneFullError';
  readonly retryAfterMs: number;
  constructor(lane: string, limit: number, retryAfterMs: number) {
    super(
      'LANE_FULL',
      429,
      `${limit} deletions of this service and project are already in flight; nothing was sent, retry later`,
      { details: { lane, limit, retry_after_seconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) } },
    );
    this.retryAfterMs = retryAfterMs;
  }
}

export interface GatedDeletion {
  readonly service: LedgerService;
  readonly projectId: string;
  readonly deletionId: string;
}

/** What `around` needs to know of the send's outcome. */
export interface GatedOutcome {
  readonly kind: 'started' | 'done' | 'gone' | 'skipped' | 'failed' | 'unknown';
}

export interface DeletionLaneGate {
  /** Runs `send` inside a slot of the deletion's lane; throws LaneFullError (before sending) when none is free. */
  around<T extends GatedOutcome>(deletion: GatedDeletion, send: () => Promise<T>): Promise<T>;
  /** A read that polled `record`: a finished deletion frees its slot, a running held one extends its lease. */
  observed(record: Pick<DeletionRecord, 'id' | 'service' | 'project_id' | 'status'>): Promise<void>;
}

export interface LaneGateOptions {
  readonly semaphore: LaneSemaphore;
  readonly laneLimits?: LaneLimits | undefined;
  /** Services whose slot is held while the deletion runs upstream. Default: csbs (as the sweeps). */
  readonly holdSlotDuring?: readonly LedgerService[] | undefined;
  readonly holdLeaseMs?: number | undefined;
  readonly callLeaseMs?: number | undefined;
}

const FINAL = new Set(['done', 'gone', 'failed']);

export function laneGate(options: LaneGateOptions): DeletionLaneGate {
  const limitOf = limitOfLanes(options.laneLimits ?? DEFAULT_LANE_LIMITS);
  const hold = new Set<string>(options.holdSlotDuring ?? ['csbs']);
  const holdLeaseMs = options.holdLeaseMs ?? HTTP_HOLD_LEASE_MS;
  const callLeaseMs = options.callLeaseMs ?? HTTP_CALL_LEASE_MS;
  const { semaphore } = options;
  return {
    async around<T extends GatedOutcome>(deletion: GatedDeletion, send: () => Promise<T>): Promise<T> {
      const lane = laneKey(deletion.service, deletion.projectId);
      const limit = limitOf(lane);
      const held = hold.has(deletion.service);
      const slot = await semaphore.acquire(
        lane,
        deletion.deletionId,
        limit,
        held ? holdLeaseMs : callLeaseMs,
      );
      if (!slot.ok) throw new LaneFullError(lane, limit, slot.retryAfterMs ?? LANE_FULL_RETRY_AFTER_MS);
      let outcome: T | undefined;
      try {
        outcome = await send();
        return outcome;
      } finally {
        // `refreshed`: the slot is this deletion's already (an identical request or a sweep is on it): theirs
        // to release. Otherwise only an accepted, still running deletion of a held service keeps the slot,
        // and so does one whose outcome is unknown (the DELETE may have been applied and be running); a throw
        // (ledger down) may have left a DELETE in flight, so a held slot is left to its lease.
        const keep =
          slot.refreshed ||
          (held && (outcome === undefined || outcome.kind === 'started' || outcome.kind === 'unknown'));
        if (!keep) await semaphore.release(lane, deletion.deletionId).catch(() => undefined);
      }
    },
    async observed(record) {
      if (!hold.has(record.service)) return;
      const lane = laneKey(record.service, record.project_id);
      if (FINAL.has(record.status)) await semaphore.release(lane, record.id);
      else if (record.status === 'accepted' || record.status === 'running' || record.status === 'unknown')
        await semaphore.acquire(lane, record.id, limitOf(lane), holdLeaseMs);
    },
  };
}
