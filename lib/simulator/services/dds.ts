import type { DdsBackup } from '../fleet.ts';
import type { SimState } from '../state.ts';
import { errorReply, intParam, type Route, type RouteContext, unhonouredParameter } from './route.ts';

/**
 * DDS v3: backups listed with `offset` and `limit` (1..100, enforced) and `total_count`; DELETE of a
 * manual backup answers 202 `{job_id}` and the job goes Running → Completed (or Failed).
 */

export const DDS_MAX_LIMIT = 100;
export const DDS_BAD_PARAMETER = 'DBS.200001';
/** DDS answers an unknown backup, instance or job with 400 and this code (seen in the Terraform provider). */
export const DDS_NOT_FOUND = 'DBS.201502';

const DDS_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

/**
 * ListBackups query parameters (huaweicloud-sdk-go-v3 services/dds/v3/model/model_list_backups_request.go)
 * the simulator implements; `mode`, `order_field` and `order_rule` are answered with 400.
 */
const LIST_BACKUPS_PARAMETERS = new Set([
  'instance_id',
  'backup_id',
  'backup_type',
  'offset',
  'limit',
  'begin_time',
  'end_time',
  'backup_status',
  'backup_name',
  'backup_description',
  'instance_name',
]);
/** The request enum is Auto, Manual, Incremental; any case is read (responses use both spellings). */
const BACKUP_TYPES = new Set(['auto', 'manual', 'incremental']);
const BACKUP_STATUSES = new Set(['COMPLETED', 'BUILDING', 'FAILED']);
const FULL_TYPES = new Set(['auto', 'manual']);

/** The BackupForList record: no `project_id` (the simulator's own), `deletable` and the instance's restore flag. */
export function wireDdsBackup(backup: DdsBackup, state: SimState): Record<string, unknown> {
  const { project_id: _project, deletable, ...wire } = backup;
  const instance = state.ddsInstance(backup.instance_id);
  return {
    datastore: { type: 'DDS-Community', version: '4.0' },
    ...wire,
    is_instance_restoring: instance?.restoring === true,
    // Upstream: manual backups may be deleted; automatic ones not while a full-backup policy exists.
    deletable: deletable ?? backup.type.toLowerCase() === 'manual',
  };
}

function listBackups(context: RouteContext) {
  const { query } = context;
  const unsupported = unhonouredParameter(query, LIST_BACKUPS_PARAMETERS, DDS_BAD_PARAMETER);
  if (unsupported) return unsupported;
  const limit = intParam(query, 'limit') ?? DDS_MAX_LIMIT;
  const offset = intParam(query, 'offset') ?? 0;
  if (!(limit >= 1 && limit <= DDS_MAX_LIMIT)) {
    return errorReply(400, DDS_BAD_PARAMETER, `Parameter error: limit must be 1..${DDS_MAX_LIMIT}`);
  }
  if (!(offset >= 0)) return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: offset');
  const begin = query.get('begin_time');
  const end = query.get('end_time');
  if ((begin === null) !== (end === null)) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: begin_time and end_time go together');
  }
  if ((begin !== null && !DDS_TIME.test(begin)) || (end !== null && !DDS_TIME.test(end))) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: times are yyyy-mm-dd hh:mm:ss');
  }
  const typeRaw = query.get('backup_type');
  const type = typeRaw?.toLowerCase() ?? null;
  if (type !== null && !BACKUP_TYPES.has(type)) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: backup_type');
  }
  const instanceId = query.get('instance_id');
  // "When backup_type is Incremental, instance_id is required."
  if (type === 'incremental' && !instanceId) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: instance_id is required for Incremental');
  }
  const status = query.get('backup_status');
  if (status !== null && !BACKUP_STATUSES.has(status)) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: backup_status');
  }
  const backupId = query.get('backup_id');
  if (backupId) {
    const backup = context.state.ddsBackup(backupId);
    // "When the backup is an automatic incremental backup, instance_id is required."
    if (backup?.type.toLowerCase() === 'incremental' && !instanceId) {
      return errorReply(
        400,
        DDS_BAD_PARAMETER,
        'Parameter error: instance_id is required for an incremental backup',
      );
    }
  }
  const backupName = query.get('backup_name');
  const description = query.get('backup_description');
  const instanceName = query.get('instance_name');
  const collection = context.state.ddsBackups.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { backups: [], total_count: 0 } };
  const filter = (backup: DdsBackup) => {
    const backupType = backup.type.toLowerCase();
    // Without backup_type only full backups (automatic and manual) come back.
    if (type === null ? !FULL_TYPES.has(backupType) : backupType !== type) return false;
    return (
      (!instanceId || backup.instance_id === instanceId) &&
      (!backupId || backup.id === backupId) &&
      (!status || backup.status === status) &&
      (!backupName || backup.name.includes(backupName)) &&
      (!description || backup.description.includes(description)) &&
      (!instanceName || backup.instance_name.includes(instanceName)) &&
      (!begin || (backup.begin_time >= begin && backup.begin_time <= (end as string)))
    );
  };
  const page = collection.slice(offset, limit, filter);
  return {
    status: 200,
    body: {
      backups: page.records.map((backup) => wireDdsBackup(backup, context.state)),
      total_count: page.count,
    },
  };
}

