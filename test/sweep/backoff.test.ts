import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  deadlineFrom,
  delayWithin,
  hasExpired,
  nextDelay,
  remainingMs,
  SleepAbortedError,
  sleep,
  TRACKING_CEILING_MS,
} from '../../lib/sweep/backoff.ts';
import { ManualClock } from './manual-clock.ts';

describe('nextDelay', () => {
  const options = { baseMs: 100, capMs: 10_000 };

  it('doubles the jitter ceiling with each attempt', () => {
    const top = () => 0.999999999;
    expect([0, 1, 2, 3, 4].map((attempt) => nextDelay(attempt, { ...options, random: top }))).toEqual([
      100, 200, 400, 800, 1600,
    ]);
  });

  it('draws the delay uniformly below the ceiling (full jitter)', () => {
    expect(nextDelay(3, { ...options, random: () => 0 })).toBe(0);
    expect(nextDelay(3, { ...options, random: () => 0.5 })).toBe(400);
  });

  it('never exceeds the cap, even when 2^attempt overflows', () => {
    const top = () => 0.999999999;
    expect(nextDelay(10, { ...options, random: top })).toBe(10_000);
    expect(nextDelay(5_000, { ...options, random: top })).toBe(10_000);
  });

  it('uses the server Retry-After as given, even above the cap', () => {
    expect(nextDelay(0, { ...options, retryAfterMs: 2_500, random: () => 0 })).toBe(2_500);
    expect(nextDelay(0, { ...options, retryAfterMs: 120_000 })).toBe(120_000);
    expect(nextDelay(2, { ...options, retryAfterMs: 0 })).toBe(0);
  });

  it('ignores a Retry-After that is not a finite number ≥ 0', () => {
    for (const retryAfterMs of [Number.NaN, -5, Number.POSITIVE_INFINITY]) {
      expect(nextDelay(1, { ...options, retryAfterMs, random: () => 0.5 })).toBe(100);
    }
  });

  it('clamps a random source that strays outside [0, 1)', () => {
    expect(nextDelay(0, { ...options, random: () => 7 })).toBe(100);
    expect(nextDelay(0, { ...options, random: () => -1 })).toBe(0);
  });

  it('rejects invalid attempts and options with a message naming the field', () => {
    expect(() => nextDelay(-1, options)).toThrow(/attempt/);
    expect(() => nextDelay(1.5, options)).toThrow(RangeError);
    expect(() => nextDelay(0, { baseMs: -1, capMs: 10 })).toThrow(/baseMs/);
    expect(() => nextDelay(0, { baseMs: 100, capMs: 10 })).toThrow(/capMs/);
    expect(() => nextDelay(0, { baseMs: 'x' as unknown as number, capMs: 10 })).toThrow(TypeError);
  });

  it('always stays within [0, min(cap, base·2^attempt)] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, extra, r) => {
          const capMs = baseMs + extra;
          const delay = nextDelay(attempt, { baseMs, capMs, random: () => r });
          return Number.isInteger(delay) && delay >= 0 && delay <= Math.min(capMs, baseMs * 2 ** attempt);
        },
      ),
    );
  });
});

describe('deadlines', () => {
  it('expires the ceiling after the start', () => {
    const deadline = deadlineFrom(1_000, TRACKING_CEILING_MS);
    expect(deadline).toEqual({ startedAtMs: 1_000, expiresAtMs: 1_000 + 30 * 60_000 });
    expect(hasExpired(deadline, 1_000 + TRACKING_CEILING_MS - 1)).toBe(false);
    expect(hasExpired(deadline, 1_000 + TRACKING_CEILING_MS)).toBe(true);
  });

  it('reports the time left, never negative', () => {
    const deadline = deadlineFrom(0, 5_000);
    expect(remainingMs(deadline, 1_500)).toBe(3_500);
    expect(remainingMs(deadline, 9_000)).toBe(0);
  });

  it('shortens a delay that would overshoot the deadline', () => {
    const deadline = deadlineFrom(0, 5_000);
    expect(delayWithin(deadline, 1_000, 2_000)).toBe(2_000);
    expect(delayWithin(deadline, 4_000, 2_000)).toBe(1_000);
  });

  it('rejects a negative ceiling', () => {
    expect(() => deadlineFrom(0, -1)).toThrow(RangeError);
  });
});

describe('sleep', () => {
  it('resolves when the clock reaches the delay', async () => {
    const clock = new ManualClock(0);
    let done = false;
    const waiting = sleep(1_000, clock).then(() => {
      done = true;
    });
    await Promise.resolve();
    expect(done).toBe(false);
    await clock.run(waiting);
    expect(clock.now()).toBe(1_000);
  });

  it('rejects with an AbortError and clears its timer on abort', async () => {
    const clock = new ManualClock(0);
    const controller = new AbortController();
    const waiting = sleep(1_000, clock, controller.signal);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(SleepAbortedError);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once when already aborted', async () => {
    await expect(sleep(1, new ManualClock(), AbortSignal.abort())).rejects.toMatchObject({
      name: 'AbortError',
    });
  });
});
