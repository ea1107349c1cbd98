/**
 * The one owner of a deletion's lifecycle. The HTTP functions, the inline sweep and the queued worker all move
 * ledger records through these functions and nothing else:
 *
 *   requested ──claim──▶ sent ──DELETE──▶ accepted | done | gone | failed            (a definitive answer)
 *                          │                 └─poll─▶ running ─▶ done | failed
 *                          └──────────────▶ unknown                                   (no definitive answer)
 *   sent (stale) | unknown ──ask upstream──▶ done (gone upstream) | running (deleting upstream)
 *                                          | failed DELETE_NOT_APPLIED (present, and no DELETE can still land)
 *   failed ──beginDeletion──▶ requested          (re-armed; never a `permanent` refusal)
 *   done | gone ──beginDeletion──▶ requested     (after the idempotency window; DIS at once)
 *
 * - `requested`: recorded, nothing sent. Only the caller whose conditional `requested → sent` write wins sends.
 * - `sent`: the DELETE is being sent (or its sender crashed). Younger than the in-flight horizon it belongs to a
 *   live caller; anyone may ask upstream about it and record what upstream shows, but only after the horizon may
 *   "still present" re-arm it.
 * - `unknown`: the DELETE went out and no definitive answer came back — a timeout, a reset, a 5xx, an abort
 *   after sending, a 2xx we could not read. Whatever the client says, any failure other than a 4xx answer (or an
 *   error raised before anything was sent) counts as unknown here; `outcomeUnknown: true` on an error makes
 *   even a 4xx unknown.
 * - `failed` with `error.permanent`: upstream said "never" (CBR 6201, DDS refusing a backup that is not manual):
 *   the record is final and not re-armed, and a sweep skips that backup with the recorded reason.
 *
 * **Ask upstream before any resend.** A DELETE whose outcome is unknown is never sent again until upstream has
 * been asked (`resolveDeletion`): CSBS and CBR by showing the item/backup, DDS by listing the backup
 * (`DISABLED` = being deleted; absent = deleted), DIS by reading the consumer's checkpoint. What upstream shows
 * decides: gone → done (this caller's DELETE is what deleted it), deleting → running (tracked), present →
 * nothing yet. Only a provable "it did not happen" re-arms: present, and the last DELETE was sent longer ago
 * than the in-flight horizon (`inFlightHorizonMs`, longer than any client call), so no request of ours can still
 * land. DIS checkpoints can be committed again, so "present" is only proof after the horizon there too.
 */
import { BUDGETS } from '../budgets.ts';
import { isRetryableCode } from '../errors.ts';
import {
  HuaweiApiError,
  HuaweiNotFoundError,
  HuaweiThrottledError,
  InvalidRequestError,
} from '../huawei/errors.ts';
import { LedgerConflictError, LedgerNotFoundError } from '../ledger/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import {
  type CallerIdentity,
  canonicalTarget,
  type DeletionPatch,
  type DeletionRecord,
  type DeletionTarget,
  type LedgerService,
  type DeletionStatus as RecordStatus,
} from '../ledger/schema.ts';
import type { DeletionStatus, HuaweiRequester, PollRef } from '../services/deletion.ts';
import { checkpointState } from '../services/dis.ts';
import { pollRefFor, pollUpstream, sendDeletion } from './upstream.ts';

export interface DeletionDeps {
  readonly client: HuaweiRequester;
  readonly ledger: Ledger;
  /** Epoch ms; the ledger has its own clock, this one stamps `next_poll_at` and ages records. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
  /**
   * How long after a DELETE was sent no request of ours can still reach upstream (longer than the client's
   * whole retry budget). A `sent` record younger than this has a live sender; an `unknown` one only counts as
   * "not applied" once older than this. Default DEFAULT_IN_FLIGHT_HORIZON_MS.
   */
  readonly inFlightHorizonMs?: number | undefined;
}

/** First poll of an accepted deletion is due this long after acceptance (a hint for callers and the sweep). */
export const FIRST_POLL_DELAY_MS = BUDGETS.firstPollDelayMs;
/** The in-flight horizon (see DeletionDeps.inFlightHorizonMs): 10 minutes, the sweep's stale-after window. */
export const DEFAULT_IN_FLIGHT_HORIZON_MS = BUDGETS.staleAfterMs;
/** Asking upstream again about an unresolved deletion: never sooner than this, never later than the cap. */
const RESOLVE_MIN_DELAY_MS = 250;
const RESOLVE_MAX_DELAY_MS = 60_000;

