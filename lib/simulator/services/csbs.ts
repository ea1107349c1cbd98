import { CSBS_ITEM_STATUSES } from '../../services/wire-contract.ts';
import { CSBS_PROVIDER_ID, type CsbsItem, formatCloudTime } from '../fleet.ts';
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
 * CSBS v1: checkpoint items listed with `limit` (≤ 1000) + `marker` and a `checkpoint_items_links` next
 * link; a checkpoint (one or several items) deleted asynchronously, at most 5 tasks per project at once.
 */

export const CSBS_MAX_LIMIT = 1000;
/** Unverified upstream code for a malformed list/delete parameter (the docs list only HTTP 400). */
export const CSBS_BAD_PARAMETER = 'CSBS.1001';

const notFound = (what: string) => errorReply(404, 'CSBS.3001', `The backup does not exist: ${what}`);

function timeFilter(raw: string | null): string | undefined | null {
  if (raw === null || raw === '') return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(raw) ? raw : `${raw}Z`);
  return Number.isNaN(ms) ? null : formatCloudTime(ms);
}

/**
 * Query parameters of `GET /v1/{project_id}/checkpoint_items` (CSBS API reference, Querying All Backups;
 * huaweicloud/golangsdk openstack/csbs/v1/backup ListOpts) the simulator implements; `all_tenants`, `az`,
 * `policy_id` and `ip` are answered with 400.
 */
const LIST_PARAMETERS = new Set([
  'status',
  'limit',
  'marker',
  'sort',
  'name',
  'resource_id',
  'resource_name',
  'start_time',
  'end_time',
  'image_type',
  'checkpoint_id',
  'resource_type',
  'offset',
]);
const STATUSES = new Set<string>(CSBS_ITEM_STATUSES);
/** `sort` keys the API reference enumerates. */
const SORT_KEYS = new Set(['created_at', 'updated_at', 'name', 'status', 'protected_at', 'id']);

/** The checkpoint_item record: its tags, and no `project_id` (the simulator's own bookkeeping). */
export function wireCsbsItem(item: CsbsItem): Record<string, unknown> {
  const { project_id: _project, ...wire } = item;
  return { tags: [], ...wire };
}

function listCheckpointItems(context: RouteContext) {
  const { query } = context;
  const unsupported = unhonouredParameter(query, LIST_PARAMETERS, CSBS_BAD_PARAMETER);
  if (unsupported) return unsupported;
  const limit = intParam(query, 'limit') ?? CSBS_MAX_LIMIT;
  if (!(limit >= 1 && limit <= CSBS_MAX_LIMIT)) {
    return errorReply(400, CSBS_BAD_PARAMETER, `Invalid limit: must be 1..${CSBS_MAX_LIMIT}`);
  }
  const offset = intParam(query, 'offset') ?? 0;
  if (!(offset >= 0)) return errorReply(400, CSBS_BAD_PARAMETER, 'Invalid offset');
  const start = timeFilter(query.get('start_time'));
  const end = timeFilter(query.get('end_time'));
  if (start === null || end === null)
    return errorReply(400, CSBS_BAD_PARAMETER, 'Invalid start_time or end_time');
  const status = query.get('status');
  if (status !== null && !STATUSES.has(status))
    return errorReply(400, CSBS_BAD_PARAMETER, `Invalid status: ${status}`);
  const sortRaw = query.get('sort');
  const sort = sortRaw === null ? undefined : parseSort(sortRaw, SORT_KEYS);
  if (sortRaw !== null && sort === undefined)
    return errorReply(400, CSBS_BAD_PARAMETER, `Invalid sort: ${sortRaw}`);
  const resourceId = query.get('resource_id');
  const resourceType = query.get('resource_type');
  const imageType = query.get('image_type');
  const checkpointId = query.get('checkpoint_id');
  const name = query.get('name');
  const resourceName = query.get('resource_name');
  const collection = context.state.csbs.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { checkpoint_items: [], checkpoint_items_links: [] } };
  const filtered =
    status || resourceId || start || end || resourceType || imageType || checkpointId || name || resourceName;
  const filter = filtered
    ? (item: CsbsItem) =>
        (!status || item.status === status) &&
        (!resourceId || item.resource_id === resourceId) &&
        (!resourceType || item.resource_type === resourceType) &&
        (!imageType || item.extend_info.image_type === imageType) &&
        (!checkpointId || item.checkpoint_id === checkpointId) &&
        (!name || item.name.includes(name)) &&
        (!resourceName || item.extend_info.resource_name.includes(resourceName)) &&
        (!start || item.created_at >= start) &&
        (!end || item.created_at <= end)
    : undefined;
  const marker = query.get('marker');
  let records: CsbsItem[];
  let more: boolean;
  if (sort === undefined) {
    let from = 0;
    if (marker) {
      const after = collection.indexAfter(marker);
      if (after === undefined) return errorReply(400, CSBS_BAD_PARAMETER, `Invalid marker: ${marker}`);
      from = after;
    }
    const page = collection.page(from, offset + limit, filter);
    records = page.records.slice(offset);
    more = page.more;
  } else {
    // A custom order: the matches are sorted, then the marker (the previous page's last id) is found in it.
    const page = orderedPage(
      collection.slice(0, Number.MAX_SAFE_INTEGER, filter).records,
      sort,
      marker,
      offset,
      limit,
    );
    if (page === undefined) return errorReply(400, CSBS_BAD_PARAMETER, `Invalid marker: ${marker}`);
    records = page.records;
    more = page.more;
  }
  const links = [];
  const last = records[records.length - 1];
  if (more && last) {
    const next = new URLSearchParams(query);
    next.set('limit', String(limit));
    next.set('marker', last.id);
    next.delete('offset');
    links.push({
      href: `${context.baseUrl}/v1/${context.params.project_id}/checkpoint_items?${next}`,
      rel: 'next',
    });
  }
  return {
    status: 200,
    body: { checkpoint_items: records.map(wireCsbsItem), checkpoint_items_links: links },
  };
}

