/**
 * The ledger on DynamoDB (one table, see table.ts). Every write that decides "who sends the DELETE" is
 * conditional: creation on `attribute_not_exists(pk)`, re-arming on the version read, transitions on the
 * current status. Throttling becomes LedgerThrottledError, anything else unexpected LedgerUnavailableError.
 */
import {
  BatchWriteCommand,
  DynamoDBClient,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '../aws-sdk.ts';
import { BUDGETS } from '../budgets.ts';
import {
  LedgerConflictError,
  LedgerNotFoundError,
  LedgerThrottledError,
  LedgerUnavailableError,
} from './errors.ts';
import {
  assertLegal,
  cleanRecord,
  decideRearm,
  expiresAt,
  historyEntryOf,
  type Ledger,
  type LedgerOptions,
  newDeletionRecord,
  type ResolvedLedgerOptions,
  resolveOptions,
  sweepPlanFields,
} from './ledger.ts';
import {
  type BeginResult,
  DeletionPatchSchema,
  type DeletionRecord,
  DeletionRecordSchema,
  type NewDeletion,
  type NewSweepPlan,
  NewSweepPlanSchema,
  type PlannedItem,
  PlannedItemSchema,
  type SweepHistoryEntry,
  SweepHistorySchema,
  type SweepRecord,
  SweepRecordSchema,
  type SweepWithItems,
  type TransitionRequest,
} from './schema.ts';
import { HISTORY_INDEX, keys, SWEEP_INDEX, TTL_ATTRIBUTE } from './table.ts';

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);
const KEY_ATTRIBUTES = ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'gsi2pk', 'gsi2sk', TTL_ATTRIBUTE];

export interface DynamoLedgerOptions extends LedgerOptions {
  readonly tableName: string;
  /** A shared document client (create it once per process); otherwise one is built from endpoint/region. */
  readonly client?: DynamoDBDocumentClient;
  readonly endpoint?: string;
  readonly region?: string;
}

/**
 * One document client per (endpoint, region), reused across invocations. Built on first use, which is also
 * when the DynamoDB SDK is loaded (lib/aws-sdk.ts): a container pays for it on its first ledger call.
 */
const clients = new Map<string, DynamoDBDocumentClient>();

export function documentClient(endpoint?: string, region?: string): DynamoDBDocumentClient {
  const cacheKey = `${endpoint ?? ''}|${region ?? ''}`;
  let client = clients.get(cacheKey);
  if (client === undefined) {
    const base = new DynamoDBClient({
      ...(endpoint === undefined ? {} : { endpoint }),
      ...(region === undefined ? {} : { region }),
      // Bounded calls (lib/budgets.ts): a write that starts inside a handler's margin ends inside it.
      maxAttempts: BUDGETS.ledgerMaxAttempts,
      requestHandler: {
        requestTimeout: BUDGETS.ledgerRequestTimeoutMs,
        connectionTimeout: BUDGETS.ledgerRequestTimeoutMs,
        // Without it the SDK only logs a warning when the timeout passes and the call keeps waiting.
        throwOnRequestTimeout: true,
      },
    });
    client = DynamoDBDocumentClient.from(base, { marshallOptions: { removeUndefinedValues: true } });
    clients.set(cacheKey, client);
  }
  return client;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}

/** Condition failures are handled by re-reading the item (their `Item` is in raw attribute-value form). */
function isConditionFailure(error: unknown): error is Error {
  return errorName(error) === 'ConditionalCheckFailedException';
}

/** Turns an SDK failure into the ledger's closed error set. */
export function mapDynamoError(error: unknown, action: string): Error {
  if (THROTTLING.has(errorName(error))) {
    return new LedgerThrottledError(`DynamoDB throttled ${action}`, { cause: error });
  }
  return new LedgerUnavailableError(`DynamoDB ${action} failed: ${errorName(error) || 'unknown error'}`, {
    cause: error,
  });
}

