import { z } from 'zod';
import { HuaweiNotFoundError, HuaweiResponseShapeError } from '../huawei/errors.ts';
import type { Backup, BackupState } from './backup.ts';
import { CBR_STATES } from './cbr.ts';
import {
  type BackupTarget,
  clampPageSize,
  type DeleteRef,
  type DeletionStart,
  type DeletionStatus,
  type HuaweiRequester,
  HuaweiTimeSchema,
  type PollRef,
  parseHuaweiTime,
  TagListSchema,
  tagStrings,
} from './deletion.ts';

/**
 * CSBS v1 (Cloud Server Backup Service): checkpoint items are the backups; a DELETE takes the checkpoint id
 * and, with `checkpoint_items=ID`, deletes only that item. Deletion is queued upstream (up to 30 min) and has
 * no task API: the item is polled until it is gone (404 / CSBS.3001) or `deleted`.
 */

/** Fixed by the API for CSBS. */
export const CSBS_PROVIDER_ID = 'fc4d5750-22e7-4798-8a46-f48f62c4c1da';
export const CSBS_MAX_PAGE = 1000;

export const CsbsCheckpointItemSchema = z.looseObject({
  id: z.string().min(1),
  checkpoint_id: z.string().min(1),
  created_at: HuaweiTimeSchema,
  updated_at: z.string().nullish(),
  status: z.string(),
  resource_id: z.string().min(1),
  resource_type: z.string().nullish(),
  name: z.string().nullish(),
  tags: TagListSchema,
  extend_info: z
    .looseObject({
      auto_trigger: z.boolean().nullish(),
      resource_name: z.string().nullish(),
      fail_reason: z.string().nullish(),
      image_type: z.string().nullish(),
      /** MB (CSBS API reference: "Backup capacity. The unit is MB."). */
      size: z.number().nonnegative().nullish(),
      /** na, waiting_copy, copying, success, fail: a copy being made cannot be deleted yet. */
      copy_status: z.string().nullish(),
      copy_from: z.string().nullish(),
      /** Each disk's backup; `size` in MB ("Accumulated size (MB) of backups"). */
      volume_backups: z.array(z.looseObject({ size: z.number().nonnegative().nullish() })).nullish(),
    })
    .nullish(),
});
export type CsbsCheckpointItem = z.infer<typeof CsbsCheckpointItemSchema>;

export const CsbsListResponseSchema = z.looseObject({
  checkpoint_items: z.array(CsbsCheckpointItemSchema),
  checkpoint_items_links: z.array(z.looseObject({ href: z.string(), rel: z.string() })).nullish(),
});

export const CsbsShowItemResponseSchema = z.looseObject({ checkpoint_item: CsbsCheckpointItemSchema });

export const CsbsDeleteResponseSchema = z.unknown();

/** CSBS checkpoint items share CBR's status vocabulary, plus `deleted` (an item on its way out). */
const STATES: Readonly<Record<string, BackupState>> = { ...CBR_STATES, deleted: 'deleting' };

/** An unknown upstream status is treated as in progress: never a deletion candidate. */
export function csbsState(status: string): BackupState {
  return STATES[status] ?? 'in_progress';
}

/**
 * Bytes per CSBS "MB". The API reference gives sizes in MB without saying decimal or binary; Huawei's storage
 * consoles count in binary units, so 2^20 is assumed (not confirmed from a public source).
 */
export const CSBS_MB = 1024 * 1024;
export const COPY_IN_PROGRESS = 'copy in progress';
const COPYING = new Set(['waiting_copy', 'copying']);

/** The backup's size in bytes: `extend_info.size`, else the sum of its disks' backups; undefined when unknown. */
export function csbsSizeBytes(item: CsbsCheckpointItem): number | undefined {
  const size = item.extend_info?.size;
  if (size != null && size > 0) return size * CSBS_MB;
  const volumes = item.extend_info?.volume_backups ?? [];
  if (volumes.length === 0 || volumes.some((volume) => volume.size == null))
    return size === 0 ? 0 : undefined;
  return volumes.reduce((sum, volume) => sum + (volume.size ?? 0), 0) * CSBS_MB;
}

export function toBackup(item: CsbsCheckpointItem, region: string, projectId: string): Backup {
  const backup: Backup = {
    service: 'csbs',
    region,
    project_id: projectId,
    id: item.id,
    delete_id: item.checkpoint_id,
    resource_id: item.resource_id,
    created_at: parseHuaweiTime(item.created_at),
    status: item.status,
    state: csbsState(item.status),
    // No auto_trigger means nobody told us a policy made it: treat it as a person's backup.
    manual: item.extend_info?.auto_trigger !== true,
    tags: tagStrings(item.tags),
    image_type: item.extend_info?.image_type || 'backup',
  };
  const size = csbsSizeBytes(item);
  if (size !== undefined) backup.size_bytes = size;
  if (COPYING.has(item.extend_info?.copy_status ?? '')) backup.not_deletable = COPY_IN_PROGRESS;
  if (item.extend_info?.resource_name) backup.resource_name = item.extend_info.resource_name;
  if (item.name) backup.name = item.name;
  return backup;
}

