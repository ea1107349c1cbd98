import { z } from 'zod';

/**
 * The one service-neutral shape of a backup that the planner, the sweep and the reports work on.
 * Each service module maps its own list response to it (`toBackup`); the raw record stays available
 * to the service module, never to the planner.
 */

export const BackupServiceSchema = z.enum(['csbs', 'cbr', 'dds']);
export type BackupService = z.infer<typeof BackupServiceSchema>;

/**
 * - finished: completed and usable; the only state that may be deleted by keep rules.
 * - failed: the backup failed (`error` / `FAILED`); deleted only by `failed_max_age`.
 * - in_progress: being created, restored, or waiting for either; never touched.
 * - deleting: already being deleted upstream; never touched again.
 */
export const BackupStateSchema = z.enum(['finished', 'failed', 'in_progress', 'deleting']);
export type BackupState = z.infer<typeof BackupStateSchema>;

export const BackupSchema = z.object({
  service: BackupServiceSchema,
  region: z.string().min(1),
  project_id: z.string().min(1),
  /** The backup's own id (CSBS checkpoint item id, CBR backup id, DDS backup id). */
  id: z.string().min(1),
  /** The id the deletion call takes (CSBS: the checkpoint id; CBR and DDS: `id`). */
  delete_id: z.string().min(1),
  /** The protected resource: CSBS server, CBR resource, DDS instance. */
  resource_id: z.string().min(1),
  resource_name: z.string().optional(),
  /** CBR only: the vault the backup lives in (part of the group key). */
  vault_id: z.string().optional(),
  name: z.string().optional(),
  /** Creation time, epoch milliseconds (UTC). */
  created_at: z.number().int(),
  /** The upstream status string, verbatim. */
  status: z.string(),
  state: BackupStateSchema,
  /** true for backups a person or API call made; false for policy/automatic ones. */
  manual: z.boolean(),
  /** Bytes the deletion frees, where the service says (CSBS, DDS); absent means unknown, never 0. */
  size_bytes: z.number().nonnegative().optional(),
  /**
   * `key=value` (or bare `key`) strings, from where each service keeps them: the CBR vault, the DDS instance,
   * the CSBS checkpoint item.
   */
  tags: z.array(z.string()).default([]),
  /** CBR and CSBS: `backup`, or `replication` for a copy made by cross-region replication. */
  image_type: z.string().optional(),
  /** CBR's own retention: when upstream deletes the backup by itself (epoch ms). */
  expires_at: z.number().int().optional(),
  /** DDS: an incremental backup, which needs the full backup before it to be restored. */
  incremental: z.boolean().optional(),
  /**
   * Why upstream refuses to delete it now (DDS `deletable: false` or instance restoring, a CSBS copy still
   * being copied): such a backup is never a deletion candidate, whatever the rules say.
   */
  not_deletable: z.string().optional(),
});
export type Backup = z.infer<typeof BackupSchema>;

/** The per-resource group key that keep rules apply to. */
export function resourceKey(
  backup: Pick<Backup, 'service' | 'region' | 'project_id' | 'resource_id' | 'vault_id'>,
): string {
  return `${backup.service}/${backup.region}/${backup.project_id}/${backup.vault_id ?? '-'}/${backup.resource_id}`;
}
