import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../lib/sweep/backoff.ts';
import {
  DEFAULT_LANE_LIMITS,
  LaneAbortError,
  type LaneEvent,
  LaneScheduler,
  LaneThrottle,
  laneKey,
  limitOfLanes,
  runInLanes,
} from '../../lib/sweep/lanes.ts';
import { ManualClock, ticks } from './manual-clock.ts';

/** Counts tasks in flight per lane and overall, and remembers the peaks, from inside the workers. */
class Gauge {
  readonly running = new Map<string, number>();
  readonly peak = new Map<string, number>();
  total = 0;
  peakTotal = 0;
  readonly violations: string[] = [];

  constructor(
    private readonly limitOf: (lane: string) => number,
    private readonly globalLimit = Number.POSITIVE_INFINITY,
  ) {}

  enter(lane: string): void {
    const now = (this.running.get(lane) ?? 0) + 1;
    this.running.set(lane, now);
    this.peak.set(lane, Math.max(this.peak.get(lane) ?? 0, now));
    this.total++;
    this.peakTotal = Math.max(this.peakTotal, this.total);
    if (now > this.limitOf(lane)) this.violations.push(`${lane}: ${now} running > ${this.limitOf(lane)}`);
    if (this.total > this.globalLimit) this.violations.push(`global: ${this.total} > ${this.globalLimit}`);
  }

  leave(lane: string): void {
    this.running.set(lane, (this.running.get(lane) ?? 0) - 1);
    this.total--;
  }
}

interface Job {
  readonly id: number;
  readonly lane: string;
  readonly ms: number;
}

function jobs(spec: Record<string, number[]>): Job[] {
  const list: Job[] = [];
  let id = 0;
  const lanes = Object.entries(spec);
  const longest = Math.max(...lanes.map(([, durations]) => durations.length));
  // Interleave lanes so input order differs from lane order.
  for (let i = 0; i < longest; i++) {
    for (const [lane, durations] of lanes) {
      const ms = durations[i];
      if (ms !== undefined) list.push({ id: id++, lane, ms });
    }
  }
  return list;
}

