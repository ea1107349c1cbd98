/** The lane semaphore's contract, for the in-memory twin and the DynamoDB one (DynamoDB Local). */
import { describe, expect, it } from 'vitest';
import {
  DynamoLaneSemaphore,
  type LaneSemaphore,
  MemoryLaneSemaphore,
} from '../../../lib/sweep/queued/semaphore.ts';
import { useDynamoDbLocal } from '../../helpers/dynamodb-local.ts';

const dynamo = useDynamoDbLocal();

type Make = (now: () => number) => Promise<LaneSemaphore>;

const implementations: [string, Make][] = [
  ['memory', async (now) => new MemoryLaneSemaphore({ now })],
  [
    'dynamodb',
    async (now) =>
      new DynamoLaneSemaphore({
        client: dynamo().documentClient,
        tableName: await dynamo().createLedgerTable(),
        now,
      }),
  ],
];

describe.each(implementations)('LaneSemaphore (%s)', (_name, make) => {
  it('never lets more than the limit hold a lane, even when 20 workers race for it', async () => {
    const semaphore = await make(Date.now);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => semaphore.acquire('csbs/p1', `d${i}`, 5, 60_000)),
    );
    expect(results.filter((result) => result.ok)).toHaveLength(5);
    // Another lane is independent.
    expect(await semaphore.acquire('csbs/p2', 'd0', 5, 60_000)).toEqual({ ok: true, refreshed: false });
  });

  it('refreshes a holder, frees on release, and frees a crashed holder when its lease ends', async () => {
    let now = 1_000_000;
    const semaphore = await make(() => now);
    expect(await semaphore.acquire('lane', 'a', 2, 10_000)).toEqual({ ok: true, refreshed: false });
    expect(await semaphore.acquire('lane', 'b', 2, 10_000)).toEqual({ ok: true, refreshed: false });
    expect((await semaphore.acquire('lane', 'c', 2, 10_000)).ok).toBe(false);
    // The same holder again (a tracking message) keeps its slot instead of taking a second one.
    expect(await semaphore.acquire('lane', 'a', 2, 10_000)).toEqual({ ok: true, refreshed: true });
    await semaphore.release('lane', 'b');
    expect(await semaphore.acquire('lane', 'c', 2, 10_000)).toEqual({ ok: true, refreshed: false });
    // 'a' crashed and never released; 'c' keeps refreshing. After a's lease, its slot is free.
    now += 6_000;
    expect((await semaphore.acquire('lane', 'c', 2, 10_000)).ok).toBe(true);
    expect((await semaphore.acquire('lane', 'd', 2, 10_000)).ok).toBe(false);
    now += 5_000;
    expect(await semaphore.acquire('lane', 'd', 2, 10_000)).toEqual({ ok: true, refreshed: false });
    // Releasing what one does not hold changes nothing.
    await semaphore.release('lane', 'zzz');
    expect((await semaphore.acquire('lane', 'e', 2, 10_000)).ok).toBe(false);
  });

  it('holds every newcomer back while the lane is paused, but not the holders already in', async () => {
    let now = 5_000_000;
    const semaphore = await make(() => now);
    expect((await semaphore.acquire('lane', 'a', 5, 60_000)).ok).toBe(true);
    await semaphore.pause('lane', 3_000);
    await semaphore.pause('lane', 1_000); // a shorter pause does not shorten it
    expect(await semaphore.acquire('lane', 'b', 5, 60_000)).toEqual({ ok: false, retryAfterMs: 3_000 });
    expect(await semaphore.acquire('lane', 'a', 5, 60_000)).toEqual({ ok: true, refreshed: true });
    now += 3_001;
    expect(await semaphore.acquire('lane', 'b', 5, 60_000)).toEqual({ ok: true, refreshed: false });
  });

  it('lets one holder claim a key until the claim ends; the same holder may claim again', async () => {
    let now = 9_000_000;
    const semaphore = await make(() => now);
    const racers = await Promise.all(['m1', 'm2', 'm3'].map((id) => semaphore.claim('del#4', id, 10_000)));
    expect(racers.filter(Boolean)).toHaveLength(1);
    const winner = ['m1', 'm2', 'm3'][racers.indexOf(true)] as string;
    expect(await semaphore.claim('del#4', winner, 10_000)).toBe(true);
    expect(await semaphore.claim('del#5', 'm2', 10_000)).toBe(true);
    now += 10_001;
    expect(await semaphore.claim('del#4', winner === 'm1' ? 'm2' : 'm1', 10_000)).toBe(true);
  });

  it('hands a released slot to the oldest waiter (FIFO), never past the limit, and re-checks on joining', async () => {
    const semaphore = await make(() => 9_000_000);
    for (const holder of ['a', 'b']) await semaphore.acquire('lane', holder, 2, 60_000);
    // c and d find the lane full and wait, d first in line (an older `since`).
    expect((await semaphore.wait('lane', 'c', 200, 'msg-c', 2, 60_000)).ok).toBe(false);
    expect((await semaphore.wait('lane', 'd', 100, 'msg-d', 2, 60_000)).ok).toBe(false);
    // a's release hands its slot to d: d's message comes back to be sent; the lane stays at 2.
    expect(await semaphore.releaseTo('lane', 'a', 2, 10_000)).toEqual(['msg-d']);
    expect((await semaphore.acquire('lane', 'late', 2, 60_000)).ok).toBe(false);
    // d arrives: the handed slot is its first (not a refresh); it leaves the list.
    expect(await semaphore.acquire('lane', 'd', 2, 60_000)).toEqual({ ok: true, refreshed: false });
    await semaphore.unwait('lane', 'd', 100);
    // b's release goes to c; c's release finds nobody waiting and frees the slot.
    expect(await semaphore.releaseTo('lane', 'b', 2, 10_000)).toEqual(['msg-c']);
    await semaphore.acquire('lane', 'c', 2, 60_000);
    await semaphore.unwait('lane', 'c', 200);
    expect(await semaphore.releaseTo('lane', 'c', 2, 10_000)).toEqual([]);
    // A slot freed between a failed acquire and joining the list is taken by the join itself.
    expect((await semaphore.wait('lane', 'e', 300, 'msg-e', 2, 60_000)).ok).toBe(true);
    expect(await semaphore.releaseTo('lane', 'e', 2, 10_000)).toEqual([]);
  });

  it('never lets a stale copy remove the entry its item parked again at the same place', async () => {
    const semaphore = await make(() => 9_500_000);
    for (const holder of ['a', 'b']) await semaphore.acquire('lane', holder, 2, 60_000);
    expect((await semaphore.wait('lane', 'w', 10, 'hop-1', 2, 60_000)).ok).toBe(false);
    // The item's live chain moved on and parked again at its place in line, with its next message.
    expect((await semaphore.wait('lane', 'w', 10, 'hop-2', 2, 60_000)).ok).toBe(false);
    // A stale copy of the hop-1 message leaves only its own entry: there is none any more.
    await semaphore.unwait('lane', 'w', 10, 'hop-1');
    expect(await semaphore.releaseTo('lane', 'a', 2, 10_000)).toEqual(['hop-2']);
    // The woken message leaves the entry that holds it.
    await semaphore.unwait('lane', 'w', 10, 'hop-2');
    expect(await semaphore.releaseTo('lane', 'b', 2, 10_000)).toEqual([]);
  });

  it('serves a waiter queued behind many entries of a holder that already has its slot', async () => {
    let now = 30_000_000;
    const semaphore = await make(() => now);
    for (const holder of ['a', 'x']) await semaphore.acquire('lane', holder, 2, 60_000);
    // b parked 30 times (each retry of its chain takes a new place), then w joined behind all of them.
    for (let since = 1; since <= 30; since++)
      expect((await semaphore.wait('lane', 'b', since, `b-${since}`, 2, 60_000)).ok).toBe(false);
    expect((await semaphore.wait('lane', 'w', 50, 'msg-w', 2, 60_000)).ok).toBe(false);
    // x's slot goes to b's oldest entry; b takes it, its other 29 entries stay behind.
    expect(await semaphore.releaseTo('lane', 'x', 2, 10_000)).toEqual(['b-1']);
    expect(await semaphore.acquire('lane', 'b', 2, 60_000)).toEqual({ ok: true, refreshed: false });
    // a's release reaches w past b's entries (b holds a slot already).
    expect(await semaphore.releaseTo('lane', 'a', 2, 10_000)).toEqual(['msg-w']);
    // The same from the safety check: a lost wake-up for w, its hand-over lease over, is served again.
    now += 11_000;
    await semaphore.acquire('lane', 'b', 2, 60_000);
    expect(await semaphore.wake('lane', 2, 10_000)).toEqual({ payloads: ['msg-w'], stillWaiting: true });
    // w takes its slot and leaves the list: only entries of a holder with a slot are left, nobody waits.
    expect(await semaphore.acquire('lane', 'w', 2, 60_000)).toEqual({ ok: true, refreshed: false });
    await semaphore.unwait('lane', 'w', 50, 'msg-w');
    expect(await semaphore.wake('lane', 2, 10_000)).toEqual({ payloads: [], stillWaiting: false });
  });

  it('serves waiters from the safety check when a wake-up was lost (a holder crashed, a handed slot expired)', async () => {
    let now = 20_000_000;
    const semaphore = await make(() => now);
    await semaphore.acquire('lane', 'crashed', 1, 5_000);
    expect((await semaphore.wait('lane', 'w1', 1, 'msg-w1', 1, 60_000)).ok).toBe(false);
    expect((await semaphore.wait('lane', 'w2', 2, 'msg-w2', 1, 60_000)).ok).toBe(false);
    // Nobody will release: the check finds the lane full while the lease runs.
    expect(await semaphore.wake('lane', 1, 10_000)).toEqual({ payloads: [], stillWaiting: true });
    now += 6_000;
    expect(await semaphore.wake('lane', 1, 10_000)).toEqual({ payloads: ['msg-w1'], stillWaiting: true });
    // w1's wake-up was lost too: after the hand-over lease the next check serves it again.
    now += 11_000;
    expect(await semaphore.wake('lane', 1, 10_000)).toEqual({ payloads: ['msg-w1'], stillWaiting: true });
    // One safety check per lane: a second arm while one is due later is refused.
    expect(await semaphore.armWatch('lane', 60_000)).toBe(true);
    expect(await semaphore.armWatch('lane', 60_000)).toBe(false);
    now += 60_000;
    expect(await semaphore.armWatch('lane', 120_000)).toBe(true);
  });
});
