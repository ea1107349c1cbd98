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
 *   no slot         → the message joins the lane's waiting list (semaphore `wait`) and is acknowledged: no
 *                     message and no write until a holder releases and hands its slot over (the waiter's
 *                     message is sent then), or the lane's safety check (`wake` messages, one chain per lane,
 *                     delays growing from WATCH_FIRST_MS to SQS's 15 minutes) finds a slot free
 *   lane paused     → the same message again after the pause
 *   in flight elsewhere → the same message again later: whoever holds it finishes it, or it goes stale and the
 *                     step resolves it by asking upstream (a crashed worker's DELETE is never resent)
 *
 * The item that finishes a sweep's last pending item stores the sweep's report and ends its policy lock
 * (lib/sweep/queued/completion.ts elects exactly one worker).
 *
 * A follow-up is sent before the message is acknowledged; if sending fails, or anything throws (ledger down,
 * a bug), the message is reported in `batchItemFailures` and SQS redelivers it. Redelivery is safe: the step
 * reads the ledger first and executeDeletion's conditional writes let only one caller send a DELETE.
 */
import type { NotifySweepOutcome } from '../../approval/decision.ts';
import { BUDGETS } from '../../budgets.ts';
import type { Logger } from '../../logger.ts';
import { queuedSweepNotice } from '../../notify/queued.ts';
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
import type { SweepLock } from '../sweep-lock.ts';
import type { SweepCompletion } from './completion.ts';
import type { MessageSender } from './enqueue.ts';
import {
  decodeWorkerMessage,
  delaySecondsOf,
  encodeMessage,
  MAX_DELAY_SECONDS,
  type OutgoingMessage,
  type QueuedMessage,
  type WakeMessage,
} from './messages.ts';
import { finalizeQueuedSweep, type QueuedSweepReport } from './report.ts';
import type { LaneSemaphore } from './semaphore.ts';

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
  /** The first safety check of a lane with waiters; later ones double up to 15 min. Default WATCH_FIRST_MS. */
  readonly watchFirstMs?: number | undefined;
  /** How long a handed-over slot waits for its waiter's message. Default HAND_OVER_LEASE_MS. */
  readonly handOverLeaseMs?: number | undefined;
  /** Counts finished items; the last one stores the report (lib/sweep/queued/completion.ts). */
  readonly completion?: SweepCompletion | undefined;
  /** Ends the queued sweep's policy lock with its report. */
  readonly sweepLock?: SweepLock | undefined;
  /** Epoch ms for waiting-list order (default Date.now). */
  readonly now?: (() => number) | undefined;
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
    | ((
        message: QueuedMessage,
        result: StepResult | { kind: 'no-slot' | 'waiting' | 'duplicate' | 'sweep-finished' },
      ) => void)
    | undefined;
  readonly logger?: Pick<Logger, 'warn'> | undefined;
  /**
   * Tells a person how the sweep ended (lib/notify): called once per sweep, by the worker that finishes its
   * last item, after the report is stored; it must not throw (a failure is logged, never redelivered).
   */
  readonly notifySweepOutcome?: NotifySweepOutcome | undefined;
}

/** The parts of an SQS record the worker reads. */
export interface QueuedRecord {
  readonly messageId: string;
  readonly body: string;
  /**
   * SentTimestamp (epoch ms as a string): the same for every copy of a message (redeliveries, a batch run
   * twice), so copies that find the lane full take one place in its waiting list, not one each.
   */
  readonly attributes?: { readonly SentTimestamp?: string | undefined } | undefined;
}

export interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

export const DEFAULT_LEASE_MS = BUDGETS.laneLeaseMs;
const DEFAULT_IN_FLIGHT_RECHECK_MS = BUDGETS.inFlightRecheckMs;
const DEFAULT_THROTTLE_PAUSE_MS = BUDGETS.queuedThrottlePauseMs;
const DEFAULT_HOP_CLAIM_MS = BUDGETS.hopClaimMs;
/**
 * A lane with waiters is checked this long after its first waiter joined, then at doubling delays up to
 * SQS's 15-minute maximum: the safety net for a lost wake-up, one message chain per lane (not per waiter).
 */