describe('runInLanes', () => {
  it('never runs more than a lane’s limit at once, and uses the whole limit', async () => {
    const clock = new ManualClock();
    const limits: Record<string, number> = { 'csbs/p1': 5, 'csbs/p2': 5, 'cbr/p1': 2 };
    const limitOf = (lane: string) => limits[lane]!;
    const gauge = new Gauge(limitOf);
    const items = jobs({
      'csbs/p1': Array.from({ length: 23 }, (_, i) => 10 + (i % 7) * 13),
      'csbs/p2': Array.from({ length: 11 }, (_, i) => 50 - i * 3),
      'cbr/p1': Array.from({ length: 9 }, (_, i) => 5 + i),
    });
    const results = await clock.run(
      runInLanes(items, { laneOf: (job) => job.lane, limitOf, clock }, async (job) => {
        gauge.enter(job.lane);
        await sleep(job.ms, clock);
        gauge.leave(job.lane);
        return job.id;
      }),
    );
    expect(gauge.violations).toEqual([]);
    expect(Object.fromEntries(gauge.peak)).toEqual({ 'csbs/p1': 5, 'csbs/p2': 5, 'cbr/p1': 2 });
    expect(results).toEqual(items.map((job) => ({ status: 'fulfilled', value: job.id })));
  });

  it('never runs more than the global limit across lanes', async () => {
    const clock = new ManualClock();
    const limitOf = () => 4;
    const gauge = new Gauge(limitOf, 6);
    const items = jobs({ a: [5, 9, 3, 7, 2, 8], b: [4, 4, 4, 4, 4], c: [1, 10, 1, 10], d: [6, 6, 6] });
    await clock.run(
      runInLanes(items, { laneOf: (job) => job.lane, limitOf, globalLimit: 6, clock }, async (job) => {
        gauge.enter(job.lane);
        await sleep(job.ms, clock);
        gauge.leave(job.lane);
      }),
    );
    expect(gauge.violations).toEqual([]);
    expect(gauge.peakTotal).toBe(6);
  });

  it('shares the global limit round-robin so every lane makes progress', async () => {
    const started: string[] = [];
    const gates: (() => void)[] = [];
    const items = [...Array.from({ length: 5 }, () => 'big'), 'small-1', 'small-2'];
    const run = runInLanes(items, { laneOf: (lane) => lane, limitOf: () => 5, globalLimit: 3 }, (lane) => {
      started.push(lane);
      return new Promise<void>((resolve) => gates.push(resolve));
    });
    await ticks(5);
    expect(started).toEqual(['big', 'small-1', 'small-2']);
    while (gates.length > 0) {
      gates.shift()!();
      await ticks(5);
    }
    await run;
    expect(started).toHaveLength(7);
  });

  it('keeps lanes independent: a stuck lane does not hold back another', async () => {
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => {
      release = resolve;
    });
    const finished: string[] = [];
    const items = ['slow', 'slow', 'fast', 'fast', 'fast'];
    const run = runInLanes(items, { laneOf: (lane) => lane, limitOf: () => 1 }, async (lane, { index }) => {
      if (lane === 'slow') await stuck;
      finished.push(`${lane}-${index}`);
    });
    await ticks(20);
    expect(finished).toEqual(['fast-2', 'fast-3', 'fast-4']);
    release();
    await run;
    expect(finished).toEqual(['fast-2', 'fast-3', 'fast-4', 'slow-0', 'slow-1']);
  });

  it('returns results in input order whatever the completion order', async () => {
    const clock = new ManualClock();
    const durations = [50, 40, 30, 20, 10];
    const results = await clock.run(
      runInLanes(durations, { laneOf: () => 'one', limitOf: () => 5, clock }, async (ms, { index }) => {
        await sleep(ms, clock);
        return index;
      }),
    );
    expect(results.map((result) => (result.status === 'fulfilled' ? result.value : -1))).toEqual([
      0, 1, 2, 3, 4,
    ]);
  });

  it('isolates a rejection to its own item (no fail-fast)', async () => {
    const boom = new Error('item 2 failed');
    const results = await runInLanes([0, 1, 2, 3], { laneOf: () => 'one', limitOf: () => 2 }, async (n) => {
      if (n === 2) throw boom;
      return n * 10;
    });
    expect(results).toEqual([
      { status: 'fulfilled', value: 0 },
      { status: 'fulfilled', value: 10 },
      { status: 'rejected', reason: boom },
      { status: 'fulfilled', value: 30 },
    ]);
  });

  it('turns a synchronous throw in the worker into a rejected result', async () => {
    const results = await runInLanes([1], { laneOf: () => 'one', limitOf: () => 1 }, () => {
      throw new TypeError('sync');
    });
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'sync' } });
  });

  it('resolves to an empty list for no items', async () => {
    await expect(runInLanes([], { laneOf: () => 'x', limitOf: () => 1 }, () => 1)).resolves.toEqual([]);
  });

  describe('option validation', () => {
    const worker = () => undefined;
    const run = (options: Record<string, unknown>) =>
      runInLanes(
        [1],
        { laneOf: () => 'csbs/p1', limitOf: () => 5, ...options } as Parameters<typeof runInLanes>[1],
        worker,
      );

    it.each([
      ['0', 0, RangeError],
      ['-3', -3, RangeError],
      ['1.5', 1.5, RangeError],
      ['Infinity', Number.POSITIVE_INFINITY, RangeError],
      ['NaN', Number.NaN, TypeError],
      ["the string '5'", '5', TypeError],
    ])('rejects a lane limit of %s with a %o before any work starts', (_label, limit, errorClass) => {
      expect(() => run({ limitOf: () => limit })).toThrow(errorClass);
      expect(() => run({ limitOf: () => limit })).toThrow(/limitOf\('csbs\/p1'\)/);
    });

    it('rejects a global limit that is not an integer ≥ 1 (Infinity means none)', () => {
      expect(() => run({ globalLimit: 0 })).toThrow(/globalLimit.*integer ≥ 1/);
      expect(() => run({ globalLimit: 2.5 })).toThrow(RangeError);
      expect(() => run({ globalLimit: Number.POSITIVE_INFINITY })).not.toThrow();
    });

    it('rejects missing functions and bad retry bounds', () => {
      expect(() => run({ laneOf: undefined })).toThrow(TypeError);
      expect(() => run({ limitOf: 5 })).toThrow(/limitOf/);
      expect(() => run({ laneOf: () => 7 })).toThrow(/laneOf/);
      expect(() => run({ maxThrottleRetries: -1 })).toThrow(/maxThrottleRetries/);
      expect(() => run({ backoff: { baseMs: 10, capMs: 1 } })).toThrow(/capMs/);
    });
  });
});

