/**
 * Sending: chunks of 10 against the local queue; the failure paths local-aws-sqs cannot produce (partial
 * SendMessageBatch failures, sender faults, a failing call) through aws-sdk-client-mock.
 */
import {
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { EnqueueError, enqueueSweep, sqsSender } from '../../../lib/sweep/queued/enqueue.ts';
import { decodeMessage, delaySecondsOf, deleteMessage } from '../../../lib/sweep/queued/messages.ts';
import { useLocalSqs } from '../../helpers/local-sqs.ts';

const sqs = useLocalSqs();
const items = (n: number) => Array.from({ length: n }, (_, i) => ({ deletion_id: `del_${i}` }));
const noSleep = async () => undefined;

describe('sqsSender against local-aws-sqs', () => {
  it('sends 25 messages as SendMessageBatch calls of 10, 10 and 5, all of them received', async () => {
    const queue = await sqs().createQueue({ visibilityTimeoutSeconds: 30 });
    const batches: number[] = [];
    const client = {
      send: ((command: SendMessageBatchCommand) => {
        batches.push(command.input.Entries?.length ?? 0);
        return sqs().client.send(command);
      }) as SQSClient['send'],
    };
    expect(await enqueueSweep('s1', items(25), sqsSender({ client, queueUrl: queue.url }))).toBe(25);
    expect(batches.sort((a, b) => b - a)).toEqual([10, 10, 5]);
    const received = new Set<string>();
    for (let round = 0; round < 10 && received.size < 25; round++) {
      const out = await sqs().client.send(
        new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      for (const message of out.Messages ?? []) {
        const decoded = decodeMessage(message.Body ?? '');
        expect(decoded).toMatchObject({ kind: 'delete', sweep_id: 's1', attempt: 0, hop: 0 });
        received.add(decoded?.deletion_id as string);
      }
    }
    expect(received).toEqual(new Set(items(25).map((item) => item.deletion_id)));
  });
});

describe('sqsSender failure paths (aws-sdk-client-mock)', () => {
  const sent = (mock: ReturnType<typeof mockClient>) =>
    mock
      .commandCalls(SendMessageBatchCommand)
      .map((call) => (call.args[0].input as SendMessageBatchCommandInput).Entries?.map((entry) => entry.Id));

  it('retries only the entries SQS reported failed, until they are sent', async () => {
    const mock = mockClient(SQSClient);
    mock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: ['0', '2', '4'].map((Id) => ({ Id, MessageId: Id, MD5OfMessageBody: '' })),
        Failed: [
          { Id: '1', SenderFault: false, Code: 'InternalError' },
          { Id: '3', SenderFault: false, Code: 'ServiceUnavailable' },
        ],
      })
      .resolves({
        Successful: [
          { Id: '1', MessageId: 'a', MD5OfMessageBody: '' },
          { Id: '3', MessageId: 'b', MD5OfMessageBody: '' },
        ],
      });
    const sender = sqsSender({ client: new SQSClient({ region: 'local' }), queueUrl: 'q', sleep: noSleep });
    expect(await enqueueSweep('s', items(5), sender)).toBe(5);
    expect(sent(mock)).toEqual([
      ['0', '1', '2', '3', '4'],
      ['1', '3'],
    ]);
    mock.restore();
  });

  it('does not retry a sender fault, retries a failed call, and reports what never went out', async () => {
    const mock = mockClient(SQSClient);
    mock
      .on(SendMessageBatchCommand)
      .rejectsOnce(new Error('socket hang up'))
      .resolvesOnce({
        Successful: [{ Id: '0', MessageId: 'a', MD5OfMessageBody: '' }],
        Failed: [
          { Id: '1', SenderFault: true, Code: 'InvalidParameterValue' },
          { Id: '2', SenderFault: false, Code: 'InternalError' },
        ],
      })
      .resolves({ Successful: [], Failed: [{ Id: '2', SenderFault: false, Code: 'InternalError' }] });
    const sender = sqsSender({
      client: new SQSClient({ region: 'local' }),
      queueUrl: 'q',
      sleep: noSleep,
      maxAttempts: 4,
    });
    const messages = items(3).map((item) => ({
      message: deleteMessage('s', item.deletion_id),
      delaySeconds: 0,
    }));
    expect(await sender.send(messages)).toEqual([1, 2]);
    expect(sent(mock)).toEqual([['0', '1', '2'], ['0', '1', '2'], ['2'], ['2']]);
    await expect(enqueueSweep('s', items(3), sender)).rejects.toBeInstanceOf(EnqueueError);
    mock.restore();
  });
});

describe('delaySecondsOf', () => {
  it('rounds up to whole seconds and caps at SQS maximum of 900', () => {
    expect([0, -5, 1, 999, 1000, 1001, 899_999, 900_000, 3_600_000, Number.NaN].map(delaySecondsOf)).toEqual([
      0, 0, 1, 1, 1, 2, 900, 900, 900, 0,
    ]);
  });
});