function nextMarker(
  links: z.infer<typeof CsbsListResponseSchema>['checkpoint_items_links'],
): string | undefined {
  const next = links?.find((link) => link.rel === 'next');
  if (!next) return undefined;
  const url = new URL(next.href, 'https://placeholder.invalid');
  return url.searchParams.get('marker') ?? undefined;
}

/** Every backup of the target (all pages of checkpoint items). */
export async function* listBackups(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<Backup> {
  for await (const item of listBackupRecords(client, target, signal))
    yield toBackup(item, target.region, target.projectId);
}

/** Every checkpoint item of the target as upstream sends it, following `checkpoint_items_links`. */
export async function* listBackupRecords(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<CsbsCheckpointItem> {
  const limit = String(clampPageSize(target.pageSize, CSBS_MAX_PAGE, CSBS_MAX_PAGE));
  const resourceIds = target.filters?.resourceIds ?? [undefined];
  for (const resourceId of resourceIds) {
    let marker: string | undefined;
    const seenMarkers = new Set<string>();
    for (;;) {
      const response = await client.request(
        {
          service: 'csbs',
          operation: 'csbs.listCheckpointItems',
          region: target.region,
          projectId: target.projectId,
          method: 'GET',
          pathSegments: ['v1', target.projectId, 'checkpoint_items'],
          query: { limit, marker, resource_id: resourceId },
        },
        CsbsListResponseSchema,
        { signal },
      );
      yield* response.body.checkpoint_items;
      const next = nextMarker(response.body.checkpoint_items_links);
      if (!next || response.body.checkpoint_items.length === 0) break;
      if (seenMarkers.has(next)) {
        throw new HuaweiResponseShapeError(
          { service: 'csbs', operation: 'csbs.listCheckpointItems' },
          `checkpoint_items_links: marker ${next} repeats`,
          response.requestId,
        );
      }
      seenMarkers.add(next);
      marker = next;
    }
  }
}

export async function deleteBackup(
  client: HuaweiRequester,
  ref: DeleteRef,
  signal?: AbortSignal,
): Promise<DeletionStart> {
  const response = await client.request(
    {
      service: 'csbs',
      operation: 'csbs.deleteCheckpoint',
      region: ref.region,
      projectId: ref.projectId,
      method: 'DELETE',
      pathSegments: ['v1', ref.projectId, 'providers', CSBS_PROVIDER_ID, 'checkpoints', ref.deleteId],
      // Without checkpoint_items every item of the checkpoint would go.
      query: { checkpoint_items: ref.itemId },
    },
    CsbsDeleteResponseSchema,
    { signal },
  );
  return {
    kind: 'accepted',
    poll: { service: 'csbs', region: ref.region, projectId: ref.projectId, itemId: ref.itemId },
    requestId: response.requestId,
  };
}

/** Item statuses of a deletion underway (CBR's vocabulary, which CSBS shares: CBR_STATES `deleting`). */
const CSBS_DELETING: ReadonlySet<string> = new Set(['waiting_delete', 'deleting']);

/**
 * One look at an item: gone (404 / CSBS.3001, or status `deleted`), being deleted, or present. After an
 * accepted DELETE a present item still counts as running: the queue gives no failure signal (a delete still
 * queued and one that was dropped look alike), so the sweep's 30-minute ceiling decides.
 */
export async function pollDeletion(
  client: HuaweiRequester,
  poll: Extract<PollRef, { service: 'csbs' }>,
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  try {
    const response = await client.request(
      {
        service: 'csbs',
        operation: 'csbs.showCheckpointItem',
        region: poll.region,
        projectId: poll.projectId,
        method: 'GET',
        pathSegments: ['v1', poll.projectId, 'checkpoint_items', poll.itemId],
      },
      CsbsShowItemResponseSchema,
      { signal },
    );
    const status = response.body.checkpoint_item.status;
    const requestId = response.requestId;
    if (status === 'deleted') return { state: 'done', upstream: 'gone', upstreamStatus: status, requestId };
    return {
      state: 'running',
      upstream: CSBS_DELETING.has(status) ? 'deleting' : 'present',
      upstreamStatus: status,
      reason: `status ${status}`,
      requestId,
    };
  } catch (error) {
    if (error instanceof HuaweiNotFoundError) {
      return { state: 'done', upstream: 'gone', requestId: error.requestId };
    }
    throw error;
  }
}
