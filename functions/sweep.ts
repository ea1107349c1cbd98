/**
 * The retention sweep: an EventBridge schedule and `POST /sweeps` (API Gateway HTTP API v2, JSON body
 * `{dry_run?, targets?, policy?, sweep_id?}`). The schedule resumes its own sweep on a retry of the same event
 * (sweep id `scheduled-<event id>`); a POST that reaches the API's time limit answers 202 with the partial
 * report, and POSTing the same sweep_id again resumes it. With SWEEP_QUEUE_URL set the sweep runs queued: it
 * enqueues the planned items for the delete-worker and answers 202 (status `queued`) at once.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, EventBridgeEvent } from 'aws-lambda';
import { BUDGETS } from '../lib/budgets.ts';
import { callerIdentity, httpMiddleware, parseWith } from '../lib/http/index.ts';
import { logger } from '../lib/logger.ts';
import { runtime } from '../lib/runtime.ts';
import { createPolicyLoader } from '../lib/sweep/policy-source.ts';
import { sweepFanOutFor } from '../lib/sweep/queued/runtime.ts';
import { SweepRequestSchema } from '../lib/sweep/request.ts';
import { deadlineSignal, startSweep, sweepResponse } from '../lib/sweep/start.ts';

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
    const report = await startSweep(request, callerIdentity(event), {
      runtime: rt,
      loadPolicy: (source) => loadPolicy(source),
      logger,
      signal: deadlineSignal(context, BUDGETS.sweepHttpMarginMs, HTTP_BUDGET_MS),
      callSignal: deadlineSignal(context, BUDGETS.sweepHttpCallMarginMs, BUDGETS.apiGatewayLimitMs),
      // SWEEP_QUEUE_URL set: queued mode (enqueue and answer 202 at once); unset: inline.
      sweep: { fanOut: sweepFanOutFor(rt.config) },
    });
    return sweepResponse(report);
  });

const scheduleHandler = middy<ScheduleEvent, unknown>().handler(async (event, context) => {
  logger.resetKeys();
  logger.appendKeys({ schedule_event_id: event.id });
  const request = SweepRequestSchema.parse(event.detail ?? {});
  const rt = await runtime();
  const rule = event.resources?.[0]?.split('/').pop() ?? 'schedule';
  const report = await startSweep(
    request,
    { kind: 'sweep', principal: `schedule:${rule}` },
    {
      runtime: rt,
      loadPolicy: (source) => loadPolicy(source),
      logger,
      signal: deadlineSignal(context, SCHEDULE_MARGIN_MS),
      callSignal: deadlineSignal(context, BUDGETS.sweepScheduleCallMarginMs),
      sweep: { fanOut: sweepFanOutFor(rt.config) },
    },
    `scheduled-${event.id}`,
  );
  return { sweep_id: report.sweep_id, status: report.status, totals: report.totals };
});

function isHttpEvent(event: unknown): event is APIGatewayProxyEventV2 {
  return typeof event === 'object' && event !== null && 'requestContext' in event && 'routeKey' in event;
}

export const handler = (
  event: APIGatewayProxyEventV2 | ScheduleEvent,
  context: Parameters<typeof httpHandler>[1],
) => (isHttpEvent(event) ? httpHandler(event, context) : scheduleHandler(event, context));
