/**
 * Starting a sweep from a request (POST /sweeps body or a schedule event's detail): pick the policy (override
 * or configured), check every project it names against the allowlist, run the sweep, and map the outcome to
 * HTTP. functions/sweep.ts only wires middy around these.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BUDGETS } from '../budgets.ts';
import type { PolicySource, SweepMode } from '../config.ts';
import { deadlineFromContext, type LambdaContextLike } from '../deadline.ts';
import { HttpLayerError, ProjectNotAllowedError, ValidationError } from '../http/errors.ts';
import { jsonResponse } from '../http/responses.ts';
import type { CallerIdentity } from '../ledger/schema.ts';
import { type Policy, PolicyError, parsePolicy } from '../retention/policy.ts';
import type { Runtime } from '../runtime.ts';
import { chooseFanOut, estimateSweepMs } from './estimate.ts';
import { UnknownTargetError } from './plan-sweep.ts';
import type { SweepReport } from './report.ts';
import { INLINE_POLICY_NEEDS_DRY_RUN, type SweepRequest } from './request.ts';
import {
  type QueuedFanOut,
  runSweep,
  SweepConflictError,
  type SweepDeps,
  type SweepLogger,
} from './sweep.ts';
import { SweepRunningError } from './sweep-lock.ts';

export interface StartSweepDeps {
  readonly runtime: Pick<Runtime, 'client' | 'ledger' | 'allowlist'> & {
    readonly config: { readonly policySource: PolicySource | undefined; readonly sweepMode?: SweepMode };
  };
  readonly loadPolicy: (source: PolicySource | undefined) => Promise<Policy>;
  readonly logger?: SweepLogger | undefined;
  /** Stops the sweep: nothing new starts after it (a DELETE already started is allowed to end). */
  readonly signal?: AbortSignal | undefined;
  /** No upstream call outlives this one (the invocation's end minus a margin to record the outcome). */
  readonly callSignal?: AbortSignal | undefined;
  readonly now?: () => Date;
  /** Extra sweep dependencies (lane limits, tracking timings); tests shorten the waits. */
  readonly sweep?: Partial<Omit<SweepDeps, 'client' | 'ledger' | 'signal' | 'logger'>>;
  /** Scheduled runs resume the policy's unfinished sweep first (SweepInput.resumeUnfinished). */
  readonly resumeUnfinished?: boolean | undefined;
  /** When the invocation must stop (epoch ms): what `auto` compares the plan's estimate with. */
  readonly deadlineAt?: number | undefined;
  /** Publishes the report's metrics (lib/metrics.ts) with the lanes' throttle pauses per service. */
  readonly publishMetrics?: (report: SweepReport, throttledByService: ReadonlyMap<string, number>) => unknown;
}

/**
 * The configured queue under the sweep mode: `auto` asks the estimate for each plan (inline when it fits the
 * time left before `deadlineAt`), `queued` always queues, and both say so in the report.
 */
function modeFanOut(
  queue: QueuedFanOut | undefined,
  mode: SweepMode | undefined,
  deps: Pick<StartSweepDeps, 'deadlineAt' | 'now' | 'sweep'>,
): QueuedFanOut | undefined {
  if (queue === undefined || mode === undefined || mode === 'inline') return queue;
  const now = () => (deps.now ?? (() => new Date()))().getTime();
  return {
    enqueue: (sweepId, items, context) => queue.enqueue(sweepId, items, context),
    choose: (items) =>
      chooseFanOut(
        mode,
        estimateSweepMs(items, { laneLimits: deps.sweep?.laneLimits }),
        deps.deadlineAt === undefined ? undefined : deps.deadlineAt - now(),
      ),
  };
}

/** Validates an inline policy override; its problems come back as a 400 naming `body.policy.<field>`. */
export function policyFromRequest(value: unknown): Policy {
  try {
    return parsePolicy(value, 'policy');
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new ValidationError(
      'body',
      error.issues.map((issue) => ({
        path: issue.path === '' ? 'body.policy' : `body.policy.${issue.path}`,
        message: issue.message,
      })),
      { cause: error, omitted: error.omittedIssues },
    );
  }
}

/**
 * The configured policy (POLICY_FILE or SSM). An invalid one answers 400 POLICY_INVALID naming its problems (at
 * most POLICY_LIMITS.maxIssues, then a count), like every other policy error, rather than a bare 500.
 */
export async function configuredPolicy(
  deps: Pick<StartSweepDeps, 'loadPolicy' | 'runtime'>,
): Promise<Policy> {
  try {
    return await deps.loadPolicy(deps.runtime.config.policySource);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    throw new HttpLayerError('POLICY_INVALID', 400, 'The configured retention policy is invalid', {
      details: {
        issues: error.issues.map((issue) => ({
          path: issue.path,
          message: issue.message,
          ...(issue.line === undefined ? {} : { line: issue.line, column: issue.column ?? 1 }),
        })),
        ...(error.omittedIssues > 0 ? { omitted_issues: error.omittedIssues } : {}),
      },
      cause: error,
    });
  }
}

