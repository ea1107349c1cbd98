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
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { httpMiddleware } from '../lib/http/index.ts';
import { logger } from '../lib/logger.ts';
import type { ScheduleEvent } from '../lib/sweep/entry.ts';

/** The sweep's code, evaluated on the first invocation (lib/sweep/entry.ts says why). */
const work = () => import('../lib/sweep/entry.ts');

const httpHandler = middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
  .use(httpMiddleware({ jsonBody: 'optional' }))
  .handler(async (event, context) => (await work()).sweepHttp(event, context));

const scheduleHandler = middy<ScheduleEvent, unknown>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .handler(async (event, context) => (await work()).sweepSchedule(event, context));

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
