import { z } from 'zod';
import type { Backup, BackupState } from './backup.ts';
import {
  type BackupTarget,
  clampPageSize,
  DDS_REQUEST_BACKUP_TYPES,
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
 * DDS v3 (Document Database, MongoDB): offset/limit (<= 100)/total_count pagination; only manual backups can
 * be deleted; a DELETE returns a job id, polled through `GET /v3/{project_id}/jobs?id=`.
 */

export const DDS_MAX_PAGE = 100;
export const KIB = 1024;

export const DdsBackupSchema = z.looseObject({
  id: z.string().min(1),
  name: z.string().nullish(),
  instance_id: z.string().min(1),
  instance_name: z.string().nullish(),
  /** Auto, Manual, Incremental, Fragment (the Go SDK's enum spells them lower-case: compared case-insensitively). */
  type: z.string(),
  /** `yyyy-mm-dd hh:mm:ss`, UTC. */
  begin_time: HuaweiTimeSchema,
  end_time: z.string().nullish(),
  /** BUILDING, COMPLETED, FAILED, DISABLED (being deleted); the Go SDK also knows DELETING. */
  status: z.string(),
  /** KB. */
  size: z.number().nonnegative().nullish(),
  /** false: upstream refuses to delete it (automatic backups while a full-backup policy exists). */
  deletable: z.boolean().nullish(),
  /** true: the instance is being restored, and none of its backups may be deleted. */
  is_instance_restoring: z.boolean().nullish(),
  description: z.string().nullish(),
});
export type DdsBackup = z.infer<typeof DdsBackupSchema>;

/** ListInstanceTags: `{tags: [{key, value}]}`. */
export const DdsInstanceTagsResponseSchema = z.looseObject({ tags: TagListSchema });

export const NOT_DELETABLE_UPSTREAM = 'not deletable upstream';
export const INSTANCE_RESTORING = 'instance restoring';

export const DdsListResponseSchema = z.looseObject({
  backups: z.array(DdsBackupSchema),
  total_count: z.number().int().nonnegative(),
});

export const DdsDeleteResponseSchema = z.looseObject({ job_id: z.string().min(1) });

export const DdsJobResponseSchema = z.looseObject({
  job: z.looseObject({
    id: z.string().nullish(),
    name: z.string().nullish(),
    status: z.string(),
    fail_reason: z.string().nullish(),
  }),
});

const STATES: Readonly<Record<string, BackupState>> = {
  COMPLETED: 'finished',
  FAILED: 'failed',
  BUILDING: 'in_progress',
  DISABLED: 'deleting',
  DELETING: 'deleting',
};

/** An unknown upstream status is treated as in progress: never a deletion candidate. */
export function ddsState(status: string): BackupState {
  return STATES[status.toUpperCase()] ?? 'in_progress';
}

export function toBackup(
  record: DdsBackup,
  region: string,
  projectId: string,
  tags: readonly string[] = [],
): Backup {
  const type = record.type.toLowerCase();
  const backup: Backup = {
    service: 'dds',
    region,
    project_id: projectId,
    id: record.id,
    delete_id: record.id,
    resource_id: record.instance_id,
    created_at: parseHuaweiTime(record.begin_time),
    status: record.status,
    state: ddsState(record.status),
    manual: type === 'manual',
    tags: [...tags],
  };
  if (type === 'incremental') backup.incremental = true;
  if (record.is_instance_restoring === true) backup.not_deletable = INSTANCE_RESTORING;
  else if (record.deletable === false) backup.not_deletable = NOT_DELETABLE_UPSTREAM;
  if (record.instance_name) backup.resource_name = record.instance_name;
  if (record.name) backup.name = record.name;
  if (record.size != null) backup.size_bytes = record.size * KIB;
  return backup;
}

function listPass(
  client: HuaweiRequester,
  target: BackupTarget,
  query: { instanceId: string | undefined; backupType: string | undefined },
  signal?: AbortSignal,
): AsyncIterable<DdsBackup> {
  const limit = clampPageSize(target.pageSize, DDS_MAX_PAGE, DDS_MAX_PAGE);
  return offsetPages(async (offset) => {
    const response = await client.request(
      {
        service: 'dds',
        operation: 'dds.listBackups',
        region: target.region,
        projectId: target.projectId,
        method: 'GET',
        pathSegments: ['v3', target.projectId, 'backups'],
        query: {
          offset: String(offset),
          limit: String(limit),
          instance_id: query.instanceId,
          backup_type: query.backupType,
        },
      },
      DdsListResponseSchema,
      { signal },
    );
    return { records: response.body.backups, total: response.body.total_count };
  });
}

const canonicalType = (type: string | undefined) =>
  type === undefined
    ? undefined
    : DDS_REQUEST_BACKUP_TYPES.find((known) => known.toLowerCase() === type.toLowerCase());

/**
 * Every backup record of the target as upstream sends it. Without `backup_type` DDS lists full backups only
 * (automatic and manual), and `Incremental` needs `instance_id`: so the full backups come first, then the
 * incremental ones of each instance seen (or named by the filters).
 */
export async function* listBackupRecords(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<DdsBackup> {
  const named = target.filters?.instanceId
    ? [target.filters.instanceId]
    : (target.filters?.resourceIds ?? undefined);
  const backupType = canonicalType(target.filters?.backupType);
  const instances = new Set<string>(named ?? []);
  if (backupType !== 'Incremental') {
    for (const instanceId of named ?? [undefined]) {
      for await (const record of listPass(client, target, { instanceId, backupType }, signal)) {
        instances.add(record.instance_id);
        yield record;
      }
    }
    if (backupType !== undefined) return;
  } else if (named === undefined) {
    for await (const record of listPass(
      client,
      target,
      { instanceId: undefined, backupType: undefined },
      signal,
    ))
      instances.add(record.instance_id);
  }
  for (const instanceId of instances) {
    yield* listPass(client, target, { instanceId, backupType: 'Incremental' }, signal);
  }
}

/** ListInstanceTags of one instance, as `key=value` strings. */
export async function instanceTags(
  client: HuaweiRequester,
  target: Pick<BackupTarget, 'region' | 'projectId'>,
  instanceId: string,
  signal?: AbortSignal,
): Promise<string[]> {
  const response = await client.request(
    {
      service: 'dds',
      operation: 'dds.listInstanceTags',
      region: target.region,
      projectId: target.projectId,
      method: 'GET',
      pathSegments: ['v3', target.projectId, 'instances', instanceId, 'tags'],
    },
    DdsInstanceTagsResponseSchema,
    { signal },
  );
  return tagStrings(response.body.tags);
}

/** Every backup of the target with its instance's tags (one ListInstanceTags per instance per listing). */
export async function* listBackups(
  client: HuaweiRequester,
  target: BackupTarget,
  signal?: AbortSignal,
): AsyncIterable<Backup> {
  const tagsByInstance = new Map<string, string[]>();
  for await (const record of listBackupRecords(client, target, signal)) {
    let tags = tagsByInstance.get(record.instance_id);
    if (tags === undefined) {
      tags = await instanceTags(client, target, record.instance_id, signal);
      tagsByInstance.set(record.instance_id, tags);
    }
    yield toBackup(record, target.region, target.projectId, tags);
  }
}

export async function deleteBackup(
  client: HuaweiRequester,
  ref: DeleteRef,
  signal?: AbortSignal,
): Promise<DeletionStart> {
  const response = await client.request(
    {
      service: 'dds',
      operation: 'dds.deleteBackup',
      region: ref.region,
      projectId: ref.projectId,
      method: 'DELETE',
      pathSegments: ['v3', ref.projectId, 'backups', ref.deleteId],
      expect: [200, 202],
    },
    DdsDeleteResponseSchema,
    { signal },
  );
  return {
    kind: 'accepted',
    poll: { service: 'dds', region: ref.region, projectId: ref.projectId, jobId: response.body.job_id },
    requestId: response.requestId,
  };
}

/** Backup statuses of a deletion underway (`DISABLED`: being deleted, API.md; the Go SDK also knows DELETING). */
const DDS_DELETING: ReadonlySet<string> = new Set(['DISABLED', 'DELETING']);

/**
 * One backup as ListBackups shows it, or undefined when it is not listed (deleted). Filtered by `backup_id`
 * (and `instance_id` when known), as huaweicloud-sdk-go-v3 services/dds/v3/model/model_list_backups_request.go
 * documents; the id is matched again here, so a listing that ignores the filter still answers right.
 */
export async function findBackup(
  client: HuaweiRequester,
  where: { region: string; projectId: string; backupId: string; instanceId?: string | undefined },
  signal?: AbortSignal,
): Promise<{ backup: DdsBackup | undefined; requestId: string | undefined }> {
  let requestId: string | undefined;
  const pages = offsetPages(async (offset) => {
    const response = await client.request(
      {
        service: 'dds',
        operation: 'dds.listBackups',
        region: where.region,
        projectId: where.projectId,
        method: 'GET',
        pathSegments: ['v3', where.projectId, 'backups'],
        query: {
          offset: String(offset),
          limit: String(DDS_MAX_PAGE),
          backup_id: where.backupId,
          instance_id: where.instanceId,
        },
      },
      DdsListResponseSchema,
      { signal },
    );
    requestId = response.requestId;
    return { records: response.body.backups, total: response.body.total_count };
  });
  for await (const backup of pages) {
    if (backup.id.toLowerCase() === where.backupId.toLowerCase()) return { backup, requestId };
  }
  return { backup: undefined, requestId };
}

/**
 * One look at a DDS deletion: its job (`GET /v3/{project_id}/jobs?id=`, huaweicloud-sdk-go-v3
 * services/dds/v3/model/model_show_job_detail_request.go) when the DELETE's answer named it, else the backup
 * in the listing — gone (done), `DISABLED`/`DELETING` (running), or present: once a deletion was seen running,
 * a backup back in another status means its job failed (upstream restores the status), so it is `failed`.
 */
export async function pollDeletion(
  client: HuaweiRequester,
  poll: Extract<PollRef, { service: 'dds' }>,
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  if (poll.jobId === undefined) {
    if (poll.backupId === undefined)
      throw new TypeError('a DDS poll reference needs a job id or a backup id');
    const { backup, requestId } = await findBackup(
      client,
      {
        region: poll.region,
        projectId: poll.projectId,
        backupId: poll.backupId,
        instanceId: poll.instanceId,
      },
      signal,
    );
    if (backup === undefined) return { state: 'done', upstream: 'gone', requestId };
    const status = backup.status;
    if (DDS_DELETING.has(status.toUpperCase())) {
      return {
        state: 'running',
        upstream: 'deleting',
        upstreamStatus: status,
        reason: `status ${status}`,
        requestId,
      };
    }
    return {
      state: 'failed',
      upstream: 'present',
      upstreamStatus: status,
      reason: `the backup is ${status} again: its deletion did not take effect`,
      requestId,
    };
  }
  const response = await client.request(
    {
      service: 'dds',
      operation: 'dds.showJob',
      region: poll.region,
      projectId: poll.projectId,
      method: 'GET',
      pathSegments: ['v3', poll.projectId, 'jobs'],
      query: { id: poll.jobId },
    },
    DdsJobResponseSchema,
    { signal },
  );
  const { status, fail_reason: failReason } = response.body.job;
  const requestId = response.requestId;
  switch (status.toLowerCase()) {
    case 'completed':
      return { state: 'done', upstream: 'job_completed', upstreamStatus: status, requestId };
    case 'failed':
      return {
        state: 'failed',
        upstream: 'job_failed',
        upstreamStatus: status,
        reason: failReason || 'job failed',
        requestId,
      };
    default:
      return {
        state: 'running',
        upstream: 'job_running',
        upstreamStatus: status,
        reason: `job ${status}`,
        requestId,
      };
  }
}
