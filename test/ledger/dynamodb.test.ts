import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import {
  createDynamoLedger,
  keys,
  LedgerThrottledError,
  LedgerUnavailableError,
  TTL_ATTRIBUTE,
} from '../../lib/ledger/index.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { cbrDeletion, ledgerContract, T0, TestClock } from './contract.ts';

const dynamo = useDynamoDbLocal();

ledgerContract('DynamoDB Local', async (options) => {
  const tableName = await dynamo().createLedgerTable();
  return createDynamoLedger({ ...options, tableName, client: dynamo().documentClient });
});

describe('DynamoDB ledger on DynamoDB Local', () => {
  it('enables TTL on expires_at and sets it on every item it writes', async () => {
    const tableName = await dynamo().createLedgerTable();
    const ttl = await dynamo().client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl.TimeToLiveDescription?.AttributeName).toBe(TTL_ATTRIBUTE);
    const clock = new TestClock();
    const ledger = createDynamoLedger({
      tableName,
      client: dynamo().documentClient,
      now: clock.read,
      retentionDays: 30,
    });
    const { record } = await ledger.beginDeletion(cbrDeletion('b-ttl', { sweep_id: 'sw-ttl' }));
    const raw = async () =>
      (
        await dynamo().documentClient.send(
          new GetCommand({ TableName: tableName, Key: keys.deletion(record.id) }),
        )
      ).Item;
    expect((await raw())?.[TTL_ATTRIBUTE]).toBe(T0 / 1000 + 30 * 86_400);
    clock.advance(86_400_000);
    await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
    expect((await raw())?.[TTL_ATTRIBUTE]).toBe(T0 / 1000 + 31 * 86_400);
    await ledger.putSweepPlan({
      sweep_id: 'sw-ttl',
      dry_run: false,
      requested_by: { kind: 'sweep', principal: 'schedule' },
      summary: {},
      items: [],
    });
    const header = await dynamo().documentClient.send(
      new GetCommand({ TableName: tableName, Key: keys.sweepHeader('sw-ttl') }),
    );
    expect(typeof header.Item?.[TTL_ATTRIBUTE]).toBe('number');
  });

  it('keeps storage keys out of the records it returns', async () => {
    const tableName = await dynamo().createLedgerTable();
    const ledger = createDynamoLedger({ tableName, client: dynamo().documentClient });
    const { record } = await ledger.beginDeletion(cbrDeletion('b-keys', { sweep_id: 'sw-keys' }));
    const [listed] = await ledger.listBySweep('sw-keys');
    for (const key of ['pk', 'sk', 'gsi1pk', 'gsi1sk', TTL_ATTRIBUTE]) {
      expect(listed).not.toHaveProperty(key);
      expect(await ledger.get(record.id)).not.toHaveProperty(key);
    }
  });
});

describe('DynamoDB ledger error paths DynamoDB Local cannot produce', () => {
  function awsError(name: string): Error {
    return Object.assign(new Error(`${name} from DynamoDB`), { name, $metadata: {} });
  }

  function mockedLedger() {
    const client = DynamoDBDocumentClient.from(dynamo().client);
    const mock = mockClient(client);
    return { mock, ledger: createDynamoLedger({ tableName: 'mocked', client }) };
  }

  for (const name of [
    'ProvisionedThroughputExceededException',
    'ThrottlingException',
    'RequestLimitExceeded',
  ]) {
    it(`turns ${name} into LedgerThrottledError`, async () => {
      const { mock, ledger } = mockedLedger();
      mock.on(PutCommand).rejects(awsError(name));
      mock.on(UpdateCommand).rejects(awsError(name));
      const begin = ledger.beginDeletion(cbrDeletion('b-1'));
      await expect(begin).rejects.toBeInstanceOf(LedgerThrottledError);
      await expect(ledger.transition('del_x', { from: ['requested'], to: 'sent' })).rejects.toBeInstanceOf(
        LedgerThrottledError,
      );
      mock.restore();
    });
  }

  it('turns other failures into LedgerUnavailableError without leaking the SDK message', async () => {
    const { mock, ledger } = mockedLedger();
    mock.on(GetCommand).rejects(awsError('AccessDeniedException'));
    mock.on(QueryCommand).rejects(awsError('ResourceNotFoundException'));
    const error = await ledger.get('del_x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LedgerUnavailableError);
    expect((error as Error).message).toContain('AccessDeniedException');
    await expect(ledger.listBySweep('sw')).rejects.toBeInstanceOf(LedgerUnavailableError);
    mock.restore();
  });

  it('retries plan items DynamoDB leaves unprocessed', async () => {
    const { mock, ledger } = mockedLedger();
    const { BatchWriteCommand } = await import('@aws-sdk/lib-dynamodb');
    const item = {
      deletion_id: 'del_1',
      service: 'cbr',
      region: 'eu-de',
      project_id: 'p',
      target: { kind: 'backup', backup_id: 'b' },
    } as const;
    mock.on(GetCommand).resolves({});
    mock
      .on(BatchWriteCommand)
      .resolvesOnce({ UnprocessedItems: { mocked: [{ PutRequest: { Item: { pk: 'x', sk: 'y' } } }] } })
      .resolves({});
    mock.on(PutCommand).resolves({});
    const result = await ledger.putSweepPlan({
      sweep_id: 'sw',
      dry_run: false,
      requested_by: { kind: 'sweep', principal: 's' },
      summary: {},
      items: [item],
    });
    expect(result.created).toBe(true);
    expect(mock.commandCalls(BatchWriteCommand)).toHaveLength(2);
    mock.restore();
  });
});