/** Any deletion the ledger can describe (the HTTP functions and the sweep build these). */
export interface DeletionRequest {
  readonly service: LedgerService;
  readonly region: string;
  readonly projectId: string;
  readonly target: DeletionTarget;
  readonly requestedBy: CallerIdentity;
  readonly sweepId?: string | undefined;
  readonly sizeBytes?: number | undefined;
}

interface OutcomeBase {
  readonly deletionId: string;
  /** The ledger record after this call. */
  readonly record: DeletionRecord;
  readonly upstreamRequestId?: string | undefined;
}

/**
 * What happened:
 * - `started`: upstream accepted, still running; poll with `pollAndRecord` (the record holds `poll_ref`).
 * - `done`: deleted synchronously (DIS).
 * - `gone`: upstream said it does not exist (`upstreamCode`, e.g. CSBS.3001); nothing left to delete.
 * - `skipped`: a record already existed (in flight, or finished within the idempotency window); nothing sent.
 * - `unknown`: the DELETE went out without a definitive answer; the record is `unknown` and only
 *   `resolveDeletion` moves it on.
 * - `failed`: upstream refused, or nothing could be sent; `error` is the typed error, `code` its stable code.
 *   The record is `failed`; a later begin re-arms it unless `permanent`.
 */
export type ExecutedDeletion =
  | (OutcomeBase & {
      readonly kind: 'started';
      /** What `pollAndRecord` will poll (also in `record.poll_ref`); undefined only for a whole CSBS checkpoint. */
      readonly poll: PollRef | undefined;
    })
  | (OutcomeBase & { readonly kind: 'done' })
  | (OutcomeBase & {
      readonly kind: 'gone';
      readonly upstreamCode?: string | undefined;
      readonly error: unknown;
    })
  | (OutcomeBase & { readonly kind: 'skipped' })
  | (OutcomeBase & { readonly kind: 'unknown'; readonly code: string; readonly error: unknown })
  | (OutcomeBase & {
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
      /** Worth trying again later (busy, throttled, 5xx, network). */
      readonly retryable: boolean;
      /** Upstream said "never": recorded as such, never re-armed. */
      readonly permanent: boolean;
      readonly retryAfterMs?: number | undefined;
      readonly error: unknown;
    });

/**
 * Refusals that say "never", per service and upstream code:
 * - CBR `6201` (HTTP 400): the backup does not support deletion (seed 002, the DeleteBackup error table:
 *   当前备份不支持删除).
 * - DDS `DBS.200001` (HTTP 400, "parameter error") on DeleteManualBackup, whose only parameter is the backup
 *   id: DDS deletes manual backups only (seed 003) and refuses an automatic one this way (the simulator's
 *   answer; the production code for this case could not be confirmed from the SDKs or API pages).
 * Busy (`CSBS.2003`, `DBS.200019`, restoring instances) and throttling are transient and retried.
 */
const PERMANENT_REFUSALS: Readonly<Partial<Record<LedgerService, ReadonlySet<string>>>> = {
  cbr: new Set(['6201']),
  dds: new Set(['DBS.200001']),
};

function hasOutcomeUnknownFlag(error: unknown): boolean {
  return (error as { outcomeUnknown?: unknown } | null)?.outcomeUnknown === true;
}

/**
 * True when a failed DELETE certainly did not take effect: upstream answered with a 4xx (and the client did
 * not flag the outcome unknown), or our own validation stopped it before anything was sent.
 */
export function isDefinitiveFailure(error: unknown): boolean {
  if (hasOutcomeUnknownFlag(error)) return false;
  if (error instanceof InvalidRequestError) return true;
  return error instanceof HuaweiApiError && error.status >= 400 && error.status < 500;
}

/** True when upstream refused the DELETE for good (see PERMANENT_REFUSALS). */
export function isPermanentRefusal(service: LedgerService, error: unknown): boolean {
  if (!(error instanceof HuaweiApiError) || error.status !== 400 || error.errorCode === undefined)
    return false;
  return PERMANENT_REFUSALS[service]?.has(error.errorCode) === true;
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'INTERNAL';
}

function lastRequestId(record: DeletionRecord): string | undefined {
  return record.upstream_request_ids.at(-1);
}

