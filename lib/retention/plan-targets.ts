import { z } from 'zod';
import { type Backup, BackupServiceSchema, resourceKey } from '../services/backup.ts';
import { type Decision, DecisionSchema, PlanSummarySchema, plan } from './planner.ts';
import { type Policy, type ResolvedTarget, resolveTargets } from './policy.ts';

/**
 * Plans every target of a policy over listings supplied by the caller (the `plan` CLI passes a function that
 * lists through the Huawei client; tests pass arrays). Makes no deletion call: the result is only a plan.
 */

export const TargetPlanSchema = z.object({
  name: z.string(),
  service: BackupServiceSchema,
  /** Everything the listing returned for this target. */
  listed: z.number().int(),
  summary: PlanSummarySchema,
  max_delete_share: z.number().optional(),
  decisions: z.array(DecisionSchema),
  /** Creation time (epoch ms) of each decision's backup, by index. */
  created_at: z.instanceof(Float64Array),
  /** The protected resource's name (server, vault resource, instance) by resource key, where listed. */
  resource_names: z.record(z.string(), z.string()),
  /** The backup's name by backup id, where listed. */
  backup_names: z.record(z.string(), z.string()),
  /** Backups to delete whose size the service does not report (their bytes are not in deleted_bytes). */
  deleted_unknown_size: z.number().int().nonnegative(),
});
export type TargetPlan = z.infer<typeof TargetPlanSchema>;

export const PolicyPlanSchema = z.object({
  generated_at: z.string(),
  timezone: z.string(),
  targets: z.array(TargetPlanSchema),
});
export type PolicyPlan = z.infer<typeof PolicyPlanSchema>;

export interface PlanProgress {
  readonly target: string;
  readonly targetIndex: number;
  readonly targetCount: number;
  readonly phase: 'listing' | 'listed' | 'planned';
  readonly listed: number;
}

export type ListBackups = (target: ResolvedTarget) => AsyncIterable<Backup> | Iterable<Backup>;

const PROGRESS_EVERY = 1000;

export async function planTargets(
  policy: Policy,
  listBackups: ListBackups,
  now: Date,
  onProgress?: (progress: PlanProgress) => void,
): Promise<PolicyPlan> {
  const targets = resolveTargets(policy);
  const plans: TargetPlan[] = [];
  for (const [targetIndex, target] of targets.entries()) {
    const report = (phase: PlanProgress['phase'], listed: number) =>
      onProgress?.({ target: target.name, targetIndex, targetCount: targets.length, phase, listed });
    const backups: Backup[] = [];
    for await (const backup of listBackups(target)) {
      backups.push(backup);
      if (backups.length % PROGRESS_EVERY === 0) report('listing', backups.length);
    }
    report('listed', backups.length);
    const { decisions, created_at, summary } = plan(backups, target, now, policy.timezone);
    const names = namesOf(backups);
    const sizeKnown = new Set(backups.filter((b) => b.size_bytes !== undefined).map((b) => b.id));
    plans.push({
      name: target.name,
      service: target.service,
      listed: backups.length,
      summary,
      ...(target.max_delete_share === undefined ? {} : { max_delete_share: target.max_delete_share }),
      decisions,
      created_at,
      ...names,
      deleted_unknown_size: decisions.filter((d) => d.action === 'delete' && !sizeKnown.has(d.backup_id))
        .length,
    });
    report('planned', backups.length);
  }
  return { generated_at: now.toISOString(), timezone: policy.timezone, targets: plans };
}

/** Resource and backup names from a listing, for output beside the ids. */
function namesOf(backups: readonly Backup[]): Pick<TargetPlan, 'resource_names' | 'backup_names'> {
  const resource_names: Record<string, string> = {};
  const backup_names: Record<string, string> = {};
  for (const backup of backups) {
    if (backup.resource_name !== undefined) resource_names[resourceKey(backup)] ??= backup.resource_name;
    if (backup.name !== undefined) backup_names[backup.id] = backup.name;
  }
  return { resource_names, backup_names };
}

/** The JSON plan: the same content grouped by resource, ready for `JSON.stringify(…, null, 2)`. */
export const PlanJsonSchema = z.object({
  version: z.literal(1),
  generated_at: z.string(),
  timezone: z.string(),
  targets: z.array(
    z.object({
      name: z.string(),
      service: BackupServiceSchema,
      listed: z.number().int(),
      summary: PlanSummarySchema,
      max_delete_share: z.number().optional(),
      deleted_unknown_size: z.number().int().nonnegative(),
      resources: z.array(
        z.object({
          resource_key: z.string(),
          resource_name: z.string().optional(),
          keep: z.number().int(),
          delete: z.number().int(),
          decisions: z.array(
            DecisionSchema.extend({ created_at: z.iso.datetime(), name: z.string().optional() }),
          ),
        }),
      ),
    }),
  ),
});
export type PlanJson = z.infer<typeof PlanJsonSchema>;

export function toPlanJson(result: PolicyPlan): PlanJson {
  return {
    version: 1,
    generated_at: result.generated_at,
    timezone: result.timezone,
    targets: result.targets.map((target) => ({
      name: target.name,
      service: target.service,
      listed: target.listed,
      summary: target.summary,
      ...(target.max_delete_share === undefined ? {} : { max_delete_share: target.max_delete_share }),
      deleted_unknown_size: target.deleted_unknown_size,
      resources: resourceRuns(target.decisions).map(([start, end]) => {
        const decisions = target.decisions.slice(start, end).map((decision, offset) => ({
          ...decision,
          created_at: new Date(target.created_at[start + offset] as number).toISOString(),
          ...(target.backup_names[decision.backup_id] === undefined
            ? {}
            : { name: target.backup_names[decision.backup_id] }),
        }));
        const key = (decisions[0] as Decision).resource_key;
        const deletes = decisions.filter((d) => d.action === 'delete').length;
        return {
          resource_key: key,
          ...(target.resource_names[key] === undefined ? {} : { resource_name: target.resource_names[key] }),
          keep: decisions.length - deletes,
          delete: deletes,
          decisions,
        };
      }),
    })),
  };
}

/** Decisions come from `plan` grouped by resource already: the [start, end) index range of each resource. */
export function resourceRuns(decisions: readonly Decision[]): [number, number][] {
  const runs: [number, number][] = [];
  let start = 0;
  for (let index = 1; index <= decisions.length; index += 1) {
    if (
      index === decisions.length ||
      (decisions[index] as Decision).resource_key !== (decisions[start] as Decision).resource_key
    ) {
      if (index > start) runs.push([start, index]);
      start = index;
    }
  }
  return runs;
}

/** Sizes and aligned columns print one way in every command and report (lib/cli/output.ts). */
export { formatSize as formatBytes, renderColumns as textColumns } from '../cli/output.ts';
/** The human views of a plan (summary and per-backup table) live with the other CLI output. */
export { renderPlanSummary, renderPlanTable } from '../cli/plan-view.ts';
