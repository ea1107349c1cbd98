import { SimState } from '../state.ts';
import { errorReply, intParam, type Route, type RouteContext, unhonouredParameter } from './route.ts';

/**
 * DIS v2: apps listed with `limit` (1..100), `start_app_name` (exclusive) and `has_more_app`;
 * checkpoints deleted synchronously (204) under the seed's parameter rules.
 */

export const DIS_MAX_LIMIT = 100;
/** Unverified upstream codes: a bad parameter, an unknown stream, an unknown app. */
export const DIS_BAD_PARAMETER = 'DIS.4200';
export const DIS_STREAM_NOT_FOUND = 'DIS.4301';
export const DIS_APP_NOT_FOUND = 'DIS.4303';

const APP_NAME = /^[a-zA-Z0-9_-]{1,50}$/;
const SHARD_ID = /^shardId-(\d{10})$/;
const PARTITION_INDEX = /^\d+$/;

/** `shardId-0000000002` or `2` → 2; undefined when malformed. */
export function parsePartitionId(raw: string): number | undefined {
  const shard = SHARD_ID.exec(raw);
  if (shard) return Number(shard[1]);
  return PARTITION_INDEX.test(raw) && raw.length <= 10 ? Number(raw) : undefined;
}

function shardId(partition: number): string {
  return `shardId-${String(partition).padStart(10, '0')}`;
}

const LIST_APPS_PARAMETERS = new Set(['limit', 'start_app_name', 'stream_name']);
/** ShowConsumerState (services/dis/v2/model/model_show_consumer_state_request.go). */
const CONSUMER_STATE_PARAMETERS = new Set(['limit', 'start_partition_id', 'checkpoint_type']);
export const DIS_MAX_PARTITIONS = 1000;

function listApps(context: RouteContext) {
  const unsupported = unhonouredParameter(context.query, LIST_APPS_PARAMETERS, DIS_BAD_PARAMETER);
  if (unsupported) return unsupported;
  const limit = intParam(context.query, 'limit') ?? 10;
  if (!(limit >= 1 && limit <= DIS_MAX_LIMIT)) {
    return errorReply(400, DIS_BAD_PARAMETER, `Invalid request: limit must be 1..${DIS_MAX_LIMIT}`);
  }
  const startAfter = context.query.get('start_app_name');
  const streamName = context.query.get('stream_name');
  const apps = context.state.disApps.get(context.params.project_id as string) ?? [];
  const matching = streamName
    ? apps.filter((app) => app.commit_checkpoint_stream_names.includes(streamName))
    : apps;
  const from = startAfter ? matching.findIndex((app) => app.app_name > startAfter) : 0;
  const rest = from < 0 ? [] : matching.slice(from);
  const page = rest.slice(0, limit).map(({ project_id: _project, ...app }) => app);
  return {
    status: 200,
    body: { has_more_app: rest.length > limit, apps: page, total_number: matching.length },
  };
}

interface CheckpointTarget {
  projectId: string;
  streamName: string;
  appName: string;
  partitions: number[];
}

function checkpointTarget(context: RouteContext): CheckpointTarget | ReturnType<typeof errorReply> {
  const { query, state } = context;
  const projectId = context.params.project_id as string;
  const streamName = query.get('stream_name');
  const appName = query.get('app_name');
  const type = query.get('checkpoint_type');
  const partitionRaw = query.get('partition_id');
  if (!streamName) return errorReply(400, DIS_BAD_PARAMETER, 'Invalid request: stream_name is required');
  if (appName === null || !APP_NAME.test(appName)) {
    return errorReply(400, DIS_BAD_PARAMETER, 'Invalid request: app_name must be 1..50 of [a-zA-Z0-9_-]');
  }
  if (type !== 'LAST_READ')
    return errorReply(400, DIS_BAD_PARAMETER, 'Invalid request: checkpoint_type must be LAST_READ');
  const stream = state.disStream(projectId, streamName);
  if (!stream) return errorReply(404, DIS_STREAM_NOT_FOUND, `Stream ${streamName} does not exist`);
  if (!state.disApp(projectId, appName))
    return errorReply(404, DIS_APP_NOT_FOUND, `App ${appName} does not exist`);
  let partitions = Array.from({ length: stream.partition_count }, (_, i) => i);
  if (partitionRaw !== null) {
    const partition = parsePartitionId(partitionRaw);
    if (partition === undefined || partition >= stream.partition_count) {
      return errorReply(400, DIS_BAD_PARAMETER, `Invalid request: partition_id ${partitionRaw}`);
    }
    partitions = [partition];
  }
  return { projectId, streamName, appName, partitions };
}

