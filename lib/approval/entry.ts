/**
 * The approve function's work, loaded by functions/approve-sweep.ts on its first invocation rather than at
 * import (as lib/sweep/entry.ts for the sweep function: most of its cold-start memory is this code).
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { BUDGETS } from '../budgets.ts';
import { callerIdentity, parseWith } from '../http/index.ts';
import { logger } from '../logger.ts';
import { publishSweepMetrics } from '../metrics.ts';
import { notifierFor } from '../notify/index.ts';
import { runtime } from '../runtime.ts';
import { credentialBreakersFor } from '../sweep/credential-breaker.ts';
import { createPolicyLoader } from '../sweep/policy-source.ts';
import { sweepFanOutFor } from '../sweep/queued/runtime.ts';
import { SweepPathSchema } from '../sweep/request.ts';
import { deadlineAt, deadlineSignal, sweepResponse } from '../sweep/start.ts';
import { ApproveRequestSchema } from './schema.ts';
import { startApproval } from './start.ts';

const loadPolicy = createPolicyLoader();

/** POST /sweeps/{sweep_id}/approve (the middleware around it is functions/approve-sweep.ts'). */
export async function approveHttp(
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResultV2> {
  const path = parseWith(SweepPathSchema, event.pathParameters, 'path');
  const request = parseWith(ApproveRequestSchema, event.body, 'body');
  const approvedBy = callerIdentity(event);
  const rt = await runtime();
  const callSignal = deadlineSignal(context, BUDGETS.sweepHttpCallMarginMs, BUDGETS.apiGatewayLimitMs);
  const report = await startApproval(path.sweep_id, request, approvedBy, {
    runtime: rt,
    loadPolicy: (source) => loadPolicy(source),
    logger,
    signal: deadlineSignal(context, BUDGETS.sweepHttpMarginMs, BUDGETS.sweepHttpBudgetMs),
    callSignal,
    deadlineAt: deadlineAt(context, BUDGETS.sweepHttpMarginMs, BUDGETS.sweepHttpBudgetMs),
    publishMetrics: publishSweepMetrics,
    sweep: {
      fanOut: sweepFanOutFor(rt.config),
      credentialBreakers: credentialBreakersFor(rt.config),
      semaphore: rt.laneSemaphore,
      sweepLock: rt.sweepLock,
      // Given up at the call deadline at the latest: the answer comes first (lib/notify).
      notifySweepOutcome: notifierFor(rt.config, { logger, signal: callSignal }),
    },
  });
  return sweepResponse(report);
}
