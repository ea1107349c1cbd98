/**
 * `npm run demo [-- --table --json --seed N --html FILE --sweep-html FILE]`: the embedded default, end to end. Starts the Huawei Cloud
 * simulator in this process with a demo fleet (4 projects in 2 regions, CSBS, CBR and DDS, some backups in
 * progress or failed, a few protected by the policy), runs policies/demo.yaml against it — a dry run first
 * (plan and summary), then the real sweep with live progress — prints the report, and checks from the
 * simulator's own request log that no kept backup got a DELETE and none was deleted twice. Exits 1 if not.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closeHuaweiPools } from '../lib/huawei/client.ts';
import { createMemoryLedger } from '../lib/ledger/index.ts';
import { recordListings, simulatePlan, writePlanReport } from '../lib/report/plan-report.ts';
import { writeStoredSweepReport } from '../lib/report/stored-sweep.ts';
import { planTargets, renderPlanTable } from '../lib/retention/plan-targets.ts';
import { loadPolicy, PolicyError } from '../lib/retention/policy.ts';
import type { Backup } from '../lib/services/backup.ts';
import { adapters } from '../lib/services/index.ts';
import { DEMO_SEED, simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';
import type { SweepReport } from '../lib/sweep/report.ts';
import { runSweep, type SweepProgress } from '../lib/sweep/sweep.ts';
import { checkAgainstSimulator } from '../lib/sweep/verify.ts';

const { values } = parseArgs({
  options: {
    policy: { type: 'string', default: 'policies/demo.yaml' },
    seed: { type: 'string', default: String(DEMO_SEED) },
    table: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    // The dry run's plan as the HTML report, with a 90-day simulation (lib/report).
    html: { type: 'string', default: '.hwc-retention/demo-report.html' },
    // The real sweep's stored outcome, as GET /sweeps/{id}/report renders it.
    'sweep-html': { type: 'string', default: '.hwc-retention/demo-sweep-report.html' },
  },
});

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;
const say = (line = '') => process.stdout.write(`${line}\n`);

/** CSBS reports no sizes: nothing known is shown as `-`, not as 0. */
function gib(bytes: number, deleted: number): string {
  return bytes === 0 && deleted > 0 ? '-' : `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

function printReport(report: SweepReport): void {
  const header = ['TARGET', 'LISTED', 'KEPT', 'PLANNED', 'DELETED', 'GONE', 'FAILED', 'SKIPPED', 'RECLAIMED'];
  const rows = report.targets.map((t) => [
    t.name,
    String(t.listed),
    String(t.kept),
    String(t.planned),
    String(t.deleted),
    String(t.already_gone),
    String(t.failed),
    String(t.skipped),
    gib(t.bytes_reclaimed, t.deleted),
  ]);
  const total = report.totals;
  rows.push([
    'total',
    String(total.listed),
    String(total.kept),
    String(total.planned),
    String(total.deleted),
    String(total.already_gone),
    String(total.failed),
    String(total.skipped),
    gib(total.bytes_reclaimed, total.deleted),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: string[]) =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column] as number)).join('  ')}`;
  say(format(header));
  for (const row of rows) say(format(row));
  const codes = { ...total.failure_codes, ...total.skip_codes };
  if (Object.keys(codes).length > 0) say(`  codes: ${JSON.stringify(codes)}`);
  say(`  status ${report.status}, ${(report.duration_ms / 1000).toFixed(1)} s, sweep id ${report.sweep_id}`);
}

