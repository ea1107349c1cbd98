/**
 * The auth breaker: the first request of a sweep that upstream rejects for its credentials (401/403,
 * `UPSTREAM_AUTH`) stops that credential's work in the sweep at once. Every later request through the breaker
 * fails with CredentialsRejectedError without being sent, and the sweep's steps report the remaining items
 * `skipped CREDENTIALS_REJECTED` with the reason. Huawei's API Gateway locks an AK after five failed
 * authentications in a row, so a sweep that kept sending would lock the key for every other user of it.
 *
 * At most one rejected request per credential and sweep, by construction where it can be had:
 * - A probe: the first DELETE of a sweep goes alone and the others wait for its answer (`admit`, called by the
 *   step before it claims the deletion in the ledger, so a waiting item records nothing), and so does the first
 *   request of every other method inside the guarded client (permissions differ by method: a key may list
 *   and not delete). Credentials that are already bad when the deletions start — the common case: rotated,
 *   revoked, or lacking the delete permission — cost exactly one rejected request, however many lanes run.
 * - Requests already in flight when the credentials go bad cannot be recalled: each of them may be rejected
 *   too, so the bound is then 1 + the requests in flight at that moment (at most the lanes' concurrency).
 * - Queued mode: the trip is a row in the ledger's table, read before each request, so every worker sees it;
 *   workers in other containers may each have one request in flight when it is written.
 *
 *   trip   pk = BREAKER#<sweep id>   sk = CRED#<credential>   at, operation, status, upstream_code, expires_at
 */
import type { z } from 'zod';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '../aws-sdk.ts';
import type { Config } from '../config.ts';
import type { HuaweiOperation, HuaweiResponse, RequestOptions } from '../huawei/client.ts';
import { HuaweiApiError, HuaweiAuthError } from '../huawei/errors.ts';
import { documentClient } from '../ledger/dynamodb.ts';
import { TTL_ATTRIBUTE } from '../ledger/table.ts';
import type { HuaweiRequester } from '../services/index.ts';

export const CREDENTIALS_REJECTED = 'CREDENTIALS_REJECTED';

/** What the first rejected request was; stored once per sweep and credential. */
export interface CredentialTrip {
  /** Epoch ms. */
  readonly at: number;
  readonly operation: string;
  readonly status: number;
  readonly upstream_code?: string | undefined;
}

/** A request not sent because this sweep's credentials were rejected before. */
export class CredentialsRejectedError extends Error {
  override name = 'CredentialsRejectedError';
  readonly code = CREDENTIALS_REJECTED;
  readonly trip: CredentialTrip;
  constructor(trip: CredentialTrip) {
    super(rejectionReason(trip));
    this.trip = trip;
  }
}

/** The reason every skipped item carries. */
export function rejectionReason(trip: CredentialTrip): string {
  const upstream = trip.upstream_code === undefined ? '' : ` ${trip.upstream_code}`;
  return (
    `upstream rejected this sweep's credentials (${trip.operation}: HTTP ${trip.status}${upstream} at ` +
    `${new Date(trip.at).toISOString()}); nothing more is sent with them in this sweep`
  );
}

/** Where trips are kept: in memory (one process) or in the ledger's DynamoDB table (every worker). */
export interface CredentialTripStore {
  get(sweepId: string, credential: string): Promise<CredentialTrip | undefined>;
  /** Records the trip unless one exists; returns the one stored (the first writer's). */
  put(sweepId: string, credential: string, trip: CredentialTrip): Promise<CredentialTrip>;
}

export class MemoryCredentialTripStore implements CredentialTripStore {
  readonly #trips = new Map<string, CredentialTrip>();

  async get(sweepId: string, credential: string): Promise<CredentialTrip | undefined> {
    return this.#trips.get(`${sweepId}\u0000${credential}`);
  }

  async put(sweepId: string, credential: string, trip: CredentialTrip): Promise<CredentialTrip> {
    const key = `${sweepId}\u0000${credential}`;
    const existing = this.#trips.get(key);
    if (existing !== undefined) return existing;
    this.#trips.set(key, trip);
    return trip;
  }
}

