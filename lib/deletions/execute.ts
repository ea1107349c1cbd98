/**
 * One deletion, end to end, shared by the HTTP functions and the retention sweep:
 *
 *   ledger.beginDeletion (conditional) → requested → sent → upstream DELETE → done | accepted | gone | failed
 *
 * Only the caller whose `beginDeletion` created (or re-armed) the record sends the DELETE; everyone else gets
 * the existing record back (`skipped`), so a retried request or an overlapping sweep never sends a second one.
 * The record moves to `sent` before the call: a crash mid-call leaves it in flight (blocking a resend) rather
 * than free to be sent twice.
 */
import { BUDGETS } from '../budgets.ts';
import { isRetryableCode } from '../errors.ts';
import { HuaweiApiError, HuaweiNotFoundError, HuaweiThrottledError } from '../huawei/errors.ts';
import { LedgerNotFoundError } from '../ledger/errors.ts';
import type { Ledger } from '../ledger/ledger.ts';
import {
  type CallerIdentity,
  type DeletionRecord,
  type DeletionTarget,
  deletionId,
  type LedgerService,
} from '../ledger/schema.ts';
import { CSBS_PROVIDER_ID } from '../services/csbs.ts';
import type { DeletionStatus, HuaweiRequester, PollRef } from '../services/deletion.ts';
import { pollRefFor, pollUpstream, sendDeletion } from './upstream.ts';

export interface DeletionDeps {
  readonly client: HuaweiRequester;
  readonly ledger: Ledger;
  /** Epoch ms; the ledger has its own clock, this one stamps `next_poll_at`. */
  readonly now?: () => number;
  readonly signal?: AbortSignal;
}

/** First poll of an accepted deletion is due this long after acceptance (a hint for callers and the sweep). */
export const FIRST_POLL_DELAY_MS = BUDGETS.firstPollDelayMs;

/** One planned backup deletion, as the sweep has it (Backup.delete_id / Backup.id). */
export interface PlannedDeletionRef {
  readonly service: 'csbs' | 'cbr' | 'dds';
  readonly region: string;
  readonly projectId: string;
  /** Backup.delete_id (CSBS: the checkpoint id). */
  readonly deleteId: string;
  /** Backup.id (CSBS: the checkpoint item id; CBR/DDS: equal to deleteId). */
  readonly itemId: string;
  readonly sweepId?: string | undefined;
  readonly requestedBy: CallerIdentity;
  readonly sizeBytes?: number | undefined;
}

/** Any deletion the ledger can describe (the HTTP functions build these from a request). */
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
 * - `failed`: upstream refused or could not be reached; `error` is the typed error, `code` its stable code.
 *   The record is `failed` and a later `executeDeletion` re-arms it.
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
  | (OutcomeBase & {
      readonly kind: 'failed';
      readonly code: string;
      readonly message: string;
      /** Worth trying again later (busy, throttled, 5xx, network). */
      readonly retryable: boolean;
      readonly retryAfterMs?: number | undefined;
      readonly error: unknown;
    });

/** The ledger target of a planned backup deletion (CSBS deletes exactly the one item). */
export function plannedTarget(
  ref: Pick<PlannedDeletionRef, 'service' | 'deleteId' | 'itemId'>,
): DeletionTarget {
  return ref.service === 'csbs'
    ? {
        kind: 'checkpoint',
        provider_id: CSBS_PROVIDER_ID,
        checkpoint_id: ref.deleteId,
        checkpoint_items: [ref.itemId],
      }
    : { kind: 'backup', backup_id: ref.deleteId };
}

/** The deterministic deletion id `executeDeletion(ref)` will use (for the sweep's plan items). */
export function plannedDeletionId(
  ref: Pick<PlannedDeletionRef, 'service' | 'region' | 'projectId' | 'deleteId' | 'itemId'>,
): string {
  return deletionId(ref.service, ref.region, ref.projectId, plannedTarget(ref));
}

