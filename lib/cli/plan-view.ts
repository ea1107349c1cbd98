/**
 * What `plan` and `demo` print for a plan: a summary by default (one row per target, numbers that add up:
 * listed = keep + delete + out of scope), and with `--table` every backup with its action, reasons and
 * names beside the ids. Nothing here decides anything: it renders `planTargets`' result.
 */
import { calendarFor } from '../retention/calendar.ts';
import { type PolicyPlan, resourceRuns, type TargetPlan } from '../retention/plan-targets.ts';
import type { Decision } from '../retention/planner.ts';
import { formatSizeTotal, renderColumns } from './output.ts';

const percent = (share: number) => `${(share * 100).toFixed(1)}%`;

function headline(result: PolicyPlan): string {
  return `Retention plan at ${result.generated_at} (calendar in ${result.timezone}); nothing is deleted by planning.`;
}

/** Bytes the deletions of a target reclaim, `unknown` where the service reports no size. */
export function plannedSize(target: TargetPlan): string {
  return formatSizeTotal(target.summary.deleted_bytes, target.deleted_unknown_size, target.summary.deleted);
}

function breaker(target: TargetPlan): string {
  if (target.max_delete_share === undefined) return '-';
  return `${percent(target.max_delete_share)}${target.summary.max_delete_share_exceeded ? ' EXCEEDED' : ''}`;
}

/** One row per target and a total: listed = keep + delete + out of scope, on every row. */
export function renderPlanSummary(result: PolicyPlan): string {
  const header = [
    'TARGET',
    'SERVICE',
    'LISTED',
    'KEEP',
    'DELETE',
    'OUT OF SCOPE',
    'RESOURCES',
    'RECLAIMS',
    'SHARE',
    'MAX SHARE',
  ];
  const rows = result.targets.map((target) => [
    target.name,
    target.service,
    String(target.listed),
    String(target.summary.kept),
    String(target.summary.deleted),
    String(target.summary.ignored),
    String(target.summary.resources),
    plannedSize(target),
    percent(target.summary.delete_share),
    breaker(target),
  ]);
  const sum = (pick: (target: TargetPlan) => number) =>
    result.targets.reduce((total, t) => total + pick(t), 0);
  const deleted = sum((t) => t.summary.deleted);
  rows.push([
    'total',
    '',
    String(sum((t) => t.listed)),
    String(sum((t) => t.summary.kept)),
    String(deleted),
    String(sum((t) => t.summary.ignored)),
    String(sum((t) => t.summary.resources)),
    formatSizeTotal(
      sum((t) => t.summary.deleted_bytes),
      sum((t) => t.deleted_unknown_size),
      deleted,
    ),
    '',
    '',
  ]);
  const lines = [headline(result), '', ...renderColumns(header, rows)];
  for (const target of result.targets) {
    if (target.summary.max_delete_share_exceeded)
      lines.push(
        `  ${target.name}: deletes ${percent(target.summary.delete_share)} of its candidates, above max_delete_share ${percent(target.max_delete_share ?? 0)}: the sweep will refuse it`,
      );
    if (target.listed === 0) lines.push(`  ${target.name}: listed nothing (check its projects and regions)`);
  }
  return `${lines.join('\n')}\n`;
}

/** `ecs-02ff-0 (csbs/ap-southeast-1/<project>/-/<server id>)`, or the key alone when no name was listed. */
export function resourceLabel(target: TargetPlan, key: string): string {
  const name = target.resource_names[key];
  return name === undefined ? key : `${name} (${key})`;
}

/** Every backup: per target a headline, per resource (name and key) its backups newest first with reasons. */
export function renderPlanTable(result: PolicyPlan): string {
  const calendar = calendarFor(result.timezone);
  const two = (n: number) => String(n).padStart(2, '0');
  const when = (epochMs: number) => {
    const civil = calendar.civil(epochMs);
    const minute = Math.floor(civil.withinHour / 60_000);
    return `${civil.year}-${two(civil.month)}-${two(civil.day)} ${two(civil.hour)}:${two(minute)}`;
  };
  const lines: string[] = [headline(result)];
  for (const target of result.targets) {
    const { summary } = target;
    const max =
      target.max_delete_share === undefined
        ? ''
        : ` (max ${percent(target.max_delete_share)}${summary.max_delete_share_exceeded ? ', EXCEEDED: the sweep will refuse' : ''})`;
    lines.push(
      '',
      `Target ${target.name} (${target.service}): listed ${target.listed}, in scope ${summary.considered}, ` +
        `out of scope ${summary.ignored}, ${summary.resources} resources, keep ${summary.kept}, delete ${summary.deleted} ` +
        `(${plannedSize(target)}), delete share ${percent(summary.delete_share)}${max}`,
    );
    for (const [start, end] of resourceRuns(target.decisions)) {
      const decisions = target.decisions.slice(start, end);
      const deletes = decisions.filter((d) => d.action === 'delete').length;
      const key = (decisions[0] as Decision).resource_key;
      lines.push(`  ${resourceLabel(target, key)}: keep ${decisions.length - deletes}, delete ${deletes}`);
      const rows = decisions.map((d, offset) => [
        d.action,
        when(target.created_at[start + offset] as number),
        d.backup_id,
        target.backup_names[d.backup_id] ?? '-',
        d.reasons.join(', '),
      ]);
      lines.push(
        ...renderColumns(
          ['ACTION', `CREATED (${result.timezone})`, 'BACKUP', 'NAME', 'REASONS'],
          rows,
          '    ',
        ),
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
