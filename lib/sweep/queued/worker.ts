/**
 * The delete-worker's batch processing: each SQS message runs one step of lib/sweep/step.ts — the same
 * `processPlannedDeletion` / `pollPlannedDeletion` inline mode runs — inside a slot of the cross-invocation lane
 * semaphore, and turns what the step says into at most one follow-up message instead of a wait:
 *
 *   finished        → release the slot; the ledger holds the outcome (the report is assembled from it)
 *   track           → a `track` message delayed by decideAfterPoll's delay; CSBS keeps its slot (lease
 *                     extended past the delay) until tracking ends, the others release it
 *   retry           → the `delete` message again with the next attempt, delayed
 *   throttled       → pause the lane for Retry-After, the same message again after it; the item never fails
 *   no slot         → the same message again after a short delay (never failed, never dropped)
 *   in flight elsewhere → the same message again later: whoever holds it finishes it, or it goes stale and the
 *                     step resolves it by asking upstream (a crashed worker's DELETE is never resent)
 *
 * A follow-up is sent before the message is acknowledged; if sending fails, or anything throws (ledger down,
 * a bug), the message is reported in `batchItemFailures` and SQS redelivers it. Redelivery is safe: the step
 * reads the ledger first and executeDeletion's conditional writes let only one caller send a DELETE.
 */
import { BUDGETS } from '../../budgets.ts';
import type { Logger } from '../../logger.ts';
import type { BackupService } from '../../services/backup.ts';
import { DEFAULT_LANE_LIMITS, type LaneLimits, laneKey, limitOfLanes } from '../lanes.ts';
import type { ItemOutcome } from '../report.ts';
import {
  type PlanLookup,
  pollPlannedDeletion,
  processPlannedDeletion,
  type StepDeps,
  type StepResult,
} from '../step.ts';
import type { MessageSender } from './enqueue.ts';
import { decodeMessage, delaySecondsOf, type OutgoingMessage, type QueuedMessage } from './messages.ts';
import { DEFAULT_SLOT_WAIT_MS, type LaneSemaphore } from './semaphore.ts';

export interface QueuedWorkerDeps {
  readonly steps: StepDeps;
  /** The sweep's stored plan (lib/sweep/step.ts `ledgerPlanLookup(ledger)`). */
  readonly planOf: (sweepId: string) => PlanLookup;
  readonly semaphore: LaneSemaphore;
  readonly sender: MessageSender;
  readonly laneLimits?: LaneLimits | undefined;
  /** Services whose slot is held from the DELETE until tracking ends. Default: csbs (as inline mode). */
  readonly holdSlotDuring?: readonly BackupService[] | undefined;
  /** A slot's lease beyond the next expected message (a crashed worker's slot frees after it). Default 5 min. */
  readonly leaseMs?: number | undefined;
  /** Wait before trying again when no slot is free (jittered up to 2x). Default 2 s. */
  readonly slotWaitMs?: number | undefined;
  /** Wait before looking again at a deletion another caller holds. Default 60 s. */
  readonly inFlightRecheckMs?: number | undefined;
  /** Lane pause after throttling without a Retry-After. Default 2 s. */
  readonly throttlePauseMs?: number | undefined;
  /** How long a (deletion, hop) stays claimed by the message that took it. Default 20 min (> SQS's 15-min delay). */
  readonly hopClaimMs?: number | undefined;
  readonly random?: (() => number) | undefined;
  readonly onOutcome?: ((outcome: ItemOutcome, message: QueuedMessage) => void) | undefined;
  /** Observes every message's step result, or `no-slot` (tests, metrics). Must not throw. */
  readonly onStep?:
    | ((message: QueuedMessage, result: StepResult | { kind: 'no-slot' | 'duplicate' }) => void)
    | undefined;
  readonly logger?: Pick<Logger, 'warn'> | undefined;
}

