import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sleep } from '../../lib/sweep/backoff.ts';
import { LaneScheduler, LaneThrottle } from '../../lib/sweep/lanes.ts';
import {
  decideAfterPoll,
  type PollStatus,
  startTracking,
  type TrackedDeletion,
  trackDeletions,
} from '../../lib/sweep/tracker.ts';
import { ManualClock } from './manual-clock.ts';

const MINUTE = 60_000;

/** A fake deletion: answers `running` until `doneAfterPolls` polls, then `final`; records poll times. */
function fakeDeletion(
  clock: ManualClock,
  id: string,
  script: { lane?: string; doneAfterPolls?: number; final?: PollStatus; fail?: (poll: number) => unknown },
): TrackedDeletion & { readonly pollTimes: number[] } {
  const pollTimes: number[] = [];
  return {
    id,
    lane: script.lane ?? 'csbs/p1',
    pollTimes,
    async poll() {
      pollTimes.push(clock.now());
      const failure = script.fail?.(pollTimes.length);
      if (failure !== undefined) throw failure;
      if (pollTimes.length > (script.doneAfterPolls ?? Number.POSITIVE_INFINITY)) {
        return script.final ?? { state: 'done' };
      }
      return { state: 'running' };
    },
  };
}

const lanes = { limitOf: () => 5 };
const fixedRandom = () => 0.5;

