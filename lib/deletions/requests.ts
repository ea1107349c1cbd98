/**
 * The HTTP API's business layer: a caller's deletion request (validate → allowlist → executeDeletion's
 * begin → send → record) and the status of a deletion (refreshed from upstream while it runs). Typed inputs,
 * injected dependencies; no API Gateway event in sight. Errors are the closed set lib/http maps to responses.
 */

import { ResourceNotFoundError, ValidationError } from '../http/errors.ts';
import { assertProjectAllowed } from '../http/project-allowlist.ts';
import { issuesFromZod } from '../http/validation.ts';
import { HuaweiApiError, HuaweiNotFoundError } from '../huawei/errors.ts';
import {
  type CallerIdentity,
  type DeletionRecord,
  type DeletionTarget,
  type LedgerService,
  deletionId as ledgerDeletionId,
} from '../ledger/schema.ts';
import { CSBS_PROVIDER_ID } from '../services/csbs.ts';
import type { DeletionLaneGate } from '../sweep/lane-gate.ts';
import {
  advanceDeletion,
  type DeletionDeps,
  type ExecutedDeletion,
  resolveDeletion,
  runDeletion,
} from './lifecycle.ts';
import { type DeletionInput, DeletionInputSchema } from './schemas.ts';
import { type DeletionView, toDeletionView } from './view.ts';

export interface RequestDeletionDeps extends DeletionDeps {
  /** The Huawei region this deployment serves (HWC_REGION). */
  readonly region: string;
  /** Projects this deployment may touch (HWC_PROJECT_ALLOWLIST). */
  readonly allowlist: ReadonlySet<string>;
  /** The cross-invocation lane cap (lib/sweep/lane-gate.ts); without it the DELETE is sent ungated. */
  readonly laneGate?: DeletionLaneGate | undefined;
}

/**
 * - `done`: deleted (now, or by an identical request within the idempotency window) → 204.
 * - `accepted`: running upstream (or already in flight from an identical request) → 202 + Location.
 * Already gone, busy, throttled, upstream failures: thrown as the typed Huawei errors (404/409/429/502).
 */
export type RequestedDeletion = {
  readonly kind: 'done' | 'accepted';
  readonly deletion: DeletionView;
  readonly upstreamRequestId?: string | undefined;
  /** True when an existing record answered and nothing was sent upstream. */
  readonly replayed: boolean;
};

export function deletionTarget(input: DeletionInput): { service: LedgerService; target: DeletionTarget } {
  switch (input.service) {
    case 'csbs':
      return {
        service: 'csbs',
        target: {
          kind: 'checkpoint',
          provider_id: CSBS_PROVIDER_ID,
          checkpoint_id: input.checkpointId,
          ...(input.checkpointItems === undefined
            ? {}
            : { checkpoint_items: [...new Set(input.checkpointItems)].sort() }),
        },
      };
    case 'cbr':
    case 'dds':
      return { service: input.service, target: { kind: 'backup', backup_id: input.backupId } };
    case 'dis':
      return {
        service: 'dis',
        target: {
          kind: 'dis_checkpoint',
          stream_name: input.streamName,
          app_name: input.appName,
          checkpoint_type: input.checkpointType,
          ...(input.partitionId === undefined ? {} : { partition_id: input.partitionId }),
        },
      };
  }
}

/**
 * Validates, checks the allowlist, and runs the deletion once. A repeat finds the existing record: a finished
 * one answers as it did; one left `sent` by a stopped caller or `unknown` after a lost answer is resolved by
 * asking upstream first (lib/deletions/lifecycle.ts) — finished, tracked, or, only when upstream proves the
 * DELETE did not happen, re-armed and sent once.
 */
