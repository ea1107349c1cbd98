/**
 * The upstream half of a deletion: send the DELETE for a ledger target and poll an accepted one. Backups go
 * through the service adapters (lib/services); what the adapters do not cover — a CSBS checkpoint with zero or
 * several items, and DIS checkpoints — is sent here on the same single client path.
 */
import { z } from 'zod';
import type {
  LedgerService,
  DeletionTarget as LedgerTarget,
  PollRef as StoredPollRef,
} from '../ledger/schema.ts';
import { CSBS_PROVIDER_ID, pollDeletion as pollCsbsItem } from '../services/csbs.ts';
import type { DeletionStart, DeletionStatus, HuaweiRequester, PollRef } from '../services/deletion.ts';
import * as dis from '../services/dis.ts';
import { adapterFor, pollDeletion as pollWithAdapter } from '../services/index.ts';

export interface UpstreamTarget {
  readonly service: LedgerService;
  readonly region: string;
  readonly projectId: string;
  readonly target: LedgerTarget;
}

/**
 * How an accepted deletion is polled, as stored in the ledger (`{type, id}`; region and project come from the
 * record). `csbs_items` joins several item ids with commas; `csbs_checkpoint` is a whole checkpoint, which
 * CSBS offers no status call for.
 */
export const POLL_TYPES = ['csbs_item', 'csbs_items', 'csbs_checkpoint', 'cbr_backup', 'dds_job'] as const;
export type PollType = (typeof POLL_TYPES)[number];

/** Sends the DELETE. Typed Huawei errors (not found, busy, throttled, ...) propagate unchanged. */
export async function sendDeletion(
  client: HuaweiRequester,
  upstream: UpstreamTarget,
  signal?: AbortSignal,
): Promise<DeletionStart> {
  const { service, region, projectId, target } = upstream;
  if (target.kind === 'dis_checkpoint') {
    if (service !== 'dis') throw new TypeError(`a DIS checkpoint cannot be deleted through ${service}`);
    return dis.deleteCheckpoint(
      client,
      {
        region,
        projectId,
        streamName: target.stream_name,
        appName: target.app_name,
        checkpointType: target.checkpoint_type as 'LAST_READ',
        ...(target.partition_id === undefined ? {} : { partitionId: target.partition_id }),
      },
      signal,
    );
  }
  if (target.kind === 'checkpoint') {
    if (service !== 'csbs') throw new TypeError(`a checkpoint cannot be deleted through ${service}`);
    const items = target.checkpoint_items ?? [];
    const [only] = items;
    if (items.length === 1 && only !== undefined) {
      return adapterFor('csbs').deleteBackup(
        client,
        { region, projectId, deleteId: target.checkpoint_id, itemId: only },
        signal,
      );
    }
    const response = await client.request(
      {
        service: 'csbs',
        operation: 'csbs.deleteCheckpoint',
        region,
        projectId,
        method: 'DELETE',
        pathSegments: ['v1', projectId, 'providers', CSBS_PROVIDER_ID, 'checkpoints', target.checkpoint_id],
        query: items.length === 0 ? undefined : { checkpoint_items: items.join(',') },
      },
      z.unknown(),
      { signal },
    );
    // The response names no item to poll; the ledger's poll ref (see toStoredPollRef) covers them.
    return {
      kind: 'accepted',
      poll: { service: 'csbs', region, projectId, itemId: items.join(',') },
      requestId: response.requestId,
    };
  }
  if (service === 'dis' || service === 'csbs') {
    throw new TypeError(`a backup id cannot be deleted through ${service}`);
  }
  return adapterFor(service).deleteBackup(
    client,
    { region, projectId, deleteId: target.backup_id, itemId: target.backup_id },
    signal,
  );
}

/** The ledger form of an adapter's poll reference (the target says whether a CSBS delete had several items). */
export function toStoredPollRef(poll: PollRef, target: LedgerTarget): StoredPollRef {
  switch (poll.service) {
    case 'csbs': {
      if (target.kind === 'checkpoint') {
        const items = target.checkpoint_items ?? [];
        if (items.length === 0) return { type: 'csbs_checkpoint', id: target.checkpoint_id };
        if (items.length > 1) return { type: 'csbs_items', id: [...items].sort().join(',') };
      }
      return { type: 'csbs_item', id: poll.itemId };
    }
    case 'cbr':
      return { type: 'cbr_backup', id: poll.backupId };
    case 'dds':
      return { type: 'dds_job', id: poll.jobId };
  }
}

/** One look upstream at an accepted deletion. `undefined` when the service has no way to tell. */
export async function pollStored(
  client: HuaweiRequester,
  ref: StoredPollRef,
  region: string,
  projectId: string,
  signal?: AbortSignal,
): Promise<DeletionStatus | undefined> {
  const where = { region, projectId };
  switch (ref.type as PollType) {
    case 'csbs_item':
      return pollWithAdapter(client, { service: 'csbs', ...where, itemId: ref.id }, signal);
    case 'csbs_items':
      return pollCsbsItems(client, ref.id.split(','), where, signal);
    case 'cbr_backup':
      return pollWithAdapter(client, { service: 'cbr', ...where, backupId: ref.id }, signal);
    case 'dds_job':
      return pollWithAdapter(client, { service: 'dds', ...where, jobId: ref.id }, signal);
    default:
      return undefined;
  }
}

/** Several CSBS items: done when every one is gone; the first still-running item's status otherwise. */
async function pollCsbsItems(
  client: HuaweiRequester,
  itemIds: readonly string[],
  where: { region: string; projectId: string },
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  let last: DeletionStatus = { state: 'done' };
  for (const itemId of itemIds) {
    last = await pollCsbsItem(client, { service: 'csbs', ...where, itemId }, signal);
    if (last.state !== 'done') return { ...last, reason: `item ${itemId}: ${last.reason ?? last.state}` };
  }
  return last;
}
