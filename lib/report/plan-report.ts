/**
 * What `npm run plan -- --html FILE --simulate 90d` and the demo add to a plan: the listings the plan saw
 * (recorded while planning, so nothing is listed twice), the forward simulation per target, its terminal
 * table, and the HTML file.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { calendarFor } from '../retention/calendar.ts';
import { type ListBackups, type PolicyPlan, textColumns } from '../retention/plan-targets.ts';
import { type Policy, resolveTargets } from '../retention/policy.ts';
import {
  formatSpan,
  SIMULATION_ASSUMPTIONS,
  type SimulationOptions,
  simulateTarget,
  type TargetSimulation,
} from '../retention/simulate.ts';
import { type Backup, resourceKey } from '../services/backup.ts';
import { renderReportHtml } from './html.ts';
import { reportFromPlan } from './model.ts';

/** Wraps a listing function so that every backup it yields is kept per target name. */
export function recordListings(list: ListBackups): {
  readonly list: ListBackups;
  readonly listings: Map<string, Backup[]>;
} {
  const listings = new Map<string, Backup[]>();
  return {
    listings,
    list: async function* (target) {
      const seen: Backup[] = [];
      listings.set(target.name, seen);
      for await (const backup of list(target)) {
        seen.push(backup);
        yield backup;
      }
    },
  };
}

/** Simulates every target over the backups its plan decided (its scope), from the plan's own `now`. */
export function simulatePlan(
  policy: Policy,
  result: PolicyPlan,
  listings: ReadonlyMap<string, readonly Backup[]>,
  options: SimulationOptions,
): Map<string, TargetSimulation> {
  const now = new Date(result.generated_at);
  const simulations = new Map<string, TargetSimulation>();
  for (const target of resolveTargets(policy)) {
    const planned = result.targets.find((entry) => entry.name === target.name);
    if (planned === undefined) continue;
    const decided = new Set(planned.decisions.map((d) => `${d.resource_key}#${d.backup_id}`));
    const inScope = (listings.get(target.name) ?? []).filter((backup) =>
      decided.has(`${resourceKey(backup)}#${backup.id}`),
    );
    simulations.set(target.name, simulateTarget(target.name, inScope, target, now, options));
  }
  return simulations;
}

/** The terminal table: per target and resource, what the restore points look like after N days. */
export function renderSimulationTable(
  simulations: ReadonlyMap<string, TargetSimulation>,
  timezone: string,
): string {
  const calendar = calendarFor(timezone);
  const two = (n: number) => String(n).padStart(2, '0');
  const day = (iso: string | null) => {
    if (iso === null) return '-';
    const civil = calendar.civil(Date.parse(iso));
    return `${civil.year}-${two(civil.month)}-${two(civil.day)} ${two(civil.hour)}:${two(Math.floor(civil.withinHour / 60_000))}`;
  };
  const lines = [SIMULATION_ASSUMPTIONS];
  for (const [name, simulation] of simulations) {
    lines.push('', `Target ${name}: after ${simulation.days} days (calendar in ${timezone})`);
    const header = [
      'RESOURCE',
      'CADENCE',
      'POINTS',
      'OLDEST',
      'NEWEST',
      'LARGEST GAP',
      'MAX_GAP',
      'CURRENT BACKUPS GO',
    ];
    const rows = simulation.resources.map((resource) => {
      const byDay = new Map<number, number>();
      let staying = 0;
      for (const entry of resource.current) {
        if (entry.deleted_day === null) staying += 1;
        else byDay.set(entry.deleted_day, (byDay.get(entry.deleted_day) ?? 0) + 1);
      }
      const goes = [...byDay]
        .sort(([a], [b]) => a - b)
        .map(([sweepDay, count]) => `day ${sweepDay}: ${count}`);
      if (staying > 0) goes.push(`stay: ${staying}`);
      return [
        resource.resource_key,
        resource.cadence_ms === null ? 'unknown' : formatSpan(resource.cadence_ms),
        String(resource.restore_points),
        day(resource.oldest),
        day(resource.newest),
        formatSpan(resource.largest_gap_ms),
        String(resource.max_gap_points),
        goes.join(', '),
      ];
    });
    lines.push(...textColumns(header, rows, '  '));
  }
  return `${lines.join('\n')}\n`;
}

export interface WritePlanReportInput {
  readonly file: string;
  readonly plan: PolicyPlan;
  readonly listings: ReadonlyMap<string, readonly Backup[]>;
  readonly simulations?: ReadonlyMap<string, TargetSimulation> | undefined;
  readonly title?: string | undefined;
}

/** Renders the plan (and simulation) as the self-contained HTML report; returns the file's size in bytes. */
export function writePlanReport(input: WritePlanReportInput): number {
  const html = renderReportHtml(
    reportFromPlan({
      plan: input.plan,
      listings: input.listings,
      simulations: input.simulations,
      title: input.title,
    }),
  );
  mkdirSync(dirname(input.file), { recursive: true });
  writeFileSync(input.file, html);
  return Buffer.byteLength(html);
}
