/**
 * A queued sweep ends: the worker that finishes its last pending item stores the report — exactly once, however
 * many workers finish items at the same moment and however often SQS redelivers a message.
 *
 *   run     pk = SWEEPRUN#<sweep>   sk = RUN            remaining, lock_key?, finalized_at?
 *   item    pk = SWEEPRUN#<sweep>   sk = ITEM#<deletion> outcome (the worker's ItemOutcome)
 *
 * `open` writes the run row when the sweep enqueues (a rerun keeps the count: counted items stay counted).
 * `finished` counts an item in one transaction — put its item row (only if absent) and decrement `remaining` —
 * so a repeat of the same item changes nothing. It then reads `remaining`; at zero, a conditional write of
 * `finalized_at` elects exactly one caller, which stores the report and ends the policy lock. The read happens
 * even when the item was counted before: a worker that crashed after counting the last item and before
 * finalizing leaves the job to the redelivered message.
 */
import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '../../aws-sdk.ts';
import { TTL_ATTRIBUTE } from '../../ledger/table.ts';
import type { ItemOutcome } from '../report.ts';
import { isConditionFailure } from './semaphore.ts';

export type FinishResult =
  /** This caller counted (or found counted) the last item and won the election: store the report now. */
  { readonly last: true; readonly lockKey?: string | undefined } | { readonly last: false };

export interface SweepCompletion {
  /**
   * The sweep has `total` items to finish; `lockKey`: the policy lock to end with it. A rerun keeps the count
   * and re-opens the election (the sweep was enqueued again because it never stored its report).
   */
  open(sweepId: string, total: number, lockKey?: string | undefined): Promise<void>;
  /** The elected finalizer could not store the report: let the next finished item try again. */
  reopen(sweepId: string): Promise<void>;
  /** Counts `outcome`'s item once; `last: true` for exactly one caller per sweep. */
  finished(sweepId: string, outcome: ItemOutcome): Promise<FinishResult>;
  /** The outcomes counted so far, by deletion id. */
  outcomes(sweepId: string): Promise<Map<string, ItemOutcome>>;
}

interface MemoryRun {
  remaining: number;
  lockKey: string | undefined;
  finalized: boolean;
  items: Map<string, ItemOutcome>;
}

export class MemorySweepCompletion implements SweepCompletion {
  readonly #runs = new Map<string, MemoryRun>();

  async open(sweepId: string, total: number, lockKey?: string): Promise<void> {
    const run = this.#runs.get(sweepId);
    if (run === undefined)
      this.#runs.set(sweepId, { remaining: total, lockKey, finalized: false, items: new Map() });
    else {
      run.finalized = false;
      if (lockKey !== undefined) run.lockKey = lockKey;
    }
  }

  async reopen(sweepId: string): Promise<void> {
    const run = this.#runs.get(sweepId);
    if (run !== undefined) run.finalized = false;
  }

  async finished(sweepId: string, outcome: ItemOutcome): Promise<FinishResult> {
    const run = this.#runs.get(sweepId);
    if (run === undefined) return { last: false };
    if (!run.items.has(outcome.deletion_id)) {
      run.items.set(outcome.deletion_id, outcome);
      run.remaining -= 1;
    }
    if (run.remaining > 0 || run.finalized) return { last: false };
    run.finalized = true;
    return { last: true, lockKey: run.lockKey };
  }