export const WATCH_FIRST_MS = 60_000;
/** A slot handed to a waiter stays reserved this long for the waiter's message to arrive. */
export const HAND_OVER_LEASE_MS = 2 * 60_000;
/** A held slot's lease covers the next message's delay plus at least this (queue and handler time). */
const LEASE_MARGIN_MS = 60_000;

/**
 * What one message leads to: a follow-up to send, then (only once it is sent) a slot to release; releasing
 * may hand the slot to a waiter, whose message is returned to be sent.
 */
interface Plan {
  readonly followUp?: OutgoingMessage | undefined;
  readonly release?: (() => Promise<string[]>) | undefined;
  /** Waiters' messages to send at once (the lane's safety check handed them slots). */
  readonly wakeUps?: readonly string[] | undefined;
}

function wakeMessage(
  deps: QueuedWorkerDeps,
  lane: string,
  limit: number,
  step: number,
  hop: number,
): OutgoingMessage {
  const message: WakeMessage = { v: 1, kind: 'wake', lane, limit, step, hop };
  const delayMs = Math.min(
    MAX_DELAY_SECONDS * 1000,
    (deps.watchFirstMs ?? WATCH_FIRST_MS) * 2 ** Math.min(step, 20),
  );
  return { message, delaySeconds: delaySecondsOf(delayMs) };
}

/** The lane's safety check: serve waiters a free slot could take, and check again later while any wait. */
async function handleWake(message: WakeMessage, messageId: string, deps: QueuedWorkerDeps): Promise<Plan> {
  if (!(await deps.semaphore.claim(`wake#${message.lane}#${message.hop}`, messageId, DEFAULT_HOP_CLAIM_MS)))
    return {};
  const woken = await deps.semaphore.wake(
    message.lane,
    message.limit,
    deps.handOverLeaseMs ?? HAND_OVER_LEASE_MS,
  );
  if (!woken.stillWaiting) return { wakeUps: woken.payloads };
  // Served someone: the line moves, look again soon; nobody served: wait longer.
  const step = woken.payloads.length > 0 ? 0 : message.step + 1;
  const next = wakeMessage(deps, message.lane, message.limit, step, message.hop + 1);
  if (!(await deps.semaphore.armWatch(message.lane, next.delaySeconds * 1000)))
    return { wakeUps: woken.payloads };
  return { followUp: next, wakeUps: woken.payloads };
}

/**
 * A waiter's message that lost its hop claim: a stale copy (the item waited twice, after a redelivery). Its
 * waiting entry goes — only while it still holds this message, never an entry the item's live chain parked
 * at the same place since — and a slot handed to it that its live chain has not taken is passed on.
 */
async function staleWakeUp(message: QueuedMessage, body: string, deps: QueuedWorkerDeps): Promise<Plan> {
  const item = await deps.planOf(message.sweep_id)(message.deletion_id);
  if (item === undefined || message.waiting_since === undefined) return {};
  const lane = laneKey(item.service, item.project_id);
  const limit = limitOfLanes(deps.laneLimits ?? DEFAULT_LANE_LIMITS)(lane);
  await deps.semaphore.unwait(lane, message.deletion_id, message.waiting_since, body);
  const passed = await deps.semaphore.releaseTo(
    lane,
    message.deletion_id,
    limit,
    deps.handOverLeaseMs ?? HAND_OVER_LEASE_MS,
    { onlyHanded: true },
  );
  return { wakeUps: passed };
}

/** Counts a finished item; the worker finishing the sweep's last one stores the report and ends the lock. */
async function countFinished(deps: QueuedWorkerDeps, message: QueuedMessage, outcome: ItemOutcome) {
  const completion = deps.completion;
  if (completion === undefined) return;
  const counted = await completion.finished(message.sweep_id, outcome);
  if (!counted.last) return;
  let report: QueuedSweepReport | undefined;
  try {
    report = await finalizeQueuedSweep(
      deps.steps.ledger,
      message.sweep_id,
      await completion.outcomes(message.sweep_id),
    );
  } catch (error) {
    // Not stored: the redelivered message is elected again.
    await completion.reopen(message.sweep_id).catch(() => undefined);
    throw error;
  }
  if (counted.lockKey !== undefined)
    await deps.sweepLock?.release(counted.lockKey, message.sweep_id).catch(() => undefined);
  deps.onStep?.(message, { kind: 'sweep-finished' });
  if (report !== undefined) await notifyQueuedOutcome(deps, report);
}

