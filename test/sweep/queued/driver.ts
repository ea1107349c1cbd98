/**
 * Drives the delete-worker handler the way Lambda's SQS event source does: pollers long-poll the local queue,
 * build a real SQS event from the received messages, invoke the handler, and delete the messages it did not
 * list in `batchItemFailures` (those, and every message of a failed or crashed invocation, come back after
 * the visibility timeout).
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LOCAL_SQS_REGION, type LocalSqs } from '../../helpers/local-sqs.ts';
import { lambdaContext } from '../../http/api-event.ts';

export type WorkerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface WorkerLoopOptions {
  readonly sqs: LocalSqs;
  readonly queue: { readonly url: string; readonly arn: string };
  /** A new "container" (handler over fresh dependencies); called again after a crash. */
  readonly container: () => WorkerHandler;
  readonly done: () => Promise<boolean>;
  /** Concurrent pollers (Lambda runs several). Default 3. */
  readonly pollers?: number;
  /** Every batch goes to two invocations at once (at-least-once delivery, the worst case). */
  readonly deliverTwice?: boolean;
  /** Resolves when the current invocation "crashes": it is abandoned, nothing acked, a new container starts. */
  readonly crashed?: () => Promise<void> | undefined;
  readonly deadlineMs?: number;
}

export interface WorkerLoopStats {
  invocations: number;
  received: number;
  acked: number;
  redelivered: number;
  crashes: number;
  maxReceiveCount: number;
}

export function sqsRecord(message: Message, arn: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId as string,
    receiptHandle: message.ReceiptHandle as string,
    body: message.Body as string,
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? '1',
      SentTimestamp: attributes.SentTimestamp ?? String(Date.now()),
      SenderId: attributes.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody as string,
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: LOCAL_SQS_REGION,
  };
}

const NEVER = new Promise<never>(() => undefined);

export async function runWorkers(options: WorkerLoopOptions): Promise<WorkerLoopStats> {
  const stats: WorkerLoopStats = {
    invocations: 0,
    received: 0,
    acked: 0,
    redelivered: 0,
    crashes: 0,
    maxReceiveCount: 0,
  };
  const deadline = Date.now() + (options.deadlineMs ?? 60_000);
  let handler = options.container();
  let finished = false;
  let lastCheck = 0;

  async function invoke(event: SQSEvent): Promise<Set<string> | 'crashed'> {
    const crash = options.crashed?.();
    const current = handler;
    const calls = options.deliverTwice
      ? [current(event, lambdaContext()), current(event, lambdaContext())]
      : [current(event, lambdaContext())];
    stats.invocations += calls.length;
    const outcome = await Promise.race([
      Promise.allSettled(calls),
      crash === undefined ? NEVER : crash.then(() => 'crashed' as const),
    ]);
    if (outcome === 'crashed') {
      stats.crashes += 1;
      handler = options.container();
      return 'crashed';
    }
    const failed = new Set<string>();
    for (const result of outcome) {
      if (result.status === 'rejected') {
        for (const record of event.Records) failed.add(record.messageId);
      } else {
        for (const failure of result.value.batchItemFailures) failed.add(failure.itemIdentifier);
      }
    }
    return failed;
  }

  async function poller(): Promise<void> {
    while (!finished) {
      if (Date.now() > deadline)
        throw new Error(`workers did not finish within ${options.deadlineMs ?? 60_000} ms`);
      const out = await options.sqs.client.send(
        new ReceiveMessageCommand({
          QueueUrl: options.queue.url,
          MaxNumberOfMessages: 10,
          // local-aws-sqs answers a long poll only when it has 10 messages or the wait is over (real SQS answers
          // as soon as any arrive): poll short and pause briefly when empty, which is what long polling gives.
          WaitTimeSeconds: 0,
          AttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0 || Date.now() - lastCheck > 1_000) {
        lastCheck = Date.now();
        if (await options.done()) finished = true;
      }
      if (messages.length === 0) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      stats.received += messages.length;
      for (const message of messages) {
        stats.maxReceiveCount = Math.max(
          stats.maxReceiveCount,
          Number(message.Attributes?.ApproximateReceiveCount ?? 1),
        );
      }
      const event: SQSEvent = { Records: messages.map((message) => sqsRecord(message, options.queue.arn)) };
      const failed = await invoke(event);
      if (failed === 'crashed') continue;
      stats.redelivered += failed.size;
      const ack = messages.filter((message) => !failed.has(message.MessageId as string));
      if (ack.length > 0) {
        await options.sqs.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: options.queue.url,
            Entries: ack.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
        stats.acked += ack.length;
      }
    }
  }

  await Promise.all(Array.from({ length: options.pollers ?? 3 }, () => poller()));
  return stats;
}