function upstreamPatch(error: unknown): DeletionPatch {
  const upstream = error instanceof HuaweiApiError ? error : undefined;
  const upstreamRequestId = upstream?.requestId ?? (error as { requestId?: string } | null)?.requestId;
  return {
    ...(upstreamRequestId === undefined ? {} : { upstream_request_id: upstreamRequestId }),
    ...(upstream === undefined ? {} : { upstream_status: upstream.status }),
    ...(upstream?.errorCode === undefined ? {} : { upstream_code: upstream.errorCode }),
    ...(upstream?.errorMessage === undefined
      ? {}
      : { upstream_message: upstream.errorMessage.slice(0, 500) }),
  };
}

/**
 * Any deletion: begin → claim → send → record. Ledger errors propagate; upstream errors become
 * `gone`/`failed`/`unknown`. The target is used (and sent) in its canonical spelling.
 */
export async function runDeletion(request: DeletionRequest, deps: DeletionDeps): Promise<ExecutedDeletion> {
  const { ledger } = deps;
  const target = canonicalTarget(request.target);
  const begun = await ledger.beginDeletion({
    service: request.service,
    region: request.region,
    project_id: request.projectId,
    target,
    requested_by: request.requestedBy,
    ...(request.sweepId === undefined ? {} : { sweep_id: request.sweepId }),
    ...(request.sizeBytes === undefined ? {} : { size_bytes: request.sizeBytes }),
  });
  const id = begun.record.id;
  if (!begun.created) {
    return {
      kind: 'skipped',
      deletionId: id,
      record: begun.record,
      upstreamRequestId: lastRequestId(begun.record),
    };
  }
  // The claim: exactly one caller moves requested → sent, and only that caller sends.
  await ledger.transition(id, { from: ['requested'], to: 'sent' });
  let start: Awaited<ReturnType<typeof sendDeletion>>;
  try {
    start = await sendDeletion(
      deps.client,
      { service: request.service, region: request.region, projectId: request.projectId, target },
      deps.signal,
    );
  } catch (error) {
    return recordFailure(request.service, ledger, id, error);
  }
  const upstreamRequestId = start.requestId;
  const withId = upstreamRequestId === undefined ? {} : { upstream_request_id: upstreamRequestId };
  try {
    if (start.kind === 'done') {
      const record = await ledger.transition(id, { from: ['sent'], to: 'done', patch: { ...withId } });
      return { kind: 'done', deletionId: id, record, upstreamRequestId };
    }
    const now = (deps.now ?? Date.now)();
    const poll = pollRefFor(start.poll, target);
    const record = await ledger.transition(id, {
      from: ['sent'],
      to: 'accepted',
      patch: {
        ...withId,
        ...(poll === undefined ? {} : { poll_ref: poll, next_poll_at: now + FIRST_POLL_DELAY_MS }),
      },
    });
    return { kind: 'started', deletionId: id, record, poll, upstreamRequestId };
  } catch (error) {
    // Someone asked upstream about our `sent` record while the answer was on its way and recorded what it
    // showed: theirs is the newer state, and nothing more is sent.
    if (!(error instanceof LedgerConflictError)) throw error;
    const record = await ledger.get(id);
    if (record === undefined) throw error;
    return { kind: 'skipped', deletionId: id, record, upstreamRequestId };
  }
}

async function recordFailure(
  service: LedgerService,
  ledger: Ledger,
  id: string,
  error: unknown,
): Promise<ExecutedDeletion> {
  const patch = upstreamPatch(error);
  const upstreamRequestId = patch.upstream_request_id;
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  try {
    if (error instanceof HuaweiNotFoundError && !hasOutcomeUnknownFlag(error)) {
      const record = await ledger.transition(id, { from: ['sent'], to: 'gone', patch });
      return {
        kind: 'gone',
        deletionId: id,
        record,
        upstreamRequestId,
        upstreamCode: error.errorCode,
        error,
      };
    }
    if (!isDefinitiveFailure(error)) {
      const record = await ledger.transition(id, {
        from: ['sent'],
        to: 'unknown',
        patch: {
          ...patch,
          error: { code: 'DELETE_OUTCOME_UNKNOWN', message: `${code}: ${message}`.slice(0, 500) },
        },
      });
      return { kind: 'unknown', deletionId: id, record, upstreamRequestId, code, error };
    }
    const permanent = isPermanentRefusal(service, error);
    const record = await ledger.transition(id, {
      from: ['sent'],
      to: 'failed',
      patch: {
        ...patch,
        error: { code, message: message.slice(0, 500), ...(permanent ? { permanent: true } : {}) },
      },
    });
    return {
      kind: 'failed',
      deletionId: id,
      record,
      upstreamRequestId,
      code,
      message,
      // The one error table decides which codes are worth trying again later (lib/errors.ts).
      retryable: !permanent && isRetryableCode(code),
      permanent,
      retryAfterMs: error instanceof HuaweiThrottledError ? error.retryAfterMs : undefined,
      error,
    };
  } catch (ledgerError) {
    if (!(ledgerError instanceof LedgerConflictError)) throw ledgerError;
    const record = await ledger.get(id);
    if (record === undefined) throw ledgerError;
    return { kind: 'skipped', deletionId: id, record, upstreamRequestId };
  }
}

