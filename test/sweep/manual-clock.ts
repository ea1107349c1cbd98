import { setImmediate as nextMacrotask } from 'node:timers/promises';
import type { Clock } from '../../lib/sweep/backoff.ts';

interface PendingTimer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

/**
 * A clock whose time moves only when the test says so. `run(promise)` drives a whole scheduler run:
 * it lets every pending promise settle, then jumps to the next timer, until the promise settles —
 * so a run with minutes of throttle pauses takes milliseconds and always interleaves the same way.
 */
export class ManualClock implements Clock {
  private current: number;
  private nextId = 1;
  private timers: PendingTimer[] = [];
  /** Every delay passed to setTimeout, in order: lets tests see pauses and backoff. */
  readonly requestedDelays: number[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const id = this.nextId++;
    this.requestedDelays.push(ms);
    this.timers.push({ id, at: this.current + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((timer) => timer.id !== handle);
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Fires the earliest timer (advancing time to it); false when none is pending. */
  fireNext(): boolean {
    if (this.timers.length === 0) return false;
    let earliest = this.timers[0]!;
    for (const timer of this.timers) {
      if (timer.at < earliest.at || (timer.at === earliest.at && timer.id < earliest.id)) earliest = timer;
    }
    this.timers = this.timers.filter((timer) => timer !== earliest);
    this.current = Math.max(this.current, earliest.at);
    earliest.callback();
    return true;
  }

  /** Settles microtasks and fires timers until `promise` settles; throws if it would wait forever. */
  async run<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    const observed = promise.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    observed.catch(() => {});
    for (;;) {
      await nextMacrotask();
      if (settled) return observed;
      if (!this.fireNext()) {
        await nextMacrotask();
        if (settled) return observed;
        throw new Error('ManualClock.run: the promise is pending with no timer left to fire (deadlock)');
      }
    }
  }
}

/** Lets a few rounds of promise callbacks run, to vary interleavings without real time. */
export async function ticks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await Promise.resolve();
}