describe('trackDeletions', () => {
  it('polls with growing backoff until the deletion is done', async () => {
    const clock = new ManualClock(0);
    const deletion = fakeDeletion(clock, 'cp-1', { doneAfterPolls: 4 });
    const [outcome] = await clock.run(
      trackDeletions([deletion], { lanes, clock, random: fixedRandom, baseMs: 2_000, capMs: 60_000 }),
    );
    expect(outcome).toEqual({ id: 'cp-1', lane: 'csbs/p1', state: 'done', polls: 5, elapsedMs: 15_000 });
    // Half of min(60 s, 2 s·2^n) with random 0.5: 1 s, 2 s, 4 s, 8 s apart.
    expect(deletion.pollTimes).toEqual([0, 1_000, 3_000, 7_000, 15_000]);
  });

  it('reports an upstream failure with its reason', async () => {
    const clock = new ManualClock(0);
    const deletion = fakeDeletion(clock, 'job-9', {
      lane: 'dds/p1',
      doneAfterPolls: 1,
      final: { state: 'failed', reason: 'backup is in use' },
    });
    const [outcome] = await clock.run(trackDeletions([deletion], { lanes, clock, random: fixedRandom }));
    expect(outcome).toMatchObject({
      id: 'job-9',
      lane: 'dds/p1',
      state: 'failed',
      reason: 'backup is in use',
      polls: 2,
    });
  });

  it('times out at the 30-minute ceiling, after a last poll at the ceiling itself', async () => {
    const clock = new ManualClock(0);
    const deletion = fakeDeletion(clock, 'stuck', {});
    const [outcome] = await clock.run(trackDeletions([deletion], { lanes, clock, random: () => 0.99 }));
    expect(outcome).toMatchObject({ state: 'timed_out', elapsedMs: 30 * MINUTE });
    expect(deletion.pollTimes.at(-1)).toBe(30 * MINUTE);
    expect(deletion.pollTimes.every((time) => time <= 30 * MINUTE)).toBe(true);
    // Backoff is capped at 60 s: a 30-minute wait takes a few dozen polls, not thousands.
    const gaps = deletion.pollTimes.slice(1).map((time, i) => time - deletion.pollTimes[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(60_000);
    expect(deletion.pollTimes.length).toBeLessThan(45);
  });

  it('counts the ceiling from when the deletion was accepted, so a resumed run polls once then gives up', async () => {
    const clock = new ManualClock(100 * MINUTE);
    const deletion = { ...fakeDeletion(clock, 'old', {}), acceptedAtMs: 10 * MINUTE };
    const [outcome] = await clock.run(trackDeletions([deletion], { lanes, clock }));
    expect(outcome).toMatchObject({ state: 'timed_out', polls: 1, elapsedMs: 90 * MINUTE });
  });

  it('retries failed polls and still reaches done', async () => {
    const clock = new ManualClock(0);
    const deletion = fakeDeletion(clock, 'flaky', {
      doneAfterPolls: 3,
      fail: (poll) => (poll <= 2 ? new Error('ECONNRESET') : undefined),
    });
    const [outcome] = await clock.run(trackDeletions([deletion], { lanes, clock, random: fixedRandom }));
    expect(outcome).toMatchObject({ state: 'done', polls: 4 });
  });

  it('reports failed with the error code after too many failed polls in a row', async () => {
    const clock = new ManualClock(0);
    const error = Object.assign(new Error('connection refused'), { code: 'UPSTREAM_NETWORK' });
    const deletion = fakeDeletion(clock, 'down', { fail: () => error });
    const [outcome] = await clock.run(
      trackDeletions([deletion], { lanes, clock, random: fixedRandom, maxConsecutiveErrors: 3 }),
    );
    expect(outcome).toMatchObject({
      state: 'failed',
      code: 'UPSTREAM_NETWORK',
      reason: 'poll failed 3 times in a row: connection refused',
      polls: 3,
    });
  });

  it('stops at the first error that is not retryable', async () => {
    const clock = new ManualClock(0);
    const error = Object.assign(new Error('forbidden'), { code: 'UPSTREAM_AUTH' });
    const deletion = fakeDeletion(clock, 'denied', { fail: () => error });
    const [outcome] = await clock.run(
      trackDeletions([deletion], {
        lanes,
        clock,
        isRetryable: (reason) => (reason as { code?: string }).code !== 'UPSTREAM_AUTH',
      }),
    );
    expect(outcome).toMatchObject({
      state: 'failed',
      code: 'UPSTREAM_AUTH',
      reason: 'poll failed: forbidden',
      polls: 1,
    });
  });

  it('treats a malformed poll status as a failed poll', async () => {
    const clock = new ManualClock(0);
    const deletion: TrackedDeletion = {
      id: 'weird',
      lane: 'cbr/p1',
      poll: async () => ({ state: 'deleting' }) as unknown as PollStatus,
    };
    const [outcome] = await clock.run(
      trackDeletions([deletion], { lanes, clock, random: fixedRandom, maxConsecutiveErrors: 2 }),
    );
    expect(outcome).toMatchObject({ state: 'failed', polls: 2 });
    expect(outcome!.reason).toMatch(/invalid status/);
  });

  it('waits the Retry-After a poll asks for', async () => {
    const clock = new ManualClock(0);
    const answers: PollStatus[] = [{ state: 'running', retryAfterMs: 45_000 }, { state: 'done' }];
    const pollTimes: number[] = [];
    const deletion: TrackedDeletion = {
      id: 'told',
      lane: 'cbr/p1',
      poll: async () => {
        pollTimes.push(clock.now());
        return answers.shift()!;
      },
    };
    await clock.run(trackDeletions([deletion], { lanes, clock }));
    expect(pollTimes).toEqual([0, 45_000]);
  });

  it('polls within each lane’s concurrency limit, and rides out a throttled poll', async () => {
    const clock = new ManualClock(0);
    const running = new Map<string, number>();
    const peak = new Map<string, number>();
    let throttled = false;
    const items: TrackedDeletion[] = Array.from({ length: 12 }, (_, i) => {
      const lane = i % 3 === 0 ? 'cbr/p1' : 'csbs/p1';
      let polls = 0;
      return {
        id: `d${i}`,
        lane,
        async poll() {
          running.set(lane, (running.get(lane) ?? 0) + 1);
          peak.set(lane, Math.max(peak.get(lane) ?? 0, running.get(lane)!));
          await sleep(300, clock);
          running.set(lane, running.get(lane)! - 1);
          polls++;
          if (i === 4 && !throttled) {
            throttled = true;
            throw new LaneThrottle(10_000);
          }
          return polls >= 3 ? { state: 'done' } : { state: 'running' };
        },
      };
    });
    const outcomes = await clock.run(
      trackDeletions(items, {
        lanes: { limitOf: (lane) => (lane === 'csbs/p1' ? 2 : 1) },
        clock,
        random: fixedRandom,
      }),
    );
    expect(outcomes.map((outcome) => outcome.state)).toEqual(Array(12).fill('done'));
    expect(outcomes.map((outcome) => outcome.id)).toEqual(items.map((item) => item.id));
    expect(Object.fromEntries(peak)).toEqual({ 'csbs/p1': 2, 'cbr/p1': 1 });
  });

  it('shares a scheduler passed in, so polls and deletions count against the same limits', async () => {
    const clock = new ManualClock(0);
    const scheduler = new LaneScheduler({ limitOf: () => 1, clock });
    let releaseDelete!: () => void;
    const deleting = scheduler.schedule(
      'csbs/p1',
      () => new Promise<void>((resolve) => (releaseDelete = resolve)),
    );
    const deletion = fakeDeletion(clock, 'after-delete', { doneAfterPolls: 0 });
    const tracking = trackDeletions([deletion], { scheduler, clock });
    await new Promise((resolve) => setImmediate(resolve));
    expect(deletion.pollTimes).toEqual([]);
    releaseDelete();
    await deleting;
    const [outcome] = await clock.run(tracking);
    expect(outcome).toMatchObject({ state: 'done', polls: 1 });
    scheduler.dispose();
  });

  it('reports aborted and leaves no timer behind when the signal aborts mid-wait', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const deletion = fakeDeletion(clock, 'long', {});
    const tracking = trackDeletions([deletion], { lanes, clock, signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(deletion.pollTimes).toEqual([0]);
    controller.abort();
    const [outcome] = await tracking;
    expect(outcome).toMatchObject({ state: 'aborted', polls: 1 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects invalid options before polling', async () => {
    const clock = new ManualClock(0);
    const deletion = fakeDeletion(clock, 'x', {});
    await expect(trackDeletions([deletion], { clock })).rejects.toThrow(/scheduler.*lanes/);
    await expect(trackDeletions([deletion], { lanes, maxConsecutiveErrors: 0 })).rejects.toThrow(RangeError);
    await expect(trackDeletions([deletion], { lanes, ceilingMs: -1 })).rejects.toThrow(/ceilingMs/);
    expect(deletion.pollTimes).toEqual([]);
  });
});

describe('decideAfterPoll', () => {
  const running = { ok: true, status: { state: 'running' } } as const;

  it('finishes done at once, whatever the clock says', () => {
    const decision = decideAfterPoll(startTracking(0), { ok: true, status: { state: 'done' } }, 99 * MINUTE);
    expect(decision).toEqual({
      action: 'finish',
      state: 'done',
      next: { acceptedAtMs: 0, polls: 1, consecutiveErrors: 0 },
    });
  });

  it('carries the state a queued tracking message needs to resume', () => {
    const first = decideAfterPoll(startTracking(1_000), { ok: false, error: new Error('reset') }, 2_000);
    expect(first).toMatchObject({
      action: 'poll-again',
      next: { acceptedAtMs: 1_000, polls: 1, consecutiveErrors: 1 },
    });
    const second = decideAfterPoll(first.next, running, 5_000);
    expect(second.next).toEqual({ acceptedAtMs: 1_000, polls: 2, consecutiveErrors: 0 });
  });

  it('never waits past the ceiling, and times out once it has passed (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 0, max: 2 * 30 * MINUTE }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.option(fc.integer({ min: 0, max: 10 * MINUTE }), { nil: undefined }),
        (polls, sinceAccepted, r, retryAfterMs) => {
          const state = { acceptedAtMs: 5_000, polls, consecutiveErrors: 0 };
          const status =
            retryAfterMs === undefined
              ? { state: 'running' as const }
              : { state: 'running' as const, retryAfterMs };
          const now = 5_000 + sinceAccepted;
          const decision = decideAfterPoll(state, { ok: true, status }, now, { random: () => r });
          if (sinceAccepted >= 30 * MINUTE)
            return decision.action === 'finish' && decision.state === 'timed_out';
          return (
            decision.action === 'poll-again' &&
            decision.delayMs >= 0 &&
            now + decision.delayMs <= 5_000 + 30 * MINUTE &&
            decision.delayMs <= Math.max(60_000, retryAfterMs ?? 0)
          );
        },
      ),
    );
  });
});
