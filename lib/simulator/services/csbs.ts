import { CSBS_PROVIDER_ID, type CsbsItem, formatCloudTime } from '../fleet.ts';
import { errorReply, intParam, type Route, type RouteContext } from './route.ts';

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

function listCheckpointItems(context: RouteContext) {
  const { query } = context;
  const limit = intParam(query, 'limit') ?? CSBS_MAX_LIMIT;
  if (!(limit >= 1 && limit <= CSBS_MAX_LIMIT)) {
    return errorReply(400, CSBS_BAD_PARAMETER, `Invalid limit: must be 1..${CSBS_MAX_LIMIT}`);
  }
  const start = timeFilter(query.get('start_time'));
  const end = timeFilter(query.get('end_time'));
  if (start === null || end === null)
    return errorReply(400, CSBS_BAD_PARAMETER, 'Invalid start_time or end_time');
  const status = query.get('status');
  const resourceId = query.get('resource_id');
  const collection = context.state.csbs.get(context.params.project_id as string);
  if (!collection) return { status: 200, body: { checkpoint_items: [], checkpoint_items_links: [] } };
  const marker = query.get('marker');
  let from = 0;
  if (marker) {
    const after = collection.indexAfter(marker);
    if (after === undefined) return errorReply(400, CSBS_BAD_PARAMETER, `Invalid marker: ${marker}`);
    from = after;
  }
  const filtered = status || resourceId || start || end;
  const filter = filtered
    ? (item: CsbsItem) =>
        (!status || item.status === status) &&
        (!resourceId || item.resource_id === resourceId) &&
        (!start || item.created_at >= start) &&
        (!end || item.created_at <= end)
    : undefined;
  const page = collection.page(from, limit, filter);
  const links = [];
  const last = page.records[page.records.length - 1];
  if (page.more && last) {
    const next = new URLSearchParams(query);
    next.set('limit', String(limit));
    next.set('marker', last.id);
    links.push({
      href: `${context.baseUrl}/v1/${context.params.project_id}/checkpoint_items?${next}`,
      rel: 'next',
    });
  }
  return { status: 200, body: { checkpoint_items: page.records, checkpoint_items_links: links } };
}

function getCheckpointItem(context: RouteContext) {
  const item = context.state.csbsItem(context.params.item_id as string);
  if (!item || item.project_id !== context.params.project_id)
    return notFound(context.params.item_id as string);
  return { status: 200, body: { checkpoint_item: item } };
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
  if (targets.some((item) => item.status === 'protecting' || item.status === 'waiting_protect')) {
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
