/**
 * A lane semaphore shared by every worker invocation: at most `limit` holders per lane (a lane is
 * `laneKey(service, project)`), so CSBS never has more than 5 deletions of one project in flight even when
 * many Lambdas process the queue at once. In-process lanes (lib/sweep/lanes.ts) cannot see other Lambdas.
 *
 * A holder is a deletion id. A slot is a lease: it ends when released or when `leaseMs` passes without a
 * refresh, so a crashed worker's slot frees itself. Acquiring again as the same holder refreshes the lease
 * (a CSBS deletion keeps its slot across its tracking messages this way). A lane can also be paused (the
 * service throttled it): nobody acquires a slot of a paused lane until the pause ends.
 *
 * Two implementations: `MemoryLaneSemaphore` (one process: tests, local runs) and `DynamoLaneSemaphore` (per-slot
 * lease items in the ledger's table, taken with conditional writes):
 *
 *   slot    pk = LANE#<lane>   sk = SLOT#<n> (n < limit)   holder, lease_until (epoch ms), handed?, expires_at (TTL)
 *   pause   pk = LANE#<lane>   sk = PAUSE                  until (epoch ms), expires_at (TTL)
 *   waiter  pk = LANE#<lane>   sk = WAIT#<since>#<holder>  payload (the message to send back), expires_at (TTL)
 *   watch   pk = LANE#<lane>   sk = LWATCH                 until (epoch ms): when the lane's safety check fires
 *   claim   pk = CLAIM#<key>   sk = CLAIM                  holder, until (epoch ms), expires_at (TTL)
 *
 * Waiting without busy-waiting (queued mode): a holder that finds the lane full joins its waiting list (oldest
 * `since` first) with the message that should run when a slot frees, and nothing else happens for it. A holder
 * that releases hands its slot straight to the oldest waiter not yet served (`releaseTo`: the slot row gets
 * the waiter as holder, marked `handed`, leased for the message's trip) and returns that waiter's message for
 * the caller to send. Joining re-checks the lane after writing the waiter row, so a slot freed in between is
 * never missed. A wake-up can still be lost (the releasing worker dies before sending, a crashed holder's lease
 * simply ends): `wake` — run by one safety-check message per lane with growing delays (the watch row keeps it
 * one) — hands every free slot to the oldest waiters again.
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '../../aws-sdk.ts';
import { BUDGETS } from '../../budgets.ts';
import { TTL_ATTRIBUTE } from '../../ledger/table.ts';

export type AcquireResult =
  /** `refreshed`: this holder already had a slot (a tracking message, or a redelivered message). */
  | { readonly ok: true; readonly refreshed: boolean }
  /**
   * No slot free (or the lane is paused): come back after about `retryAfterMs`. `watchUntil`: when the lane's
   * safety check is due (absent: none scheduled), so a new waiter arms one only when needed.
   */
  | {
      readonly ok: false;
      readonly retryAfterMs?: number | undefined;
      readonly watchUntil?: number | undefined;
    };

