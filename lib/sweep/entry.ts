/**
 * The sweep function's work, loaded by functions/sweep.ts on its first invocation rather than at import: the
 * planner, the policy schemas, the fan-out and the approval and notice code are most of the function's
 * cold-start memory, and the handler's middleware does not need them to start. Module state (the policy
 * loader's cache) lives here, once per container.
 */
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context, EventBridgeEvent } from 'aws-lambda';
import { BUDGETS } from '../budgets.ts';
import type { PolicySource } from '../config.ts';
import { callerIdentity, HttpLayerError, parseWith } from '../http/index.ts';
import { logger } from '../logger.ts';
import { publishSweepMetrics } from '../metrics.ts';
import { notifierFor } from '../notify/index.ts';
import { type Runtime, runtime } from '../runtime.ts';
import { credentialBreakersFor } from './credential-breaker.ts';
import { createPolicyLoader } from './policy-source.ts';
import { sweepFanOutFor } from './queued/runtime.ts';
import { ScheduledSweepRequestSchema, SweepRequestSchema } from './request.ts';
import { deadlineAt, deadlineSignal, startSweep, sweepResponse } from './start.ts';

export type ScheduleEvent = EventBridgeEvent<'Scheduled Event', unknown>;

const loadPolicy = createPolicyLoader();
/** API Gateway gives up after 30 s: stop the sweep in time to answer (lib/budgets.ts). */
const HTTP_BUDGET_MS = BUDGETS.sweepHttpBudgetMs;
/** Leave the scheduled invocation time to write the report. */
const SCHEDULE_MARGIN_MS = BUDGETS.sweepScheduleMarginMs;

/** POST /sweeps (the middleware around it is functions/sweep.ts'). */
export async function sweepHttp(
  event: APIGatewayProxyEventV2,
  context: Context,
): Promise<APIGatewayProxyResultV2> {
  const request = parseWith(SweepRequestSchema, event.body, 'body');
  const report = await startSweep(request, callerIdentity(event), await httpStartDeps(context));
  return sweepResponse(report);
}

/** The EventBridge schedule's run. */
export async function sweepSchedule(event: ScheduleEvent, context: Context): Promise<unknown> {
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
        // One notice per outcome worth a person (lib/notify): awaiting approval, failures, completed.
        // Sent after the last call ended, inside sweepScheduleCallMarginMs (lib/budgets.ts).
        sweep: sweepDepsFor(rt),
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
}

/**
 * What every sweep run of this function set shares: the fan-out (SWEEP_MODE: auto, inline or queued), the
 * credential breakers, the cross-invocation lane semaphore and policy lock, and the outcome notices (given up
 * at `notifySignal`, an HTTP call's deadline: the answer comes first).
 */
export function sweepDepsFor(rt: Runtime, notifySignal?: AbortSignal) {
  return {
    fanOut: sweepFanOutFor(rt.config),
    credentialBreakers: credentialBreakersFor(rt.config),
    semaphore: rt.laneSemaphore,
    sweepLock: rt.sweepLock,
    notifySweepOutcome: notifierFor(rt.config, { logger, ...(notifySignal ? { signal: notifySignal } : {}) }),
  };
}

/** The start options of a sweep run behind API Gateway (POST /sweeps, POST /sweeps/{id}/approve). */
export async function httpStartDeps(context: Context) {
  const rt = await runtime();
  const callSignal = deadlineSignal(context, BUDGETS.sweepHttpCallMarginMs, BUDGETS.apiGatewayLimitMs);
  return {
    runtime: rt,
    loadPolicy: (source: PolicySource | undefined) => loadPolicy(source),
    logger,
    signal: deadlineSignal(context, BUDGETS.sweepHttpMarginMs, HTTP_BUDGET_MS),
    callSignal,
    deadlineAt: deadlineAt(context, BUDGETS.sweepHttpMarginMs, HTTP_BUDGET_MS),
    publishMetrics: publishSweepMetrics,
    sweep: sweepDepsFor(rt, callSignal),
  };
}
