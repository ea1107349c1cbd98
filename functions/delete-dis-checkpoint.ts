/**
 * DELETE /dis/v2/{project_id}/checkpoints?stream_name=&app_name=&checkpoint_type=&partition_id= — DIS
 * DeleteCheckpoint (synchronous upstream → 204).
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpDeadline } from '../lib/deadline.ts';
import {
  DisQuerySchema,
  ProjectPathSchema,
  requestDeletion,
  requestedDeletionResponse,
} from '../lib/deletions/index.ts';
import { callerIdentity, httpMiddleware, parseWith } from '../lib/http/index.ts';
import { runtime } from '../lib/runtime.ts';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware())
  .handler(async (event, context) => {
    const path = parseWith(ProjectPathSchema, event.pathParameters, 'path');
    const query = parseWith(DisQuerySchema, event.queryStringParameters, 'query');
    const deps = await runtime();
    const result = await requestDeletion(
      {
        service: 'dis',
        projectId: path.project_id,
        streamName: query.stream_name,
        appName: query.app_name,
        checkpointType: query.checkpoint_type,
        ...(query.partition_id === undefined ? {} : { partitionId: query.partition_id }),
      },
      callerIdentity(event),
      // No attempt, wait or retry outlives the invocation (minus the margin to record and answer).
      { ...deps, signal: httpDeadline(context) },
    );
    return requestedDeletionResponse(result);
  });
