/**
 * Inline fan-out: the step functions (lib/sweep/step.ts) run in lanes keyed by (service, project) inside this
 * invocation. Waits between steps (busy retry, poll backoff) happen here, outside the lane, except for the
 * services in `holdSlotDuring` (CSBS): upstream counts a CSBS deletion as a running task until it finishes,
 * so its lane slot is held from the DELETE until tracking ends — never more than the lane limit (5) of one
 * project's CSBS deletions are in flight, whatever upstream's own queueing does.
 *
 * Across invocations: with a `semaphore` (lib/sweep/queued/semaphore.ts, the one queued mode uses), every
 * DELETE also takes a slot of that shared semaphore (holder: the deletion id) before it is sent, so overlapping
 * sweeps, queued workers and HTTP deletes together stay within a lane's limit. A CSBS slot is held (its lease
 * renewed at every poll) until tracking ends; other services' slots cover the DELETE call only. An item that
 * finds the lane full waits in its local lane slot with growing delays (SLOT_WAIT_*), aborted by the signal.
 * A run that stops mid-tracking leaves its CSBS slots to their lease: the DELETE is still running upstream.
 *
 * Aborting stops new work; a DELETE already sent is let finish so its outcome is recorded, and unfinished items
 * are reported `pending` (a rerun with the same sweep id resumes them). An unexpected error from a step (a bug,
 * the ledger down) stops the whole run the same way and is rethrown.
 */
import { setMaxListeners } from 'node:events';
import type { PlannedItem } from '../ledger/schema.ts';
import type { BackupService } from '../services/backup.ts';
import { type Clock, nextDelay, sleep, systemClock } from './backoff.ts';
import {
  DEFAULT_LANE_LIMITS,
  LaneAbortError,
  type LaneEvent,
  type LaneLimits,
  LaneScheduler,
  type LaneTaskContext,
  LaneThrottle,
  laneKey,
  limitOfLanes,
} from './lanes.ts';
import type { LaneSemaphore } from './queued/semaphore.ts';
import type { ItemOutcome } from './report.ts';
import {
  type PlanLookup,
  pollPlannedDeletion,
  processPlannedDeletion,
  type StepDeps,
  type StepResult,
} from './step.ts';
import type { TrackingState } from './tracker.ts';

export interface InlineOptions {
  readonly sweepId: string;
  readonly items: readonly PlannedItem[];
  /** The ledger plan the steps check every item against. */
  readonly plan: PlanLookup;
  readonly laneLimits?: LaneLimits | undefined;
  /** Services whose lane slot is held until the deletion is tracked to its end. Default: csbs. */
  readonly holdSlotDuring?: readonly BackupService[] | undefined;
  /**
   * How often one step may be throttled and re-queued before the item fails THROTTLED. Default 1,000: in
   * practice throttling only slows a lane, and the invocation's deadline (abort → resumable) ends the wait.
   */
  readonly maxThrottleRetries?: number | undefined;
  readonly clock?: Clock | undefined;
  readonly signal?: AbortSignal | undefined;
  readonly onOutcome?: ((item: PlannedItem, outcome: ItemOutcome) => void) | undefined;
  readonly onLaneEvent?: ((event: LaneEvent) => void) | undefined;
  /** The cross-invocation lane semaphore; without it only this run's own lanes limit it. */
  readonly semaphore?: LaneSemaphore | undefined;
  /** Waiting for a free shared slot (default SLOT_WAIT_BASE_MS / SLOT_WAIT_CAP_MS); tests shorten it. */
  readonly slotWait?: { readonly baseMs: number; readonly capMs: number } | undefined;
}

const DEFAULT_THROTTLE_PAUSE_MS = 1_000;
/**
 * A shared-semaphore slot's lease beyond the next expected renewal: a run that dies frees its slots after
 * this long. Renewed at every poll of a held deletion (polls are at most a minute apart).
 */
export const INLINE_SLOT_LEASE_MS = 2 * 60_000;
/** Waiting for a free shared slot: full-jitter delays growing from the base to the cap. */
export const SLOT_WAIT_BASE_MS = 500;
export const SLOT_WAIT_CAP_MS = 10_000;

class RunStopped extends Error {}

