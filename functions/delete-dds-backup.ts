/** DELETE /dds/v3/{project_id}/backups/{backup_id} — DDS DeleteBackup (a job upstream → 202). */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpDeadline } from '../lib/deadline.ts';
import {
  DdsPathSchema,
  EmptyQuerySchema,
  requestDeletion,
  requestedDeletionResponse,
} from '../lib/deletions/index.ts';
import { callerIdentity, httpMiddleware, parseWith } from '../lib/http/index.ts';
import { runtime } from '../lib/runtime.ts';

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware())
  .handler(async (event, context) => {
    const path = parseWith(DdsPathSchema, event.pathParameters, 'path');
    parseWith(EmptyQuerySchema, event.queryStringParameters, 'query');
    const deps = await runtime();
    const result = await requestDeletion(
      { service: 'dds', projectId: path.project_id, backupId: path.backup_id },
      callerIdentity(event),
      // No attempt, wait or retry outlives the invocation (minus the margin to record and answer).
      { ...deps, signal: httpDeadline(context) },
    );
    return requestedDeletionResponse(result);
  });