/** What one `pollAndRecord` saw. `status` is undefined when nothing was polled (final, or no way to poll). */
export interface PolledDeletion {
  readonly record: DeletionRecord;
  readonly status?: DeletionStatus | undefined;
  readonly upstreamRequestId?: string | undefined;
}

/**
 * Polls an accepted/running deletion once and records the result (accepted|running → running | done | failed).
 * A record in any other status is returned as it is. Upstream errors of the poll itself (throttled, network)
 * propagate and record nothing, so the caller's backoff decides. Throws LedgerNotFoundError for an unknown id.
 */
export async function pollAndRecord(id: string, deps: DeletionDeps): Promise<PolledDeletion> {
  const { ledger } = deps;
  const record = await ledger.get(id);
  if (record === undefined) throw new LedgerNotFoundError(id);
  if ((record.status !== 'accepted' && record.status !== 'running') || record.poll_ref === undefined) {
    return { record, upstreamRequestId: lastRequestId(record) };
  }
  const status = await pollUpstream(deps.client, record.poll_ref, deps.signal);
  // Still running, as already recorded, for the same reason: nothing new to record (a poll every minute
  // of a 30-minute deletion would otherwise write 30 identical history entries).
  const lastNote = record.history.at(-1)?.note;
  if (record.status === 'running' && status.state === 'running' && (status.reason ?? lastNote) === lastNote) {
    return { record, status, upstreamRequestId: status.requestId ?? lastRequestId(record) };
  }
  const withId = status.requestId === undefined ? {} : { upstream_request_id: status.requestId };
  const now = (deps.now ?? Date.now)();
  const to = status.state;
  const patch =
    to === 'failed'
      ? {
          ...withId,
          error: { code: 'UPSTREAM_DELETION_FAILED', message: status.reason ?? 'deletion failed upstream' },
        }
      : to === 'running'
        ? {
            ...withId,
            next_poll_at: now + FIRST_POLL_DELAY_MS,
            ...(status.reason ? { note: status.reason } : {}),
          }
        : withId;
  const updated = await ledger.transition(id, { from: ['accepted', 'running'], to, patch });
  return { record: updated, status, upstreamRequestId: status.requestId ?? lastRequestId(updated) };
}

/**
 * Ends tracking without an upstream answer (the sweep's 30-minute ceiling, or an error it gave up on): an
 * accepted/running deletion becomes `failed` with this code. Other statuses are returned unchanged.
 */
export async function abandonDeletion(
  id: string,
  reason: { code: string; message: string },
  deps: Pick<DeletionDeps, 'ledger'>,
): Promise<DeletionRecord | undefined> {
  const record = await deps.ledger.get(id);
  if (record === undefined || (record.status !== 'accepted' && record.status !== 'running')) return record;
  return deps.ledger.transition(id, {
    from: ['accepted', 'running'],
    to: 'failed',
    patch: { error: reason, note: reason.message },
  });
}

/**
 * Releases a `requested` record a stopped caller left behind (older than the horizon): `requested` always
 * means no DELETE was sent, so it becomes `failed ABANDONED` and the next begin re-arms it. Conflicts
 * propagate (someone else moved it first).
 */
export async function releaseAbandonedClaim(
  record: DeletionRecord,
  deps: DeletionDeps,
): Promise<DeletionRecord> {
  return deps.ledger.transition(record.id, {
    from: ['requested'],
    to: 'failed',
    patch: { error: { code: 'ABANDONED', message: 'left before sending by a stopped run' } },
  });
}

