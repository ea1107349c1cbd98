import { z } from 'zod';
import { InvalidRequestError } from '../huawei/errors.ts';
import { clampPageSize, type DeletionStart, type DeletionStatus, type HuaweiRequester } from './deletion.ts';

/**
 * DIS v2 (Data Ingestion Service): consumer apps and their checkpoints. Deleting a checkpoint is synchronous
 * (204). Checkpoints carry no timestamp, so there is no list of "backups" here, only apps.
 */

export const DIS_MAX_APPS_PAGE = 100;

/** Letters, digits, `_` and `-` (DIS app naming rule); 1..50 characters (seed 004, DeleteCheckpoint). */
export const AppNameSchema = z
  .string()
  .min(1)
  .max(50)
  .regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, "_" and "-"');
/** Letters, digits, `_` and `-`, 1..64 characters (DIS stream naming rule). */
export const StreamNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_-]+$/, 'only letters, digits, "_" and "-"');
/** `shardId-0000000000` style or a plain integer (`0`, `1`, ...). */
export const PartitionIdSchema = z
  .string()
  .regex(/^(shardId-\d{10}|0|[1-9]\d{0,9})$/, 'shardId-0000000000 or 0, 1, ...');

export const DeleteCheckpointInputSchema = z.strictObject({
  region: z.string().min(1),
  projectId: z.string().min(1),
  streamName: StreamNameSchema,
  appName: AppNameSchema,
  checkpointType: z.literal('LAST_READ'),
  partitionId: PartitionIdSchema.optional(),
});
export type DeleteCheckpointInput = z.infer<typeof DeleteCheckpointInputSchema>;

export const DisAppSchema = z.looseObject({
  app_name: z.string().min(1),
  app_id: z.string().nullish(),
  /** Epoch milliseconds. */
  create_time: z.number().nullish(),
  commit_checkpoint_stream_names: z.array(z.string()).nullish(),
});
export type DisApp = z.infer<typeof DisAppSchema>;

export const DisListAppsResponseSchema = z.looseObject({
  has_more_app: z.boolean(),
  apps: z.array(DisAppSchema),
  total_number: z.number().int().nullish(),
});

export interface ListAppsTarget {
  readonly region: string;
  readonly projectId: string;
  /** Only apps that committed checkpoints to this stream. */
  readonly streamName?: string | undefined;
  readonly pageSize?: number | undefined;
}

/** Every app, page by page (`start_app_name` = the last name of the previous page, while `has_more_app`). */
export async function* listApps(
  client: HuaweiRequester,
  target: ListAppsTarget,
  signal?: AbortSignal,
): AsyncIterable<DisApp> {
  const limit = String(clampPageSize(target.pageSize, DIS_MAX_APPS_PAGE, DIS_MAX_APPS_PAGE));
  let startAppName: string | undefined;
  for (;;) {
    const response = await client.request(
      {
        service: 'dis',
        operation: 'dis.listApps',
        region: target.region,
        projectId: target.projectId,
        method: 'GET',
        pathSegments: ['v2', target.projectId, 'apps'],
        query: { limit, start_app_name: startAppName, stream_name: target.streamName },
      },
      DisListAppsResponseSchema,
      { signal },
    );
    // Whether start_app_name is inclusive is not documented: skip it if it comes back.
    const apps = response.body.apps.filter((app) => app.app_name !== startAppName);
    yield* apps;
    const last = apps.at(-1)?.app_name;
    if (!response.body.has_more_app || last === undefined) break;
    startAppName = last;
  }
}

function validate(input: unknown): DeleteCheckpointInput {
  const parsed = DeleteCheckpointInputSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new InvalidRequestError(issue?.path.join('.') || 'input', issue?.message ?? 'invalid');
}

/** `DELETE /v2/{project_id}/checkpoints?...`: synchronous, so the result is always `done`. */
export async function deleteCheckpoint(
  client: HuaweiRequester,
  input: DeleteCheckpointInput,
  signal?: AbortSignal,
): Promise<DeletionStart> {
  const checked = validate(input);
  const response = await client.request(
    {
      service: 'dis',
      operation: 'dis.deleteCheckpoint',
      region: checked.region,
      projectId: checked.projectId,
      method: 'DELETE',
      pathSegments: ['v2', checked.projectId, 'checkpoints'],
      query: {
        stream_name: checked.streamName,
        app_name: checked.appName,
        checkpoint_type: checked.checkpointType,
        partition_id: checked.partitionId,
      },
      expect: [204, 200],
    },
    z.unknown(),
    { signal },
  );
  return { kind: 'done', requestId: response.requestId };
}