describe('throttling', () => {
  it('pauses the lane, halves its window, re-queues the item, then grows the window back', async () => {
    const clock = new ManualClock(0);
    const events: LaneEvent[] = [];
    const gauge = new Gauge(() => 4);
    const starts: { id: number; at: number; running: number }[] = [];
    let throttledOnce = false;
    const items = Array.from({ length: 30 }, (_, id) => id);
    const results = await clock.run(
      runInLanes(
        items,
        { laneOf: () => 'csbs/p1', limitOf: () => 4, clock, onLaneEvent: (event) => events.push(event) },
        async (id, { throttleRetries }) => {
          gauge.enter('csbs/p1');
          starts.push({ id, at: clock.now(), running: gauge.running.get('csbs/p1')! });
          await sleep(100, clock);
          gauge.leave('csbs/p1');
          if (id === 5 && !throttledOnce) {
            throttledOnce = true;
            throw new LaneThrottle(5_000);
          }
          return { id, throttleRetries };
        },
      ),
    );

    // The throttled item is retried, not failed: every item fulfils, item 5 after one throttle retry.
    expect(results.every((result) => result.status === 'fulfilled')).toBe(true);
    expect(results[5]).toEqual({ status: 'fulfilled', value: { id: 5, throttleRetries: 1 } });

    // The throttle happened at t=200 (item 5 is in the second batch): the window halves to 2, pause 5 s.
    expect(events[0]).toEqual({ type: 'throttled', lane: 'csbs/p1', window: 2, pauseMs: 5_000 });
    const throttledAt = 200;
    expect(starts.filter((start) => start.at > throttledAt && start.at < throttledAt + 5_000)).toEqual([]);

    // The retried item goes first when the lane resumes, and at most 2 run until the window grows.
    const resumed = starts.filter((start) => start.at >= throttledAt + 5_000);
    expect(resumed[0]!.id).toBe(5);
    expect(resumed[0]!.at).toBe(throttledAt + 5_000);
    const firstGrowth = events.findIndex((event) => event.type === 'window-grown');
    expect(events.slice(0, firstGrowth + 1).map((event) => event.type)).toEqual([
      'throttled',
      'resumed',
      'window-grown',
    ]);
    expect(resumed.slice(0, 2).every((start) => start.running <= 2)).toBe(true);

    // Additive increase brings the lane back to its limit (3 after 2 successes, 4 after 3 more).
    expect(events.filter((event) => event.type === 'window-grown')).toEqual([
      { type: 'window-grown', lane: 'csbs/p1', window: 3 },
      { type: 'window-grown', lane: 'csbs/p1', window: 4 },
    ]);
    expect(Math.max(...resumed.map((start) => start.running))).toBe(4);
    expect(gauge.violations).toEqual([]);
  });

  it('halves the window once for throttles from tasks started in the same window', async () => {
    const clock = new ManualClock(0);
    const events: LaneEvent[] = [];
    const scheduler = new LaneScheduler({
      limitOf: () => 8,
      clock,
      onLaneEvent: (event) => events.push(event),
    });
    const tasks = Array.from({ length: 8 }, (_, i) =>
      scheduler.schedule('dds/p1', async ({ throttleRetries }) => {
        await sleep(10, clock);
        if (throttleRetries === 0) throw new LaneThrottle(1_000 + i);
        return i;
      }),
    );
    await clock.run(Promise.all(tasks));
    const throttled = events.filter((event) => event.type === 'throttled');
    expect(throttled.map((event) => event.window)).toEqual(Array(throttled.length).fill(4));
    // Later throttles of the same congestion only lengthen the pause.
    expect(throttled.at(-1)!.pauseMs).toBe(1_007);
    scheduler.dispose();
  });

  it('handles a late throttle from a task started before the lane recovered', async () => {
    const clock = new ManualClock(0);
    const events: LaneEvent[] = [];
    const results = await clock.run(
      runInLanes(
        [0, 1, 2, 3],
        { laneOf: () => 'cbr/p1', limitOf: () => 4, clock, onLaneEvent: (event) => events.push(event) },
        async (n, { throttleRetries }) => {
          // Item 0 is still in flight long after item 1's throttle and the successes that followed it.
          await sleep(n === 0 ? 10_000 : 10, clock);
          if (throttleRetries === 0 && (n === 0 || n === 1))
            throw new LaneThrottle(n === 0 ? undefined : 100);
          return n;
        },
      ),
    );
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    // Item 0's stale throttle pauses the lane again but does not halve the window a second time.
    expect(events.filter((event) => event.type === 'throttled').map((event) => event.window)).toEqual([2, 2]);
  });

  it('does not slow other lanes when one lane is throttled', async () => {
    const clock = new ManualClock(0);
    const finishedAt = new Map<string, number>();
    const items = ['csbs/p1', 'csbs/p2', 'csbs/p2', 'csbs/p2'];
    await clock.run(
      runInLanes(items, { laneOf: (lane) => lane, limitOf: () => 1, clock }, async (lane, context) => {
        await sleep(10, clock);
        if (lane === 'csbs/p1' && context.throttleRetries === 0) throw new LaneThrottle(60_000);
        finishedAt.set(`${lane}#${context.index}`, clock.now());
      }),
    );
    expect(finishedAt.get('csbs/p2#3')).toBe(30);
    expect(finishedAt.get('csbs/p1#0')).toBe(60_020);
  });

  it('rejects an item after maxThrottleRetries re-queues, with the last throttle reason', async () => {
    const clock = new ManualClock(0);
    let attempts = 0;
    const results = await clock.run(
      runInLanes(
        ['a', 'b'],
        { laneOf: () => 'cbr/p1', limitOf: () => 1, clock, maxThrottleRetries: 3 },
        async (name) => {
          if (name === 'b') return 'ok';
          attempts++;
          throw new LaneThrottle(100);
        },
      ),
    );
    expect(attempts).toBe(4);
    expect(results[0]).toMatchObject({
      status: 'rejected',
      reason: { name: 'LaneThrottle', retryAfterMs: 100 },
    });
    expect(results[1]).toEqual({ status: 'fulfilled', value: 'ok' });
  });

  it('recognises the caller’s throttle errors through throttleOf (e.g. a 429 with Retry-After)', async () => {
    const clock = new ManualClock(0);
    class Upstream429 extends Error {
      readonly retryAfterMs = 2_000;
    }
    const events: LaneEvent[] = [];
    let calls = 0;
    const results = await clock.run(
      runInLanes(
        [1],
        {
          laneOf: () => 'csbs/p1',
          limitOf: () => 5,
          clock,
          throttleOf: (reason) =>
            reason instanceof Upstream429 ? { retryAfterMs: reason.retryAfterMs } : undefined,
          onLaneEvent: (event) => events.push(event),
        },
        async () => {
          calls++;
          if (calls === 1) throw new Upstream429('429');
          return 'deleted';
        },
      ),
    );
    expect(results).toEqual([{ status: 'fulfilled', value: 'deleted' }]);
    expect(events[0]).toMatchObject({ type: 'throttled', pauseMs: 2_000 });
  });

  it('pauses for a jittered backoff when the throttle has no Retry-After', async () => {
    const clock = new ManualClock(0);
    const events: LaneEvent[] = [];
    let calls = 0;
    await clock.run(
      runInLanes(
        [1],
        {
          laneOf: () => 'x',
          limitOf: () => 2,
          clock,
          random: () => 0.5,
          backoff: { baseMs: 1_000, capMs: 60_000 },
          onLaneEvent: (event) => events.push(event),
        },
        async () => {
          calls++;
          if (calls <= 2) throw new LaneThrottle();
          return 'ok';
        },
      ),
    );
    // Consecutive congestion events back off exponentially: 0.5 × 1 s, then 0.5 × 2 s.
    expect(events.filter((event) => event.type === 'throttled').map((event) => event.pauseMs)).toEqual([
      500, 1_000,
    ]);
  });

  it('slows the lane when a task reports absorbed throttling through context.backoff, without failing it', async () => {
    const clock = new ManualClock(0);
    const starts: number[] = [];
    const results = await clock.run(
      runInLanes([0, 1, 2], { laneOf: () => 'csbs/p1', limitOf: () => 1, clock }, async (n, context) => {
        starts.push(clock.now());
        await sleep(10, clock);
        if (n === 0) context.backoff(3_000);
        return n;
      }),
    );
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled']);
    expect(starts).toEqual([0, 3_010, 3_020]);
  });
});

