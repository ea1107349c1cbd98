/**
 * What a caller may ask to delete, in the shapes the services use. Every id goes into an upstream URL path or
 * query, so each is matched against a strict pattern (no `/`, `.`, `%` or control characters, bounded length)
 * before anything is sent: a path-injection attempt is a 400, never a request.
 */
import { z } from 'zod';
import { CSBS_PROVIDER_ID } from '../services/csbs.ts';
import { AppNameSchema, PartitionIdSchema, StreamNameSchema } from '../services/dis.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Huawei project ids are 32 hex characters; letters, digits, `-`, `_` are accepted (OTC, tests). */
export const ProjectIdSchema = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be a project id (letters, digits, - and _, at most 64)');
/** CSBS checkpoint and checkpoint item ids, CBR backup ids: UUIDs. */
export const UuidSchema = z.string().max(36).regex(UUID, 'must be a UUID');
/** The one provider CSBS knows (the API fixes it). */
export const CsbsProviderIdSchema = z.literal(CSBS_PROVIDER_ID, {
  error: `must be the CSBS provider id ${CSBS_PROVIDER_ID}`,
});
/** DDS backup ids: 32 hex characters and a `brNN` suffix (e.g. `...br02`). */
export const DdsBackupIdSchema = z
  .string()
  .max(40)
  .regex(/^[0-9a-f]{32}br\d{2}$/i, 'must be a DDS backup id (32 hex characters and brNN)');
/** At most this many CSBS checkpoint items in one request. */
export const MAX_CHECKPOINT_ITEMS = 50;
export const CheckpointItemsSchema = z.array(UuidSchema).min(1).max(MAX_CHECKPOINT_ITEMS);

/** Deletion ids are ours (`del_` + 32 base64url characters, see lib/ledger/schema.ts deletionId). */
export const DeletionIdSchema = z
  .string()
  .regex(/^del_[A-Za-z0-9_-]{32}$/, 'must be a deletion id (del_...)');

/** One deletion request, service by service (the HTTP functions build it from path, query and body). */
export const DeletionInputSchema = z.discriminatedUnion('service', [
  z.strictObject({
    service: z.literal('csbs'),
    projectId: ProjectIdSchema,
    providerId: CsbsProviderIdSchema,
    checkpointId: UuidSchema,
    /** Omitted: every item of the checkpoint (as upstream). */
    checkpointItems: CheckpointItemsSchema.optional(),
  }),
  z.strictObject({ service: z.literal('cbr'), projectId: ProjectIdSchema, backupId: UuidSchema }),
  z.strictObject({ service: z.literal('dds'), projectId: ProjectIdSchema, backupId: DdsBackupIdSchema }),
  z.strictObject({
    service: z.literal('dis'),
    projectId: ProjectIdSchema,
    streamName: StreamNameSchema,
    appName: AppNameSchema,
    checkpointType: z.literal('LAST_READ', { error: 'must be LAST_READ' }),
    partitionId: PartitionIdSchema.optional(),
  }),
]);
export type DeletionInput = z.infer<typeof DeletionInputSchema>;

/** The HTTP paths' parameters, per route. */
export const CsbsPathSchema = z.object({
  project_id: ProjectIdSchema,
  provider_id: CsbsProviderIdSchema,
  checkpoint_id: UuidSchema,
});
export const CbrPathSchema = z.object({ project_id: ProjectIdSchema, backup_id: UuidSchema });
export const DdsPathSchema = z.object({ project_id: ProjectIdSchema, backup_id: DdsBackupIdSchema });
export const ProjectPathSchema = z.object({ project_id: ProjectIdSchema });
export const DeletionPathSchema = z.object({ deletion_id: DeletionIdSchema });

/** `checkpoint_items` in the query: repeated and/or comma-separated (API Gateway joins repeats with commas). */
export const CsbsQuerySchema = z.strictObject({
  checkpoint_items: z
    .string()
    .max(MAX_CHECKPOINT_ITEMS * 37)
    .transform((value) => value.split(',').map((item) => item.trim()))
    .pipe(CheckpointItemsSchema)
    .optional(),
});

/** `{"checkpoint_items": [...]}`; unknown fields are rejected. */
export const CsbsBodySchema = z.strictObject({ checkpoint_items: CheckpointItemsSchema });

export const DisQuerySchema = z.strictObject({
  stream_name: StreamNameSchema,
  app_name: AppNameSchema,
  checkpoint_type: z.literal('LAST_READ', { error: 'must be LAST_READ' }),
  partition_id: PartitionIdSchema.optional(),
});

/** Requests to these routes carry no query. */
export const EmptyQuerySchema = z.strictObject({});
