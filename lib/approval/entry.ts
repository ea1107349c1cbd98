/**
 * The approve function's work, loaded by functions/approve-sweep.ts on its first invocation rather than at
 * import (as lib/sweep/entry.ts for the sweep function: most of its cold-start memory is this code).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { callerIdentity, parseWith } from '../http/index.ts';
import { httpStartDeps } from '../sweep/entry.ts';
import { SweepPathSchema } from '../sweep/request.ts';
import { sweepResponse } from '../sweep/start.ts';
import { ApproveRequestSchema } from './schema.ts';
import { startApproval } from './start.ts';

/** POST /sweeps/{sweep_id}/approve (the middleware around it is functions/approve-sweep.ts'). */
export async function approveHttp(
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResultV2> {
  const path = parseWith(SweepPathSchema, event.pathParameters, 'path');
  const request = parseWith(ApproveRequestSchema, event.body, 'body');
  const approvedBy = callerIdentity(event);
  const report = await startApproval(path.sweep_id, request, approvedBy, await httpStartDeps(context));
  return sweepResponse(report);
}
