/**
 * The upstream half of a deletion: send the DELETE for a ledger target and poll an accepted one. Backups go
 * through the service adapters (lib/services); what the adapters do not cover — a CSBS checkpoint with zero or
 * several items, and DIS checkpoints — is sent here on the same single client path.
 */
import { z } from 'zod';
import type { LedgerService, DeletionTarget as LedgerTarget } from '../ledger/schema.ts';
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
    // The response names no item to poll; pollRefFor decides what the ledger keeps.
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

/**
 * The poll reference to store for an accepted deletion. Several CSBS items share one reference (their ids
 * joined with commas; item ids are UUIDs); a whole CSBS checkpoint has none, since CSBS offers no status call
 * for a checkpoint — its record stays `accepted` and the response says so.
 */
export function pollRefFor(poll: PollRef, target: LedgerTarget): PollRef | undefined {
  if (poll.service === 'csbs' && target.kind === 'checkpoint') {
    const items = target.checkpoint_items ?? [];
    if (items.length === 0) return undefined;
    return { ...poll, itemId: [...items].sort().join(',') };
  }
  return poll;
}

/** One look upstream at an accepted deletion. */
export async function pollUpstream(
  client: HuaweiRequester,
  poll: PollRef,
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  if (poll.service === 'csbs' && poll.itemId.includes(',')) {
    return pollCsbsItems(client, poll.itemId.split(','), poll, signal);
  }
  return pollWithAdapter(client, poll, signal);
}

/** Several CSBS items: done when every one is gone; the first still-running item's status otherwise. */
async function pollCsbsItems(
  client: HuaweiRequester,
  itemIds: readonly string[],
  where: { region: string; projectId: string },
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  let last: DeletionStatus = { state: 'done', upstream: 'gone' };
  for (const itemId of itemIds) {
    last = await pollCsbsItem(
      client,
      { service: 'csbs', region: where.region, projectId: where.projectId, itemId },
      signal,
    );
    if (last.state !== 'done') return { ...last, reason: `item ${itemId}: ${last.reason ?? last.state}` };
  }
  return last;
}
