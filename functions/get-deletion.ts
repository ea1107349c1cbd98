/** GET /deletions/{deletion_id} — a deletion's state, polled from upstream while it is still running. */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpDeadline } from '../lib/deadline.ts';
import {
  DeletionPathSchema,
  deletionStateResponse,
  EmptyQuerySchema,
  refreshDeletion,
} from '../lib/deletions/index.ts';
import { httpMiddleware, parseWith } from '../lib/http/index.ts';
import { runtime } from '../lib/runtime.ts';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware())
  .handler(async (event, context) => {
    const path = parseWith(DeletionPathSchema, event.pathParameters, 'path');
    parseWith(EmptyQuerySchema, event.queryStringParameters, 'query');
    const deps = await runtime();
    return deletionStateResponse(
      await refreshDeletion(path.deletion_id, { ...deps, signal: httpDeadline(context) }),
    );
  });