/** One planned backup deletion: begin → send → record. Never throws for upstream errors (see `failed`). */
export function executeDeletion(ref: PlannedDeletionRef, deps: DeletionDeps): Promise<ExecutedDeletion> {
  return runDeletion(
    {
      service: ref.service,
      region: ref.region,
      projectId: ref.projectId,
      target: plannedTarget(ref),
      requestedBy: ref.requestedBy,
      sweepId: ref.sweepId,
      sizeBytes: ref.sizeBytes,
    },
    deps,
  );
}

/** Any deletion: begin → send → record. Ledger errors propagate; upstream errors become `gone`/`failed`. */
export async function runDeletion(request: DeletionRequest, deps: DeletionDeps): Promise<ExecutedDeletion> {
  const { ledger } = deps;
  const begun = await ledger.beginDeletion({
    service: request.service,
    region: request.region,
    project_id: request.projectId,
    target: request.target,
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
  await ledger.transition(id, { from: ['requested'], to: 'sent' });
  try {
    const start = await sendDeletion(
      deps.client,
      {
        service: request.service,
        region: request.region,
        projectId: request.projectId,
        target: request.target,
      },
      deps.signal,
    );
    const upstreamRequestId = start.requestId;
    const withId = upstreamRequestId === undefined ? {} : { upstream_request_id: upstreamRequestId };
    if (start.kind === 'done') {
      const record = await ledger.transition(id, { from: ['sent'], to: 'done', patch: { ...withId } });
      return { kind: 'done', deletionId: id, record, upstreamRequestId };
    }
    const now = (deps.now ?? Date.now)();
    const poll = pollRefFor(start.poll, request.target);
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
    return recordFailure(ledger, id, error);
  }
}

async function recordFailure(ledger: Ledger, id: string, error: unknown): Promise<ExecutedDeletion> {
  const upstream = error instanceof HuaweiApiError ? error : undefined;
  const upstreamRequestId = upstream?.requestId ?? (error as { requestId?: string } | null)?.requestId;
  const patch = {
    ...(upstreamRequestId === undefined ? {} : { upstream_request_id: upstreamRequestId }),
    ...(upstream === undefined ? {} : { upstream_status: upstream.status }),
    ...(upstream?.errorCode === undefined ? {} : { upstream_code: upstream.errorCode }),
    ...(upstream?.errorMessage === undefined
      ? {}
      : { upstream_message: upstream.errorMessage.slice(0, 500) }),
  };
  if (error instanceof HuaweiNotFoundError) {
    const record = await ledger.transition(id, { from: ['sent'], to: 'gone', patch });
    return { kind: 'gone', deletionId: id, record, upstreamRequestId, upstreamCode: error.errorCode, error };
  }
  const code = errorCode(error);
  const message = error instanceof Error ? error.message : String(error);
  const record = await ledger.transition(id, {
    from: ['sent'],
    to: 'failed',
    patch: { ...patch, error: { code, message: message.slice(0, 500) } },
  });
  return {
    kind: 'failed',
    deletionId: id,
    record,
    upstreamRequestId,
    code,
    message,
    // The one error table decides (lib/errors.ts); `error.outcomeUnknown` says whether upstream must be asked.
    retryable: isRetryableCode(code),
    retryAfterMs: error instanceof HuaweiThrottledError ? error.retryAfterMs : undefined,
    error,
  };
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : 'INTERNAL';
}

function lastRequestId(record: DeletionRecord): string | undefined {
  return record.upstream_request_ids.at(-1);
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
  if (record === undefined) {
    throw new LedgerNotFoundError(id);
  }
  if ((record.status !== 'accepted' && record.status !== 'running') || record.poll_ref === undefined) {
    return { record, upstreamRequestId: lastRequestId(record) };
  }
  const status = await pollUpstream(deps.client, record.poll_ref, deps.signal);
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
