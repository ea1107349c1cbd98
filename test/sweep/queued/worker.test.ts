/**
 * The worker's message handling around the steps, with fakes: what goes back to SQS (batchItemFailures) and
 * what is re-sent. The steps themselves run for real in queued.e2e.test.ts.
 */
import { readFileSync } from 'node:fs';
import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { createDeleteWorkerHandler } from '../../../functions/delete-worker.ts';
import type { PlannedItem } from '../../../lib/ledger/schema.ts';
import type { MessageSender } from '../../../lib/sweep/queued/enqueue.ts';
import {
  decodeMessage,
  deleteMessage,
  encodeMessage,
  type OutgoingMessage,
} from '../../../lib/sweep/queued/messages.ts';
import { MemoryLaneSemaphore } from '../../../lib/sweep/queued/semaphore.ts';
import { processQueuedBatch, type QueuedWorkerDeps } from '../../../lib/sweep/queued/worker.ts';
import type { StepDeps } from '../../../lib/sweep/step.ts';
import { lambdaContext } from '../../http/api-event.ts';

const csbsItem = { deletion_id: 'd1', service: 'csbs', project_id: 'p1' } as PlannedItem;

function fakes(options: { unsent?: number[] } = {}) {
  const sent: OutgoingMessage[] = [];
  const sender: MessageSender = {
    async send(messages) {
      sent.push(...messages);
      return options.unsent ?? [];
    },
  };
  const semaphore = new MemoryLaneSemaphore();
  const deps: QueuedWorkerDeps = {
    now: () => 1_000_000,
    // No step may run in these specs: a ledger call would throw.
    steps: {
      ledger: new Proxy({}, { get: () => () => Promise.reject(new Error('ledger down')) }),
    } as unknown as StepDeps,
    planOf: () => (id) => (id === 'd1' ? csbsItem : undefined),
    semaphore,
    sender,
    watchFirstMs: 2_000,
    random: () => 0.5,
  };
  return { sent, semaphore, deps };
}

const record = (messageId: string, body: string) => ({ messageId, body });

describe('processQueuedBatch', () => {
  it('parks a message that finds its lane full in the waiting list (acked, no re-send) and arms one safety check', async () => {
    const { sent, semaphore, deps } = fakes();
    for (let i = 0; i < 5; i++) await semaphore.acquire('csbs/p1', `other${i}`, 5, 60_000);
    const response = await processQueuedBatch([record('m1', encodeMessage(deleteMessage('s', 'd1')))], deps);
    expect(response.batchItemFailures).toEqual([]);
    expect(semaphore.waiting('csbs/p1')).toEqual(['d1']);
    expect(semaphore.holders('csbs/p1')).not.toContain('d1');
    // Not the message again: the lane's safety check, once per lane however many wait.
    expect(sent).toEqual([
      {
        message: { v: 1, kind: 'wake', lane: 'csbs/p1', limit: 5, step: 0, hop: 1_000_000 },
        delaySeconds: 2,
      },
    ]);
    sent.length = 0;
    await processQueuedBatch([record('m2', encodeMessage({ ...deleteMessage('s', 'd1'), hop: 3 }))], deps);
    expect(sent).toEqual([]);
  });

  it('keeps the message when its safety check could not be sent, so SQS delivers it again', async () => {
    const { deps } = fakes({ unsent: [0] });
    const semaphore = deps.semaphore as MemoryLaneSemaphore;
    for (let i = 0; i < 5; i++) await semaphore.acquire('csbs/p1', `other${i}`, 5, 60_000);
    const response = await processQueuedBatch([record('m1', encodeMessage(deleteMessage('s', 'd1')))], deps);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
  });

  it('reports a foreign body and a failing step for redelivery (then the DLQ); acks a duplicate hop and an unplanned id', async () => {
    const { sent, deps } = fakes();
    await deps.semaphore.claim('d1#0', 'earlier-message', 60_000);
    const response = await processQueuedBatch(
      [
        record('bad-json', '{'),
        record('foreign', JSON.stringify({ hello: 'world' })),
        record('dup', encodeMessage(deleteMessage('s', 'd1'))),
        record('unplanned', encodeMessage(deleteMessage('s', 'nope'))),
        record('step-fails', encodeMessage({ ...deleteMessage('s', 'd1'), hop: 1 })),
      ],
      deps,
    );
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'bad-json',
      'foreign',
      'step-fails',
    ]);
    expect(sent).toEqual([]);
  });
});

describe('functions/delete-worker with the sample SQS event', () => {
  it('decodes both sample messages and answers in the partial batch response shape', async () => {
    const event = JSON.parse(
      readFileSync(new URL('../../../events/delete-worker-sqs.json', import.meta.url), 'utf8'),
    ) as SQSEvent;
    expect(event.Records.map((r) => decodeMessage(r.body)?.kind)).toEqual(['delete', 'track']);
    const { deps } = fakes();
    // Neither id is in this (fake) plan: both are acknowledged without a step.
    const handler = createDeleteWorkerHandler(async () => deps);
    expect(await handler(event, lambdaContext())).toEqual({ batchItemFailures: [] });
  });
});
