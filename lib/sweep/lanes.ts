/**
 * Lanes: a keyed concurrency limiter for the sweep's fan-out.
 *
 * Work runs in lanes keyed by `${service}/${project}`; each lane has its own limit (CSBS allows 5 concurrent
 * deletions per project) and an optional global limit caps the sum. Unlike p-limit, a lane reacts to
 * throttling: when a task reports "throttled" (throws a `LaneThrottle`, or anything `throttleOf` recognises,
 * e.g. a HuaweiThrottledError), the whole lane pauses for the Retry-After (or a jittered backoff), its
 * concurrency window halves (min 1) and then grows back by one per window of successes (AIMD, as TCP does);
 * the throttled task goes back to the front of its lane instead of failing, up to `maxThrottleRetries` times.
 * Lanes are independent: a paused or slow lane never holds back another, and lanes share the global limit
 * round-robin so a long lane cannot starve the others.
 */

import { z } from 'zod';
import { AppError } from '../errors.ts';
import { type Clock, DEFAULT_BACKOFF, nextDelay, systemClock, validateBackoffOptions } from './backoff.ts';

export type LaneResult<T> = { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown };

/** Thrown (or returned by `throttleOf`) to say "this lane is throttled; retry this item later". */
export class LaneThrottle extends AppError {
  override name = 'LaneThrottle';
  readonly code = 'LANE_THROTTLED';
  override readonly retryAfterMs: number | undefined;
  constructor(retryAfterMs?: number, options?: { cause?: unknown }) {
    super(
      retryAfterMs === undefined ? 'Lane throttled' : `Lane throttled, retry after ${retryAfterMs} ms`,
      options,
    );
    this.retryAfterMs = retryAfterMs;
  }
}

/** The rejection of a task that had not started (or was waiting to retry) when the run was aborted. */
export class LaneAbortError extends AppError {
  override name = 'AbortError';
  readonly code = 'ABORTED';
}

/** What a task receives: its lane, the run's abort signal, and a way to slow the lane without failing. */
export interface LaneTaskContext {
  readonly lane: string;
  readonly signal: AbortSignal;
  /** How many times this task was throttled and re-queued before this run (0 on the first run). */
  readonly throttleRetries: number;
  /**
   * Reports throttling that the task itself absorbed (e.g. its HTTP client retried a 429 and then
   * succeeded): the lane pauses and shrinks exactly as if the task had thrown a LaneThrottle.
   */
  backoff(retryAfterMs?: number): void;
}

export type LaneEvent =
  | { readonly type: 'throttled'; readonly lane: string; readonly window: number; readonly pauseMs: number }
  | { readonly type: 'resumed'; readonly lane: string; readonly window: number }
  | { readonly type: 'window-grown'; readonly lane: string; readonly window: number };

export interface LaneSchedulerOptions {
  /** The concurrency limit of a lane (an integer ≥ 1); asked once per lane, on its first task. */
  readonly limitOf: (lane: string) => number;
  /** At most this many tasks run across all lanes (integer ≥ 1 or Infinity; default Infinity). */
  readonly globalLimit?: number;
  /** How often one task may be throttled and re-queued before it is rejected (integer ≥ 0; default 8). */
  readonly maxThrottleRetries?: number;
  /** Recognises a rejection as throttling; default: `LaneThrottle` instances. Return undefined otherwise. */
  readonly throttleOf?: (reason: unknown) => { readonly retryAfterMs?: number | undefined } | undefined;
  /** Pause length when the throttle carries no Retry-After (full-jitter backoff; default 1 s base, 60 s cap). */
  readonly backoff?: { readonly baseMs: number; readonly capMs: number };
  readonly random?: () => number;
  readonly clock?: Clock;
  /** Aborting rejects every task not yet started with a LaneAbortError; running tasks see the signal. */
  readonly signal?: AbortSignal;
  /** Observability hook (progress output, logs, tests). Must not throw. */
  readonly onLaneEvent?: (event: LaneEvent) => void;
}

