/**
 * One real sweep per policy at a time: a lock row with a lease, in the ledger's table (DynamoDB) or in memory
 * next to the local ledger (one process).
 *
 *   lock   pk = SWEEPLOCK#<policy key>   sk = LOCK   sweep_id, lease_until (epoch ms), expires_at (TTL)
 *
 * A sweep takes the lock when it is free, its lease ended, or it already names this sweep (a resumed run takes
 * its own lock again). An inline sweep renews the lease while it runs and ends it when it stops; a queued sweep
 * takes a long lease that the worker finishing its last item ends (lib/sweep/queued/completion.ts). Ending a
 * lease keeps the row and its sweep id: the next scheduled run reads it to resume an unfinished sweep first.
 *
 * The policy key is derived from the policy's target names (sorted): editing a target's rules keeps the key,
 * so an edited policy cannot start a second sweep next to the one still running under the old text.
 */
import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '../aws-sdk.ts';
import { TTL_ATTRIBUTE } from '../ledger/table.ts';
import type { Policy } from '../retention/policy.ts';
import { isConditionFailure } from './queued/semaphore.ts';

export interface SweepLockHolder {
  readonly sweepId: string;
  /** Epoch ms; 0 once released. */
  readonly leaseUntil: number;
}

export type SweepLockResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly holder: SweepLockHolder };

export interface SweepLock {
  /** Takes (or renews) `key` for `sweepId` until `now + leaseMs`; otherwise says who holds it. */
  acquire(key: string, sweepId: string, leaseMs: number): Promise<SweepLockResult>;
  /** Ends `sweepId`'s lease (a no-op when another sweep holds the lock); the row keeps naming it. */
  release(key: string, sweepId: string): Promise<void>;
  /** The sweep that holds or last held `key`. */
  current(key: string): Promise<SweepLockHolder | undefined>;
}

/** The lock key of a policy: its sorted target names, hashed. */
export function policyLockKey(policy: Pick<Policy, 'targets'>): string {
  const names = policy.targets.map((target) => target.name).sort();
  return `policy-${createHash('sha256').update(JSON.stringify(names)).digest('hex').slice(0, 16)}`;
}

/** A second real sweep of a policy while another one holds its lock. */
export class SweepRunningError extends Error {
  override name = 'SweepRunningError';
  readonly code = 'SWEEP_RUNNING';
  constructor(
    readonly runningSweepId: string,
    readonly leaseUntil: number,
  ) {
    super(`sweep ${runningSweepId} of this policy is still running; nothing was started`);
  }
}

export class MemorySweepLock implements SweepLock {
  readonly #now: () => number;
  readonly #rows = new Map<string, { sweepId: string; leaseUntil: number }>();

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async acquire(key: string, sweepId: string, leaseMs: number): Promise<SweepLockResult> {
    const now = this.#now();
    const row = this.#rows.get(key);
    if (row !== undefined && row.leaseUntil > now && row.sweepId !== sweepId)
      return { ok: false, holder: { ...row } };
    this.#rows.set(key, { sweepId, leaseUntil: now + leaseMs });
    return { ok: true };
  }

  async release(key: string, sweepId: string): Promise<void> {
    const row = this.#rows.get(key);
    if (row?.sweepId === sweepId) row.leaseUntil = 0;
  }

  async current(key: string): Promise<SweepLockHolder | undefined> {
    const row = this.#rows.get(key);
    return row === undefined ? undefined : { ...row };
  }
}

/** Lock rows stay this long after their lease (the next scheduled run reads them to resume). */
const LOCK_ROW_TTL_S = 14 * 24 * 60 * 60;

export class DynamoSweepLock implements SweepLock {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; now?: () => number }) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  #key(key: string) {
    return { pk: `SWEEPLOCK#${key}`, sk: 'LOCK' };
  }

  async acquire(key: string, sweepId: string, leaseMs: number): Promise<SweepLockResult> {
    const now = this.#now();
    const leaseUntil = now + leaseMs;
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...this.#key(key),
            sweep_id: sweepId,
            lease_until: leaseUntil,
            [TTL_ATTRIBUTE]: Math.floor(leaseUntil / 1000) + LOCK_ROW_TTL_S,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR lease_until <= :now OR sweep_id = :id',
          ExpressionAttributeValues: { ':now': now, ':id': sweepId },
        }),
      );
      return { ok: true };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
    const holder = await this.current(key);
    // The holder released between the Put and the Get: report it as it was (the caller may try again).
    return { ok: false, holder: holder ?? { sweepId: 'unknown', leaseUntil: now } };
  }

  async release(key: string, sweepId: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: this.#key(key),
          UpdateExpression: 'SET lease_until = :zero',
          ConditionExpression: 'sweep_id = :id',
          ExpressionAttributeValues: { ':zero': 0, ':id': sweepId },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }

  async current(key: string): Promise<SweepLockHolder | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(key), ConsistentRead: true }),
    );
    const item = out.Item as { sweep_id?: string; lease_until?: number } | undefined;
    if (item?.sweep_id === undefined) return undefined;
    return { sweepId: item.sweep_id, leaseUntil: item.lease_until ?? 0 };
  }
}