function deleteCheckpoint(context: RouteContext) {
  const target = checkpointTarget(context);
  if ('status' in target) return target;
  for (const partition of target.partitions) {
    context.state.disCheckpoints.delete(
      SimState.disCheckpointKey(target.projectId, target.appName, target.streamName, partition),
    );
  }
  return { status: 204 };
}

function getCheckpoint(context: RouteContext) {
  const target = checkpointTarget(context);
  if ('status' in target) return target;
  if (context.query.get('partition_id') === null) {
    return errorReply(400, DIS_BAD_PARAMETER, 'Invalid request: partition_id is required');
  }
  const key = SimState.disCheckpointKey(
    target.projectId,
    target.appName,
    target.streamName,
    target.partitions[0] as number,
  );
  const checkpoint = context.state.disCheckpoints.get(key);
  return {
    status: 200,
    body: { sequence_number: checkpoint?.sequence_number ?? '-1', metadata: checkpoint?.metadata ?? '' },
  };
}

function appStreamState(context: RouteContext) {
  const { query } = context;
  const unsupported = unhonouredParameter(query, CONSUMER_STATE_PARAMETERS, DIS_BAD_PARAMETER);
  if (unsupported) return unsupported;
  // 1..1000, default 100; start_partition_id is exclusive; checkpoint_type is required (LAST_READ only).
  const limit = intParam(query, 'limit') ?? 100;
  if (!(limit >= 1 && limit <= DIS_MAX_PARTITIONS)) {
    return errorReply(400, DIS_BAD_PARAMETER, `Invalid request: limit must be 1..${DIS_MAX_PARTITIONS}`);
  }
  if (query.get('checkpoint_type') !== 'LAST_READ') {
    return errorReply(400, DIS_BAD_PARAMETER, 'Invalid request: checkpoint_type must be LAST_READ');
  }
  const startRaw = query.get('start_partition_id');
  const startAfter = startRaw === null || startRaw === '' ? -1 : parsePartitionId(startRaw);
  if (startAfter === undefined)
    return errorReply(400, DIS_BAD_PARAMETER, `Invalid request: start_partition_id ${startRaw}`);
  const projectId = context.params.project_id as string;
  const appName = context.params.app_name as string;
  const streamName = context.params.stream_name as string;
  const stream = context.state.disStream(projectId, streamName);
  if (!stream) return errorReply(404, DIS_STREAM_NOT_FOUND, `Stream ${streamName} does not exist`);
  if (!context.state.disApp(projectId, appName))
    return errorReply(404, DIS_APP_NOT_FOUND, `App ${appName} does not exist`);
  const states = [];
  const first = startAfter + 1;
  const last = Math.min(stream.partition_count, first + limit);
  for (let partition = first; partition < last; partition++) {
    const checkpoint = context.state.disCheckpoints.get(
      SimState.disCheckpointKey(projectId, appName, streamName, partition),
    );
    states.push({
      partition_id: shardId(partition),
      sequence_number: checkpoint?.sequence_number ?? '-1',
      latest_offset: 100_000,
      earliest_offset: 0,
      checkpoint_type: 'LAST_READ',
      status: 'ACTIVE',
    });
  }
  return {
    status: 200,
    body: {
      has_more: last < stream.partition_count,
      stream_name: streamName,
      app_name: appName,
      partition_consuming_states: states,
    },
  };
}

export const disRoutes: Route[] = [
  { method: 'GET', pattern: '/v2/:project_id/apps', operation: 'listApps', handle: listApps },
  {
    method: 'GET',
    pattern: '/v2/:project_id/apps/:app_name/streams/:stream_name',
    operation: 'getAppStreamState',
    handle: appStreamState,
  },
  {
    method: 'GET',
    pattern: '/v2/:project_id/checkpoints',
    operation: 'getCheckpoint',
    handle: getCheckpoint,
  },
  {
    method: 'DELETE',
    pattern: '/v2/:project_id/checkpoints',
    operation: 'deleteCheckpoint',
    handle: deleteCheckpoint,
  },
];