export const PartitionConsumingStateSchema = z.looseObject({
  partition_id: z.string().min(1),
  /** The committed checkpoint; `-1` when none. */
  sequence_number: z.string().nullish(),
  latest_offset: z.number().nullish(),
  earliest_offset: z.number().nullish(),
  checkpoint_type: z.string().nullish(),
  status: z.string().nullish(),
});
export type PartitionConsumingState = z.infer<typeof PartitionConsumingStateSchema>;

export const DisConsumerStateResponseSchema = z.looseObject({
  has_more: z.boolean().nullish(),
  stream_name: z.string().nullish(),
  app_name: z.string().nullish(),
  partition_consuming_states: z.array(PartitionConsumingStateSchema).nullish(),
});

export const DIS_MAX_PARTITIONS_PAGE = 1000;

export interface ConsumerStateTarget {
  readonly region: string;
  readonly projectId: string;
  readonly appName: string;
  readonly streamName: string;
  readonly pageSize?: number | undefined;
}

/** Each partition's consumer checkpoint for one app on one stream (`start_partition_id` is exclusive). */
export async function* listConsumerStates(
  client: HuaweiRequester,
  target: ConsumerStateTarget,
  signal?: AbortSignal,
): AsyncIterable<PartitionConsumingState> {
  const appName = AppNameSchema.safeParse(target.appName);
  if (!appName.success)
    throw new InvalidRequestError('appName', appName.error.issues[0]?.message ?? 'invalid');
  const streamName = StreamNameSchema.safeParse(target.streamName);
  if (!streamName.success) {
    throw new InvalidRequestError('streamName', streamName.error.issues[0]?.message ?? 'invalid');
  }
  const limit = String(clampPageSize(target.pageSize, 100, DIS_MAX_PARTITIONS_PAGE));
  let startPartitionId: string | undefined;
  for (;;) {
    const response = await client.request(
      {
        service: 'dis',
        operation: 'dis.showConsumerState',
        region: target.region,
        projectId: target.projectId,
        method: 'GET',
        pathSegments: ['v2', target.projectId, 'apps', appName.data, 'streams', streamName.data],
        query: { limit, start_partition_id: startPartitionId, checkpoint_type: 'LAST_READ' },
      },
      DisConsumerStateResponseSchema,
      { signal },
    );
    const states = (response.body.partition_consuming_states ?? []).filter(
      (state) => state.partition_id !== startPartitionId,
    );
    yield* states;
    const last = states.at(-1)?.partition_id;
    if (!response.body.has_more || last === undefined) break;
    startPartitionId = last;
  }
}

/** `sequence_number` of a partition without a committed checkpoint (the consumer-state API's own marker). */
export const NO_CHECKPOINT = '-1';

/**
 * Whether an app still has a LAST_READ checkpoint on a stream (one partition, or any when none is named), read
 * from the consumer state (`partition_consuming_states[].sequence_number`, `-1` when none is committed; the
 * SDK model file for it was not found to confirm the marker): `gone` when none is committed, `present` otherwise. A checkpoint can come back (the
 * consumer commits again), so `present` never proves that an earlier DELETE did not happen.
 */
export async function checkpointState(
  client: HuaweiRequester,
  target: ConsumerStateTarget & { readonly partitionId?: string | undefined },
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  const wanted = target.partitionId;
  for await (const state of listConsumerStates(client, target, signal)) {
    if (wanted !== undefined && !samePartition(state.partition_id, wanted)) continue;
    const sequence = state.sequence_number ?? NO_CHECKPOINT;
    if (sequence !== NO_CHECKPOINT && sequence !== '') {
      return { state: 'running', upstream: 'present', upstreamStatus: `sequence_number ${sequence}` };
    }
  }
  return { state: 'done', upstream: 'gone' };
}

/** `0` and `shardId-0000000000` name the same partition. */
export function samePartition(a: string, b: string): boolean {
  const number = (id: string) => (/^shardId-\d{10}$/.test(id) ? Number(id.slice(8)) : Number(id));
  return a === b || number(a) === number(b);
}