export async function requestDeletion(
  input: DeletionInput,
  requestedBy: CallerIdentity,
  deps: RequestDeletionDeps,
): Promise<RequestedDeletion> {
  const parsed = DeletionInputSchema.safeParse(input);
  if (!parsed.success) throw new ValidationError('path', issuesFromZod(parsed.error, 'path'));
  assertProjectAllowed(deps.allowlist, parsed.data.projectId);
  const { service, target } = deletionTarget(parsed.data);
  const request = { service, region: deps.region, projectId: parsed.data.projectId, target, requestedBy };
  const lane = {
    service,
    projectId: parsed.data.projectId,
    deletionId: ledgerDeletionId(service, deps.region, parsed.data.projectId, target),
  };
  const send = () =>
    deps.laneGate === undefined
      ? runDeletion(request, deps)
      : deps.laneGate.around(lane, () => runDeletion(request, deps));
  const outcome = await send();
  if (
    outcome.kind !== 'skipped' ||
    (outcome.record.status !== 'sent' && outcome.record.status !== 'unknown')
  ) {
    return answer(outcome);
  }
  const resolution = await resolveDeletion(outcome.record, deps);
  if (resolution.kind === 'not_applied') return answer(await send());
  return answer({
    ...outcome,
    record: resolution.record,
    upstreamRequestId: lastRequestId(resolution.record),
  });
}

function lastRequestId(record: DeletionRecord): string | undefined {
  return record.upstream_request_ids.at(-1);
}

function answer(outcome: ExecutedDeletion): RequestedDeletion {
  const base = { deletion: toDeletionView(outcome.record), upstreamRequestId: outcome.upstreamRequestId };
  switch (outcome.kind) {
    case 'done':
      return { kind: 'done', ...base, replayed: false };
    case 'started':
      return { kind: 'accepted', ...base, replayed: false };
    case 'gone':
    case 'failed':
    case 'unknown':
      // Unknown: the error as it came (the record is `unknown`); a repeat or GET /deletions/{id} asks
      // upstream before anything is sent again.
      throw outcome.error;
    case 'skipped':
      return replay(outcome.record, base);
  }
}

/** An identical request already ran: answer as it did, without calling upstream. */
function replay(
  record: DeletionRecord,
  base: Omit<RequestedDeletion, 'kind' | 'replayed'>,
): RequestedDeletion {
  if (record.status === 'done') return { kind: 'done', ...base, replayed: true };
  const recorded = {
    service: record.service,
    operation: `${record.service}.delete (recorded)`,
    errorCode: record.upstream_code,
    errorMessage: record.error?.message,
    requestId: base.upstreamRequestId,
  };
  if (record.status === 'gone') {
    throw new HuaweiNotFoundError({ ...recorded, status: record.upstream_status ?? 404 });
  }
  // Refused for good: the recorded refusal again, and nothing sent.
  if (record.status === 'failed' && record.error?.permanent === true) {
    throw HuaweiApiError.fromResponse({ ...recorded, status: record.upstream_status ?? 400 });
  }
  return { kind: 'accepted', ...base, replayed: true };
}

export interface DeletionState {
  readonly deletion: DeletionView;
  readonly upstreamRequestId?: string | undefined;
}

/**
 * The deletion's state, moved one step forward first without sending anything: accepted/running is polled,
 * sent/unknown is resolved by asking upstream (lib/deletions/lifecycle.ts `advanceDeletion`). A failing look
 * upstream (throttled, unreachable) does not fail the read: the stored state is returned with
 * `refresh_error` so a poller keeps polling. Unknown ids and projects outside the allowlist are 404.
 */
export async function refreshDeletion(
  deletionId: string,
  deps: Omit<RequestDeletionDeps, 'region'>,
): Promise<DeletionState> {
  const record = await deps.ledger.get(deletionId);
  if (record === undefined || !deps.allowlist.has(record.project_id)) {
    throw new ResourceNotFoundError('deletion', deletionId);
  }
  try {
    const advanced = await advanceDeletion(deletionId, deps);
    // A finished deletion frees its lane slot; a running one keeps it leased (lib/sweep/lane-gate.ts).
    await deps.laneGate?.observed(advanced.record).catch(() => undefined);
    return { deletion: toDeletionView(advanced.record), upstreamRequestId: advanced.upstreamRequestId };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const current = (await deps.ledger.get(deletionId)) ?? record;
    return {
      deletion: {
        ...toDeletionView(current),
        refresh_error: { code: typeof code === 'string' ? code : 'INTERNAL' },
      },
      upstreamRequestId:
        (error as { requestId?: string } | null)?.requestId ?? current.upstream_request_ids.at(-1),
    };
  }
}