describe('abort', () => {
  it('rejects tasks not yet started with an AbortError and hands the signal to running ones', async () => {
    const controller = new AbortController();
    const seenSignals: AbortSignal[] = [];
    const run = runInLanes(
      [0, 1, 2, 3],
      { laneOf: () => 'one', limitOf: () => 2, signal: controller.signal },
      (n, { signal }) => {
        seenSignals.push(signal);
        return new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(new Error(`task ${n} saw the abort`)), {
            once: true,
          });
        });
      },
    );
    await ticks(3);
    controller.abort(new Error('sweep cancelled'));
    const results = await run;
    expect(seenSignals).toHaveLength(2);
    expect(seenSignals.every((signal) => signal.aborted)).toBe(true);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { message: 'task 0 saw the abort' } });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { name: 'AbortError' } });
    const reason = (results[3] as { reason: LaneAbortError }).reason;
    expect(reason).toBeInstanceOf(LaneAbortError);
    expect(reason.cause).toEqual(new Error('sweep cancelled'));
  });

  it('rejects a throttled task waiting to retry, and cancels the lane pause', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const run = runInLanes(
      [0],
      { laneOf: () => 'one', limitOf: () => 1, clock, signal: controller.signal },
      async () => {
        throw new LaneThrottle(60_000);
      },
    );
    await ticks(5);
    expect(clock.pendingTimers).toBe(1);
    controller.abort();
    const results = await run;
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: 'ABORTED' } });
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects everything at once when the signal is already aborted', async () => {
    let calls = 0;
    const results = await runInLanes(
      [1, 2],
      { laneOf: () => 'one', limitOf: () => 1, signal: AbortSignal.abort() },
      () => {
        calls++;
      },
    );
    expect(calls).toBe(0);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
  });
});