export interface LaneStats {
  readonly limit: number;
  /** The current AIMD window: how many tasks may run now (1 ≤ window ≤ limit). */
  readonly window: number;
  readonly running: number;
  readonly queued: number;
  readonly paused: boolean;
}

export const DEFAULT_MAX_THROTTLE_RETRIES = 8;

/** Per-lane limits as they appear in config: exact lane, then service, then the default. */
export const LaneLimitsSchema = z.strictObject({
  default: z.int().min(1),
  byService: z.record(z.string(), z.int().min(1)).default({}),
  byLane: z.record(z.string(), z.int().min(1)).default({}),
});
/** As written in config: `byService` and `byLane` may be left out. */
export type LaneLimits = z.input<typeof LaneLimitsSchema>;

/**
 * CSBS runs at most 5 deletion tasks at once (API.md: "a user runs at most 5 deletion tasks at once, the 6th
 * and later queue"); issue 6 bounds it per (service, project). The other services get a modest default.
 */
export const DEFAULT_LANE_LIMITS: LaneLimits = Object.freeze({ default: 10, byService: { csbs: 5 } });

export function laneKey(service: string, projectId: string): string {
  return `${service}/${projectId}`;
}

/** Turns config limits into a `limitOf` for lanes keyed by `laneKey(service, project)`. */
export function limitOfLanes(limits: LaneLimits = DEFAULT_LANE_LIMITS): (lane: string) => number {
  const parsed = LaneLimitsSchema.parse(limits);
  return (lane) => {
    const byLane = parsed.byLane[lane];
    if (byLane !== undefined) return byLane;
    const slash = lane.indexOf('/');
    const service = slash === -1 ? lane : lane.slice(0, slash);
    return parsed.byService[service] ?? parsed.default;
  };
}

function assertLimit(name: string, value: unknown, allowInfinity: boolean): number {
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(
      `Expected \`${name}\` to be a number, got ${typeof value === 'number' ? 'NaN' : typeof value}`,
    );
  }
  if (!(Number.isInteger(value) || (allowInfinity && value === Number.POSITIVE_INFINITY)) || value < 1) {
    throw new RangeError(
      `Expected \`${name}\` to be an integer ≥ 1${allowInfinity ? ' or Infinity' : ''}, got ${value}`,
    );
  }
  return value;
}

interface Task {
  readonly run: (context: LaneTaskContext) => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (reason: unknown) => void;
  throttleRetries: number;
}

interface Lane {
  readonly key: string;
  readonly limit: number;
  window: number;
  successesInWindow: number;
  running: number;
  /** FIFO with a head index so shift is O(1); throttled tasks go back in front of the head. */
  queue: Task[];
  head: number;
  pauseTimer: unknown;
  pausedUntil: number;
  /** Bumped on every window reduction: a throttle from a task started before it is the same congestion. */
  epoch: number;
  consecutiveThrottles: number;
}

function queued(lane: Lane): number {
  return lane.queue.length - lane.head;
}

export class LaneScheduler {
  private readonly limitOf: (lane: string) => number;
  private readonly globalLimit: number;
  private readonly maxThrottleRetries: number;
  private readonly throttleOf: NonNullable<LaneSchedulerOptions['throttleOf']>;
  private readonly backoffOptions: { baseMs: number; capMs: number; random?: () => number };
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly onLaneEvent: ((event: LaneEvent) => void) | undefined;
  private readonly lanes = new Map<string, Lane>();
  /** Lanes in first-use order, visited round-robin from `cursor` when the global limit is the bottleneck. */
  private readonly order: Lane[] = [];
  private cursor = 0;
  private runningTotal = 0;
  private queuedTotal = 0;
  private pumping = false;
  private pumpAgain = false;
  private pumpRequested = false;
  private aborted = false;
  private idleWaiters: (() => void)[] = [];
  private readonly abortListener = () => this.abort();

