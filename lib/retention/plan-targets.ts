import { z } from 'zod';
import { type Backup, BackupServiceSchema } from '../services/backup.ts';
import { calendarFor } from './calendar.ts';
import { type Decision, DecisionSchema, type PlanSummary, PlanSummarySchema, plan } from './planner.ts';
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
    plans.push({
      name: target.name,
      service: target.service,
      listed: backups.length,
      summary,
      ...(target.max_delete_share === undefined ? {} : { max_delete_share: target.max_delete_share }),
      decisions,
      created_at,
    });
    report('planned', backups.length);
  }
  return { generated_at: now.toISOString(), timezone: policy.timezone, targets: plans };
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
      resources: z.array(
        z.object({
          resource_key: z.string(),
          keep: z.number().int(),
          delete: z.number().int(),
          decisions: z.array(DecisionSchema.extend({ created_at: z.iso.datetime() })),
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
      resources: resourceRuns(target.decisions).map(([start, end]) => {
        const decisions = target.decisions.slice(start, end).map((decision, offset) => ({
          ...decision,
          created_at: new Date(target.created_at[start + offset] as number).toISOString(),
        }));
        const deletes = decisions.filter((d) => d.action === 'delete').length;
        return {
          resource_key: (decisions[0] as Decision).resource_key,
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

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** What the deletions free: known bytes, and how many have no size (never shown as 0 B). */
export function deletedSize(
  summary: Pick<PlanSummary, 'deleted' | 'deleted_bytes' | 'deleted_unknown_size'>,
): string {
  const unknown = summary.deleted_unknown_size ?? 0;
  if (summary.deleted > 0 && unknown >= summary.deleted) return 'size unknown';
  const known = formatBytes(summary.deleted_bytes);
  return unknown > 0 ? `${known} + ${unknown} of unknown size` : known;
}

/** A header and rows as aligned text lines; the last column is not padded. */
export function textColumns(header: readonly string[], rows: readonly string[][], indent: string): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] as string).length)),
  );
  const format = (row: readonly string[]) =>
    `${indent}${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number))).join('  ')}`;
  return [format(header), ...rows.map(format)];
}

/** The human table: per target a headline, per resource its backups newest first with action and reasons. */
export function renderPlanTable(result: PolicyPlan): string {
  const calendar = calendarFor(result.timezone);
  const two = (n: number) => String(n).padStart(2, '0');
  const when = (epochMs: number) => {
    const civil = calendar.civil(epochMs);
    const minute = Math.floor(civil.withinHour / 60_000);
    return `${civil.year}-${two(civil.month)}-${two(civil.day)} ${two(civil.hour)}:${two(minute)}`;
  };
  const lines: string[] = [
    `Retention plan at ${result.generated_at} (calendar in ${result.timezone}); nothing is deleted by planning.`,
  ];
  for (const target of result.targets) {
    const { summary } = target;
    const breaker =
      target.max_delete_share === undefined
        ? ''
        : ` (max ${percent(target.max_delete_share)}${summary.max_delete_share_exceeded ? ', EXCEEDED: the sweep will refuse' : ''})`;
    lines.push(
      '',
      `Target ${target.name} (${target.service}): listed ${target.listed}, in scope ${summary.considered}, ` +
        `${summary.resources} resources, keep ${summary.kept}, delete ${summary.deleted} ` +
        `(${deletedSize(summary)}), delete share ${percent(summary.delete_share)}${breaker}`,
    );
    for (const [start, end] of resourceRuns(target.decisions)) {
      const decisions = target.decisions.slice(start, end);
      const deletes = decisions.filter((d) => d.action === 'delete').length;
      lines.push(
        `  ${(decisions[0] as Decision).resource_key}: keep ${decisions.length - deletes}, delete ${deletes}`,
      );
      const rows = decisions.map((d, offset) => [
        d.action,
        when(target.created_at[start + offset] as number),
        d.backup_id,
        d.reasons.join(', '),
      ]);
      lines.push(
        ...textColumns(['ACTION', `CREATED (${result.timezone})`, 'BACKUP', 'REASONS'], rows, '    '),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