function getCheckpointItem(context: RouteContext) {
  const item = context.state.csbsItem(context.params.item_id as string);
  if (!item || item.project_id !== context.params.project_id)
    return notFound(context.params.item_id as string);
  return { status: 200, body: { checkpoint_item: wireCsbsItem(item) } };
}

function deleteCheckpoint(context: RouteContext) {
  const { params, query, state } = context;
  const projectId = params.project_id as string;
  if (params.provider_id !== CSBS_PROVIDER_ID) {
    return errorReply(400, CSBS_BAD_PARAMETER, `Invalid provider_id: ${params.provider_id}`);
  }
  const members = state.csbsCheckpointItems(projectId, params.checkpoint_id as string);
  if (members.length === 0) return notFound(params.checkpoint_id as string);
  const wanted = query.getAll('checkpoint_items').flatMap((value) => value.split(',').filter(Boolean));
  let targets = members;
  if (wanted.length > 0) {
    targets = [];
    for (const id of wanted) {
      const item = members.find((member) => member.id === id);
      if (!item) return notFound(id);
      targets.push(item);
    }
  }
  const copying = (item: CsbsItem) =>
    item.extend_info.copy_status === 'waiting_copy' || item.extend_info.copy_status === 'copying';
  if (
    targets.some((item) => item.status === 'protecting' || item.status === 'waiting_protect' || copying(item))
  ) {
    return errorReply(400, 'CSBS.2003', 'The backup is being executed; try again later.');
  }
  const fresh = targets.filter((item) => item.status !== 'deleting' && item.status !== 'waiting_delete');
  if (fresh.length > 0) state.startCsbsDeletion(projectId, fresh);
  return { status: 200 };
}

export const csbsRoutes: Route[] = [
  {
    method: 'GET',
    pattern: '/v1/:project_id/checkpoint_items',
    operation: 'listCheckpointItems',
    handle: listCheckpointItems,
  },
  {
    method: 'GET',
    pattern: '/v1/:project_id/checkpoint_items/:item_id',
    operation: 'getCheckpointItem',
    handle: getCheckpointItem,
  },
  {
    method: 'DELETE',
    pattern: '/v1/:project_id/providers/:provider_id/checkpoints/:checkpoint_id',
    operation: 'deleteCheckpoint',
    handle: deleteCheckpoint,
  },
];
