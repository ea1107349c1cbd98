import { z } from 'zod';
import { HuaweiNotFoundError } from '../huawei/errors.ts';
import type { Backup, BackupState } from './backup.ts';
import {
  type BackupTarget,
  clampPageSize,
  type DeleteRef,
  type DeletionStart,
  type DeletionStatus,
  type HuaweiRequester,
  HuaweiTimeSchema,
  offsetPages,
  type PollRef,
  parseHuaweiTime,
  TagListSchema,
  tagStrings,
} from './deletion.ts';

/**
 * CBR v3 (Cloud Backup and Recovery): vault backups, offset/limit/count pagination. DELETE answers 204 and
 * the deletion goes on in the background (status `deleting`); it is done when the backup GET is a 404.
 */

export const CBR_MAX_PAGE = 1000;

export const CbrBackupSchema = z.looseObject({
  id: z.string().min(1),
  checkpoint_id: z.string().nullish(),
  name: z.string().nullish(),
  created_at: HuaweiTimeSchema,
  expired_at: z.string().nullish(),
  status: z.string(),
  vault_id: z.string().nullish(),
  resource_id: z.string().min(1),
  resource_type: z.string().nullish(),
  resource_name: z.string().nullish(),
  /**
   * GB — the size of the protected resource (the disk or server), not of the backup: the SDKs document it as
   * "resource size". Deleting a backup does not reclaim it, so it is never reported as bytes reclaimed.
   */
  resource_size: z.union([z.number(), z.string()]).nullish(),
  /** `backup` or `replication` (a copy made by cross-region replication). */
  image_type: z.string().nullish(),
  extend_info: z.looseObject({ auto_trigger: z.boolean().nullish() }).nullish(),
});
export type CbrBackup = z.infer<typeof CbrBackupSchema>;

/** A vault (model_vault.go): the backups in it carry its tags, since CBR backups have none of their own. */
export const CbrVaultSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  tags: TagListSchema,
});

export type CbrVault = z.infer<typeof CbrVaultSchema>;

export const CbrListVaultsResponseSchema = z.looseObject({
  vaults: z.array(CbrVaultSchema),
  count: z.number().int().nonnegative(),
});

export const CbrListResponseSchema = z.looseObject({
  backups: z.array(CbrBackupSchema),
  count: z.number().int().nonnegative(),
  offset: z.number().int().nullish(),
  limit: z.number().int().nullish(),
});

export const CbrShowResponseSchema = z.looseObject({ backup: CbrBackupSchema });

/** CBR backup statuses (CSBS checkpoint items use the same words). */
export const CBR_STATES: Readonly<Record<string, BackupState>> = {
  available: 'finished',
  error: 'failed',
  waiting_protect: 'in_progress',
  protecting: 'in_progress',
  waiting_restore: 'in_progress',
  restoring: 'in_progress',
  waiting_delete: 'deleting',
  deleting: 'deleting',
};

/** An unknown upstream status is treated as in progress: never a deletion candidate. */
export function cbrState(status: string): BackupState {
  return CBR_STATES[status] ?? 'in_progress';
}

/** Vault id → the vault's tags as `key=value` strings. */
export type VaultTags = ReadonlyMap<string, readonly string[]>;

export function toBackup(
  record: CbrBackup,
  region: string,
  projectId: string,
  vaultTags: VaultTags = new Map(),
): Backup {
  const backup: Backup = {
    service: 'cbr',
    region,
    project_id: projectId,
    id: record.id,
    delete_id: record.id,
    resource_id: record.resource_id,
    created_at: parseHuaweiTime(record.created_at),
    status: record.status,
    state: cbrState(record.status),
    manual: record.extend_info?.auto_trigger !== true,
    tags: record.vault_id ? [...(vaultTags.get(record.vault_id) ?? [])] : [],
    image_type: record.image_type ?? 'backup',
  };
  if (record.expired_at) {
    const expires = parseHuaweiTime(record.expired_at);
    if (!Number.isNaN(expires)) backup.expires_at = expires;
  }
  if (record.vault_id) backup.vault_id = record.vault_id;
  if (record.resource_name) backup.resource_name = record.resource_name;
  if (record.name) backup.name = record.name;
  return backup;
}

