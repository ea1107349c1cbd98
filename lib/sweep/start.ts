/**
 * Starting a sweep from a request (POST /sweeps body or a schedule event's detail): pick the policy (override
 * or configured), check every project it names against the allowlist, run the sweep, and map the outcome to
 * HTTP. functions/sweep.ts only wires middy around these.
 */
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { BUDGETS } from '../budgets.ts';
import type { PolicySource } from '../config.ts';
import { deadlineFromContext, type LambdaContextLike } from '../deadline.ts';
import { HttpLayerError, ProjectNotAllowedError, ValidationError } from '../http/errors.ts';
import { jsonResponse } from '../http/responses.ts';
import type { CallerIdentity } from '../ledger/schema.ts';
import { type Policy, PolicyError, parsePolicy } from '../retention/policy.ts';
import type { Runtime } from '../runtime.ts';
import { UnknownTargetError } from './plan-sweep.ts';
import type { SweepReport } from './report.ts';
import type { SweepRequest } from './request.ts';
import { runSweep, SweepConflictError, type SweepDeps, type SweepLogger } from './sweep.ts';

export interface StartSweepDeps {
  readonly runtime: Pick<Runtime, 'client' | 'ledger' | 'allowlist'> & {
    readonly config: { readonly policySource: PolicySource | undefined };
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
      { cause: error },
    );
  }
}

export async function startSweep(
  request: SweepRequest,
  requestedBy: CallerIdentity,
  deps: StartSweepDeps,
  defaultSweepId?: string,
): Promise<SweepReport> {
  const policy =
    request.policy === undefined
      ? await deps.loadPolicy(deps.runtime.config.policySource)
      : policyFromRequest(request.policy);
  // The sweep deletes only in projects this deployment may touch, whoever wrote the policy.
  for (const target of policy.targets) {
    for (const projectId of target.projects) {
      if (!deps.runtime.allowlist.has(projectId)) throw new ProjectNotAllowedError(projectId);
    }
  }
  try {
    return await runSweep(
      {
        policy,
        sweepId: request.sweep_id ?? defaultSweepId,
        dryRun: request.dry_run,
        targetFilter: request.targets,
        now: (deps.now ?? (() => new Date()))(),
        requestedBy,
      },
      {
        ...deps.sweep,
        client:
          deps.callSignal === undefined ? deps.runtime.client : deps.runtime.client.bounded(deps.callSignal),
        ledger: deps.runtime.ledger,
        logger: deps.logger,
        signal: deps.signal,
      },
    );
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
    throw error;
  }
}

/**
 * 200 with the report when the sweep ran to its end; 202 with the partial report when it stopped at the
 * invocation's deadline (POST again with the same sweep_id to resume) or was handed to the queue (queued
 * mode); 409 CIRCUIT_BREAKER when refused.
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
  return jsonResponse(report.status === 'aborted' || report.status === 'queued' ? 202 : 200, report);
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
