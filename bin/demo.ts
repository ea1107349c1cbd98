/**
 * `npm run demo [-- --table --json --seed N --fixture FILE --policy FILE --html FILE --sweep-html FILE]`: the embedded default, end to end.
 * Starts the Huawei Cloud simulator in this process with the demo fleet (4 projects in 2 regions, CSBS, CBR
 * and DDS, some backups in progress or failed, a few protected by the policy), checks that policies/demo.yaml
 * names that fleet's projects, runs it — a dry run first (plan and summary), then the real sweep with live
 * progress — prints the report, and checks from the simulator's own request log that no kept backup got a
 * DELETE, none was deleted twice and CSBS never ran more than 5 deletions of a project at once.
 * Exits 1 when any check fails (including a policy that matches nothing), 2 on invalid arguments.
 */
import { defineCommand, integerOption } from '../lib/cli/args.ts';
import { CheckFailedError, UsageError } from '../lib/cli/exit.ts';
import { readInputFile } from '../lib/cli/files.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { createOutput, formatCodes, formatSizeTotal, renderColumns } from '../lib/cli/output.ts';
import { renderPlanSummary, renderPlanTable } from '../lib/cli/plan-view.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { closeHuaweiPools } from '../lib/huawei/client.ts';
import { createMemoryLedger } from '../lib/ledger/index.ts';
import { recordListings, simulatePlan, writePlanReport } from '../lib/report/plan-report.ts';
import { writeStoredSweepReport } from '../lib/report/stored-sweep.ts';
import { type PolicyPlan, planTargets, toPlanJson } from '../lib/retention/plan-targets.ts';
import { loadPolicy } from '../lib/retention/policy.ts';
import type { Backup } from '../lib/services/backup.ts';
import { adapters } from '../lib/services/index.ts';
import { emptyTargets, policyFleetMismatches, reportBalance } from '../lib/sweep/demo-checks.ts';
import { DEMO_POLICY_FILE, DEMO_SEED, simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';
import type { SweepReport } from '../lib/sweep/report.ts';
import { runSweep, type SweepProgress } from '../lib/sweep/sweep.ts';
import { checkAgainstSimulator } from '../lib/sweep/verify.ts';

const demoCommand = defineCommand({
  name: 'demo',
  summary:
    'Plans and runs a real sweep of policies/demo.yaml against the embedded Huawei Cloud simulator, then checks the simulator log: nothing kept was deleted, nothing twice, at most 5 CSBS deletions per project at once.',
  synopsis:
    '[--table] [--json] [--seed N | --fixture FILE] [--policy FILE] [--html FILE] [--sweep-html FILE]',
  options: {
    policy: {
      type: 'string',
      value: 'FILE',
      default: DEMO_POLICY_FILE,
      description: 'the policy to run (it must name the fleet’s projects)',
    },
    seed: {
      type: 'string',
      value: 'N',
      default: String(DEMO_SEED),
      description: 'the demo fleet’s seed (policies/demo.yaml matches the default)',
    },
    fixture: {
      type: 'string',
      value: 'FILE',
      description: 'load the simulator from a fleet fixture instead of the generated demo fleet',
    },
    table: { type: 'boolean', description: 'print the plan with every backup, its action and reasons' },
    json: { type: 'boolean', description: 'print one JSON document on stdout (the text goes to stderr)' },
    html: {
      type: 'string',
      value: 'FILE',
      default: '.hwc-retention/demo-report.html',
      description: 'where to write the dry run’s plan as an HTML report with a 90-day simulation',
    },
    'sweep-html': {
      type: 'string',
      value: 'FILE',
      default: '.hwc-retention/demo-sweep-report.html',
      description: 'where to write the real sweep’s stored report (as GET /sweeps/{id}/report renders it)',
    },
  },
  notes: ['exit codes: 0 every check passed; 1 a check failed; 2 invalid arguments or policy'],
});

const started = performance.now();
const elapsed = () => `${((performance.now() - started) / 1000).toFixed(1)}s`;

runCommandAndExit(demoCommand, async ({ values }) => {
  const seed = integerOption('seed', values.seed);
  if (values.fixture !== undefined && values.seed !== String(DEMO_SEED))
    throw new UsageError('choose one of --seed and --fixture');
  if (values.json && values.table) throw new UsageError('choose one of --json and --table');
  const out = createOutput(values.json);
  const say = out.say;
  const policyText = readInputFile('--policy', values.policy);
  const policy = loadPolicy(policyText, values.policy);
  const fleet = values.fixture === undefined ? undefined : loadFleetFixture(values.fixture);
  const sim = await startDemoSimulator(seed, fleet);
  try {
    const regions = [...new Set([...sim.state.projects.values()].map((project) => project.region))];
    const client = simulatorClient(sim, regions);
    const ledger = createMemoryLedger();
    const counts = sim.state.counts();
    const fleetName = values.fixture === undefined ? `demo fleet, seed ${seed}` : `fleet ${values.fixture}`;
    say(
      `Simulator on ${sim.url} (${fleetName}): ${sim.state.projects.size} projects, ${counts.csbs} CSBS items, ${counts.cbr} CBR backups, ${counts.dds} DDS backups`,
    );
    say(`Policy ${values.policy}: ${policy.targets.length} targets`);

    const mismatches = policyFleetMismatches(policy, sim.state.projects);
    if (mismatches.length > 0) {
      for (const problem of mismatches) say(`  MISMATCH ${problem}`);
      throw new CheckFailedError(
        `the policy does not match the simulator's fleet (${mismatches.length} problems above). ` +
          `${DEMO_POLICY_FILE} names the demo fleet of seed ${DEMO_SEED}: drop --seed, or print a policy for this fleet with ` +
          `npm run projects -- --policy-template${values.fixture === undefined ? ` --seed ${seed}` : ` --fixture ${values.fixture}`}`,
      );
    }

    // What exists before anything is deleted, for the independent check at the end.
    const before: Backup[] = [];
    const listings = new Map<string, Backup[]>();
    for (const project of sim.state.projects.values()) {
      for (const adapter of Object.values(adapters)) {
        const list: Backup[] = [];
        for await (const backup of adapter.listBackups(client, {
          region: project.region,
          projectId: project.id,
        }))
          list.push(backup);
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
    say((values.table ? renderPlanTable(plan) : renderPlanSummary(plan)).trimEnd());
    if (!values.table) say('(--table for every backup with its reasons)');
    const reportBytes = writePlanReport({
      file: values.html,
      plan,
      listings: recorder.listings,
      simulations: simulatePlan(policy, plan, recorder.listings, { days: 90 }),
      title: 'Demo retention plan',
    });
    say(
      `HTML report of this plan with a 90-day simulation: ${values.html} (${(reportBytes / 1024).toFixed(0)} KiB)`,
    );
    const empty = emptyTargets(plan);
    if (empty.length > 0)
      throw new CheckFailedError(
        `${empty.length} target(s) listed nothing: ${empty.join(', ')}; the policy names projects or regions with no backups`,
      );
    const dry = await runSweep({ policy, dryRun: true, now: new Date() }, { client, ledger });
    const deletesAfterDryRun = sim.inspect().requests.filter((r) => r.method === 'DELETE').length;
    say(
      `Dry run ${dry.sweep_id}: ${dry.totals.planned} deletions planned, ${dry.totals.kept} kept, DELETE calls so far: ${deletesAfterDryRun}`,
    );
    say(renderReport(dry, plan).join('\n'));
    if (deletesAfterDryRun > 0)
      throw new CheckFailedError(`the dry run sent ${deletesAfterDryRun} DELETE calls`);
    if (dry.status === 'refused') {
      for (const refusal of dry.refused ?? [])
        say(
          `  REFUSED ${refusal.target}: would delete ${refusal.planned} of ${refusal.candidates} (${(refusal.delete_share * 100).toFixed(1)}%), max_delete_share ${(refusal.max_delete_share * 100).toFixed(1)}%`,
        );
      throw new CheckFailedError('the circuit breaker refused the sweep (max_delete_share)');
    }

    say('');
    say(`== 2. Sweep (real) [${elapsed()}]`);
    const progress = new Map<string, { done: number; total: number }>();
    const line = () => [...progress].map(([name, p]) => `${name} ${p.done}/${p.total}`).join('  ');
    let last = '';
    const ticker = setInterval(() => {
      const now = line();
      if (now !== '' && now !== last) out.progress(`  [${elapsed()}] deleted/total: ${now}`);
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
    say(renderReport(report, plan).join('\n'));
    await writeStoredSweepReport(ledger, report.sweep_id, values['sweep-html']);
    say(`HTML report of the stored sweep (GET /sweeps/${report.sweep_id}/report): ${values['sweep-html']}`);
    const balance = reportBalance(report, plan);
    const unbalanced = balance.filter((target) => !target.balanced);
    for (const target of unbalanced)
      say(
        `  MISCOUNT ${target.name}: listed ${target.listed} ≠ kept ${target.kept} + planned ${target.planned} + out of scope ${target.outOfScope}`,
      );

    say('');
    say(`== 4. Check against the simulator's request log [${elapsed()}]`);
    const stored = await ledger.getSweep(report.sweep_id);
    const check = checkAgainstSimulator(sim.inspect(), before, stored?.items ?? []);
    const outOfScope = balance.reduce((sum, target) => sum + target.outOfScope, 0);
    const untargeted = check.kept - report.totals.kept - outOfScope;
    say(
      `  kept backups that received a DELETE: ${check.keptWithDelete.length} (of ${check.kept} not planned: ${report.totals.kept} kept, ${outOfScope} out of scope, ${untargeted} in no target)`,
    );
    say(`  backups deleted more than once:      ${check.deletedTwice.length} (of ${check.planned} deleted)`);
    say('  most CSBS deletions in flight at once, per project (cap 5):');
    for (const [projectId, most] of Object.entries(check.csbsMaxConcurrent).sort()) {
      const project = sim.state.projects.get(projectId);
      say(
        `    ${projectId}  ${project ? `${project.region}  ${project.name}` : '(not in the fleet)'}  ${most}`,
      );
    }
    for (const id of [...check.keptWithDelete, ...check.deletedTwice]) say(`  VIOLATION ${id}`);
    const problems = [
      ...(check.ok ? [] : ['the simulator log shows a violation']),
      ...(report.status === 'completed' ? [] : [`the sweep ended ${report.status}`]),
      ...(unbalanced.length === 0 ? [] : [`${unbalanced.length} target(s) whose counts do not add up`]),
      ...(untargeted < 0 ? ['the report counts more backups than the simulator held'] : []),
    ];
    if (values.json)
      out.result({
        ok: problems.length === 0,
        problems,
        simulator: { url: sim.url, projects: [...sim.state.projects.values()], counts },
        policy: values.policy,
        plan: toPlanJson(plan),
        dry_run: dry,
        report,
        check: { ...check, not_planned: { kept: report.totals.kept, out_of_scope: outOfScope, untargeted } },
      });
    if (problems.length > 0) throw new CheckFailedError(`FAILED: ${problems.join('; ')} [${elapsed()}]`);
    say(`OK [${elapsed()}]`);
    return 0;
  } finally {
    await sim.close();
    await closeHuaweiPools();
  }
});

/** The report as a table: listed = kept + planned + out of scope on every row, then what the deletes did. */
function renderReport(report: SweepReport, plan: PolicyPlan): string[] {
  const planned = new Map(plan.targets.map((target) => [target.name, target]));
  const header = [
    'TARGET',
    'LISTED',
    'KEPT',
    'PLANNED',
    'OUT OF SCOPE',
    'DELETED',
    'GONE',
    'FAILED',
    'SKIPPED',
    'RECLAIMED',
  ];
  const row = (name: string, t: SweepReport['totals'], outOfScope: number, unknownSizes: number) => [
    name,
    String(t.listed),
    String(t.kept),
    String(t.planned),
    String(outOfScope),
    String(t.deleted),
    String(t.already_gone),
    String(t.failed),
    String(t.skipped),
    formatSizeTotal(t.bytes_reclaimed, Math.min(unknownSizes, t.deleted), t.deleted),
  ];
  const rows = report.targets.map((target) => {
    const fromPlan = planned.get(target.name);
    return row(target.name, target, fromPlan?.summary.ignored ?? 0, fromPlan?.deleted_unknown_size ?? 0);
  });
  rows.push(
    row(
      'total',
      report.totals,
      plan.targets.reduce((sum, target) => sum + target.summary.ignored, 0),
      plan.targets.reduce((sum, target) => sum + target.deleted_unknown_size, 0),
    ),
  );
  const lines = renderColumns(header, rows);
  const codes = formatCodes({ ...report.totals.failure_codes, ...report.totals.skip_codes });
  if (codes !== '') lines.push(`  codes: ${codes}`);
  lines.push(
    `  status ${report.status}, ${(report.duration_ms / 1000).toFixed(1)} s, sweep id ${report.sweep_id}`,
  );
  return lines;
}
