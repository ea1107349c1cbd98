/**
 * The queued fan-out's SQS messages. A message names a deletion of a stored sweep plan, never a backup: the
 * worker looks the item up in the ledger plan, so a forged or stale message can delete nothing outside it.
 *
 *   {v: 1, kind: 'delete', sweep_id, deletion_id, attempt}   → processPlannedDeletion
 *   {v: 1, kind: 'track',  sweep_id, deletion_id, tracking}  → pollPlannedDeletion
 */
import { z } from 'zod';
import { BUDGETS } from '../../budgets.ts';
import { PlannedDeletionTaskSchema, TrackDeletionTaskSchema } from '../step.ts';

/**
 * `hop`: the message's place in its item's chain (0 for the sweep's message, +1 for every follow-up). The worker
 * lets one message per (deletion, hop) through, so duplicate chains (a redelivered message, a sweep enqueued
 * twice) merge at their next hop instead of multiplying.
 */
const Hop = z.int().nonnegative().default(0);
export const DeleteMessageSchema = PlannedDeletionTaskSchema.extend({
  v: z.literal(1),
  kind: z.literal('delete'),
  hop: Hop,
});
export const TrackMessageSchema = TrackDeletionTaskSchema.extend({
  v: z.literal(1),
  kind: z.literal('track'),
  hop: Hop,
});
export const QueuedMessageSchema = z.discriminatedUnion('kind', [DeleteMessageSchema, TrackMessageSchema]);
export type QueuedMessage = z.output<typeof QueuedMessageSchema>;

/** SQS caps DelaySeconds at 900 (15 min). */
export const MAX_DELAY_SECONDS = BUDGETS.queueMaxDelayMs / 1000;

/** One message to send, with its delay. */
export interface OutgoingMessage {
  readonly message: QueuedMessage;
  /** Whole seconds, 0..900. */
  readonly delaySeconds: number;
}

/** A delay in ms as SQS DelaySeconds: rounded up (never earlier than asked), capped at 900. */
export function delaySecondsOf(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs <= 0) return 0;
  return Math.min(MAX_DELAY_SECONDS, Math.ceil(delayMs / 1000));
}

export function deleteMessage(sweepId: string, deletionId: string, attempt = 0): QueuedMessage {
  return { v: 1, kind: 'delete', sweep_id: sweepId, deletion_id: deletionId, attempt, hop: 0 };
}

export function encodeMessage(message: QueuedMessage): string {
  return JSON.stringify(QueuedMessageSchema.parse(message));
}

/** Parses a message body; undefined when it is not one of ours (it goes to the DLQ after its receives). */
export function decodeMessage(body: string): QueuedMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = QueuedMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