/** Trip rows live as long as a sweep can run and be resumed, then TTL removes them. */
const TRIP_TTL_S = 7 * 24 * 60 * 60;

export class DynamoCredentialTripStore implements CredentialTripStore {
  readonly #client: Pick<DynamoDBDocumentClient, 'send'>;
  readonly #table: string;

  constructor(options: { client: Pick<DynamoDBDocumentClient, 'send'>; tableName: string }) {
    this.#client = options.client;
    this.#table = options.tableName;
  }

  #key(sweepId: string, credential: string) {
    return { pk: `BREAKER#${sweepId}`, sk: `CRED#${credential}` };
  }

  async get(sweepId: string, credential: string): Promise<CredentialTrip | undefined> {
    const out = await this.#client.send(
      new GetCommand({ TableName: this.#table, Key: this.#key(sweepId, credential), ConsistentRead: true }),
    );
    const item = out.Item as (CredentialTrip & Record<string, unknown>) | undefined;
    if (item === undefined) return undefined;
    return {
      at: Number(item.at),
      operation: String(item.operation),
      status: Number(item.status),
      ...(typeof item.upstream_code === 'string' ? { upstream_code: item.upstream_code } : {}),
    };
  }

  async put(sweepId: string, credential: string, trip: CredentialTrip): Promise<CredentialTrip> {
    try {
      await this.#client.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            ...this.#key(sweepId, credential),
            ...trip,
            [TTL_ATTRIBUTE]: Math.floor(trip.at / 1000) + TRIP_TTL_S,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return trip;
    } catch (error) {
      if (!(error instanceof Error && error.name === 'ConditionalCheckFailedException')) throw error;
      return (await this.get(sweepId, credential)) ?? trip;
    }
  }
}

/** Does this answer show that upstream accepted the credentials (the request got past authentication)? */
function authenticated(error: unknown): boolean {
  return (
    error instanceof HuaweiApiError &&
    !(error instanceof HuaweiAuthError) &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 429
  );
}

/** One sweep's breaker for one credential; `guard` wraps the client every request of the sweep goes through. */
export class SweepCredentialBreaker {
  readonly #sweepId: string;
  readonly #credential: string;
  readonly #store: CredentialTripStore;
  readonly #now: () => number;
  #trip: CredentialTrip | undefined;
  /** HTTP methods whose requests got past authentication in this sweep. */
  readonly #verified = new Set<string>();
  /** The probe in flight per method: other requests of that method wait for it. */
  readonly #probes = new Map<string, Promise<void>>();
  /** The DELETE probe admitted by `admit` (a whole deletion step, ledger claim included). */
  #deleteProbe: Promise<void> | undefined;

  constructor(sweepId: string, credential: string, store: CredentialTripStore, now: () => number) {
    this.#sweepId = sweepId;
    this.#credential = credential;
    this.#store = store;
    this.#now = now;
  }

  /** The trip, if this sweep's credentials were rejected (here, or by another worker when the store is shared). */
  async tripped(): Promise<CredentialTrip | undefined> {
    // Once tripped, always tripped: the store is only read until then.
    this.#trip ??= await this.#store.get(this.#sweepId, this.#credential);
    return this.#trip;
  }