export interface LaneSemaphore {
  /** Takes (or refreshes) a slot of `lane` for `holder` until `now + leaseMs`. */
  acquire(lane: string, holder: string, limit: number, leaseMs: number): Promise<AcquireResult>;
  /** Frees every slot `holder` has in `lane` (no-op when it has none). */
  release(lane: string, holder: string): Promise<void>;
  /** Nobody acquires a slot of `lane` until `now + pauseMs` (a longer pause already set is kept). */
  pause(lane: string, pauseMs: number): Promise<void>;
  /**
   * At most one holder per key until `now + ttlMs`: true for the first holder (and for the same holder again,
   * e.g. a redelivered SQS message keeps its id), false for any other while the claim lasts.
   */
  claim(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /**
   * Joins `lane`'s waiting list as `holder` (order: `since`, then holder) with `payload`, then tries `acquire`
   * once more: ok means a slot freed meanwhile, and the entry is gone again. Joining again with the same
   * payload (a second copy of one message) leaves the entry as it is, a hand-over reserved for it included;
   * joining with another payload at the same place replaces it (the item's chain moved on).
   */
  wait(
    lane: string,
    holder: string,
    since: number,
    payload: string,
    limit: number,
    leaseMs: number,
  ): Promise<AcquireResult>;
  /**
   * Removes `holder`'s waiting entry at `since` (it has its slot now). With `payload`, only while the entry
   * still holds that payload: a stale copy of a woken message never removes the entry its item's live chain
   * parked at the same place since.
   */
  unwait(lane: string, holder: string, since: number, payload?: string): Promise<void>;
  /**
   * Frees `holder`'s slot, or — when someone waits — hands it to the oldest waiter without a slot, leased
   * `handOverLeaseMs`, and returns that waiter's payload to send (one per slot the holder had). A lane that is over its limit (the limit was
   * lowered) frees the slot instead. `onlyHanded`: only a slot handed to `holder` and not yet taken by its
   * message (passing on a hand-over whose message turned out to be a stale duplicate).
   */
  releaseTo(
    lane: string,
    holder: string,
    limit: number,
    handOverLeaseMs: number,
    options?: { readonly onlyHanded?: boolean },
  ): Promise<string[]>;
  /**
   * The safety net: hands every free slot to the oldest waiters without one; returns their payloads and whether
   * anyone is still waiting after that.
   */
  wake(
    lane: string,
    limit: number,
    handOverLeaseMs: number,
  ): Promise<{ readonly payloads: string[]; readonly stillWaiting: boolean }>;
  /**
   * Schedules the lane's safety check at `now + delayMs` unless one is already due later; true when this call
   * scheduled it (the caller sends the check's message). `force`: the check itself re-arms (its own row is due).
   */
  armWatch(lane: string, delayMs: number): Promise<boolean>;
}

/** A waiting entry's sort key: oldest `since` first (zero-padded epoch ms), then holder. */
export function waitKey(since: number, holder: string): string {
  return `WAIT#${String(Math.max(0, Math.floor(since))).padStart(15, '0')}#${holder}`;
}

/** When no slot is free, try again after about this long (plus jitter) unless a pause says otherwise. */
export const DEFAULT_SLOT_WAIT_MS = BUDGETS.slotWaitMs;

/** One process's semaphore (tests, the local runtime). */
export class MemoryLaneSemaphore implements LaneSemaphore {
  readonly #now: () => number;
  readonly #slots = new Map<string, Map<string, number>>();
  readonly #pauses = new Map<string, number>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async acquire(lane: string, holder: string, limit: number, leaseMs: number): Promise<AcquireResult> {
    const now = this.#now();
    let slots = this.#slots.get(lane);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(lane, slots);
    }
    for (const [other, until] of slots) {
      if (until > now) continue;
      slots.delete(other);
      this.#handed.delete(`${lane}\n${other}`);
    }
    if (slots.has(holder)) {
      slots.set(holder, now + leaseMs);
      // A slot handed over by a release is this holder's first, not a refresh.
      const handed = this.#handed.delete(`${lane}\n${holder}`);
      return { ok: true, refreshed: !handed };
    }
    const paused = this.#pauses.get(lane) ?? 0;
    if (paused > now) return { ok: false, retryAfterMs: paused - now };
    if (slots.size >= limit) {
      const watch = this.#watch.get(lane);
      return { ok: false, ...(watch === undefined ? {} : { watchUntil: watch }) };
    }
    slots.set(holder, now + leaseMs);
    return { ok: true, refreshed: false };
  }

  async release(lane: string, holder: string): Promise<void> {
    this.#slots.get(lane)?.delete(holder);
    this.#handed.delete(`${lane}\n${holder}`);
  }

  async pause(lane: string, pauseMs: number): Promise<void> {
    const until = this.#now() + pauseMs;
    if (until > (this.#pauses.get(lane) ?? 0)) this.#pauses.set(lane, until);
  }

  readonly #claims = new Map<string, { holder: string; until: number }>();

  async claim(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const current = this.#claims.get(key);
    if (current !== undefined && current.until > now && current.holder !== holder) return false;
    this.#claims.set(key, { holder, until: now + ttlMs });
    return true;
  }

  readonly #waiters = new Map<string, Map<string, { since: number; holder: string; payload: string }>>();
  readonly #watch = new Map<string, number>();
  readonly #handed = new Set<string>();

  #queue(lane: string) {
    let queue = this.#waiters.get(lane);
    if (queue === undefined) {
      queue = new Map();
      this.#waiters.set(lane, queue);
    }
    return queue;
  }

  #oldest(lane: string): { since: number; holder: string; payload: string }[] {
    return [...this.#queue(lane).values()].sort((a, b) =>
      waitKey(a.since, a.holder) < waitKey(b.since, b.holder) ? -1 : 1,
    );
  }

  async wait(
    lane: string,
    holder: string,
    since: number,
    payload: string,
    limit: number,
    leaseMs: number,
  ): Promise<AcquireResult> {
    const key = waitKey(since, holder);
    if (this.#queue(lane).get(key)?.payload !== payload)
      this.#queue(lane).set(key, { since, holder, payload });
    const again = await this.acquire(lane, holder, limit, leaseMs);
    if (again.ok) await this.unwait(lane, holder, since, payload);
    return again;
  }

  async unwait(lane: string, holder: string, since: number, payload?: string): Promise<void> {
    const key = waitKey(since, holder);
    if (payload !== undefined && this.#queue(lane).get(key)?.payload !== payload) return;
    this.#queue(lane).delete(key);
  }

  async releaseTo(
    lane: string,
    holder: string,
    limit: number,
    handOverLeaseMs: number,
    options: { readonly onlyHanded?: boolean } = {},
  ): Promise<string[]> {
    const slots = this.#slots.get(lane);
    if (slots === undefined || !slots.has(holder)) return [];
    if (options.onlyHanded === true && !this.#handed.has(`${lane}\n${holder}`)) return [];
    slots.delete(holder);
    this.#handed.delete(`${lane}\n${holder}`);
    const now = this.#now();
    for (const [other, until] of slots) if (until <= now) slots.delete(other);
    if (slots.size >= limit) return [];
    const next = this.#oldest(lane).find((waiter) => !slots.has(waiter.holder));
    if (next === undefined) return [];
    slots.set(next.holder, now + handOverLeaseMs);
    this.#handed.add(`${lane}\n${next.holder}`);
    return [next.payload];
  }

  async wake(
    lane: string,
    limit: number,
    handOverLeaseMs: number,
  ): Promise<{ readonly payloads: string[]; readonly stillWaiting: boolean }> {
    const now = this.#now();
    let slots = this.#slots.get(lane);
    if (slots === undefined) {
      slots = new Map();
      this.#slots.set(lane, slots);
    }
    for (const [other, until] of slots) if (until <= now) slots.delete(other);
    const payloads: string[] = [];
    let stillWaiting = false;
    for (const waiter of this.#oldest(lane)) {
      if (slots.has(waiter.holder)) continue;
      if (slots.size >= limit || (this.#pauses.get(lane) ?? 0) > now) {
        stillWaiting = true;
        break;
      }
      slots.set(waiter.holder, now + handOverLeaseMs);
      this.#handed.add(`${lane}\n${waiter.holder}`);
      payloads.push(waiter.payload);
    }
    // A handed slot its message has not taken yet: that waiter still waits (its message may be lost).
    if (!stillWaiting)
      stillWaiting = [...slots.keys()].some((holder) => this.#handed.has(`${lane}\n${holder}`));
    return { payloads, stillWaiting };
  }

  async armWatch(lane: string, delayMs: number): Promise<boolean> {
    const now = this.#now();
    if ((this.#watch.get(lane) ?? 0) > now) return false;
    this.#watch.set(lane, now + delayMs);
    return true;
  }
  /** Waiting entries of a lane, oldest first (tests). */
  waiting(lane: string): string[] {
    return this.#oldest(lane).map((waiter) => waiter.holder);
  }

  /** Live holders of a lane (tests). */
  holders(lane: string): string[] {
    const now = this.#now();
    return [...(this.#slots.get(lane) ?? new Map<string, number>())]
      .filter(([, until]) => until > now)
      .map(([holder]) => holder);
  }
}

export interface DynamoLaneSemaphoreOptions {
  readonly client: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly now?: () => number;
  readonly random?: () => number;
}

const LANE_PREFIX = 'LANE#';
const SLOT_PREFIX = 'SLOT#';
const PAUSE_SK = 'PAUSE';
const WAIT_PREFIX = 'WAIT#';
/** Sorts before PAUSE and SLOT#: the lane's slot query reads it too. */
const WATCH_SK = 'LWATCH';
/** A waiting entry nobody served is dropped by TTL after this long (the sweep's next run re-enqueues it). */
const WAITER_TTL_S = 7 * 24 * 60 * 60;
/** Waiting entries read per Query page when looking for waiters to serve. */
const WAITER_PAGE = 25;
/** Lease items are removed by TTL a day after their lease would have ended anyway. */
const TTL_GRACE_S = 24 * 60 * 60;

/** A DynamoDB conditional write whose condition did not hold (the lane, lock and completion rows share it). */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

interface LaneRow {
  readonly sk: string;
  readonly holder?: string;
  readonly lease_until?: number;
  readonly until?: number;
  readonly handed?: boolean;
}

interface WaiterRow {
  readonly sk: string;
  readonly holder: string;
  readonly payload: string;
  /** Reserved for a hand-over in flight until then (epoch ms). */
  readonly handed_until?: number;
}

/**
 * Per-slot lease items in the ledger's table. `acquire` reads the lane's items with one consistent Query, then:
 * refreshes the holder's own slot (conditional on still holding it), or takes a free/expired slot with a Put
 * conditional on the slot being absent or expired. Two workers racing for one slot: one condition fails and
 * that worker tries the next free slot. Slots are numbered below the limit, so holders never exceed it.
 */
export class DynamoLaneSemaphore implements LaneSemaphore {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;
  readonly #random: () => number;

  constructor(options: DynamoLaneSemaphoreOptions) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
  }

  async #rows(lane: string): Promise<LaneRow[]> {
    const out = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        // The watch, the pause and the slots ('LWATCH' < 'PAUSE' < 'SLOT#…' < 'WAIT#…'), not the waiters.
        KeyConditionExpression: 'pk = :pk AND sk < :wait',
        ExpressionAttributeValues: { ':pk': `${LANE_PREFIX}${lane}`, ':wait': WAIT_PREFIX },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as LaneRow[];
  }

  /** One page of a lane's waiters, oldest first, from `start` (a previous page's LastEvaluatedKey). */
  async #waiterPage(
    lane: string,
    count: number,
    start: Record<string, unknown> | undefined,
  ): Promise<{ rows: WaiterRow[]; next: Record<string, unknown> | undefined }> {
    const out = await this.#client.send(
      new QueryCommand({
        TableName: this.#table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :wait)',
        ExpressionAttributeValues: { ':pk': `${LANE_PREFIX}${lane}`, ':wait': WAIT_PREFIX },
        ConsistentRead: true,
        Limit: count,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    return { rows: (out.Items ?? []) as WaiterRow[], next: out.LastEvaluatedKey };
  }

  /**
   * Reserves a waiter for one hand-over (until `until`): two releases racing for the same waiter cannot both
   * hand it a slot — the loser moves on to the next waiter.
   */
  async #reserve(lane: string, waiter: WaiterRow, until: number): Promise<boolean> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk: `${LANE_PREFIX}${lane}`, sk: waiter.sk },
          UpdateExpression: 'SET handed_until = :until',
          ConditionExpression:
            'attribute_exists(pk) AND (attribute_not_exists(handed_until) OR handed_until <= :now)',
          ExpressionAttributeValues: { ':until': until, ':now': this.#now() },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /**
   * Up to `count` waiters to serve, oldest first: one entry per holder, none whose holder already holds a
   * live slot (`served`), none reserved for a hand-over in flight. Pages through the list until it has
   * `count` or the list ends, so entries left behind by holders that have a slot (a copy that joined after
   * its item was woken) never hide the waiters behind them. `more`: the list goes on past what was read.
   * `reserved`: a waiter without a slot is reserved for a hand-over whose slot was not handed (yet).
   */
  async #candidates(
    lane: string,
    count: number,
    served: ReadonlySet<string | undefined>,
  ): Promise<{ waiters: WaiterRow[]; more: boolean; reserved: boolean }> {
    const seen = new Set<string>();
    const waiters: WaiterRow[] = [];
    const now = this.#now();
    let reserved = false;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#waiterPage(lane, Math.max(count, WAITER_PAGE), start);
      start = page.next;
      for (const waiter of page.rows) {
        if (!served.has(waiter.holder) && (waiter.handed_until ?? 0) > now) reserved = true;
        if (served.has(waiter.holder) || seen.has(waiter.holder)) continue;
        seen.add(waiter.holder);
        if ((waiter.handed_until ?? 0) > now) continue;
        if (waiters.length < count) waiters.push(waiter);
        else return { waiters, more: true, reserved };
      }
    } while (start !== undefined);
    return { waiters, more: false, reserved };
  }

  async wait(
    lane: string,
    holder: string,
    since: number,
    payload: string,
    limit: number,
    leaseMs: number,
  ): Promise<AcquireResult> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `${LANE_PREFIX}${lane}`,
            sk: waitKey(since, holder),
            holder,
            payload,
            [TTL_ATTRIBUTE]: Math.floor(this.#now() / 1000) + WAITER_TTL_S,
          },
          // The same payload already waiting (another copy of this message): keep it and its reservation.
          ConditionExpression: 'attribute_not_exists(pk) OR payload <> :payload',
          ExpressionAttributeValues: { ':payload': payload },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const again = await this.acquire(lane, holder, limit, leaseMs);
    if (again.ok) await this.unwait(lane, holder, since, payload);
    return again;
  }

  async unwait(lane: string, holder: string, since: number, payload?: string): Promise<void> {
    try {
      await this.#client.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { pk: `${LANE_PREFIX}${lane}`, sk: waitKey(since, holder) },
          ...(payload === undefined
            ? {}
            : {
                ConditionExpression: 'payload = :payload',
                ExpressionAttributeValues: { ':payload': payload },
              }),
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async releaseTo(
    lane: string,
    holder: string,
    limit: number,
    handOverLeaseMs: number,
    options: { readonly onlyHanded?: boolean } = {},
  ): Promise<string[]> {
    const now = this.#now();
    const rows = await this.#rows(lane);
    const slots = rows.filter((row) => row.sk.startsWith(SLOT_PREFIX));
    // Usually one row; two when the same message ran twice at once and both took a slot.
    const mine = slots.filter(
      (row) => row.holder === holder && (options.onlyHanded !== true || row.handed === true),
    );
    if (mine.length === 0) return [];
    const live = slots.filter((row) => (row.lease_until ?? 0) > now);
    const served = new Set(live.map((row) => row.holder));
    const until = now + handOverLeaseMs;
    const candidates =
      live.length <= limit ? (await this.#candidates(lane, mine.length + 2, served)).waiters : [];
    const payloads: string[] = [];
    for (const row of mine) {
      let next: WaiterRow | undefined;
      if (Number(row.sk.slice(SLOT_PREFIX.length)) < limit) {
        while (candidates.length > 0 && next === undefined) {
          const candidate = candidates.shift() as WaiterRow;
          if (await this.#reserve(lane, candidate, until)) next = candidate;
        }
      }
      try {
        await this.#client.send(
          next === undefined
            ? new DeleteCommand({
                TableName: this.#table,
                Key: { pk: `${LANE_PREFIX}${lane}`, sk: row.sk },
                ConditionExpression: 'holder = :holder',
                ExpressionAttributeValues: { ':holder': holder },
              })
            : new UpdateCommand({
                TableName: this.#table,
                Key: { pk: `${LANE_PREFIX}${lane}`, sk: row.sk },
                UpdateExpression: 'SET holder = :next, lease_until = :until, handed = :yes, #ttl = :ttl',
                ConditionExpression: 'holder = :holder',
                ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
                ExpressionAttributeValues: {
                  ':next': next.holder,
                  ':until': until,
                  ':yes': true,
                  ':ttl': Math.floor(until / 1000) + TTL_GRACE_S,
                  ':holder': holder,
                },
              }),
        );
        if (next !== undefined) payloads.push(next.payload);
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return payloads;
  }

  async wake(
    lane: string,
    limit: number,
    handOverLeaseMs: number,
  ): Promise<{ readonly payloads: string[]; readonly stillWaiting: boolean }> {
    const now = this.#now();
    const rows = await this.#rows(lane);
    const pause = rows.find((row) => row.sk === PAUSE_SK);
    const live = rows.filter((row) => row.sk.startsWith(SLOT_PREFIX) && (row.lease_until ?? 0) > now);
    const served = new Set(live.map((row) => row.holder));
    const busy = new Set(live.map((row) => row.sk));
    const free: string[] = [];
    for (let n = 0; n < limit; n++) if (!busy.has(`${SLOT_PREFIX}${n}`)) free.push(`${SLOT_PREFIX}${n}`);
    const found = await this.#candidates(lane, free.length + 2, served);
    const waiters = found.waiters;
    // A handed slot its message has not taken yet: that waiter still waits (its message may be lost).
    const handedPending = live.some((row) => row.handed === true);
    if (pause?.until !== undefined && pause.until > now)
      return {
        payloads: [],
        stillWaiting: waiters.length > 0 || found.more || found.reserved || handedPending,
      };
    const payloads: string[] = [];
    const until = now + handOverLeaseMs;
    let next = 0;
    for (const sk of free) {
      let waiter = waiters[next];
      while (waiter !== undefined && !(await this.#reserve(lane, waiter, until))) waiter = waiters[++next];
      if (waiter === undefined) break;
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: {
              pk: `${LANE_PREFIX}${lane}`,
              sk,
              holder: waiter.holder,
              lease_until: until,
              handed: true,
              [TTL_ATTRIBUTE]: Math.floor(until / 1000) + TTL_GRACE_S,
            },
            ConditionExpression: 'attribute_not_exists(pk) OR lease_until <= :now',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        payloads.push(waiter.payload);
        next += 1;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return {
      payloads,
      stillWaiting:
        next < waiters.length || found.more || found.reserved || handedPending || payloads.length > 0,
    };
  }

  async armWatch(lane: string, delayMs: number): Promise<boolean> {
    const now = this.#now();
    return this.#putUntil(lane, WATCH_SK, now + delayMs, '#until <= :now', { ':now': now });
  }

  async acquire(lane: string, holder: string, limit: number, leaseMs: number): Promise<AcquireResult> {
    const now = this.#now();
    const leaseUntil = now + leaseMs;
    const ttl = Math.floor(leaseUntil / 1000) + TTL_GRACE_S;
    const rows = await this.#rows(lane);
    const mine = rows.filter(
      (row) => row.sk.startsWith(SLOT_PREFIX) && row.holder === holder && (row.lease_until ?? 0) > now,
    );
    // Two hand-overs that reached one holder at once: it keeps one slot, the others are freed.
    for (const extra of mine.slice(1)) {
      if (extra.handed !== true) continue;
      await this.#client
        .send(
          new DeleteCommand({
            TableName: this.#table,
            Key: { pk: `${LANE_PREFIX}${lane}`, sk: extra.sk },
            ConditionExpression: 'holder = :holder AND handed = :yes',
            ExpressionAttributeValues: { ':holder': holder, ':yes': true },
          }),
        )
        .catch((error: unknown) => {
          if (!isConditionFailure(error)) throw error;
        });
    }
    for (const row of mine.slice(0, 1)) {
      try {
        await this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: `${LANE_PREFIX}${lane}`, sk: row.sk },
            UpdateExpression: 'SET lease_until = :until, #ttl = :ttl REMOVE handed',
            ConditionExpression: 'holder = :holder AND lease_until > :now',
            ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':until': leaseUntil, ':ttl': ttl, ':holder': holder, ':now': now },
          }),
        );
        // A slot handed over by a release is this holder's first, not a refresh.
        return { ok: true, refreshed: row.handed !== true };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const pause = rows.find((row) => row.sk === PAUSE_SK);
    if (pause?.until !== undefined && pause.until > now)
      return { ok: false, retryAfterMs: pause.until - now };
    const busy = new Set(
      rows
        .filter((row) => row.sk.startsWith(SLOT_PREFIX) && (row.lease_until ?? 0) > now)
        .map((row) => row.sk),
    );
    const free: string[] = [];
    for (let n = 0; n < limit; n++) if (!busy.has(`${SLOT_PREFIX}${n}`)) free.push(`${SLOT_PREFIX}${n}`);
    // Start at a random free slot so racing workers mostly try different ones.
    const start = Math.floor(this.#random() * free.length);
    for (let i = 0; i < free.length; i++) {
      const sk = free[(start + i) % free.length] as string;
      try {
        await this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { pk: `${LANE_PREFIX}${lane}`, sk, holder, lease_until: leaseUntil, [TTL_ATTRIBUTE]: ttl },
            ConditionExpression: 'attribute_not_exists(pk) OR lease_until <= :now',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return { ok: true, refreshed: false };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    const watch = rows.find((row) => row.sk === WATCH_SK)?.until;
    return { ok: false, ...(watch === undefined ? {} : { watchUntil: watch }) };
  }

  async release(lane: string, holder: string): Promise<void> {
    const rows = await this.#rows(lane);
    for (const row of rows) {
      if (!row.sk.startsWith(SLOT_PREFIX) || row.holder !== holder) continue;
      try {
        await this.#client.send(
          new DeleteCommand({
            TableName: this.#table,
            Key: { pk: `${LANE_PREFIX}${lane}`, sk: row.sk },
            ConditionExpression: 'holder = :holder',
            ExpressionAttributeValues: { ':holder': holder },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
  }

  async pause(lane: string, pauseMs: number): Promise<void> {
    const until = this.#now() + pauseMs;
    await this.#putUntil(lane, PAUSE_SK, until, '#until < :until', { ':until': until });
  }

  /** Writes a lane row that only holds `until` (pause, watch) when absent or when `condition` holds. */
  async #putUntil(
    lane: string,
    sk: string,
    until: number,
    condition: string,
    values: Record<string, number>,
  ): Promise<boolean> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `${LANE_PREFIX}${lane}`,
            sk,
            until,
            [TTL_ATTRIBUTE]: Math.floor(until / 1000) + TTL_GRACE_S,
          },
          ConditionExpression: `attribute_not_exists(pk) OR ${condition}`,
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async claim(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const until = now + ttlMs;
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `CLAIM#${key}`,
            sk: 'CLAIM',
            holder,
            until,
            [TTL_ATTRIBUTE]: Math.floor(until / 1000) + TTL_GRACE_S,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR holder = :holder OR #until <= :now',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':holder': holder, ':now': now },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }
}