/** Every vault of the project as upstream sends it (ListVault, offset/limit pages). */
export function listVaults(
  client: HuaweiRequester,
  target: Pick<BackupTarget, 'region' | 'projectId' | 'pageSize'>,
  signal?: AbortSignal,
): AsyncIterable<CbrVault> {
  const limit = clampPageSize(target.pageSize, CBR_MAX_PAGE, CBR_MAX_PAGE);
  return offsetPages(async (offset) => {
    const response = await client.request(
      {
        service: 'cbr',
        operation: 'cbr.listVaults',
        region: target.region,
        projectId: target.projectId,
        method: 'GET',
        pathSegments: ['v3', target.projectId, 'vaults'],
        query: { limit: String(limit), offset: String(offset) },
      },
      CbrListVaultsResponseSchema,
      { signal },
    );
    return { records: response.body.vaults, total: response.body.count };
  });
}

/** Every vault of the project as vault id → tags (`key=value`). */
export async function listVaultTags(
  client: HuaweiRequester,
  target: Pick<BackupTarget, 'region' | 'projectId' | 'pageSize'>,
  signal?: AbortSignal,
): Promise<Map<string, string[]>> {
  const tags = new Map<string, string[]>();
  for await (const vault of listVaults(client, target, signal)) tags.set(vault.id, tagStrings(vault.tags));
  return tags;
}

/** Every backup record of the target as upstream sends it, over all pages. */
export async function* listBackupRecords(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<CbrBackup> {
  const limit = clampPageSize(target.pageSize, CBR_MAX_PAGE, CBR_MAX_PAGE);
  const resourceIds = target.filters?.resourceIds ?? [undefined];
  for (const resourceId of resourceIds) {
    yield* offsetPages(async (offset) => {
      const response = await client.request(
        {
          service: 'cbr',
          operation: 'cbr.listBackups',
          region: target.region,
          projectId: target.projectId,
          method: 'GET',
          pathSegments: ['v3', target.projectId, 'backups'],
          query: {
            limit: String(limit),
            offset: String(offset),
            vault_id: target.filters?.vaultId,
            resource_id: resourceId,
          },
        },
        CbrListResponseSchema,
        { signal },
      );
      return { records: response.body.backups, total: response.body.count };
    });
  }
}

/**
 * Every backup of the target with its vault's tags: the vaults are listed once per listing (one project in
 * one region), before the backups.
 */
export async function* listBackups(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<Backup> {
  const vaultTags = await listVaultTags(client, target, signal);
  for await (const record of listBackupRecords(client, target, signal)) {
    yield toBackup(record, target.region, target.projectId, vaultTags);
  }
}

export async function deleteBackup(
  client: HuaweiRequester,
  ref: DeleteRef,
  signal?: AbortSignal,
): Promise<DeletionStart> {
  const response = await client.request(
    {
      service: 'cbr',
      operation: 'cbr.deleteBackup',
      region: ref.region,
      projectId: ref.projectId,
      method: 'DELETE',
      pathSegments: ['v3', ref.projectId, 'backups', ref.deleteId],
      expect: [204, 200],
    },
    z.unknown(),
    { signal },
  );
  return {
    kind: 'accepted',
    poll: { service: 'cbr', region: ref.region, projectId: ref.projectId, backupId: ref.deleteId },
    requestId: response.requestId,
  };
}

/** Statuses of a background deletion underway (huaweicloud-sdk-go-v3 services/cbr/v1/model/model_backup_resp.go status enum). */
const CBR_DELETING: ReadonlySet<string> = new Set(['waiting_delete', 'deleting']);

/**
 * One look at a backup: gone (404), being deleted, or present. After an accepted DELETE a present backup still
 * counts as running (the background delete may not have started); the sweep's ceiling decides.
 */
export async function pollDeletion(
  client: HuaweiRequester,
  poll: Extract<PollRef, { service: 'cbr' }>,
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  try {
    const response = await client.request(
      {
        service: 'cbr',
        operation: 'cbr.showBackup',
        region: poll.region,
        projectId: poll.projectId,
        method: 'GET',
        pathSegments: ['v3', poll.projectId, 'backups', poll.backupId],
      },
      CbrShowResponseSchema,
      { signal },
    );
    const status = response.body.backup.status;
    return {
      state: 'running',
      upstream: CBR_DELETING.has(status) ? 'deleting' : 'present',
      upstreamStatus: status,
      reason: `status ${status}`,
      requestId: response.requestId,
    };
  } catch (error) {
    if (error instanceof HuaweiNotFoundError) {
      return { state: 'done', upstream: 'gone', requestId: error.requestId };
    }
    throw error;
  }
}
