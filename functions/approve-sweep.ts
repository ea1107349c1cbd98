/**
 * POST /sweeps/{sweep_id}/approve — body `{"plan_hash": "sha256:..."}`: approves a stored plan (a dry run of
 * POST /sweeps, or a sweep that ended `awaiting_approval`) and applies it: only the approved deletions the
 * fresh plan still makes are sent, the others are skipped with their reason (lib/approval/approve.ts). The
 * approver is the caller's IAM principal, recorded with the run. 200 with the run's report; 202 when it
 * stopped at the API's time limit (POST /sweeps with `{"sweep_id": "<run id>", "dry_run": false}` resumes it)
 * or went to the queue; 409 PLAN_HASH_MISMATCH / POLICY_CHANGED / ALREADY_APPROVED / SWEEP_RUNNING, 410
 * APPROVAL_EXPIRED, 404 PLAN_NOT_FOUND, with nothing sent.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { ApproveRequestSchema } from '../lib/approval/schema.ts';
import { startApproval } from '../lib/approval/start.ts';
import { BUDGETS } from '../lib/budgets.ts';
import { callerIdentity, httpMiddleware, parseWith } from '../lib/http/index.ts';
import { logger } from '../lib/logger.ts';
import { publishSweepMetrics } from '../lib/metrics.ts';
import { notifierFor } from '../lib/notify/index.ts';
import { SweepPathSchema } from '../lib/report/stored-sweep.ts';
import { runtime } from '../lib/runtime.ts';
import { credentialBreakersFor } from '../lib/sweep/credential-breaker.ts';
import { createPolicyLoader } from '../lib/sweep/policy-source.ts';
import { sweepFanOutFor } from '../lib/sweep/queued/runtime.ts';
import { deadlineAt, deadlineSignal, sweepResponse } from '../lib/sweep/start.ts';

const loadPolicy = createPolicyLoader();

export const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware({ jsonBody: 'required' }))
  .handler(async (event, context) => {
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
  });
