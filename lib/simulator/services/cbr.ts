import { CBR_BACKUP_STATUSES } from '../../services/wire-contract.ts';
import { type CbrBackup, type CbrVault, formatCloudTime } from '../fleet.ts';
import {
  errorReply,
  intParam,
  orderedPage,
  parseSort,
  type Route,
  type RouteContext,
  unhonouredParameter,
} from './route.ts';

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

/**
 * ListBackups query parameters (huaweicloud-sdk-go-v3 services/cbr/v1/model/model_list_backups_request.go)
 * the simulator implements; the others it documents (dec, resource_az, enterprise_project_id, own_type,
 * member_status, parent_id, used_percent) are answered with 400.
 */
const LIST_BACKUPS_PARAMETERS = new Set([
  'checkpoint_id',
  'end_time',
  'image_type',
  'limit',
  'marker',
  'name',
  'offset',
  'resource_id',
  'resource_name',
  'resource_type',
  'sort',
  'start_time',
  'status',
  'vault_id',
]);
const STATUSES = new Set<string>(CBR_BACKUP_STATUSES);
const SORT_KEYS = new Set(['created_at', 'updated_at', 'name', 'status', 'id', 'expired_at']);

/** The record as ListBackups sends it: the fixture's fields plus neutral values for those it left out. */
export function wireCbrBackup(backup: CbrBackup): Record<string, unknown> {
  return {
    description: '',
    parent_id: null,
    protected_at: backup.created_at,
    resource_az: 'az1',
    replication_records: [],
    enterprise_project_id: '0',
    ...backup,
  };
}

function listBackups(context: RouteContext) {
  const { query } = context;
  const unsupported = unhonouredParameter(query, LIST_BACKUPS_PARAMETERS, CBR_BAD_PARAMETER);
  if (unsupported) return unsupported;
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
  // `status` may repeat: a backup in any of them matches.
  const statuses = query.getAll('status').filter((value) => value !== '');
  const badStatus = statuses.find((value) => !STATUSES.has(value));
  if (badStatus !== undefined) return errorReply(400, CBR_BAD_PARAMETER, `Invalid status: ${badStatus}`);
  const imageType = query.get('image_type');
  if (imageType !== null && imageType !== 'backup' && imageType !== 'replication') {
    return errorReply(400, CBR_BAD_PARAMETER, `Invalid image_type: ${imageType}`);
  }
  const sortRaw = query.get('sort');
  const sort = sortRaw === null ? undefined : parseSort(sortRaw, SORT_KEYS);
  if (sortRaw !== null && sort === undefined)
    return errorReply(400, CBR_BAD_PARAMETER, `Invalid sort: ${sortRaw}`);
  const marker = query.get('marker');
  const vaultId = query.get('vault_id');
  const resourceId = query.get('resource_id');
  const resourceType = query.get('resource_type');
  const checkpointId = query.get('checkpoint_id');
  const name = query.get('name');
  const resourceName = query.get('resource_name');
  const collection = context.state.cbr.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { backups: [], count: 0, offset, limit } };
  const filtered =
    statuses.length > 0 ||
    vaultId ||
    resourceId ||
    resourceType ||
    start ||
    end ||
    imageType ||
    checkpointId ||
    name ||
    resourceName;
  const filter = filtered
    ? (backup: CbrBackup) =>
        (statuses.length === 0 || statuses.includes(backup.status)) &&
        (!vaultId || backup.vault_id === vaultId) &&
        (!resourceId || backup.resource_id === resourceId) &&
        (!resourceType || backup.resource_type === resourceType) &&
        (!imageType || backup.image_type === imageType) &&
        (!checkpointId || backup.checkpoint_id === checkpointId) &&
        (!name || backup.name.includes(name)) &&
        (!resourceName || backup.resource_name.includes(resourceName)) &&
        (!start || backup.created_at >= start) &&
        (!end || backup.created_at <= end)
    : undefined;
  if (sort === undefined && !marker) {
    const page = collection.slice(offset, limit, filter);
    return {
      status: 200,
      body: { backups: page.records.map(wireCbrBackup), count: page.count, offset, limit },
    };
  }
  // With a sort or a marker (the id of the previous page's last backup), the matches are ordered first.
  const matches = collection.slice(0, Number.MAX_SAFE_INTEGER, filter).records;
  const page = orderedPage(matches, sort, marker, offset, limit);
  if (page === undefined) return errorReply(400, CBR_BAD_PARAMETER, `Invalid marker: ${marker}`);
  return {
    status: 200,
    body: { backups: page.records.map(wireCbrBackup), count: page.total, offset, limit },
  };
}

