/**
 * A local SQS for tests: the `local-aws-sqs` package's server on a free loopback port, started by the tests.
 * `useLocalSqs()` registers beforeAll/afterAll in the calling file; `startLocalSqs()` is the same without hooks.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSqsServer } from 'local-aws-sqs';
import { afterAll, beforeAll } from 'vitest';

export const LOCAL_SQS_REGION = 'us-east-1';

export interface LocalQueue {
  readonly url: string;
  readonly arn: string;
}

export interface LocalSqs {
  readonly endpoint: string;
  readonly client: SQSClient;
  /** Creates a queue (unique name unless given) with a DLQ after `maxReceiveCount` receives. */
  createQueue(options?: {
    name?: string;
    visibilityTimeoutSeconds?: number;
    maxReceiveCount?: number;
  }): Promise<LocalQueue & { readonly dlq: LocalQueue }>;
  /** Visible + in flight + delayed messages of a queue. */
  depth(url: string): Promise<number>;
  stop(): Promise<void>;
}

let queueCounter = 0;

export async function startLocalSqs(): Promise<LocalSqs> {
  const server: Server = await createSqsServer({
    port: 0,
    hostname: '127.0.0.1',
    region: LOCAL_SQS_REGION,
    emulateQueueCreationLifecycle: false,
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({
    endpoint,
    region: LOCAL_SQS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const create = async (name: string, attributes: Record<string, string>) => {
    const out = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    const url = out.QueueUrl as string;
    const attrs = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
    );
    return { url, arn: attrs.Attributes?.QueueArn as string };
  };
  return {
    endpoint,
    client,
    async createQueue(options = {}) {
      queueCounter += 1;
      const name = options.name ?? `sweep-${process.pid}-${queueCounter}`;
      const dlq = await create(`${name}-dlq`, {});
      const queue = await create(name, {
        VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 1),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: dlq.arn,
          maxReceiveCount: options.maxReceiveCount ?? 50,
        }),
      });
      return { ...queue, dlq };
    },
    async depth(url) {
      const out = await client.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: [
            'ApproximateNumberOfMessages',
            'ApproximateNumberOfMessagesNotVisible',
            'ApproximateNumberOfMessagesDelayed',
          ],
        }),
      );
      return Object.values(out.Attributes ?? {}).reduce((sum, value) => sum + Number(value), 0);
    },
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export function useLocalSqs(): () => LocalSqs {
  let instance: LocalSqs | undefined;
  beforeAll(async () => {
    instance = await startLocalSqs();
  });
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (instance === undefined) throw new Error('local SQS is not running (use the getter inside a test)');
    return instance;
  };
}