function stripKeys(item: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...item };
  for (const key of KEY_ATTRIBUTES) delete copy[key];
  return copy;
}

function toDeletion(item: Record<string, unknown>): DeletionRecord {
  return cleanRecord(DeletionRecordSchema.parse(stripKeys(item)));
}

class DynamoLedger implements Ledger {
  readonly #client: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #options: ResolvedLedgerOptions;

  constructor(client: DynamoDBDocumentClient, table: string, options: ResolvedLedgerOptions) {
    this.#client = client;
    this.#table = table;
    this.#options = options;
  }

  #deletionItem(record: DeletionRecord, now: number): Record<string, unknown> {
    return {
      ...keys.deletion(record.id),
      ...(record.sweep_id === undefined ? {} : keys.deletionInSweep(record.sweep_id, record.id)),
      [TTL_ATTRIBUTE]: expiresAt(now, this.#options.retentionDays),
      ...record,
    };
  }

  async #send<T>(action: string, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (isConditionFailure(error)) throw error;
      throw mapDynamoError(error, action);
    }
  }

  async beginDeletion(input: NewDeletion): Promise<BeginResult> {
    const now = this.#options.now();
    const fresh = cleanRecord(newDeletionRecord(input, now));
    try {
      await this.#send('beginDeletion', () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: this.#deletionItem(fresh, now),
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return { created: true, record: fresh };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(fresh.id);
      if (existing === undefined) throw mapDynamoError(error, 'beginDeletion');
      return this.#rearmOrKeep(existing, fresh, now);
    }
  }

  async #rearmOrKeep(existing: DeletionRecord, fresh: DeletionRecord, now: number): Promise<BeginResult> {
    const decision = decideRearm(existing, fresh, now, this.#options.idempotencyWindowMs);
    if (decision.kind === 'keep') return { created: false, record: existing };
    const record = cleanRecord(decision.record);
    try {
      await this.#send('beginDeletion', () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: this.#deletionItem(record, now),
            ConditionExpression: '#version = :version',
            ExpressionAttributeNames: { '#version': 'version' },
            ExpressionAttributeValues: { ':version': existing.version },
          }),
        ),
      );
      return { created: true, record };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      // Someone else re-armed or moved it first: theirs is the attempt in flight.
      const current = await this.get(existing.id);
      if (current === undefined)
        throw new LedgerConflictError(existing.id, 'deletion vanished while re-arming', undefined);
      return { created: false, record: current };
    }
  }

  async transition(id: string, request: TransitionRequest): Promise<DeletionRecord> {
    assertLegal(request);
    const now = this.#options.now();
    const { upstream_request_id, note, ...fields } = DeletionPatchSchema.parse(request.patch ?? {});
    const names: Record<string, string> = {
      '#status': 'status',
      '#version': 'version',
      '#ttl': TTL_ATTRIBUTE,
    };
    const values: Record<string, unknown> = {
      ':to': request.to,
      ':now': now,
      ':one': 1,
      ':ttl': expiresAt(now, this.#options.retentionDays),
      ':attempts': request.to === 'sent' ? 1 : 0,
      ':entry': [
        {
          status: request.to,
          at: now,
          ...(note === undefined ? {} : { note }),
          ...(upstream_request_id === undefined ? {} : { upstream_request_id }),
        },
      ],
    };
    const sets = [
      '#status = :to',
      'updated_at = :now',
      '#version = #version + :one',
      '#ttl = :ttl',
      'attempts = attempts + :attempts',
      'history = list_append(history, :entry)',
    ];
    if (upstream_request_id !== undefined) {
      sets.push('upstream_request_ids = list_append(upstream_request_ids, :upstreamId)');
      values[':upstreamId'] = [upstream_request_id];
    }
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#f_${field}`] = field;
      values[`:f_${field}`] = value;
      sets.push(`#f_${field} = :f_${field}`);
    }
    const fromPlaceholders = request.from.map((status, index) => {
      values[`:from${index}`] = status;
      return `:from${index}`;
    });
    try {
      const result = await this.#send('transition', () =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: keys.deletion(id),
            UpdateExpression: `SET ${sets.join(', ')}`,
            ConditionExpression: `attribute_exists(pk) AND #status IN (${fromPlaceholders.join(', ')})`,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return toDeletion(result.Attributes ?? {});
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.get(id);
      if (current === undefined) throw new LedgerNotFoundError(id);
      throw new LedgerConflictError(
        id,
        `deletion ${id} is ${current.status}, expected ${request.from.join('|')}`,
        current.status,
        { cause: error },
      );
    }
  }

  async get(id: string): Promise<DeletionRecord | undefined> {
    const result = await this.#send('get', () =>
      this.#client.send(
        new GetCommand({ TableName: this.#table, Key: keys.deletion(id), ConsistentRead: true }),
      ),
    );
    return result.Item === undefined ? undefined : toDeletion(result.Item);
  }

  async #queryAll(action: string, input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.#send(action, () =>
        this.#client.send(
          new QueryCommand({ ...input, ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }) }),
        ),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey !== undefined);
    return items;
  }

  async listBySweep(sweepId: string): Promise<DeletionRecord[]> {
    const items = await this.#queryAll('listBySweep', {
      TableName: this.#table,
      IndexName: SWEEP_INDEX,
      KeyConditionExpression: 'gsi1pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.sweepPartition(sweepId) },
    });
    return items.map(toDeletion);
  }

  async putSweepPlan(plan: NewSweepPlan): Promise<{ created: boolean; sweep: SweepRecord }> {
    const parsed = NewSweepPlanSchema.parse(plan);
    const existing = await this.#getSweepHeader(parsed.sweep_id);
    if (existing !== undefined) return { created: false, sweep: existing };
    const now = this.#options.now();
    const ttl = expiresAt(now, this.#options.retentionDays);
    // Items first, header last: a header means the whole plan is stored.
    await this.#batchPut(
      parsed.items.map((item) => ({
        ...keys.plannedItem(parsed.sweep_id, item.deletion_id),
        [TTL_ATTRIBUTE]: ttl,
        ...item,
      })),
    );
    const sweep: SweepRecord = {
      sweep_id: parsed.sweep_id,
      status: parsed.status ?? 'planned',
      dry_run: parsed.dry_run,
      requested_by: parsed.requested_by,
      summary: parsed.summary,
      planned_count: parsed.items.length,
      ...sweepPlanFields(parsed),
      created_at: now,
      updated_at: now,
      ...(parsed.history === undefined ? {} : { history: parsed.history }),
    };
    // gsi2's partition key: finishSweep adds its sort key, which puts the sweep into the policy's history.
    const historyKey =
      parsed.history === undefined || parsed.dry_run
        ? {}
        : { gsi2pk: keys.historyPartition(parsed.history.policy_key) };
    try {
      await this.#send('putSweepPlan', () =>
        this.#client.send(
          new PutCommand({
            TableName: this.#table,
            Item: { ...keys.sweepHeader(sweep.sweep_id), ...historyKey, [TTL_ATTRIBUTE]: ttl, ...sweep },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        ),
      );
      return { created: true, sweep };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const current = await this.#getSweepHeader(parsed.sweep_id);
      if (current === undefined) throw mapDynamoError(error, 'putSweepPlan');
      return { created: false, sweep: current };
    }
  }

  async #batchPut(items: Record<string, unknown>[]): Promise<void> {
    for (let offset = 0; offset < items.length; offset += 25) {
      let requests: { PutRequest: { Item: Record<string, unknown> } }[] = items
        .slice(offset, offset + 25)
        .map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt >= 8)
          throw new LedgerThrottledError('DynamoDB left plan items unprocessed after 8 attempts');
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await this.#send('putSweepPlan', () =>
          this.#client.send(new BatchWriteCommand({ RequestItems: { [this.#table]: requests } })),
        );
        requests = (result.UnprocessedItems?.[this.#table] ?? []) as typeof requests;
      }
    }
  }

  async #getSweepHeader(sweepId: string): Promise<SweepRecord | undefined> {
    const result = await this.#send('getSweep', () =>
      this.#client.send(
        new GetCommand({ TableName: this.#table, Key: keys.sweepHeader(sweepId), ConsistentRead: true }),
      ),
    );
    return result.Item === undefined ? undefined : SweepRecordSchema.parse(stripKeys(result.Item));
  }

  async getSweep(sweepId: string): Promise<SweepWithItems | undefined> {
    const rows = await this.#queryAll('getSweep', {
      TableName: this.#table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.sweepPartition(sweepId) },
      ConsistentRead: true,
    });
    const header = rows.find((row) => row.sk === 'SWEEP');
    if (header === undefined) return undefined;
    const items: PlannedItem[] = rows
      .filter((row) => typeof row.sk === 'string' && row.sk.startsWith('ITEM#'))
      .map((row) => PlannedItemSchema.parse(stripKeys(row)));
    return { sweep: SweepRecordSchema.parse(stripKeys(header)), items };
  }

  async finishSweep(sweepId: string, report: Record<string, unknown>): Promise<SweepRecord> {
    const now = this.#options.now();
    try {
      const result = await this.#send('finishSweep', () =>
        this.#client.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: keys.sweepHeader(sweepId),
            // gsi2sk and outcome feed the history index (only headers with gsi2pk are in it).
            UpdateExpression:
              'SET #status = :finished, report = :report, updated_at = :now, finished_at = :now, gsi2sk = :hsk, outcome = :outcome',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':finished': 'finished',
              ':report': report,
              ':now': now,
              ':hsk': keys.historySort(now, sweepId),
              ':outcome': typeof report.status === 'string' ? report.status : 'unknown',
            },
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return SweepRecordSchema.parse(stripKeys(result.Attributes ?? {}));
    } catch (error) {
      if (isConditionFailure(error)) throw new LedgerNotFoundError(sweepId);
      throw error;
    }
  }

  async recentSweeps(policyKey: string, limit: number): Promise<SweepHistoryEntry[]> {
    const entries: SweepHistoryEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    for (let page = 0; page < HISTORY_MAX_PAGES && entries.length < limit; page++) {
      const result = await this.#send('recentSweeps', () =>
        this.#client.send(
          new QueryCommand({
            TableName: this.#table,
            IndexName: HISTORY_INDEX,
            KeyConditionExpression: 'gsi2pk = :pk',
            ExpressionAttributeValues: { ':pk': keys.historyPartition(policyKey) },
            ScanIndexForward: false,
            Limit: HISTORY_PAGE,
            ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
          }),
        ),
      );
      for (const row of result.Items ?? []) {
        const history = SweepHistorySchema.safeParse(row.history);
        const entry = historyEntryOf({
          sweep_id: String(row.sweep_id),
          dry_run: row.dry_run === true,
          // Only finished headers have gsi2sk, so every row of the index is a finished sweep.
          status: 'finished',
          finished_at: typeof row.finished_at === 'number' ? row.finished_at : 0,
          ...(history.success ? { history: history.data } : {}),
          report: { status: row.outcome },
        });
        if (entry !== undefined && entries.length < limit) entries.push(entry);
      }
      startKey = result.LastEvaluatedKey;
      if (startKey === undefined) break;
    }
    return entries;
  }
}

/** A history query reads at most this many index pages (each up to HISTORY_PAGE rows). */
const HISTORY_MAX_PAGES = 10;
const HISTORY_PAGE = 25;

export function createDynamoLedger(options: DynamoLedgerOptions): Ledger {
  const client = options.client ?? documentClient(options.endpoint, options.region);
  return new DynamoLedger(client, options.tableName, resolveOptions(options));
}
