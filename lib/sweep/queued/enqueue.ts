/**
 * Sending queued-mode messages: SendMessageBatch in chunks of 10 (SQS's limit), entries that failed retried
 * with backoff; a sender fault (the entry itself is wrong) is not retried. What still failed is returned by
 * position so the caller decides: the sweep throws (a rerun re-enqueues; the ledger dedupes), the worker
 * leaves the message it was answering unacknowledged so SQS redelivers it.
 */

import { SendMessageBatchCommand, type SQSClient } from '../../aws-sdk.ts';
import { AppError } from '../../errors.ts';
import type { PlannedItem } from '../../ledger/schema.ts';
import { nextDelay } from '../backoff.ts';
import type { SweepCompletion } from './completion.ts';
import { deleteMessage, encodeMessage, type OutgoingMessage } from './messages.ts';

export const SQS_BATCH_SIZE = 10;

/** Where worker follow-ups and sweep fan-out go; `sqsSender` is the real one. */
export interface MessageSender {
  /** Sends every message; resolves with the positions (indexes into `messages`) that could not be sent. */
  send(messages: readonly OutgoingMessage[]): Promise<number[]>;
}

export interface SqsSenderOptions {
  readonly client: Pick<SQSClient, 'send'>;
  readonly queueUrl: string;
  /** Rounds of SendMessageBatch for entries that failed (default 4). */
  readonly maxAttempts?: number;
  /** Backoff between rounds (full jitter); defaults 50 ms and 1 s. */
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export class EnqueueError extends AppError {
  override name = 'EnqueueError';
  readonly code = 'ENQUEUE_FAILED';
  constructor(
    readonly failed: number,
    readonly total: number,
  ) {
    super(`${failed} of ${total} messages could not be sent to the sweep queue`);
  }
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function sendChunk(
  options: SqsSenderOptions,
  chunk: ReadonlyArray<{ index: number; message: OutgoingMessage }>,
): Promise<{ retry: number[]; failed: number[] }> {
  const byId = new Map(chunk.map((entry) => [String(entry.index), entry.index]));
  try {
    const out = await options.client.send(
      new SendMessageBatchCommand({
        QueueUrl: options.queueUrl,
        Entries: chunk.map((entry) => ({
          Id: String(entry.index),
          MessageBody: encodeMessage(entry.message.message),
          DelaySeconds: entry.message.delaySeconds,
        })),
      }),
    );
    const retry: number[] = [];
    const failed: number[] = [];
    for (const entry of out.Failed ?? []) {
      const index = byId.get(entry.Id ?? '');
      if (index === undefined) continue;
      (entry.SenderFault ? failed : retry).push(index);
    }
    // An entry SQS neither confirmed nor listed as failed is treated as failed to send.
    const seen = new Set([
      ...(out.Successful ?? []).map((entry) => entry.Id),
      ...(out.Failed ?? []).map((e) => e.Id),
    ]);
    for (const [id, index] of byId) if (!seen.has(id)) retry.push(index);
    return { retry, failed };
  } catch {
    // The whole call failed (network, throttling, 5xx): every entry is retried.
    return { retry: chunk.map((entry) => entry.index), failed: [] };
  }
}

/** The real sender: SendMessageBatch, chunks of 10 sent in parallel, failed entries retried. */
export function sqsSender(options: SqsSenderOptions): MessageSender {
  const maxAttempts = options.maxAttempts ?? 4;
  const sleep = options.sleep ?? defaultSleep;
  return {
    async send(messages) {
      let pending = messages.map((message, index) => ({ index, message }));
      const failed: number[] = [];
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt >= maxAttempts) {
          failed.push(...pending.map((entry) => entry.index));
          break;
        }
        if (attempt > 0) {
          await sleep(
            nextDelay(attempt - 1, { baseMs: options.baseMs ?? 50, capMs: options.capMs ?? 1_000 }),
          );
        }
        const chunks: (typeof pending)[] = [];
        for (let i = 0; i < pending.length; i += SQS_BATCH_SIZE)
          chunks.push(pending.slice(i, i + SQS_BATCH_SIZE));
        const results = await Promise.all(chunks.map((chunk) => sendChunk(options, chunk)));
        const retry = new Set(results.flatMap((result) => result.retry));
        failed.push(...results.flatMap((result) => result.failed));
        pending = pending.filter((entry) => retry.has(entry.index));
      }
      return failed.sort((a, b) => a - b);
    },
  };
}

/** The sweep's fan-out: one `delete` message per planned item. Throws EnqueueError if any could not be sent. */
export async function enqueueSweep(
  sweepId: string,
  items: readonly Pick<PlannedItem, 'deletion_id'>[],
  sender: MessageSender,
): Promise<number> {
  const messages = items.map((item) => ({
    message: deleteMessage(sweepId, item.deletion_id),
    delaySeconds: 0,
  }));
  const failed = await sender.send(messages);
  if (failed.length > 0) throw new EnqueueError(failed.length, messages.length);
  return messages.length;
}

/**
 * The sweep's queued-mode hook (SweepDeps.fanOut) over a sender. With `completion`, the sweep's item count (and
 * its policy lock) is recorded before the first message goes out, so the worker finishing the last item knows.
 */
export function queuedFanOut(
  sender: MessageSender,
  completion?: SweepCompletion,
): {
  enqueue: (
    sweepId: string,
    items: readonly Pick<PlannedItem, 'deletion_id'>[],
    context?: { readonly lockKey?: string | undefined },
  ) => Promise<number>;
} {
  return {
    async enqueue(sweepId, items, context) {
      const distinct = new Set(items.map((item) => item.deletion_id)).size;
      await completion?.open(sweepId, distinct, context?.lockKey);
      return enqueueSweep(sweepId, items, sender);
    },
  };
}