/** The parts of an SQS record the worker reads. */
export interface QueuedRecord {
  readonly messageId: string;
  readonly body: string;
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export const DEFAULT_LEASE_MS = BUDGETS.laneLeaseMs;
const DEFAULT_IN_FLIGHT_RECHECK_MS = BUDGETS.inFlightRecheckMs;
const DEFAULT_THROTTLE_PAUSE_MS = BUDGETS.queuedThrottlePauseMs;
const DEFAULT_HOP_CLAIM_MS = BUDGETS.hopClaimMs;

/** What one message leads to: a follow-up to send, then (only once it is sent) a slot to release. */
interface Plan {
  readonly followUp?: OutgoingMessage | undefined;
  readonly release?: (() => Promise<void>) | undefined;
}

function again(message: QueuedMessage, delayMs: number): OutgoingMessage {
  return { message: { ...message, hop: message.hop + 1 }, delaySeconds: delaySecondsOf(delayMs) };
}

async function handle(message: QueuedMessage, messageId: string, deps: QueuedWorkerDeps): Promise<Plan> {
  const random = deps.random ?? Math.random;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  // One message per (deletion, hop): a duplicate of a hop already taken by another message is dropped, so
  // duplicate chains merge. The same message redelivered (same id, after a crash) takes its hop again.
  const hopKey = `${message.deletion_id}#${message.hop}`;
  if (!(await deps.semaphore.claim(hopKey, messageId, deps.hopClaimMs ?? DEFAULT_HOP_CLAIM_MS))) {
    deps.onStep?.(message, { kind: 'duplicate' });
    return {};
  }
  const plan = deps.planOf(message.sweep_id);
  const item = await plan(message.deletion_id);
  if (item === undefined) {
    deps.logger?.warn('queued deletion not in its sweep plan; dropped', {
      sweep_id: message.sweep_id,
      deletion_id: message.deletion_id,
    });
    return {};
  }
  const lane = laneKey(item.service, item.project_id);
  const limit = limitOfLanes(deps.laneLimits ?? DEFAULT_LANE_LIMITS)(lane);
  const hold = new Set<string>(deps.holdSlotDuring ?? ['csbs']).has(item.service);
  const holder = message.deletion_id;

  const slot = await deps.semaphore.acquire(lane, holder, limit, leaseMs);
  if (!slot.ok) {
    deps.onStep?.(message, { kind: 'no-slot' });
    const wait = slot.retryAfterMs ?? (deps.slotWaitMs ?? DEFAULT_SLOT_WAIT_MS) * (1 + random());
    return { followUp: again(message, wait) };
  }
  const release = () => deps.semaphore.release(lane, holder);

  let result: StepResult;
  try {
    result =
      message.kind === 'delete'
        ? await processPlannedDeletion(
            { sweep_id: message.sweep_id, deletion_id: message.deletion_id, attempt: message.attempt },
            plan,
            deps.steps,
          )
        : await pollPlannedDeletion(
            { sweep_id: message.sweep_id, deletion_id: message.deletion_id, tracking: message.tracking },
            plan,
            deps.steps,
          );
  } catch (error) {
    // A held slot may cover a DELETE that went out before the failure: its lease ends it, or the redelivery
    // refreshes it. A slot that only covered the call itself is free again.
    if (!hold) await release().catch(() => undefined);
    throw error;
  }

  deps.onStep?.(message, result);
  switch (result.kind) {
    case 'finished': {
      if (result.outcome.code === 'IN_FLIGHT_ELSEWHERE') {
        const followUp = again(message, deps.inFlightRecheckMs ?? DEFAULT_IN_FLIGHT_RECHECK_MS);
        // A refreshed slot is this deletion's own (a redelivered or duplicate message): keep it.
        return slot.refreshed ? { followUp } : { followUp, release };
      }
      try {
        deps.onOutcome?.(result.outcome, message);
      } catch {
        // Observers must not fail the message.
      }
      return { release };
    }
    case 'track': {
      const followUp: OutgoingMessage = {
        message: {
          v: 1,
          kind: 'track',
          sweep_id: message.sweep_id,
          deletion_id: message.deletion_id,
          tracking: result.tracking,
          hop: message.hop + 1,
        },
        delaySeconds: delaySecondsOf(result.delayMs),
      };
      if (!hold) return { followUp, release };
      await extendLease(deps, lane, holder, limit, leaseMs + followUp.delaySeconds * 1000);
      return { followUp };
    }
    case 'retry': {
      const next: QueuedMessage = {
        v: 1,
        kind: 'delete',
        sweep_id: message.sweep_id,
        deletion_id: message.deletion_id,
        attempt: result.attempt,
        hop: message.hop,
      };
      return { followUp: again(next, result.delayMs), release };
    }
    case 'throttled': {
      const pauseMs =
        result.retryAfterMs ?? (deps.throttlePauseMs ?? DEFAULT_THROTTLE_PAUSE_MS) * (1 + random());
      await deps.semaphore.pause(lane, pauseMs);
      const same: QueuedMessage =
        message.kind === 'track' ? { ...message, tracking: result.tracking ?? message.tracking } : message;
      const followUp = again(same, pauseMs);
      // A throttled poll of a held deletion: the deletion is still running upstream, keep its slot.
      if (hold && message.kind === 'track') {
        await extendLease(deps, lane, holder, limit, leaseMs + followUp.delaySeconds * 1000);
        return { followUp };
      }
      return { followUp, release };
    }
  }
}

async function extendLease(
  deps: QueuedWorkerDeps,
  lane: string,
  holder: string,
  limit: number,
  leaseMs: number,
): Promise<void> {
  const extended = await deps.semaphore.acquire(lane, holder, limit, leaseMs);
  if (!extended.ok) {
    deps.logger?.warn('a tracked deletion lost its lane slot (lease expired and the lane is full)', {
      lane,
      deletion_id: holder,
    });
  }
}

/**
 * Processes one SQS batch; the response lists the messages SQS must deliver again. Messages of a batch run
 * concurrently (the semaphore bounds each lane); follow-ups go out in one SendMessageBatch round.
 */
export async function processQueuedBatch(
  records: readonly QueuedRecord[],
  deps: QueuedWorkerDeps,
): Promise<BatchResponse> {
  const failures = new Set<string>();
  const planned = await Promise.all(
    records.map(async (record): Promise<Plan | undefined> => {
      const message = decodeMessage(record.body);
      if (message === undefined) {
        deps.logger?.warn('not a queued sweep message; left for the DLQ', { message_id: record.messageId });
        failures.add(record.messageId);
        return undefined;
      }
      try {
        return await handle(message, record.messageId, deps);
      } catch (error) {
        deps.logger?.warn('queued step failed; SQS will redeliver', {
          message_id: record.messageId,
          deletion_id: message.deletion_id,
          error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
        });
        failures.add(record.messageId);
        return undefined;
      }
    }),
  );
  const outgoing: { record: number; followUp: OutgoingMessage }[] = [];
  planned.forEach((plan, record) => {
    if (plan?.followUp !== undefined) outgoing.push({ record, followUp: plan.followUp });
  });
  if (outgoing.length > 0) {
    let unsent: number[];
    try {
      unsent = await deps.sender.send(outgoing.map((entry) => entry.followUp));
    } catch {
      unsent = outgoing.map((_, index) => index);
    }
    for (const index of unsent) {
      const record = records[(outgoing[index] as { record: number }).record] as QueuedRecord;
      failures.add(record.messageId);
    }
  }
  await Promise.all(
    planned.map(async (plan, index) => {
      const record = records[index] as QueuedRecord;
      if (plan?.release === undefined || failures.has(record.messageId)) return;
      try {
        await plan.release();
      } catch {
        // The lease ends it; the message itself is done.
      }
    }),
  );
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}