  constructor(options: LaneSchedulerOptions) {
    if (typeof options?.limitOf !== 'function') {
      throw new TypeError('Expected `limitOf` to be a function (lane) => integer ≥ 1');
    }
    this.limitOf = options.limitOf;
    this.globalLimit = assertLimit('globalLimit', options.globalLimit ?? Number.POSITIVE_INFINITY, true);
    const maxRetries = options.maxThrottleRetries ?? DEFAULT_MAX_THROTTLE_RETRIES;
    if (typeof maxRetries !== 'number' || !Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new RangeError(`Expected \`maxThrottleRetries\` to be an integer ≥ 0, got ${String(maxRetries)}`);
    }
    this.maxThrottleRetries = maxRetries;
    if (options.throttleOf !== undefined && typeof options.throttleOf !== 'function') {
      throw new TypeError('Expected `throttleOf` to be a function (reason) => { retryAfterMs? } | undefined');
    }
    this.throttleOf =
      options.throttleOf ??
      ((reason) => (reason instanceof LaneThrottle ? { retryAfterMs: reason.retryAfterMs } : undefined));
    const backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.backoffOptions = { baseMs: backoff.baseMs, capMs: backoff.capMs };
    if (options.random !== undefined) this.backoffOptions.random = options.random;
    validateBackoffOptions(this.backoffOptions);
    this.clock = options.clock ?? systemClock;
    this.onLaneEvent = options.onLaneEvent;
    this.signal = options.signal ?? new AbortController().signal;
    if (this.signal.aborted) this.aborted = true;
    else this.signal.addEventListener('abort', this.abortListener, { once: true });
  }

  /** Tasks running now, across lanes. */
  get running(): number {
    return this.runningTotal;
  }

  /** Tasks waiting to start (including throttled ones waiting to retry), across lanes. */
  get queued(): number {
    return this.queuedTotal;
  }

  laneStats(lane: string): LaneStats | undefined {
    const state = this.lanes.get(lane);
    if (!state) return undefined;
    return {
      limit: state.limit,
      window: state.window,
      running: state.running,
      queued: queued(state),
      paused: state.pauseTimer !== undefined,
    };
  }

  /**
   * Runs `fn` in `lane` when the lane (and the global limit) allow; resolves or rejects with its outcome.
   * Throws synchronously if `limitOf(lane)` is not an integer ≥ 1 (a configuration error, not an item's).
   */
  schedule<R>(lane: string, fn: (context: LaneTaskContext) => R | PromiseLike<R>): Promise<Awaited<R>> {
    if (typeof lane !== 'string')
      throw new TypeError(`Expected the lane key to be a string, got ${typeof lane}`);
    if (typeof fn !== 'function') throw new TypeError('Expected the task to be a function');
    const state = this.lane(lane);
    return new Promise<Awaited<R>>((resolve, reject) => {
      if (this.aborted) {
        reject(this.abortError('Aborted before the task was scheduled'));
        return;
      }
      state.queue.push({
        run: fn,
        resolve: resolve as (value: unknown) => void,
        reject,
        throttleRetries: 0,
      });
      this.queuedTotal++;
      this.requestPump();
    });
  }

