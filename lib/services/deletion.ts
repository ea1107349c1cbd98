import { z } from 'zod';
import type { HuaweiClient } from '../huawei/client.ts';

/**
 * The shapes shared by the service modules: what to list, what to delete, how a deletion starts and how
 * its progress is read. A PollRef is plain JSON so the sweep can store it in the ledger and poll later.
 */

/** Only the one request path of the client is needed (tests may pass a fake). */
export type HuaweiRequester = Pick<HuaweiClient, 'request'>;

/** ListBackups `backup_type` (huaweicloud-sdk-go-v3 services/dds/v3/model/model_list_backups_request.go). */
export const DDS_REQUEST_BACKUP_TYPES = ['Auto', 'Manual', 'Incremental'] as const;

export const BackupFiltersSchema = z.object({
  /** One listing pass per resource id (the APIs filter by one id at a time). */
  resourceIds: z.array(z.string().min(1)).optional(),
  /** CBR only. */
  vaultId: z.string().min(1).optional(),
  /** DDS only. */
  instanceId: z.string().min(1).optional(),
  /** DDS only: Auto, Manual or Incremental, in any case (sent as the request enum spells it). */
  backupType: z
    .string()
    .transform((type, ctx) => {
      const canonical = DDS_REQUEST_BACKUP_TYPES.find((known) => known.toLowerCase() === type.toLowerCase());
      if (canonical === undefined) {
        ctx.addIssue({ code: 'custom', message: 'one of Auto, Manual, Incremental' });
        return z.NEVER;
      }
      return canonical;
    })
    .optional(),
});
export type BackupFilters = z.infer<typeof BackupFiltersSchema>;

export const BackupTargetSchema = z.object({
  region: z.string().min(1),
  projectId: z.string().min(1),
  filters: BackupFiltersSchema.optional(),
  /** Page size; each service clamps it to its own maximum. */
  pageSize: z.number().int().positive().optional(),
});
export type BackupTarget = z.infer<typeof BackupTargetSchema>;

export const DeleteRefSchema = z.object({
  region: z.string().min(1),
  projectId: z.string().min(1),
  /** Backup.delete_id (CSBS: the checkpoint id). */
  deleteId: z.string().min(1),
  /** Backup.id (CSBS: the checkpoint item id). */
  itemId: z.string().min(1),
});
export type DeleteRef = z.infer<typeof DeleteRefSchema>;

/**
 * DDS: the deletion job when the DELETE's answer named it; otherwise (the answer was lost) the backup itself,
 * found by listing (`backup_id`, and `instance_id` when known).
 */
export const PollRefSchema = z.discriminatedUnion('service', [
  z.object({ service: z.literal('csbs'), region: z.string(), projectId: z.string(), itemId: z.string() }),
  z.object({ service: z.literal('cbr'), region: z.string(), projectId: z.string(), backupId: z.string() }),
  z.object({
    service: z.literal('dds'),
    region: z.string(),
    projectId: z.string(),
    jobId: z.string().optional(),
    backupId: z.string().optional(),
    instanceId: z.string().optional(),
  }),
]);
export type PollRef = z.infer<typeof PollRefSchema>;

export const DeletionStartSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('done'), requestId: z.string().optional() }),
  z.object({ kind: z.literal('accepted'), poll: PollRefSchema, requestId: z.string().optional() }),
]);
export type DeletionStart = z.infer<typeof DeletionStartSchema>;

/**
 * What upstream showed about the thing being deleted, as a type (never text parsed back):
 * - gone: not found, or listed in a status that means deleted (CSBS `deleted`);
 * - deleting: present in a status upstream uses while a deletion runs (CBR/CSBS `waiting_delete`, `deleting`;
 *   DDS `DISABLED`, `DELETING`);
 * - present: present in any other status (the deletion has not taken effect);
 * - job_running / job_completed / job_failed: the DDS deletion job's status.
 */
export const UpstreamObservationSchema = z.enum([
  'gone',
  'deleting',
  'present',
  'job_running',
  'job_completed',
  'job_failed',
]);
export type UpstreamObservation = z.infer<typeof UpstreamObservationSchema>;

export const DeletionStatusSchema = z.object({
  state: z.enum(['running', 'done', 'failed']),
  /** What upstream showed (see UpstreamObservationSchema). */
  upstream: UpstreamObservationSchema,
  /** The upstream status value, verbatim, when there was one. */
  upstreamStatus: z.string().optional(),
  reason: z.string().optional(),
  requestId: z.string().optional(),
});
export type DeletionStatus = z.infer<typeof DeletionStatusSchema>;

/** Huawei timestamps: ISO with or without zone (no zone means UTC), or `yyyy-mm-dd hh:mm:ss` (UTC). */
export function parseHuaweiTime(value: string): number {
  let text = value.trim().replace(' ', 'T');
  if (!/(Z|[+-]\d{2}:?\d{2})$/i.test(text)) text += 'Z';
  return Date.parse(text);
}

export const HuaweiTimeSchema = z
  .string()
  .refine((value) => !Number.isNaN(parseHuaweiTime(value)), { message: 'not a timestamp' });

/** Optional `tags: [{key, value}]` some records carry, as `key=value` strings. */
export const TagListSchema = z
  .array(z.looseObject({ key: z.string(), value: z.string().nullish() }))
  .nullish();

export function tagStrings(tags: z.infer<typeof TagListSchema>): string[] {
  return (tags ?? []).map((tag) => (tag.value ? `${tag.key}=${tag.value}` : tag.key));
}

export function clampPageSize(requested: number | undefined, fallback: number, max: number): number {
  return Math.max(1, Math.min(max, requested ?? fallback));
}

/** One page of an offset/limit listing: its records and the total the service reports. */
export interface OffsetPage<T> {
  readonly records: readonly T[];
  readonly total: number;
}

/**
 * Walks an offset/limit listing (CBR `count`, DDS `total_count`) page by page until the reported total is
 * reached, or a page comes back empty (a total that overstates must not loop forever).
 */
export async function* offsetPages<T>(
  fetchPage: (offset: number) => Promise<OffsetPage<T>>,
): AsyncIterable<T> {
  let offset = 0;
  for (;;) {
    const page = await fetchPage(offset);
    yield* page.records;
    offset += page.records.length;
    if (page.records.length === 0 || offset >= page.total) return;
  }
}
