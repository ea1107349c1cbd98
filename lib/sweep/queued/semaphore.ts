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
 *   slot    pk = LANE#<lane>   sk = SLOT#<n> (n < limit)   holder, lease_until (epoch ms), expires_at (TTL)
 *   pause   pk = LANE#<lane>   sk = PAUSE                  until (epoch ms), expires_at (TTL)
 *   claim   pk = CLAIM#<key>   sk = CLAIM                  holder, until (epoch ms), expires_at (TTL)
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { BUDGETS } from '../../budgets.ts';
import { TTL_ATTRIBUTE } from '../../ledger/table.ts';

export type AcquireResult =
  /** `refreshed`: this holder already had a slot (a tracking message, or a redelivered message). */
  | { readonly ok: true; readonly refreshed: boolean }
  /** No slot free (or the lane is paused): come back after about `retryAfterMs`. */
  | { readonly ok: false; readonly retryAfterMs?: number | undefined };

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
    for (const [other, until] of slots) if (until <= now) slots.delete(other);
    if (slots.has(holder)) {
      slots.set(holder, now + leaseMs);
      return { ok: true, refreshed: true };
    }
    const paused = this.#pauses.get(lane) ?? 0;
    if (paused > now) return { ok: false, retryAfterMs: paused - now };
    if (slots.size >= limit) return { ok: false };
    slots.set(holder, now + leaseMs);
    return { ok: true, refreshed: false };
  }

  async release(lane: string, holder: string): Promise<void> {
    this.#slots.get(lane)?.delete(holder);
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
/** Lease items are removed by TTL a day after their lease would have ended anyway. */
const TTL_GRACE_S = 24 * 60 * 60;

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}

interface LaneRow {
  readonly sk: string;
  readonly holder?: string;
  readonly lease_until?: number;
  readonly until?: number;
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
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${LANE_PREFIX}${lane}` },
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []) as LaneRow[];
  }

  async acquire(lane: string, holder: string, limit: number, leaseMs: number): Promise<AcquireResult> {
    const now = this.#now();
    const leaseUntil = now + leaseMs;
    const ttl = Math.floor(leaseUntil / 1000) + TTL_GRACE_S;
    const rows = await this.#rows(lane);
    const mine = rows.filter(
      (row) => row.sk.startsWith(SLOT_PREFIX) && row.holder === holder && (row.lease_until ?? 0) > now,
    );
    for (const row of mine) {
      try {
        await this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: `${LANE_PREFIX}${lane}`, sk: row.sk },
            UpdateExpression: 'SET lease_until = :until, #ttl = :ttl',
            ConditionExpression: 'holder = :holder AND lease_until > :now',
            ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':until': leaseUntil, ':ttl': ttl, ':holder': holder, ':now': now },
          }),
        );
        return { ok: true, refreshed: true };
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
    return { ok: false };
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
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            pk: `${LANE_PREFIX}${lane}`,
            sk: PAUSE_SK,
            until,
            [TTL_ATTRIBUTE]: Math.floor(until / 1000) + TTL_GRACE_S,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #until < :until',
          ExpressionAttributeNames: { '#until': 'until' },
          ExpressionAttributeValues: { ':until': until },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
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