  /** Resolves when nothing is running or queued (immediately if already idle). */
  onIdle(): Promise<void> {
    if (this.runningTotal === 0 && this.queuedTotal === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops listening to the abort signal and cancels lane pauses; call when the run is over. */
  dispose(): void {
    this.signal.removeEventListener('abort', this.abortListener);
    for (const lane of this.order) this.clearPause(lane);
  }

  private lane(key: string): Lane {
    let state = this.lanes.get(key);
    if (state) return state;
    const limit = assertLimit(`limitOf('${key}')`, this.limitOf(key), false);
    state = {
      key,
      limit,
      window: limit,
      successesInWindow: 0,
      running: 0,
      queue: [],
      head: 0,
      pauseTimer: undefined,
      pausedUntil: 0,
      epoch: 0,
      consecutiveThrottles: 0,
    };
    this.lanes.set(key, state);
    this.order.push(state);
    return state;
  }

  private abortError(message: string): LaneAbortError {
    return new LaneAbortError(message, { cause: this.signal.reason });
  }

  private abort(): void {
    this.aborted = true;
    for (const lane of this.order) {
      this.clearPause(lane);
      for (let i = lane.head; i < lane.queue.length; i++) {
        lane.queue[i]!.reject(this.abortError('Aborted before the task started'));
      }
      this.queuedTotal -= queued(lane);
      lane.queue = [];
      lane.head = 0;
    }
    this.notifyIfIdle();
  }

  private canStart(lane: Lane): boolean {
    return lane.pauseTimer === undefined && lane.running < lane.window && queued(lane) > 0;
  }

  /**
   * Starting is deferred to a microtask so that tasks scheduled together (a whole sweep's items) are all
   * queued before the first starts: the global limit is then shared round-robin from the start instead of
   * going to whichever lane came first in the input.
   */
  private requestPump(): void {
    if (this.pumpRequested) return;
    this.pumpRequested = true;
    queueMicrotask(() => {
      this.pumpRequested = false;
      this.pump();
    });
  }

  /** Starts every task the limits allow. Re-entrant calls (a task scheduling a task) loop instead of nesting. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        while (!this.aborted && this.runningTotal < this.globalLimit) {
          const lane = this.nextReadyLane();
          if (!lane) break;
          this.start(lane);
        }
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private nextReadyLane(): Lane | undefined {
    const count = this.order.length;
    for (let i = 0; i < count; i++) {
      const index = (this.cursor + i) % count;
      const lane = this.order[index]!;
      if (this.canStart(lane)) {
        this.cursor = (index + 1) % count;
        return lane;
      }
    }
    return undefined;
  }

  private start(lane: Lane): void {
    const task = lane.queue[lane.head]!;
    lane.queue[lane.head] = undefined as unknown as Task;
    lane.head++;
    if (lane.head > 1024 && lane.head * 2 > lane.queue.length) {
      lane.queue = lane.queue.slice(lane.head);
      lane.head = 0;
    }
    this.queuedTotal--;
    lane.running++;
    this.runningTotal++;
    const startEpoch = lane.epoch;
    const context: LaneTaskContext = {
      lane: lane.key,
      signal: this.signal,
      throttleRetries: task.throttleRetries,
      backoff: (retryAfterMs?: number) => this.throttle(lane, retryAfterMs, startEpoch),
    };
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(task.run(context));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (value) => {
        this.finish(lane);
        this.grow(lane, startEpoch);
        task.resolve(value);
        this.pump();
        this.notifyIfIdle();
      },
      (reason: unknown) => {
        this.finish(lane);
        const throttle = this.aborted ? undefined : this.safeThrottleOf(reason);
        if (throttle) {
          this.throttle(lane, throttle.retryAfterMs, startEpoch);
          if (task.throttleRetries < this.maxThrottleRetries) {
            task.throttleRetries++;
            this.requeueFront(lane, task);
          } else {
            task.reject(reason);
          }
        } else {
          task.reject(reason);
        }
        this.pump();
        this.notifyIfIdle();
      },
    );
  }

  private safeThrottleOf(reason: unknown): { readonly retryAfterMs?: number | undefined } | undefined {
    try {
      return this.throttleOf(reason);
    } catch {
      return undefined;
    }
  }

  private finish(lane: Lane): void {
    lane.running--;
    this.runningTotal--;
  }

  private requeueFront(lane: Lane, task: Task): void {
    if (lane.head > 0) {
      lane.head--;
      lane.queue[lane.head] = task;
    } else {
      lane.queue.unshift(task);
    }
    this.queuedTotal++;
  }

  /**
   * Additive increase: one more slot after a full window of successes. Only tasks started after the last
   * reduction count: one that was already in flight when the lane was throttled says nothing about the
   * smaller window.
   */
  private grow(lane: Lane, startEpoch: number): void {
    if (startEpoch !== lane.epoch) return;
    lane.consecutiveThrottles = 0;
    if (lane.window >= lane.limit) return;
    lane.successesInWindow++;
    if (lane.successesInWindow >= lane.window) {
      lane.window++;
      lane.successesInWindow = 0;
      this.emit({ type: 'window-grown', lane: lane.key, window: lane.window });
    }
  }

  /**
   * Multiplicative decrease and a pause. Several tasks started under the same window usually hit the same
   * throttle together: only the first halves the window; the others may only lengthen the pause.
   */
  private throttle(lane: Lane, retryAfterMs: number | undefined, startEpoch: number): void {
    if (this.aborted) return;
    if (startEpoch === lane.epoch) {
      lane.epoch++;
      lane.consecutiveThrottles++;
      lane.window = Math.max(1, Math.floor(lane.window / 2));
      lane.successesInWindow = 0;
    }
    const pauseMs = nextDelay(Math.min(Math.max(lane.consecutiveThrottles - 1, 0), 30), {
      ...this.backoffOptions,
      retryAfterMs,
    });
    const until = this.clock.now() + pauseMs;
    if (lane.pauseTimer !== undefined && until <= lane.pausedUntil) return;
    this.clearPause(lane);
    lane.pausedUntil = until;
    lane.pauseTimer = this.clock.setTimeout(() => {
      lane.pauseTimer = undefined;
      this.emit({ type: 'resumed', lane: lane.key, window: lane.window });
      this.pump();
    }, pauseMs);
    this.emit({ type: 'throttled', lane: lane.key, window: lane.window, pauseMs });
  }

  private clearPause(lane: Lane): void {
    if (lane.pauseTimer === undefined) return;
    this.clock.clearTimeout(lane.pauseTimer);
    lane.pauseTimer = undefined;
  }

  private emit(event: LaneEvent): void {
    try {
      this.onLaneEvent?.(event);
    } catch {
      // An observer must not break the run.
    }
  }

  private notifyIfIdle(): void {
    if (this.runningTotal !== 0 || this.queuedTotal !== 0 || this.idleWaiters.length === 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

export interface RunInLanesOptions<T> extends Omit<LaneSchedulerOptions, 'limitOf'> {
  /** The lane of an item, e.g. `(b) => laneKey(b.service, b.project_id)`. */
  readonly laneOf: (item: T, index: number) => string;
  readonly limitOf: (lane: string) => number;
}

/**
 * Runs `worker` over every item in its lane and returns one result per item, in input order; never
 * fail-fast. Throws synchronously on invalid options or limits (before any work starts).
 */
export function runInLanes<T, R>(
  items: readonly T[],
  options: RunInLanesOptions<T>,
  worker: (item: T, context: LaneTaskContext & { readonly index: number }) => R | PromiseLike<R>,
): Promise<LaneResult<Awaited<R>>[]> {
  if (!Array.isArray(items)) throw new TypeError('Expected `items` to be an array');
  if (typeof options?.laneOf !== 'function') throw new TypeError('Expected `laneOf` to be a function');
  if (typeof worker !== 'function') throw new TypeError('Expected `worker` to be a function');
  const laneKeys = items.map((item, index) => {
    const key = options.laneOf(item, index);
    if (typeof key !== 'string')
      throw new TypeError(`Expected \`laneOf\` to return a string for item ${index}`);
    return key;
  });
  const scheduler = new LaneScheduler(options);
  // Validate every lane's limit before the first task starts, so a bad config fails the run, not items.
  for (const key of new Set(laneKeys)) assertLimit(`limitOf('${key}')`, options.limitOf(key), false);
  const results = items.map((item, index) =>
    scheduler
      .schedule(laneKeys[index]!, (context) => worker(item, { ...context, index }))
      .then(
        (value): LaneResult<Awaited<R>> => ({ status: 'fulfilled', value }),
        (reason: unknown): LaneResult<Awaited<R>> => ({ status: 'rejected', reason }),
      ),
  );
  return Promise.all(results).finally(() => scheduler.dispose());
}