  async outcomes(sweepId: string): Promise<Map<string, ItemOutcome>> {
    return new Map(this.#runs.get(sweepId)?.items ?? []);
  }
}

/** Run and item rows outlive the sweep by this long (the report itself is in the sweep record). */
const ROW_TTL_S = 14 * 24 * 60 * 60;

/**
 * How a cancelled counting transaction ended: `counted` when the item row already existed (or the sweep has
 * no run row), `conflict` when it collided with another transaction on the run row (try again).
 */
function cancellation(error: unknown): 'counted' | 'conflict' | undefined {
  if (!(error instanceof Error) || error.name !== 'TransactionCanceledException') return undefined;
  const reasons = (error as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? [];
  return reasons.some((reason) => reason.Code === 'ConditionalCheckFailed') ? 'counted' : 'conflict';
}

/** Counting transactions that collide on the run row are tried again this often, after a short jitter. */
const COUNT_ATTEMPTS = 8;
const COUNT_RETRY_MS = 50;

export class DynamoSweepCompletion implements SweepCompletion {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #now: () => number;

  constructor(options: { client: DynamoDBDocumentClient; tableName: string; now?: () => number }) {
    this.#client = options.client;
    this.#table = options.tableName;
    this.#now = options.now ?? Date.now;
  }

  #ttl(): number {
    return Math.floor(this.#now() / 1000) + ROW_TTL_S;
  }

  async open(sweepId: string, total: number, lockKey?: string): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: `SWEEPRUN#${sweepId}`, sk: 'RUN' },
        UpdateExpression: `SET remaining = if_not_exists(remaining, :total), #ttl = :ttl${
          lockKey === undefined ? '' : ', lock_key = :lock'
        } REMOVE finalized_at`,
        ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
        ExpressionAttributeValues: {
          ':total': total,
          ':ttl': this.#ttl(),
          ...(lockKey === undefined ? {} : { ':lock': lockKey }),
        },
      }),
    );
  }

  async reopen(sweepId: string): Promise<void> {
    await this.#client.send(
      new UpdateCommand({
        TableName: this.#table,
        Key: { pk: `SWEEPRUN#${sweepId}`, sk: 'RUN' },
        UpdateExpression: 'REMOVE finalized_at',
        ConditionExpression: 'attribute_exists(pk)',
      }),
    );
  }

  async finished(sweepId: string, outcome: ItemOutcome): Promise<FinishResult> {
    const pk = `SWEEPRUN#${sweepId}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#count(pk, outcome);
        break;
      } catch (error) {
        // Counted before (a redelivered or duplicate message), or a sweep without a run row.
        const cancelled = cancellation(error);
        if (cancelled === 'counted') break;
        const retryable =
          cancelled === 'conflict' || (error as { $retryable?: unknown }).$retryable !== undefined;
        if (!retryable || attempt >= COUNT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * COUNT_RETRY_MS * attempt));
      }
    }
    return this.#elect(pk);
  }

  async #count(pk: string, outcome: ItemOutcome): Promise<void> {
    await this.#client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: this.#table,
              Item: {
                pk,
                sk: `ITEM#${outcome.deletion_id}`,
                outcome,
                [TTL_ATTRIBUTE]: this.#ttl(),
              },
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
          {
            Update: {
              TableName: this.#table,
              Key: { pk, sk: 'RUN' },
              UpdateExpression: 'ADD remaining :minus',
              ConditionExpression: 'attribute_exists(pk)',
              ExpressionAttributeValues: { ':minus': -1 },
            },
          },
        ],
      }),
    );
  }

  async #elect(pk: string): Promise<FinishResult> {
    const run = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: { pk, sk: 'RUN' }, ConsistentRead: true }),
    );
    const item = run.Item as { remaining?: number; finalized_at?: number; lock_key?: string } | undefined;
    if (item === undefined || (item.remaining ?? 1) > 0 || item.finalized_at !== undefined)
      return { last: false };
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { pk, sk: 'RUN' },
          UpdateExpression: 'SET finalized_at = :now',
          ConditionExpression: 'attribute_not_exists(finalized_at)',
          ExpressionAttributeValues: { ':now': this.#now() },
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) return { last: false };
      throw error;
    }
    return { last: true, lockKey: item.lock_key };
  }

  async outcomes(sweepId: string): Promise<Map<string, ItemOutcome>> {
    const out = new Map<string, ItemOutcome>();
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#client.send(
        new QueryCommand({
          TableName: this.#table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :item)',
          ExpressionAttributeValues: { ':pk': `SWEEPRUN#${sweepId}`, ':item': 'ITEM#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const row of page.Items ?? []) {
        const outcome = (row as { outcome?: ItemOutcome }).outcome;
        if (outcome !== undefined) out.set(outcome.deletion_id, outcome);
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return out;
  }
}
