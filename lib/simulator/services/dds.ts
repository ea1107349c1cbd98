import type { DdsBackup } from '../fleet.ts';
import { errorReply, intParam, type Route, type RouteContext } from './route.ts';

/**
 * DDS v3: backups listed with `offset` and `limit` (1..100, enforced) and `total_count`; DELETE of a
 * manual backup answers 202 `{job_id}` and the job goes Running → Completed (or Failed).
 */

export const DDS_MAX_LIMIT = 100;
export const DDS_BAD_PARAMETER = 'DBS.200001';
/** DDS answers an unknown backup, instance or job with 400 and this code (seen in the Terraform provider). */
export const DDS_NOT_FOUND = 'DBS.201502';

const DDS_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;

function listBackups(context: RouteContext) {
  const { query } = context;
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
  const type = query.get('backup_type');
  if (type !== null && type !== 'Auto' && type !== 'Manual' && type !== 'Incremental' && type !== 'All') {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: backup_type');
  }
  const instanceId = query.get('instance_id');
  const collection = context.state.ddsBackups.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { backups: [], total_count: 0 } };
  const filtered = (type && type !== 'All') || instanceId || begin;
  const filter = filtered
    ? (backup: DdsBackup) =>
        (!type || type === 'All' || backup.type === type) &&
        (!instanceId || backup.instance_id === instanceId) &&
        (!begin || (backup.begin_time >= begin && backup.begin_time <= (end as string)))
    : undefined;
  const page = collection.slice(offset, limit, filter);
  return { status: 200, body: { backups: page.records, total_count: page.count } };
}

function deleteBackup(context: RouteContext) {
  const { state, params } = context;
  const backup = state.ddsBackup(params.backup_id as string);
  if (!backup || backup.project_id !== params.project_id) {
    return errorReply(400, DDS_NOT_FOUND, `The backup does not exist: ${params.backup_id}`);
  }
  if (backup.type !== 'Manual') {
    return errorReply(400, DDS_BAD_PARAMETER, 'Parameter error: only manual backups can be deleted.');
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
];
