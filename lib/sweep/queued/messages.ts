/**
 * The queued fan-out's SQS messages. A message names a deletion of a stored sweep plan, never a backup: the
 * worker looks the item up in the ledger plan, so a forged or stale message can delete nothing outside it.
 *
 *   {v: 1, kind: 'delete', sweep_id, deletion_id, attempt}   → processPlannedDeletion
 *   {v: 1, kind: 'track',  sweep_id, deletion_id, tracking}  → pollPlannedDeletion
 *   {v: 1, kind: 'wake',   lane, limit, step}                → the lane's safety check (semaphore `wake`)
 *
 * `waiting_since` (epoch ms): set on a message parked in its lane's waiting list; its place in line.
 */
import { z } from 'zod';
import { PlannedDeletionTaskSchema, TrackDeletionTaskSchema } from '../step.ts';

/**
 * `hop`: the message's place in its item's chain (0 for the sweep's message, +1 for every follow-up). The worker
 * lets one message per (deletion, hop) through, so duplicate chains (a redelivered message, a sweep enqueued
 * twice) merge at their next hop instead of multiplying.
 */
const Hop = z.int().nonnegative().default(0);
const WaitingSince = z.int().nonnegative().optional();
export const DeleteMessageSchema = PlannedDeletionTaskSchema.extend({
  v: z.literal(1),
  kind: z.literal('delete'),
  hop: Hop,
  waiting_since: WaitingSince,
});
export const TrackMessageSchema = TrackDeletionTaskSchema.extend({
  v: z.literal(1),
  kind: z.literal('track'),
  hop: Hop,
  waiting_since: WaitingSince,
});
export const QueuedMessageSchema = z.discriminatedUnion('kind', [DeleteMessageSchema, TrackMessageSchema]);
export type QueuedMessage = z.output<typeof QueuedMessageSchema>;

/** The lane's safety check; `step` counts the checks in a row (the delay grows with it). */
export const WakeMessageSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('wake'),
  lane: z.string().min(1),
  limit: z.int().positive(),
  step: z.int().nonnegative(),
  hop: Hop,
});
export type WakeMessage = z.output<typeof WakeMessageSchema>;

export const WorkerMessageSchema = z.discriminatedUnion('kind', [
  DeleteMessageSchema,
  TrackMessageSchema,
  WakeMessageSchema,
]);
export type WorkerMessage = z.output<typeof WorkerMessageSchema>;

/** SQS caps DelaySeconds at 900 (15 min). */
export const MAX_DELAY_SECONDS = 900;

/** One message to send, with its delay. */
export interface OutgoingMessage {
  readonly message: WorkerMessage;
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

export function encodeMessage(message: WorkerMessage): string {
  return JSON.stringify(WorkerMessageSchema.parse(message));
}

/** Parses a deletion message body (delete / track); undefined otherwise. */
export function decodeMessage(body: string): QueuedMessage | undefined {
  const message = decodeWorkerMessage(body);
  return message === undefined || message.kind === 'wake' ? undefined : message;
}

/** Parses any worker message body; undefined when it is not one of ours (it goes to the DLQ after its receives). */
export function decodeWorkerMessage(body: string): WorkerMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return undefined;
  }
  const parsed = WorkerMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
