/**
 * DELETE /csbs/v1/{project_id}/providers/{provider_id}/checkpoints/{checkpoint_id} — CSBS DeleteCheckpoint
 * (queued upstream → 202). `checkpoint_items` as a query (repeated or comma-separated) or a JSON body.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpDeadline } from '../lib/deadline.ts';
import {
  CsbsBodySchema,
  CsbsPathSchema,
  CsbsQuerySchema,
  requestDeletion,
  requestedDeletionResponse,
} from '../lib/deletions/index.ts';
import { callerIdentity, httpMiddleware, parseWith, ValidationError } from '../lib/http/index.ts';
import { runtime } from '../lib/runtime.ts';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware({ jsonBody: 'optional' }))
  .handler(async (event, context) => {
    const path = parseWith(CsbsPathSchema, event.pathParameters, 'path');
    const query = parseWith(CsbsQuerySchema, event.queryStringParameters, 'query');
    const body =
      event.body == null || event.body === '' ? undefined : parseWith(CsbsBodySchema, event.body, 'body');
    if (query.checkpoint_items !== undefined && body !== undefined) {
      throw new ValidationError('body', [
        {
          path: 'body.checkpoint_items',
          message: 'give checkpoint_items in the query or the body, not both',
        },
      ]);
    }
    const items = body?.checkpoint_items ?? query.checkpoint_items;
    const deps = await runtime();
    const result = await requestDeletion(
      {
        service: 'csbs',
        projectId: path.project_id,
        providerId: path.provider_id,
        checkpointId: path.checkpoint_id,
        ...(items === undefined ? {} : { checkpointItems: items }),
      },
      callerIdentity(event),
      // No attempt, wait or retry outlives the invocation (minus the margin to record and answer).
      { ...deps, signal: httpDeadline(context) },
    );
    return requestedDeletionResponse(result);
  });