function deleteBackup(context: RouteContext) {
  const { state, params } = context;
  const backup = state.ddsBackup(params.backup_id as string);
  if (!backup || backup.project_id !== params.project_id) {
    return errorReply(400, DDS_NOT_FOUND, `The backup does not exist: ${params.backup_id}`);
  }
  if (backup.type.toLowerCase() !== 'manual' || backup.deletable === false) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: only manual backups can be deleted.');
  }
  if (state.ddsInstance(backup.instance_id)?.restoring === true) {
    return errorReply(403, 'DBS.200019', 'The instance is being restored: its backups cannot be deleted.');
  }
  if (backup.status === 'BUILDING') {
    return errorReply(403, 'DBS.200019', 'Operation cannot be executed in current state of the backup.');
  }
  const job = state.startDdsDeletion(backup);
  return { status: 202, body: { job_id: job.id } };
}

function getJob(context: RouteContext) {
  const id = context.query.get('id');
  if (!id) return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: id is required');
  const job = context.state.ddsJobs.get(id);
  if (!job || job.project_id !== context.params.project_id) {
    return errorReply(400, DDS_NOT_FOUND, `The job does not exist: ${id}`);
  }
  const { project_id: _project, backup_id: _backup, ...wire } = job;
  return { status: 200, body: { job: wire } };
}

/** ListInstanceTags (`GET /v3/{project_id}/instances/{instance_id}/tags`): `{tags: [{key, value}]}`. */
function listInstanceTags(context: RouteContext) {
  const instance = context.state.ddsInstance(context.params.instance_id as string);
  if (!instance || instance.project_id !== context.params.project_id) {
    return errorReply(400, DDS_NOT_FOUND, `The instance does not exist: ${context.params.instance_id}`);
  }
  const unsupported = unhonouredParameter(context.query, new Set(), DDS_BAD_PARAMETER);
  if (unsupported) return unsupported;
  return { status: 200, body: { tags: instance.tags ?? [] } };
}

function listInstances(context: RouteContext) {
  const limit = intParam(context.query, 'limit') ?? DDS_MAX_LIMIT;
  const offset = intParam(context.query, 'offset') ?? 0;
  if (!(limit >= 1 && limit <= DDS_MAX_LIMIT) || !(offset >= 0)) {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: offset/limit');
  }
  const instances = context.state.ddsInstances.get(context.params.project_id as string) ?? [];
  return {
    status: 200,
    body: { instances: instances.slice(offset, offset + limit), total_count: instances.length },
  };
}

export const ddsRoutes: Route[] = [
  { method: 'GET', pattern: '/v3/:project_id/backups', operation: 'listBackups', handle: listBackups },
  {
    method: 'DELETE',
    pattern: '/v3/:project_id/backups/:backup_id',
    operation: 'deleteBackup',
    handle: deleteBackup,
  },
  { method: 'GET', pattern: '/v3/:project_id/jobs', operation: 'getJob', handle: getJob },
  { method: 'GET', pattern: '/v3/:project_id/instances', operation: 'listInstances', handle: listInstances },
  {
    method: 'GET',
    pattern: '/v3/:project_id/instances/:instance_id/tags',
    operation: 'listInstanceTags',
    handle: listInstanceTags,
  },
];