  /**
   * Admission of one deletion (before its ledger claim): resolves with the trip when the credentials were
   * rejected, else with `done`, to be called once the deletion's DELETE has been answered (or not sent). Until
   * a DELETE of this sweep got past authentication, one deletion is admitted at a time.
   */
  async admit(): Promise<{ readonly trip?: CredentialTrip; readonly done: () => void }> {
    for (;;) {
      const trip = await this.tripped();
      if (trip !== undefined) return { trip, done: () => {} };
      if (this.#verified.has('DELETE')) return { done: () => {} };
      if (this.#deleteProbe !== undefined) {
        await this.#deleteProbe;
        continue;
      }
      let release = () => {};
      this.#deleteProbe = new Promise<void>((resolve) => {
        release = resolve;
      });
      return {
        done: () => {
          this.#deleteProbe = undefined;
          release();
        },
      };
    }
  }

  async #record(error: HuaweiAuthError): Promise<void> {
    const trip: CredentialTrip = {
      at: this.#now(),
      operation: error.operation,
      status: error.status,
      ...(error.errorCode === undefined ? {} : { upstream_code: error.errorCode }),
    };
    this.#trip ??= trip;
    this.#trip = await this.#store.put(this.#sweepId, this.#credential, this.#trip);
  }

  async #send<T extends z.ZodType>(
    inner: HuaweiRequester,
    operation: HuaweiOperation,
    schema: T,
    options: RequestOptions | undefined,
  ): Promise<HuaweiResponse<z.output<T>>> {
    try {
      const response = await inner.request(operation, schema, options);
      this.#verified.add(operation.method);
      return response;
    } catch (error) {
      if (error instanceof HuaweiAuthError) await this.#record(error);
      else if (authenticated(error)) this.#verified.add(operation.method);
      throw error;
    }
  }

  async #request<T extends z.ZodType>(
    inner: HuaweiRequester,
    operation: HuaweiOperation,
    schema: T,
    options: RequestOptions | undefined,
  ): Promise<HuaweiResponse<z.output<T>>> {
    for (;;) {
      const trip = await this.tripped();
      if (trip !== undefined) throw new CredentialsRejectedError(trip);
      // DELETEs are admitted one level up (`admit`): their probe is a whole deletion step.
      if (operation.method === 'DELETE' || this.#verified.has(operation.method)) {
        return this.#send(inner, operation, schema, options);
      }
      const probe = this.#probes.get(operation.method);
      if (probe !== undefined) {
        await probe;
        continue;
      }
      let done = () => {};
      this.#probes.set(
        operation.method,
        new Promise<void>((resolve) => {
          done = resolve;
        }),
      );
      try {
        return await this.#send(inner, operation, schema, options);
      } finally {
        this.#probes.delete(operation.method);
        done();
      }
    }
  }

  /** The client, with every request checked against (and feeding) this breaker. */
  guard(inner: HuaweiRequester): HuaweiRequester {
    return {
      request: (operation, schema, options) => this.#request(inner, operation, schema, options),
    };
  }
}

export interface CredentialBreakersOptions {
  readonly store?: CredentialTripStore | undefined;
  /** Which credential the client signs with (the deployment has one). Default `default`. */
  readonly credential?: string | undefined;
  readonly now?: () => number;
}

/** The breakers of every sweep this process runs steps of, by sweep id (the latest 1,000 kept). */
export class CredentialBreakers {
  readonly #store: CredentialTripStore;
  readonly #credential: string;
  readonly #now: () => number;
  readonly #bySweep = new Map<string, SweepCredentialBreaker>();

  constructor(options: CredentialBreakersOptions = {}) {
    this.#store = options.store ?? new MemoryCredentialTripStore();
    this.#credential = options.credential ?? 'default';
    this.#now = options.now ?? Date.now;
  }

  forSweep(sweepId: string): SweepCredentialBreaker {
    let breaker = this.#bySweep.get(sweepId);
    if (breaker === undefined) {
      if (this.#bySweep.size >= 1_000) {
        const oldest = this.#bySweep.keys().next().value;
        if (oldest !== undefined) this.#bySweep.delete(oldest);
      }
      breaker = new SweepCredentialBreaker(sweepId, this.#credential, this.#store, this.#now);
      this.#bySweep.set(sweepId, breaker);
    }
    return breaker;
  }
}

let containerBreakers: CredentialBreakers | undefined;

/**
 * The container's breakers from configuration (created once, reused by every invocation): trips in the
 * ledger's DynamoDB table when the ledger is DynamoDB (every worker and invocation sees them), else in memory.
 */
export function credentialBreakersFor(cfg: Pick<Config, 'ledger' | 'awsRegion'>): CredentialBreakers {
  if (containerBreakers === undefined) {
    const store =
      cfg.ledger.kind === 'dynamodb' && cfg.ledger.table !== undefined
        ? new DynamoCredentialTripStore({
            client: documentClient(cfg.ledger.dynamodbEndpoint, cfg.awsRegion),
            tableName: cfg.ledger.table,
          })
        : new MemoryCredentialTripStore();
    containerBreakers = new CredentialBreakers({ store });
  }
  return containerBreakers;
}
