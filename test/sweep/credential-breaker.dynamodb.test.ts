import { describe, expect, it } from 'vitest';
import { DynamoCredentialTripStore, MemoryCredentialTripStore } from '../../lib/sweep/credential-breaker.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';

const dynamo = useDynamoDbLocal();

const trip = (at: number, status = 401) => ({
  at,
  operation: 'cbr.deleteBackup',
  status,
  upstream_code: 'APIG.0301',
});

describe.each([
  ['MemoryCredentialTripStore', async () => new MemoryCredentialTripStore()],
  [
    'DynamoCredentialTripStore (DynamoDB Local)',
    async () =>
      new DynamoCredentialTripStore({
        client: dynamo().documentClient,
        tableName: await dynamo().createLedgerTable(),
      }),
  ],
])('%s', (_, create) => {
  it('keeps the first trip of a sweep and credential; a later one gets the first back', async () => {
    const store = await create();
    expect(await store.get('sweep-1', 'default')).toBeUndefined();
    expect(await store.put('sweep-1', 'default', trip(1_000))).toEqual(trip(1_000));
    expect(await store.put('sweep-1', 'default', trip(2_000, 403))).toEqual(trip(1_000));
    expect(await store.get('sweep-1', 'default')).toEqual(trip(1_000));
  });

  it('keeps sweeps and credentials apart', async () => {
    const store = await create();
    await store.put('sweep-1', 'default', trip(1_000));
    expect(await store.get('sweep-2', 'default')).toBeUndefined();
    expect(await store.get('sweep-1', 'other')).toBeUndefined();
  });

  it('lets one of two racing writers win and both read the winner', async () => {
    const store = await create();
    const [a, b] = await Promise.all([
      store.put('sweep-race', 'default', trip(1_000)),
      store.put('sweep-race', 'default', trip(2_000, 403)),
    ]);
    expect(a).toEqual(b);
    expect(await store.get('sweep-race', 'default')).toEqual(a);
  });
});