async function main(): Promise<number> {
  let policy: ReturnType<typeof loadPolicy>;
  try {
    policy = loadPolicy(readFileSync(values.policy, 'utf8'), values.policy);
  } catch (error) {
    if (error instanceof PolicyError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const sim = await startDemoSimulator(Number(values.seed));
  try {
    const client = simulatorClient(sim);
    const ledger = createMemoryLedger();
    const counts = sim.state.counts();
    say(
      `Simulator on ${sim.url}: ${sim.state.projects.size} projects, ${counts.csbs} CSBS items, ${counts.cbr} CBR backups, ${counts.dds} DDS backups`,
    );
    say(`Policy ${values.policy}: ${policy.targets.length} targets`);

    // What exists before anything is deleted, for the independent check at the end.
    const before: Backup[] = [];
    const listings = new Map<string, Backup[]>();
    for (const project of sim.state.projects.values()) {
      for (const adapter of Object.values(adapters)) {
        const list: Backup[] = [];
        for await (const backup of adapter.listBackups(client, {
          region: project.region,
          projectId: project.id,
        })) {
          list.push(backup);
        }
        listings.set(`${adapter.service}/${project.region}/${project.id}`, list);
        before.push(...list);
      }
    }

    say('');
    say(`== 1. Plan (dry run: no DELETE is sent) [${elapsed()}]`);
    const recorder = recordListings((target) =>
      target.regions.flatMap((region) =>
        target.projects.flatMap(
          (projectId) => listings.get(`${target.service}/${region}/${projectId}`) ?? [],
        ),
      ),
    );
    const plan = await planTargets(policy, recorder.list, new Date());
    const table = renderPlanTable(plan);
    // The full table lists every backup; by default show the target and resource lines only.
    say(
      values.table
        ? table
        : table
            .split('\n')
            .filter((line) => !line.startsWith('    '))
            .join('\n'),
    );
    if (!values.table) say('(run with --table for every backup with its reasons)');
    const simulations = simulatePlan(policy, plan, recorder.listings, { days: 90 });
    const reportBytes = writePlanReport({
      file: values.html,
      plan,
      listings: recorder.listings,
      simulations,
      title: 'Demo retention plan',
    });
    say(
      `HTML report of this plan with a 90-day simulation: ${values.html} (${(reportBytes / 1024).toFixed(0)} KiB)`,
    );
    const dry = await runSweep({ policy, dryRun: true, now: new Date() }, { client, ledger });
    say(
      `Dry run ${dry.sweep_id}: ${dry.totals.planned} deletions planned, ${dry.totals.kept} kept, DELETE calls so far: ${sim.inspect().requests.filter((r) => r.method === 'DELETE').length}`,
    );
    printReport(dry);
    if (dry.status === 'refused') {
      say(`Refused by the circuit breaker: ${JSON.stringify(dry.refused)}`);
      return 1;
    }

    say('');
    say(`== 2. Sweep (real) [${elapsed()}]`);
    const progress = new Map<string, { done: number; total: number }>();
    const line = () => [...progress].map(([name, p]) => `${name} ${p.done}/${p.total}`).join('  ');
    let last = '';
    const ticker = setInterval(() => {
      const now = line();
      if (now !== '' && now !== last) say(`  [${elapsed()}] deleted/total: ${now}`);
      last = now;
    }, 700);
    let throttles = 0;
    let report: SweepReport;
    try {
      report = await runSweep(
        { policy, dryRun: false, now: new Date() },
        {
          client,
          ledger,
          tracking: { baseMs: 100, capMs: 400, minDelayMs: 50 },
          retry: { busyDelayMs: 500, baseMs: 50, capMs: 1_000 },
          onProgress: (event: SweepProgress) => {
            if (event.type === 'planned') {
              for (const target of event.summary.targets)
                progress.set(target.name, { done: 0, total: target.planned });
            } else if (event.type === 'item') {
              progress.set(event.target, { done: event.done, total: event.total });
            } else if (event.type === 'lane' && event.event.type === 'throttled') throttles += 1;
          },
        },
      );
    } finally {
      clearInterval(ticker);
    }
    say(`  [${elapsed()}] deleted/total: ${line()}`);
    if (throttles > 0) say(`  lanes slowed down ${throttles} times on throttling`);

    say('');
    say(`== 3. Report [${elapsed()}]`);
    printReport(report);
    if (values.json) say(JSON.stringify(report, null, 2));
    await writeStoredSweepReport(ledger, report.sweep_id, values['sweep-html']);
    say(`HTML report of the stored sweep (GET /sweeps/${report.sweep_id}/report): ${values['sweep-html']}`);

    say('');
    say(`== 4. Check against the simulator's request log [${elapsed()}]`);
    const stored = await ledger.getSweep(report.sweep_id);
    const check = checkAgainstSimulator(sim.inspect(), before, stored?.items ?? []);
    say(`  kept backups that received a DELETE: ${check.keptWithDelete.length} (of ${check.kept} kept)`);
    say(`  backups deleted more than once:      ${check.deletedTwice.length} (of ${check.planned} deleted)`);
    say(`  most CSBS deletions in flight per project: ${JSON.stringify(check.csbsMaxConcurrent)} (cap 5)`);
    for (const id of [...check.keptWithDelete, ...check.deletedTwice]) say(`  VIOLATION ${id}`);
    const ok = check.ok && report.status === 'completed';
    say(ok ? `OK [${elapsed()}]` : `FAILED: ${report.status} [${elapsed()}]`);
    return ok ? 0 : 1;
  } finally {
    await sim.close();
    await closeHuaweiPools();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `demo failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