/**
 * What asking upstream about a `sent`/`unknown` deletion decided:
 * - done: upstream no longer has it (the record is `done`);
 * - tracking: upstream is deleting it (the record is `running`, with a poll reference);
 * - not_applied: present, and no DELETE of ours can still land (the record is `failed DELETE_NOT_APPLIED`;
 *   the next begin re-arms it and sends the first DELETE that takes effect);
 * - pending: not decidable yet (present while a DELETE may still land, upstream could not be asked, or a live
 *   caller holds it); ask again after `retryAfterMs`. `error` is set when asking failed.
 * - moved: another caller moved the record meanwhile; `record` is its current state.
 * - unchanged: the record is in no status this resolves (returned as it is).
 */
export type Resolution =
  | {
      readonly kind: 'done' | 'tracking' | 'not_applied' | 'moved' | 'unchanged';
      readonly record: DeletionRecord;
    }
  | {
      readonly kind: 'pending';
      readonly record: DeletionRecord;
      readonly retryAfterMs: number;
      readonly reason: string;
      readonly error?: unknown;
    };

/** When the last DELETE of a record was sent (its last `sent` entry), or when it was last written. */
export function lastSentAt(record: DeletionRecord): number {
  for (let index = record.history.length - 1; index >= 0; index--) {
    const entry = record.history[index];
    if (entry?.status === 'sent') return entry.at;
  }
  return record.updated_at;
}

function horizonOf(deps: DeletionDeps): number {
  return deps.inFlightHorizonMs ?? DEFAULT_IN_FLIGHT_HORIZON_MS;
}

/** Asking again: about as long as the DELETE has been out (so the asks thin out), within the bounds. */
function askAgainAfter(sentAt: number, now: number, horizonMs: number): number {
  const elapsed = Math.max(0, now - sentAt);
  const untilHorizon = sentAt + horizonMs - now;
  const wait = Math.min(
    RESOLVE_MAX_DELAY_MS,
    elapsed,
    untilHorizon > 0 ? untilHorizon : RESOLVE_MAX_DELAY_MS,
  );
  return Math.max(RESOLVE_MIN_DELAY_MS, wait);
}

/**
 * The service's own way to look at a deletion's target (CSBS item, CBR backup, DDS backup by listing, DIS
 * checkpoint); undefined when upstream offers none (a whole CSBS checkpoint: no call shows one).
 */
export function observationRef(record: Pick<DeletionRecord, 'service' | 'region' | 'project_id' | 'target'>):
  | { readonly kind: 'poll'; readonly poll: PollRef }
  | {
      readonly kind: 'dis';
      readonly streamName: string;
      readonly appName: string;
      readonly partitionId?: string;
    }
  | undefined {
  const where = { region: record.region, projectId: record.project_id };
  const target = record.target;
  if (target.kind === 'dis_checkpoint') {
    return {
      kind: 'dis',
      streamName: target.stream_name,
      appName: target.app_name,
      ...(target.partition_id === undefined ? {} : { partitionId: target.partition_id }),
    };
  }
  if (target.kind === 'checkpoint') {
    const items = target.checkpoint_items ?? [];
    if (items.length === 0) return undefined;
    return { kind: 'poll', poll: { service: 'csbs', ...where, itemId: [...items].sort().join(',') } };
  }
  if (record.service === 'cbr')
    return { kind: 'poll', poll: { service: 'cbr', ...where, backupId: target.backup_id } };
  if (record.service === 'dds')
    return { kind: 'poll', poll: { service: 'dds', ...where, backupId: target.backup_id } };
  return undefined;
}

async function observe(
  record: DeletionRecord,
  ref: NonNullable<ReturnType<typeof observationRef>>,
  deps: DeletionDeps,
): Promise<DeletionStatus> {
  if (ref.kind === 'dis') {
    return checkpointState(
      deps.client,
      {
        region: record.region,
        projectId: record.project_id,
        streamName: ref.streamName,
        appName: ref.appName,
        partitionId: ref.partitionId,
      },
      deps.signal,
    );
  }
  return pollUpstream(deps.client, ref.poll, deps.signal);
}