/** The finished sweep's notice (completed or failures); a problem is logged, the message is not redelivered. */
async function notifyQueuedOutcome(deps: QueuedWorkerDeps, report: QueuedSweepReport): Promise<void> {
  const notify = deps.notifySweepOutcome;
  if (notify === undefined) return;
  try {
    const notice = await queuedSweepNotice(deps.steps.ledger, report, (deps.now ?? Date.now)());
    if (notice !== undefined) await notify(notice);
  } catch (error) {
    deps.logger?.warn('could not send the sweep outcome notice', {
      sweep_id: report.sweep_id,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function again(message: QueuedMessage, delayMs: number): OutgoingMessage {
  const { waiting_since: _place, ...rest } = message;
  return { message: { ...rest, hop: message.hop + 1 }, delaySeconds: delaySecondsOf(delayMs) };
}

async function handle(message: QueuedMessage, record: QueuedRecord, deps: QueuedWorkerDeps): Promise<Plan> {
  const messageId = record.messageId;
  const sentAt = sentAtOf(record);
  const random = deps.random ?? Math.random;
  const leaseMs = deps.leaseMs ?? DEFAULT_LEASE_MS;
  // One message per (deletion, hop): a duplicate of a hop already taken by another message is dropped, so
  // duplicate chains merge. The same message redelivered (same id, after a crash) takes its hop again.
  const hopKey = `${message.deletion_id}#${message.hop}`;
  if (!(await deps.semaphore.claim(hopKey, messageId, deps.hopClaimMs ?? DEFAULT_HOP_CLAIM_MS))) {
    deps.onStep?.(message, { kind: 'duplicate' });
    return message.waiting_since === undefined ? {} : staleWakeUp(message, record.body, deps);
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

  let slot = await deps.semaphore.acquire(lane, holder, limit, leaseMs);
  if (!slot.ok && slot.retryAfterMs !== undefined) {
    // Paused (throttled): everyone waits out the pause; the same message comes back after it.
    deps.onStep?.(message, { kind: 'no-slot' });
    return { followUp: again(message, slot.retryAfterMs) };
  }
  if (!slot.ok) {
    const since = message.waiting_since ?? sentAt ?? (deps.now ?? Date.now)();
    const parked: QueuedMessage = { ...message, hop: message.hop + 1, waiting_since: since };
    slot = await deps.semaphore.wait(lane, holder, since, encodeMessage(parked), limit, leaseMs);
    if (!slot.ok) {
      deps.onStep?.(message, { kind: 'waiting' });
      // One safety check per lane: arm it only when none is due.
      if (slot.watchUntil !== undefined && slot.watchUntil > (deps.now ?? Date.now)()) return {};
      // A new chain's hops start at the current time: its hop claims never collide with an earlier chain's.
      const watch = wakeMessage(deps, lane, limit, 0, Math.floor((deps.now ?? Date.now)()));
      const armed = await deps.semaphore.armWatch(lane, watch.delaySeconds * 1000);
      return armed ? { followUp: watch } : {};
    }
  } else if (message.waiting_since !== undefined) {
    // Woken from the waiting list: leave it (the entry that holds this very message).
    await deps.semaphore.unwait(lane, holder, message.waiting_since, record.body);
  }
  const handOverLeaseMs = deps.handOverLeaseMs ?? HAND_OVER_LEASE_MS;
  const release = () => deps.semaphore.releaseTo(lane, holder, limit, handOverLeaseMs);
  // A held slot stays this deletion's until `followUp` arrives. The acquire above leased it for `leaseMs`; it is
  // extended only when the follow-up comes later than that lease (less the message's own trip) covers.
  const keepSlotUntil = async (followUp: OutgoingMessage): Promise<Plan> => {
    if (followUp.delaySeconds * 1000 + LEASE_MARGIN_MS > leaseMs)
      await extendLease(deps, lane, holder, limit, leaseMs + followUp.delaySeconds * 1000);
    return { followUp };
  };

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
    if (!hold) {
      const handedTo = await release().catch(() => []);
      await sendWakeUps(handedTo, deps);
    }
    throw error;
  }

  deps.onStep?.(message, result);
  switch (result.kind) {
    case 'finished': {
      if (result.outcome.code === 'IN_FLIGHT_ELSEWHERE') {
        const followUp = again(message, deps.inFlightRecheckMs ?? DEFAULT_IN_FLIGHT_RECHECK_MS);
        // Another copy of this message (a duplicate delivery of a handed-over waiter) or another chain is on
        // the deletion. A refreshed slot is this deletion's own: keep it. So is the slot of a held service
        // (CSBS): the other copy's DELETE may be running upstream and tracked under this very holder, so
        // releasing it here would track a running deletion without a slot; its lease ends it otherwise.
        return slot.refreshed || hold ? { followUp } : { followUp, release };
      }
      try {
        deps.onOutcome?.(result.outcome, message);
      } catch {
        // Observers must not fail the message.
      }
      await countFinished(deps, message, result.outcome);
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
      return hold ? keepSlotUntil(followUp) : { followUp, release };
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
      const followUp = again(next, result.delayMs);
      // A held deletion keeps its slot through a retry: the retry may follow a DELETE whose outcome is not
      // known, or another copy's DELETE (a ledger conflict), running upstream and tracked under this holder.
      return hold ? keepSlotUntil(followUp) : { followUp, release };
    }
    case 'throttled': {
      const pauseMs =
        result.retryAfterMs ?? (deps.throttlePauseMs ?? DEFAULT_THROTTLE_PAUSE_MS) * (1 + random());
      await deps.semaphore.pause(lane, pauseMs);
      const same: QueuedMessage =
        message.kind === 'track' ? { ...message, tracking: result.tracking ?? message.tracking } : message;
      const followUp = again(same, pauseMs);
      // A throttled poll of a held deletion: the deletion is still running upstream, keep its slot.
      return hold && message.kind === 'track' ? keepSlotUntil(followUp) : { followUp, release };
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
      const message = decodeWorkerMessage(record.body);
      if (message === undefined) {
        deps.logger?.warn('not a queued sweep message; left for the DLQ', { message_id: record.messageId });
        failures.add(record.messageId);
        return undefined;
      }
      try {
        return message.kind === 'wake'
          ? await handleWake(message, record.messageId, deps)
          : await handle(message, record, deps);
      } catch (error) {
        deps.logger?.warn('queued step failed; SQS will redeliver', {
          message_id: record.messageId,
          ...(message.kind === 'wake' ? { lane: message.lane } : { deletion_id: message.deletion_id }),
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
  const wakeUps: string[] = planned.flatMap((plan) => [...(plan?.wakeUps ?? [])]);
  await Promise.all(
    planned.map(async (plan, index) => {
      const record = records[index] as QueuedRecord;
      if (plan?.release === undefined || failures.has(record.messageId)) return;
      try {
        wakeUps.push(...(await plan.release()));
      } catch {
        // The lease ends it; the message itself is done.
      }
    }),
  );
  await sendWakeUps(wakeUps, deps);
  return { batchItemFailures: [...failures].map((itemIdentifier) => ({ itemIdentifier })) };
}

function sentAtOf(record: QueuedRecord): number | undefined {
  const sent = Number(record.attributes?.SentTimestamp);
  return Number.isSafeInteger(sent) && sent > 0 ? sent : undefined;
}

/**
 * Sends the messages of waiters that were handed a slot. One that cannot be sent is not lost: its waiting
 * entry stays, its handed slot's lease ends, and the lane's safety check serves it again.
 */
async function sendWakeUps(payloads: readonly string[], deps: QueuedWorkerDeps): Promise<void> {
  const messages: OutgoingMessage[] = [];
  for (const payload of payloads) {
    const message = decodeWorkerMessage(payload);
    if (message !== undefined) messages.push({ message, delaySeconds: 0 });
  }
  if (messages.length === 0) return;
  let unsent: number[];
  try {
    unsent = await deps.sender.send(messages);
  } catch {
    unsent = messages.map((_, index) => index);
  }
  if (unsent.length > 0)
    deps.logger?.warn('wake-ups not sent; the lane safety check will serve them', { unsent: unsent.length });
}
