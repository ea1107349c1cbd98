/**
 * The retention sweep: an EventBridge schedule and `POST /sweeps` (API Gateway HTTP API v2, JSON body
 * `{dry_run?, targets?, policy?, sweep_id?}`; a dry run unless `"dry_run": false`, an inline policy only with a
 * dry run — lib/sweep/request.ts). One real sweep per policy runs at a time (a lease in the
 * ledger's table): a second one answers 409 SWEEP_RUNNING, and a scheduled run finding one returns
 * `status: skipped`. A scheduled sweep stopped at its deadline (`status: aborted`) is resumed by the next
 * scheduled run, which picks the policy's unfinished sweep up first (same sweep id: finished items are
 * skipped, nothing is sent twice); nothing re-invokes the function in between. A POST that reaches the API's
 * time limit answers 202 with the partial report, and POSTing the same sweep_id again resumes it. With
 * SWEEP_QUEUE_URL set the sweep runs queued: it enqueues the planned items for the delete-worker and answers
 * 202 (status `queued`) at once; the worker finishing the last item stores the report.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, EventBridgeEvent } from 'aws-lambda';
import { BUDGETS } from '../lib/budgets.ts';
import { callerIdentity, HttpLayerError, httpMiddleware, parseWith } from '../lib/http/index.ts';
import { logger } from '../lib/logger.ts';
import { publishSweepMetrics } from '../lib/metrics.ts';
import { notifierFor } from '../lib/notify/index.ts';
import { runtime } from '../lib/runtime.ts';
import { credentialBreakersFor } from '../lib/sweep/credential-breaker.ts';
import { createPolicyLoader } from '../lib/sweep/policy-source.ts';
import { sweepFanOutFor } from '../lib/sweep/queued/runtime.ts';
import { ScheduledSweepRequestSchema, SweepRequestSchema } from '../lib/sweep/request.ts';
import { deadlineAt, deadlineSignal, startSweep, sweepResponse } from '../lib/sweep/start.ts';

type ScheduleEvent = EventBridgeEvent<'Scheduled Event', unknown>;

const loadPolicy = createPolicyLoader();
/** API Gateway gives up after 30 s: stop the sweep in time to answer (lib/budgets.ts). */
const HTTP_BUDGET_MS = BUDGETS.sweepHttpBudgetMs;
/** Leave the scheduled invocation time to write the report. */
const SCHEDULE_MARGIN_MS = BUDGETS.sweepScheduleMarginMs;

const httpHandler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware({ jsonBody: 'optional' }))
  .handler(async (event, context) => {
    const request = parseWith(SweepRequestSchema, event.body, 'body');
    const rt = await runtime();
    const callSignal = deadlineSignal(context, BUDGETS.sweepHttpCallMarginMs, BUDGETS.apiGatewayLimitMs);
    const report = await startSweep(request, callerIdentity(event), {
      runtime: rt,
      loadPolicy: (source) => loadPolicy(source),
      logger,
      signal: deadlineSignal(context, BUDGETS.sweepHttpMarginMs, HTTP_BUDGET_MS),
      callSignal,
      deadlineAt: deadlineAt(context, BUDGETS.sweepHttpMarginMs, HTTP_BUDGET_MS),
      publishMetrics: publishSweepMetrics,
      // SWEEP_MODE: auto (inline when the plan fits the time left, else queued and 202), inline or queued.
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

const scheduleHandler = middy<ScheduleEvent, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => {
    logger.appendKeys({ schedule_event_id: event.id });
    const request = ScheduledSweepRequestSchema.parse(event.detail ?? {});
    const rt = await runtime();
    const rule = event.resources?.[0]?.split('/').pop() ?? 'schedule';
    let report: Awaited<ReturnType<typeof startSweep>>;
    try {
      report = await startSweep(
        request,
        { kind: 'sweep', principal: `schedule:${rule}` },
        {
          runtime: rt,
          loadPolicy: (source) => loadPolicy(source),
          logger,
          signal: deadlineSignal(context, SCHEDULE_MARGIN_MS),
          callSignal: deadlineSignal(context, BUDGETS.sweepScheduleCallMarginMs),
          deadlineAt: deadlineAt(context, SCHEDULE_MARGIN_MS),
          publishMetrics: publishSweepMetrics,
          sweep: {
            fanOut: sweepFanOutFor(rt.config),
            credentialBreakers: credentialBreakersFor(rt.config),
            semaphore: rt.laneSemaphore,
            sweepLock: rt.sweepLock,
            // One notice per outcome worth a person (lib/notify): awaiting approval, failures, completed.
            // Sent after the last call ended, inside sweepScheduleCallMarginMs (lib/budgets.ts).
            notifySweepOutcome: notifierFor(rt.config, { logger }),
          },
          resumeUnfinished: true,
        },
        `scheduled-${event.id}`,
      );
    } catch (error) {
      if (error instanceof HttpLayerError && error.code === 'SWEEP_RUNNING') {
        logger.info('scheduled sweep skipped: another sweep of the policy is running', { ...error.details });
        return { status: 'skipped', code: 'SWEEP_RUNNING', ...error.details };
      }
      throw error;
    }
    return { sweep_id: report.sweep_id, status: report.status, totals: report.totals };
  });

/** An API Gateway event, with or without its requestContext (the HTTP handler refuses the latter: 401). */
function isHttpEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && 'routeKey' in event;
}

function isScheduleEvent(event: unknown): event is ScheduleEvent {
  const fields = event as Partial<ScheduleEvent> | null;
  return fields?.source === 'aws.events' && fields['detail-type'] === 'Scheduled Event';
}

/** Anything else (a hand-made event without an API Gateway route or a schedule's shape) runs nothing. */
export const handler = (
  event: APIGatewayProxyEventV2 | ScheduleEvent,
  context: Parameters<typeof httpHandler>[1],
) => {
  if (isHttpEvent(event)) return httpHandler(event, context);
  if (isScheduleEvent(event)) return scheduleHandler(event, context);
  return Promise.reject(
    new TypeError('not an API Gateway HTTP API event nor an EventBridge Scheduled Event'),
  );
};