/**
 * Asks upstream about a `sent` or `unknown` deletion and records what it shows (see the module comment). Any
 * other record comes back `unchanged`. Never sends a DELETE; errors of the ask become `pending` with `error`.
 */
export async function resolveDeletion(record: DeletionRecord, deps: DeletionDeps): Promise<Resolution> {
  if (record.status !== 'sent' && record.status !== 'unknown') return { kind: 'unchanged', record };
  const now = (deps.now ?? Date.now)();
  const horizonMs = horizonOf(deps);
  const sentAt = lastSentAt(record);
  const settled = now - sentAt >= horizonMs;
  const from: RecordStatus[] = [record.status];
  const ref = observationRef(record);
  if (ref === undefined) {
    return {
      kind: 'pending',
      record,
      retryAfterMs: askAgainAfter(sentAt, now, horizonMs),
      reason: 'upstream offers no call to look at this target',
    };
  }
  let status: DeletionStatus;
  try {
    status = await observe(record, ref, deps);
  } catch (error) {
    const retryAfterMs =
      error instanceof HuaweiThrottledError && error.retryAfterMs !== undefined
        ? error.retryAfterMs
        : askAgainAfter(sentAt, now, horizonMs);
    return {
      kind: 'pending',
      record,
      retryAfterMs,
      reason: `asking upstream failed: ${errorCode(error)}`,
      error,
    };
  }
  const withId = status.requestId === undefined ? {} : { upstream_request_id: status.requestId };
  try {
    if (status.upstream === 'gone' || status.upstream === 'job_completed') {
      const done = await deps.ledger.transition(record.id, {
        from,
        to: 'done',
        patch: { ...withId, note: 'confirmed upstream after a stopped run or a lost answer: gone' },
      });
      return { kind: 'done', record: done };
    }
    if (status.upstream === 'deleting' || status.upstream === 'job_running') {
      const poll = ref.kind === 'poll' ? ref.poll : undefined;
      const running = await deps.ledger.transition(record.id, {
        from,
        to: 'running',
        patch: {
          ...withId,
          ...(poll === undefined ? {} : { poll_ref: poll, next_poll_at: now + FIRST_POLL_DELAY_MS }),
          note: `found deleting upstream after a stopped run or a lost answer (${status.upstreamStatus ?? status.upstream})`,
        },
      });
      return { kind: 'tracking', record: running };
    }
    if (!settled) {
      return {
        kind: 'pending',
        record,
        retryAfterMs: askAgainAfter(sentAt, now, horizonMs),
        reason: `present upstream (${status.upstreamStatus ?? status.upstream}) while a DELETE may still land`,
      };
    }
    const failed = await deps.ledger.transition(record.id, {
      from,
      to: 'failed',
      patch: {
        ...withId,
        error: {
          code: 'DELETE_NOT_APPLIED',
          message: `still present upstream (${status.upstreamStatus ?? status.upstream}) after the in-flight horizon`,
        },
      },
    });
    return { kind: 'not_applied', record: failed };
  } catch (error) {
    if (!(error instanceof LedgerConflictError)) throw error;
    const current = await deps.ledger.get(record.id);
    if (current === undefined) throw new LedgerNotFoundError(record.id);
    return { kind: 'moved', record: current };
  }
}

/**
 * One step forward for any deletion, without ever sending a DELETE: accepted/running → one poll
 * (`pollAndRecord`); sent/unknown → `resolveDeletion`; anything else as it is. What GET /deletions/{id} and a
 * repeated request do. Poll errors propagate (the caller shows the stored state).
 */
export async function advanceDeletion(
  id: string,
  deps: DeletionDeps,
): Promise<{ record: DeletionRecord; resolution?: Resolution; upstreamRequestId?: string | undefined }> {
  const record = await deps.ledger.get(id);
  if (record === undefined) throw new LedgerNotFoundError(id);
  if (record.status === 'accepted' || record.status === 'running') {
    const polled = await pollAndRecord(id, deps);
    return { record: polled.record, upstreamRequestId: polled.upstreamRequestId };
  }
  if (record.status === 'sent' || record.status === 'unknown') {
    const resolution = await resolveDeletion(record, deps);
    if (resolution.kind === 'pending' && resolution.error !== undefined) throw resolution.error;
    return { record: resolution.record, resolution, upstreamRequestId: lastRequestId(resolution.record) };
  }
  return { record, upstreamRequestId: lastRequestId(record) };
}
