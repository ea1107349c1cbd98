/**
 * `POST /sweeps/{sweep_id}/approve` behind the handler: the configured policy (an approval applies a plan
 * with the policy this deployment runs, never one a caller brings: a plan made with an inline policy answers
 * 409 POLICY_CHANGED), the project allowlist, then approveSweep under the sweep's usual dependencies.
 */
import type { CallerIdentity } from '../ledger/schema.ts';
import type { SweepReport } from '../sweep/report.ts';
import { checkAllowlist, configuredPolicy, executeSweep, type StartSweepDeps } from '../sweep/start.ts';
import { approveSweep } from './approve.ts';
import type { ApproveRequest } from './schema.ts';

export async function startApproval(
  sweepId: string,
  request: ApproveRequest,
  approvedBy: CallerIdentity,
  deps: StartSweepDeps,
): Promise<SweepReport> {
  const policy = await configuredPolicy(deps);
  checkAllowlist(policy, deps);
  const now = (deps.now ?? (() => new Date()))();
  return executeSweep(
    (sweepDeps) => approveSweep({ sweepId, planHash: request.plan_hash, approvedBy, policy, now }, sweepDeps),
    deps,
  );
}