export async function startSweep(
  request: SweepRequest,
  requestedBy: CallerIdentity,
  deps: StartSweepDeps,
  defaultSweepId?: string,
): Promise<SweepReport> {
  if (request.policy !== undefined && !request.dry_run) {
    throw new ValidationError('body', [{ path: 'body.policy', message: INLINE_POLICY_NEEDS_DRY_RUN }]);
  }
  const policy =
    request.policy === undefined ? await configuredPolicy(deps) : policyFromRequest(request.policy);
  checkAllowlist(policy, deps);
  return executeSweep(
    (sweepDeps) =>
      runSweep(
        {
          policy,
          sweepId: request.sweep_id ?? defaultSweepId,
          dryRun: request.dry_run,
          targetFilter: request.targets,
          now: (deps.now ?? (() => new Date()))(),
          requestedBy,
          resumeUnfinished: deps.resumeUnfinished,
        },
        sweepDeps,
      ),
    deps,
  );
}

/** The sweep deletes only in projects this deployment may touch, whoever wrote the policy. */
export function checkAllowlist(policy: Policy, deps: Pick<StartSweepDeps, 'runtime'>): void {
  for (const target of policy.targets) {
    for (const projectId of target.projects) {
      if (!deps.runtime.allowlist.has(projectId)) throw new ProjectNotAllowedError(projectId);
    }
  }
}

/**
 * Runs `run` (runSweep, or an approval applying a plan) with the sweep dependencies of `deps` (fan-out mode,
 * client bounded by the call signal, ledger, logger, deadline), publishes its metrics and maps what it throws
 * to the HTTP layer's errors.
 */
export async function executeSweep(
  run: (sweepDeps: SweepDeps) => Promise<SweepReport>,
  deps: StartSweepDeps,
): Promise<SweepReport> {
  const throttled = new Map<string, number>();
  const onProgress = deps.sweep?.onProgress;
  try {
    const report = await run({
      ...deps.sweep,
      fanOut: modeFanOut(deps.sweep?.fanOut, deps.runtime.config.sweepMode, deps),
      onProgress: (progress) => {
        if (progress.type === 'lane' && progress.event.type === 'throttled') {
          const service = progress.event.lane.split('/')[0] ?? progress.event.lane;
          throttled.set(service, (throttled.get(service) ?? 0) + 1);
        }
        onProgress?.(progress);
      },
      client:
        deps.callSignal === undefined ? deps.runtime.client : deps.runtime.client.bounded(deps.callSignal),
      ledger: deps.runtime.ledger,
      logger: deps.logger,
      signal: deps.signal,
    });
    await deps.publishMetrics?.(report, throttled);
    return report;
  } catch (error) {
    if (error instanceof UnknownTargetError) {
      throw new ValidationError(
        'body',
        error.targets.map((name) => ({ path: 'body.targets', message: `unknown target "${name}"` })),
        { cause: error },
      );
    }
    if (error instanceof SweepConflictError) {
      throw new HttpLayerError('SWEEP_CONFLICT', 409, error.message, { cause: error });
    }
    if (error instanceof SweepRunningError) {
      throw new HttpLayerError('SWEEP_RUNNING', 409, error.message, {
        details: { running_sweep_id: error.runningSweepId },
        cause: error,
      });
    }
    throw error;
  }
}

/**
 * 200 with the report when the sweep ran to its end; 202 with the partial report when it stopped at the
 * invocation's deadline (POST again with the same sweep_id to resume), was handed to the queue (queued
 * mode) or waits for approval (awaiting_approval); 409 CIRCUIT_BREAKER when refused.
 */
export function sweepResponse(report: SweepReport): APIGatewayProxyStructuredResultV2 {
  if (report.status === 'refused') {
    throw new HttpLayerError(
      'CIRCUIT_BREAKER',
      409,
      'The sweep would delete more than a target allows (max_delete_share); nothing was deleted',
      { details: { sweep_id: report.sweep_id, refused: report.refused ?? [] } },
    );
  }
  const accepted =
    report.status === 'aborted' || report.status === 'queued' || report.status === 'awaiting_approval';
  return jsonResponse(accepted ? 202 : 200, report);
}

/** The epoch ms `deadlineSignal` fires at (same arguments), or undefined without a deadline. */
export function deadlineAt(
  context: { getRemainingTimeInMillis?: () => number } | undefined,
  marginMs: number,
  capMs = Number.POSITIVE_INFINITY,
  now = Date.now,
): number | undefined {
  const remaining = context?.getRemainingTimeInMillis?.();
  if (remaining === undefined || !Number.isFinite(remaining)) {
    return Number.isFinite(capMs) ? now() + capMs : undefined;
  }
  return now() + Math.max(1_000, Math.min(capMs, remaining - marginMs));
}

/**
 * An AbortSignal that fires `marginMs` before the invocation's deadline (and never later than `capMs`); it
 * carries that deadline (lib/deadline.ts), so the client, lanes and tracker know how long they have. The
 * margin never takes more than BUDGETS.maxMarginShare of what is left.
 */
export function deadlineSignal(
  context: LambdaContextLike | undefined,
  marginMs: number,
  capMs = Number.POSITIVE_INFINITY,
): AbortSignal | undefined {
  return deadlineFromContext(context, { marginMs, capMs, maxMarginShare: BUDGETS.maxMarginShare });
}
