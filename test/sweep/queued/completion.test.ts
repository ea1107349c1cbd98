/** The queued sweep's completion counter, for the in-memory twin and DynamoDB (DynamoDB Local). */
import { describe, expect, it } from 'vitest';
import {
  DynamoSweepCompletion,
  MemorySweepCompletion,
  type SweepCompletion,
} from '../../../lib/sweep/queued/completion.ts';
import type { ItemOutcome } from '../../../lib/sweep/report.ts';
import { useDynamoDbLocal } from '../../helpers/dynamodb-local.ts';

const dynamo = useDynamoDbLocal();

const implementations: [string, () => Promise<SweepCompletion>][] = [
  ['memory', async () => new MemorySweepCompletion()],
  [
    'dynamodb',
    async () =>
      new DynamoSweepCompletion({
        client: dynamo().documentClient,
        tableName: await dynamo().createLedgerTable(),
      }),
  ],
];

const deleted = (id: string): ItemOutcome => ({ deletion_id: id, status: 'deleted' });

describe.each(implementations)('SweepCompletion (%s)', (_name, make) => {
  it('elects exactly one finisher when 30 items finish at once, each reported twice', async () => {
    const completion = await make();
    const ids = Array.from({ length: 30 }, (_, i) => `d${i}`);
    await completion.open('s1', ids.length, 'policy-k');
    const results = await Promise.all([...ids, ...ids].map((id) => completion.finished('s1', deleted(id))));
    const last = results.filter((result) => result.last);
    expect(last).toEqual([{ last: true, lockKey: 'policy-k' }]);
    expect([...(await completion.outcomes('s1')).keys()].sort()).toEqual([...ids].sort());
    // Late repeats change nothing.
    expect(await completion.finished('s1', deleted('d0'))).toEqual({ last: false });
  }, 60_000);

  it('elects nobody until the last item, and again after a finisher could not store the report', async () => {
    const completion = await make();
    await completion.open('s2', 2);
    expect(await completion.finished('s2', deleted('a'))).toEqual({ last: false });
    expect(await completion.finished('s2', deleted('a'))).toEqual({ last: false });
    expect((await completion.finished('s2', deleted('b'))).last).toBe(true);
    // The finisher failed to store: the redelivered message of the same item is elected again.
    await completion.reopen('s2');
    expect((await completion.finished('s2', deleted('b'))).last).toBe(true);
    // A rerun that enqueues the sweep again keeps the count and re-opens the election.
    await completion.open('s2', 2);
    expect((await completion.finished('s2', deleted('a'))).last).toBe(true);
    // A sweep never opened elects nobody.
    expect(await completion.finished('unknown', deleted('x'))).toEqual({ last: false });
  });
});