describe('LaneScheduler', () => {
  it('schedules tasks into lanes and reports lane state', async () => {
    const scheduler = new LaneScheduler({ limitOf: limitOfLanes() });
    const gates: (() => void)[] = [];
    const tasks = Array.from({ length: 7 }, () =>
      scheduler.schedule(laneKey('csbs', 'p1'), () => new Promise<void>((resolve) => gates.push(resolve))),
    );
    await ticks(2);
    expect(scheduler.laneStats('csbs/p1')).toEqual({
      limit: 5,
      window: 5,
      running: 5,
      queued: 2,
      paused: false,
    });
    expect(scheduler.running).toBe(5);
    expect(scheduler.queued).toBe(2);
    const idle = scheduler.onIdle();
    while (gates.length > 0) {
      gates.shift()!();
      await ticks(3);
    }
    await Promise.all(tasks);
    await idle;
    expect(scheduler.laneStats('csbs/p1')).toMatchObject({ running: 0, queued: 0 });
    scheduler.dispose();
  });

  it('lets a task schedule more work in its own lane without exceeding the limit', async () => {
    const scheduler = new LaneScheduler({ limitOf: () => 1 });
    const order: string[] = [];
    const outer = scheduler.schedule('a', () => {
      order.push('outer');
      void scheduler.schedule('a', () => {
        order.push('inner');
      });
    });
    await outer;
    await scheduler.onIdle();
    expect(order).toEqual(['outer', 'inner']);
  });
});

