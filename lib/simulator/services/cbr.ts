import { type CbrBackup, formatCloudTime } from '../fleet.ts';
import { errorReply, intParam, type Route, type RouteContext } from './route.ts';

/**
 * CBR v3: backups listed with `offset`/`limit` and a `count` of all matches; DELETE answers 204 and the
 * backup stays `deleting` until the background deletion ends, then GET answers 404 `CSBS.3001`.
 */

export const CBR_MAX_LIMIT = 1000;
/** Unverified upstream code for a malformed list parameter. */
export const CBR_BAD_PARAMETER = 'BackupService.1001';

const notFound = (id: string) => errorReply(404, 'CSBS.3001', `The backup does not exist: ${id}`);

function timeFilter(raw: string | null): string | undefined | null {
  if (raw === null || raw === '') return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`);
  return Number.isNaN(ms) ? null : formatCloudTime(ms);
}

function listBackups(context: RouteContext) {
  const { query } = context;
  const limit = intParam(query, 'limit') ?? CBR_MAX_LIMIT;
  const offset = intParam(query, 'offset') ?? 0;
  if (!(limit >= 1 && limit <= CBR_MAX_LIMIT)) {
    return errorReply(400, CBR_BAD_PARAMETER, `Invalid limit: must be 1..${CBR_MAX_LIMIT}`);
  }
  if (!(offset >= 0)) return errorReply(400, CBR_BAD_PARAMETER, 'Invalid offset');
  const start = timeFilter(query.get('start_time'));
  const end = timeFilter(query.get('end_time'));
  if (start === null || end === null)
    return errorReply(400, CBR_BAD_PARAMETER, 'Invalid start_time or end_time');
  const status = query.get('status');
  const vaultId = query.get('vault_id');
  const resourceId = query.get('resource_id');
  const resourceType = query.get('resource_type');
  const collection = context.state.cbr.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { backups: [], count: 0, offset, limit } };
  const filtered = status || vaultId || resourceId || resourceType || start || end;
  const filter = filtered
    ? (backup: CbrBackup) =>
        (!status || backup.status === status) &&
        (!vaultId || backup.vault_id === vaultId) &&
        (!resourceId || backup.resource_id === resourceId) &&
        (!resourceType || backup.resource_type === resourceType) &&
        (!start || backup.created_at >= start) &&
        (!end || backup.created_at <= end)
    : undefined;
  const page = collection.slice(offset, limit, filter);
  return { status: 200, body: { backups: page.records, count: page.count, offset, limit } };
}

function getBackup(context: RouteContext) {
  const backup = context.state.cbrBackup(context.params.backup_id as string);
  if (!backup || backup.project_id !== context.params.project_id)
    return notFound(context.params.backup_id as string);
  return { status: 200, body: { backup } };
}

function deleteBackup(context: RouteContext) {
  const { state, params } = context;
  const backup = state.cbrBackup(params.backup_id as string);
  if (!backup || backup.project_id !== params.project_id) return notFound(params.backup_id as string);
  if (backup.status === 'deleting' || backup.status === 'waiting_delete') return { status: 204 };
  if (backup.status === 'restoring' || backup.status === 'waiting_restore') {
    return errorReply(400, '6201', 'The backup cannot be deleted now.');
  }
  if (state.cbrResourceBusy(backup.resource_id)) {
    return errorReply(400, 'CSBS.2003', 'A backup of this resource is being executed; try again later.');
  }
  state.startCbrDeletion(backup);
  return { status: 204 };
}

export const cbrRoutes: Route[] = [
  { method: 'GET', pattern: '/v3/:project_id/backups', operation: 'listBackups', handle: listBackups },
  { method: 'GET', pattern: '/v3/:project_id/backups/:backup_id', operation: 'getBackup', handle: getBackup },
  {
    method: 'DELETE',
    pattern: '/v3/:project_id/backups/:backup_id',
    operation: 'deleteBackup',
    handle: deleteBackup,
  },
];