const LIST_VAULTS_PARAMETERS = new Set(['limit', 'offset']);

/** The Vault record (model_vault.go) of a fixture vault, its resources taken from the backups in it. */
function wireVault(vault: CbrVault, backups: Iterable<CbrBackup>): Record<string, unknown> {
  const resources = new Map<string, { id: string; name: string; type: string; size: number }>();
  let used = 0;
  for (const backup of backups) {
    if (backup.vault_id !== vault.id) continue;
    used += 1;
    if (!resources.has(backup.resource_id)) {
      resources.set(backup.resource_id, {
        id: backup.resource_id,
        name: backup.resource_name,
        type: backup.resource_type,
        size: backup.resource_size,
      });
    }
  }
  return {
    billing: {
      allocated: 0,
      charging_mode: 'post_paid',
      cloud_type: 'public',
      consistent_level: 'crash_consistent',
      object_type: 'server',
      protect_type: 'backup',
      size: 1000,
      spec_code: 'vault.backup.server.normal',
      status: 'available',
      used,
    },
    description: '',
    id: vault.id,
    name: vault.name,
    project_id: vault.project_id,
    provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
    resources: [...resources.values()].map((resource) => ({ ...resource, protect_status: 'available' })),
    tags: vault.tags,
    enterprise_project_id: '0',
    auto_bind: false,
    bind_rules: {},
  };
}

/** ListVault (`GET /v3/{project_id}/vaults`): offset/limit (1..1000) and `count`. */
function listVaults(context: RouteContext) {
  const { query } = context;
  const unsupported = unhonouredParameter(query, LIST_VAULTS_PARAMETERS, CBR_BAD_PARAMETER);
  if (unsupported) return unsupported;
  const limit = intParam(query, 'limit') ?? CBR_MAX_LIMIT;
  const offset = intParam(query, 'offset') ?? 0;
  if (!(limit >= 1 && limit <= CBR_MAX_LIMIT) || !(offset >= 0)) {
    return errorReply(400, CBR_BAD_PARAMETER, 'Invalid offset or limit');
  }
  const projectId = context.params.project_id as string;
  const vaults = context.state.cbrVaults.get(projectId) ?? [];
  const backups = [...(context.state.cbr.get(projectId)?.values() ?? [])];
  return {
    status: 200,
    body: {
      vaults: vaults.slice(offset, offset + limit).map((vault) => wireVault(vault, backups)),
      count: vaults.length,
    },
  };
}

function getBackup(context: RouteContext) {
  const backup = context.state.cbrBackup(context.params.backup_id as string);
  if (!backup || backup.project_id !== context.params.project_id)
    return notFound(context.params.backup_id as string);
  return { status: 200, body: { backup: wireCbrBackup(backup) } };
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
  { method: 'GET', pattern: '/v3/:project_id/vaults', operation: 'listVaults', handle: listVaults },
  { method: 'GET', pattern: '/v3/:project_id/backups/:backup_id', operation: 'getBackup', handle: getBackup },
  {
    method: 'DELETE',
    pattern: '/v3/:project_id/backups/:backup_id',
    operation: 'deleteBackup',
    handle: deleteBackup,
  },
];