/** Runs every planned item to an outcome; one outcome per item, in input order. */
export async function runPlannedDeletionsInline(
  options: InlineOptions,
  deps: StepDeps,
): Promise<ItemOutcome[]> {
  const clock = options.clock ?? systemClock;
  const stop = new AbortController();
  const external = options.signal;
  const onExternalAbort = () => stop.abort(external?.reason);
  if (external?.aborted) stop.abort(external.reason);
  else external?.addEventListener('abort', onExternalAbort, { once: true });
  const signal = stop.signal;
  // Every in-flight poll listens to it (undici adds a listener per request): as many as the lanes allow.
  setMaxListeners(0, signal);
  const hold = new Set<string>(options.holdSlotDuring ?? ['csbs']);
  const scheduler = new LaneScheduler({
    limitOf: limitOfLanes(options.laneLimits ?? DEFAULT_LANE_LIMITS),
    maxThrottleRetries: options.maxThrottleRetries ?? 1_000,
    clock,
    signal,
    ...(options.onLaneEvent ? { onLaneEvent: options.onLaneEvent } : {}),
  });
  // Polls may be aborted; the DELETE step gets no signal (see the module comment).
  const pollDeps: StepDeps = { ...deps, signal };
  let fatal: { error: unknown } | undefined;

  const pending = (item: PlannedItem): ItemOutcome => ({
    deletion_id: item.deletion_id,
    status: 'pending',
    code: 'ABORTED',
    reason: 'the run stopped before this item finished',
  });

  const shared = options.semaphore;
  const limitOf = limitOfLanes(options.laneLimits ?? DEFAULT_LANE_LIMITS);
  const slotWait = options.slotWait ?? { baseMs: SLOT_WAIT_BASE_MS, capMs: SLOT_WAIT_CAP_MS };

  /** Waits for a slot of the shared semaphore (undefined without one); throws RunStopped when aborted. */
  async function takeSharedSlot(lane: string, holder: string): Promise<{ refreshed: boolean } | undefined> {
    if (shared === undefined) return undefined;
    for (let waits = 0; ; waits++) {
      if (signal.aborted) throw new RunStopped();
      const slot = await shared.acquire(lane, holder, limitOf(lane), INLINE_SLOT_LEASE_MS);
      if (slot.ok) return { refreshed: slot.refreshed };
      const delay = slot.retryAfterMs ?? nextDelay(Math.min(waits, 30), slotWait);
      try {
        await sleep(delay, clock, signal);
      } catch {
        throw new RunStopped();
      }
    }
  }

  async function releaseSharedSlot(lane: string, holder: string): Promise<void> {
    // A failed release is not the item's failure: the lease frees the slot.
    await shared?.release(lane, holder).catch(() => undefined);
  }

  /** Renews a held deletion's shared slot before a poll `delayMs` away (a lost slot is taken back if free). */
  async function renewSharedSlot(item: PlannedItem, delayMs: number): Promise<void> {
    if (shared === undefined) return;
    const lane = laneKey(item.service, item.project_id);
    await shared
      .acquire(lane, item.deletion_id, limitOf(lane), delayMs + INLINE_SLOT_LEASE_MS)
      .catch(() => undefined);
  }

  /** Polls inside the held slot until the deletion ends (CSBS). */
  async function trackInSlot(
    item: PlannedItem,
    first: Extract<StepResult, { kind: 'track' }>,
    context: LaneTaskContext,
  ): Promise<StepResult> {
    let tracking: TrackingState = first.tracking;
    let delayMs = first.delayMs;
    for (;;) {
      await renewSharedSlot(item, delayMs);
      if (delayMs > 0) await sleep(delayMs, clock, signal);
      if (signal.aborted) throw new RunStopped();
      const result = await pollPlannedDeletion(
        { sweep_id: options.sweepId, deletion_id: item.deletion_id, tracking },
        options.plan,
        pollDeps,
      );
      if (result.kind === 'finished') return result;
      if (result.kind === 'throttled') {
        context.backoff(result.retryAfterMs);
        delayMs = result.retryAfterMs ?? DEFAULT_THROTTLE_PAUSE_MS;
        tracking = result.tracking ?? tracking;
        continue;
      }
      if (result.kind === 'retry') return result;
      tracking = result.tracking;
      delayMs = result.delayMs;
    }
  }

  /** Polls as separate lane tasks with the waits outside the lane (CBR, DDS). */
  async function trackOutsideSlot(
    item: PlannedItem,
    first: Extract<StepResult, { kind: 'track' }>,
  ): Promise<ItemOutcome> {
    let tracking = first.tracking;
    let delayMs = first.delayMs;
    for (;;) {
      if (delayMs > 0) await sleep(delayMs, clock, signal);
      const current = tracking;
      const result = await scheduler.schedule(laneKey(item.service, item.project_id), async () => {
        const polled = await pollPlannedDeletion(
          { sweep_id: options.sweepId, deletion_id: item.deletion_id, tracking: current },
          options.plan,
          pollDeps,
        );
        if (polled.kind === 'throttled') throw new LaneThrottle(polled.retryAfterMs);
        return polled;
      });
      if (result.kind === 'finished') return result.outcome;
      if (result.kind !== 'track') throw new Error(`unexpected poll result ${result.kind}`);
      tracking = result.tracking;
      delayMs = result.delayMs;
    }
  }

  async function drive(item: PlannedItem): Promise<ItemOutcome> {
    const lane = laneKey(item.service, item.project_id);
    const holdSlot = hold.has(item.service);
    let attempt = 0;
    for (;;) {
      if (signal.aborted) throw new RunStopped();
      const currentAttempt = attempt;
      let result: StepResult;
      try {
        result = await scheduler.schedule(lane, async (context) => {
          if (signal.aborted) throw new RunStopped();
          const slot = await takeSharedSlot(lane, item.deletion_id);
          let outcome: StepResult | undefined;
          let tracking = false;
          try {
            const step = await processPlannedDeletion(
              { sweep_id: options.sweepId, deletion_id: item.deletion_id, attempt: currentAttempt },
              options.plan,
              deps,
            );
            if (step.kind === 'throttled') throw new LaneThrottle(step.retryAfterMs);
            if (step.kind === 'track' && holdSlot) {
              tracking = true;
              outcome = await trackInSlot(item, step, context);
              tracking = false;
            } else outcome = step;
            return outcome;
          } finally {
            // Kept: a held deletion still running upstream (the run stopped mid-tracking: its lease ends it),
            // or a slot that was already this deletion's (another caller is on it, theirs to release).
            const inFlightElsewhere =
              outcome?.kind === 'finished' && outcome.outcome.code === 'IN_FLIGHT_ELSEWHERE';
            const keep = slot?.refreshed === true ? inFlightElsewhere || outcome === undefined : tracking;
            if (slot !== undefined && !keep) await releaseSharedSlot(lane, item.deletion_id);
          }
        });
      } catch (error) {
        if (error instanceof LaneThrottle) {
          return {
            deletion_id: item.deletion_id,
            status: 'failed',
            code: 'THROTTLED',
            reason: 'throttled on every retry',
          };
        }
        throw error;
      }
      switch (result.kind) {
        case 'finished':
          return result.outcome;
        case 'retry':
          attempt = result.attempt;
          if (result.delayMs > 0) await sleep(result.delayMs, clock, signal);
          continue;
        case 'track':
          return trackOutsideSlot(item, result);
        case 'throttled':
          throw new Error('a throttled step escaped its lane');
      }
    }
  }

  try {
    return await Promise.all(
      options.items.map(async (item) => {
        let outcome: ItemOutcome;
        try {
          outcome = await drive(item);
        } catch (error) {
          // Once the run is stopping, an item's error is the stop itself (an aborted sleep or poll).
          const stopped = error instanceof RunStopped || error instanceof LaneAbortError || signal.aborted;
          if (!stopped && fatal === undefined) {
            fatal = { error };
            stop.abort(error);
          }
          outcome = pending(item);
        }
        try {
          options.onOutcome?.(item, outcome);
        } catch {
          // A progress printer must not stop the sweep.
        }
        return outcome;
      }),
    ).then((outcomes) => {
      if (fatal !== undefined) throw fatal.error;
      return outcomes;
    });
  } finally {
    external?.removeEventListener('abort', onExternalAbort);
    scheduler.dispose();
  }
}
