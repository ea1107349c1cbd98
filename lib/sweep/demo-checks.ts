/**
 * The demo's own checks beyond the simulator's request log (verify.ts): the policy names projects the fleet
 * has, in the regions the fleet serves them from; every target lists something; and the report's counts add
 * up (listed = kept + planned + out of scope, per target). A demo that checked nothing of this printed OK
 * over a policy that matched no project at all.
 */
import type { PolicyPlan } from '../retention/plan-targets.ts';
import type { Policy } from '../retention/policy.ts';
import type { Project } from '../simulator/index.ts';
import type { SweepReport } from './report.ts';

/** Each way the policy and the fleet disagree, as a sentence. Empty when they match. */
export function policyFleetMismatches(policy: Policy, projects: ReadonlyMap<string, Project>): string[] {
  const problems: string[] = [];
  for (const target of policy.targets) {
    for (const projectId of target.projects) {
      const project = projects.get(projectId);
      if (project === undefined)
        problems.push(`target ${target.name}: project ${projectId} is not in the fleet`);
      else if (!target.regions.includes(project.region))
        problems.push(
          `target ${target.name}: project ${projectId} is in ${project.region}, not in ${target.regions.join(', ')}`,
        );
    }
  }
  return problems;
}

/** Targets whose listing returned nothing. */
export function emptyTargets(plan: PolicyPlan): string[] {
  return plan.targets.filter((target) => target.listed === 0).map((target) => target.name);
}

export interface TargetBalance {
  readonly name: string;
  readonly listed: number;
  readonly kept: number;
  readonly planned: number;
  /** Listed but outside the target's scope (filters), from the plan of the same listing. */
  readonly outOfScope: number;
  /** listed = kept + planned + out of scope. */
  readonly balanced: boolean;
}

/** Per target of the report: the counts and whether they add up against the plan's out-of-scope count. */
export function reportBalance(report: SweepReport, plan: PolicyPlan): TargetBalance[] {
  const outOfScope = new Map(plan.targets.map((target) => [target.name, target.summary.ignored]));
  return report.targets.map((target) => {
    const ignored = outOfScope.get(target.name);
    return {
      name: target.name,
      listed: target.listed,
      kept: target.kept,
      planned: target.planned,
      outOfScope: ignored ?? 0,
      balanced: ignored !== undefined && target.listed === target.kept + target.planned + ignored,
    };
  });
}