describe('limitOfLanes', () => {
  it('resolves an exact lane first, then the service, then the default', () => {
    const limitOf = limitOfLanes({ default: 3, byService: { csbs: 5, cbr: 8 }, byLane: { 'csbs/big': 2 } });
    expect(limitOf('csbs/big')).toBe(2);
    expect(limitOf('csbs/p1')).toBe(5);
    expect(limitOf('cbr/p1')).toBe(8);
    expect(limitOf('dds/p1')).toBe(3);
  });

  it('defaults CSBS to 5 per project', () => {
    expect(limitOfLanes(DEFAULT_LANE_LIMITS)(laneKey('csbs', 'abc'))).toBe(5);
  });

  it('rejects a limit below 1 in config', () => {
    expect(() => limitOfLanes({ default: 0, byService: {}, byLane: {} })).toThrow();
  });
});

describe('invariants (property)', () => {
  it('keeps running ≤ limit per lane and globally, and gives every item exactly one result', async () => {
    const item = fc.record({
      lane: fc.constantFrom('csbs/a', 'csbs/b', 'cbr/a', 'dds/a'),
      ms: fc.integer({ min: 0, max: 50 }),
      ticks: fc.integer({ min: 0, max: 3 }),
      outcome: fc.constantFrom('ok', 'ok', 'ok', 'fail', 'throttle', 'backoff'),
      retryAfterMs: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(item, { maxLength: 40 }),
        fc.record({
          'csbs/a': fc.integer({ min: 1, max: 5 }),
          'csbs/b': fc.integer({ min: 1, max: 5 }),
          'cbr/a': fc.integer({ min: 1, max: 3 }),
          'dds/a': fc.integer({ min: 1, max: 3 }),
        }),
        fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }),
        async (items, limits, globalLimit) => {
          const clock = new ManualClock(0);
          const limitOf = (lane: string) => limits[lane as keyof typeof limits];
          const gauge = new Gauge(limitOf, globalLimit ?? Number.POSITIVE_INFINITY);
          const calls = new Map<number, number>();
          const results = await clock.run(
            runInLanes(
              items,
              {
                laneOf: (job) => job.lane,
                limitOf,
                globalLimit,
                clock,
                maxThrottleRetries: 2,
                backoff: { baseMs: 100, capMs: 1_000 },
              },
              async (job, { index, throttleRetries, backoff }) => {
                calls.set(index, (calls.get(index) ?? 0) + 1);
                gauge.enter(job.lane);
                await ticks(job.ticks);
                if (job.ms > 0) await sleep(job.ms, clock);
                gauge.leave(job.lane);
                if (job.outcome === 'fail') throw new Error(`fail ${index}`);
                if (job.outcome === 'throttle' && throttleRetries < 1)
                  throw new LaneThrottle(job.retryAfterMs);
                if (job.outcome === 'backoff') backoff(job.retryAfterMs);
                return index;
              },
            ),
          );
          expect(gauge.violations).toEqual([]);
          expect(results).toHaveLength(items.length);
          items.forEach((job, index) => {
            const result = results[index]!;
            if (job.outcome === 'fail') expect(result).toMatchObject({ status: 'rejected' });
            else expect(result).toEqual({ status: 'fulfilled', value: index });
            expect(calls.get(index)).toBe(job.outcome === 'throttle' ? 2 : 1);
          });
          expect(gauge.total).toBe(0);
        },
      ),
      { numRuns: 400 },
    );
  });
});
