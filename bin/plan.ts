/**
 * `npm run plan -- --policy FILE [--table] [--json] [--cloud | --fixture FILE] [--html FILE] [--simulate 90d] [--save PLAN.json]`:
 * lists every target of the policy through the Huawei client, plans it and prints a summary per target
 * (`--table`: every backup with its action, reasons and names; `--json`: the JSON plan, alone on stdout;
 * `--simulate`: the next N days of sweeps; `--html`: the report page; `--save`: the sweep's plan with its
 * plan_hash, for `npm run sweep -- --plan PLAN.json --approve HASH`). It never sends a DELETE.
 *
 * By default it runs against the embedded simulator with the demo fleet (policies/demo.yaml names its
 * projects) or, with `--fixture`, a recorded fleet; `--cloud` uses the real cloud with the credentials and
 * endpoints from the environment (lib/config.ts); the policy's regions are the ones called.
 */
import { statSync } from 'node:fs';
import { planFile, writePlanFile } from '../lib/approval/plan-file.ts';
import { defineCommand } from '../lib/cli/args.ts';
import { cloudClient } from '../lib/cli/cloud.ts';
import { CheckFailedError, UsageError } from '../lib/cli/exit.ts';
import { readInputFile } from '../lib/cli/files.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { createOutput } from '../lib/cli/output.ts';
import { renderPlanSummary, renderPlanTable } from '../lib/cli/plan-view.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { closeHuaweiPools } from '../lib/huawei/client.ts';
import {
  recordListings,
  renderSimulationTable,
  simulatePlan,
  writePlanReport,
} from '../lib/report/plan-report.ts';
import { planTargets, toPlanJson } from '../lib/retention/plan-targets.ts';
import { loadPolicy } from '../lib/retention/policy.ts';
import { parseSimulationDays } from '../lib/retention/simulate.ts';
import type { Backup } from '../lib/services/backup.ts';
import { adapters, type HuaweiRequester } from '../lib/services/index.ts';
import { pairProjectsWithRegions } from '../lib/services/projects.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';
import { planSweep } from '../lib/sweep/plan-sweep.ts';

const planCommand = defineCommand({
  name: 'plan',
  summary:
    'Lists every target of a policy and prints what a sweep would keep and delete. Never deletes anything.',
  synopsis:
    '--policy FILE [--table] [--json] [--cloud | --fixture FILE] [--html FILE] [--simulate 90d] [--save PLAN.json]',
  options: {
    policy: { type: 'string', value: 'FILE', description: 'the retention policy (YAML or JSON)' },
    table: { type: 'boolean', description: 'print every backup with its action, reasons and names' },
    json: { type: 'boolean', description: 'print the JSON plan on stdout (progress goes to stderr)' },
    cloud: {
      type: 'boolean',
      description: 'list the real cloud (credentials and endpoints from the environment, see .env.example)',
    },
    simulator: { type: 'boolean', description: 'list the embedded simulator (the default)' },
    fixture: {
      type: 'string',
      value: 'FILE',
      description: 'load the embedded simulator from a fleet fixture (doctor --record writes one)',
    },
    html: { type: 'string', value: 'FILE', description: 'also write the plan as an HTML report page' },
    simulate: {
      type: 'string',
      value: 'Nd',
      description: 'also simulate the next N days of daily sweeps (e.g. 90d; in the JSON as `simulation`)',
    },
    save: {
      type: 'string',
      value: 'PLAN.json',
      description:
        'also save the sweep’s plan with its plan_hash (apply it with npm run sweep -- --plan PLAN.json --approve HASH)',
    },
  },
  notes: [
    'exit codes: 0 planned; 1 a listing failed (or --save: the circuit breaker refuses the plan, nothing saved); 2 invalid arguments, policy or configuration, or a --save file that cannot be written',
    'with --json and --save: the saved plan’s file, plan_id, plan_hash and deletions are in the key `saved_plan`',
    'examples:\n  npm run plan -- --policy policies/demo.yaml\n  npm run plan -- --policy my-policy.yaml --cloud --table\n  npm run plan -- --policy policies/demo.yaml --save plan.json   (then npm run sweep -- --plan plan.json --approve HASH)',
  ],
});

runCommandAndExit(planCommand, async ({ values }) => {
  if (values.policy === undefined) throw new UsageError('--policy FILE is required');
  if (values.cloud && values.simulator) throw new UsageError('choose one of --cloud and --simulator');
  if (values.cloud && values.fixture !== undefined)
    throw new UsageError('--fixture replays a fleet locally: drop --cloud');
  if (values.json && values.table) throw new UsageError('choose one of --json and --table');
  let simulateDays: number | undefined;
  try {
    simulateDays = values.simulate === undefined ? undefined : parseSimulationDays(values.simulate);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.save !== undefined && isDirectory(values.save))
    throw new UsageError(
      `--save ${values.save}: is a directory; name the plan file, e.g. ${values.save}/plan.json`,
    );
  const out = createOutput(values.json);
  const text = readInputFile('--policy', values.policy);
  const policy = loadPolicy(text, values.policy);
  const regions = [...new Set(policy.targets.flatMap((target) => target.regions))];
  let sim: Simulator | undefined;
  let client: HuaweiRequester;
  if (values.cloud) {
    client = cloudClient(regions);
  } else {
    const fleet = values.fixture === undefined ? undefined : loadFleetFixture(values.fixture);
    sim = await startDemoSimulator(undefined, fleet);
    client = simulatorClient(sim, regions);
    out.progress(
      `Planning against the embedded simulator (${values.fixture === undefined ? 'the demo fleet' : `fleet ${values.fixture}`}, ${sim.url}); --cloud for the real cloud`,
    );
  }
  try {
    const list = async function* (target: {
      service: Backup['service'];
      projects: readonly string[];
      regions: readonly string[];
    }): AsyncIterable<Backup> {
      // Each project in its own region only: never the same backups twice.
      const { listings } = await pairProjectsWithRegions(client, target, regionCache);
      for (const { region, projectId } of listings) {
        yield* adapters[target.service].listBackups(client, { region, projectId });
      }
    };
    const regionCache = new Map<string, Promise<string>>();
    const recorder = recordListings(list);
    const now = new Date();
    const result = await planTargets(policy, recorder.list, now, (progress) => {
      if (progress.phase === 'planned') return;
      out.progress(
        `  [${progress.targetIndex + 1}/${progress.targetCount}] ${progress.target}: ${progress.phase} ${progress.listed} backups`,
      );
    });
    const simulations =
      simulateDays === undefined
        ? undefined
        : simulatePlan(policy, result, recorder.listings, { days: simulateDays });
    // Saved before printing, so that --json carries the saved plan's hash too; a refusal ends the command
    // after the plan it refused was printed.
    let saved: SavedPlan | undefined;
    let saveRefused: unknown;
    if (values.save !== undefined) {
      const fleet = values.cloud
        ? ' --cloud'
        : values.fixture === undefined
          ? ''
          : ` --fixture ${values.fixture}`;
      try {
        saved = await savePlan(values.save, policy, client, now, fleet);
      } catch (error) {
        if (!(error instanceof CheckFailedError)) throw error;
        saveRefused = error;
      }
    }
    if (values.json)
      out.result({
        ...toPlanJson(result),
        ...(simulations === undefined ? {} : { simulation: [...simulations.values()] }),
        ...(saved === undefined ? {} : { saved_plan: saved.json }),
      });
    else if (values.table) process.stdout.write(renderPlanTable(result));
    else process.stdout.write(`${renderPlanSummary(result)}(--table for every backup with its reasons)\n`);
    if (simulations !== undefined && !values.json)
      process.stdout.write(`\n${renderSimulationTable(simulations, result.timezone)}`);
    if (values.html !== undefined) {
      const bytes = writePlanReport({
        file: values.html,
        plan: result,
        listings: recorder.listings,
        simulations,
      });
      out.progress(`HTML report: ${values.html} (${(bytes / 1024).toFixed(0)} KiB)`);
    }
    if (saveRefused !== undefined) throw saveRefused;
    for (const line of saved?.lines ?? []) out.say(line);
    return 0;
  } finally {
    await sim?.close();
    await closeHuaweiPools();
  }
});

function isDirectory(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}

interface SavedPlan {
  /** `saved_plan` of `--json`. */
  readonly json: { file: string; plan_id: string; plan_hash: string; deletions: number; bytes: number };
  /** What a person reads: where it went, and the command that applies it. */
  readonly lines: readonly string[];
}

/**
 * `--save`: the plan exactly as a sweep makes it (lib/sweep/plan-sweep.ts: deletion ids, the veto of other
 * targets' keeps, the circuit breaker), listed once more, written with its hash. A plan the breaker refuses
 * or with a failed listing is not saved: a sweep would not run it either.
 */
async function savePlan(
  file: string,
  policy: Parameters<typeof planFile>[0],
  client: HuaweiRequester,
  now: Date,
  /** ` --cloud`, ` --fixture FILE` or empty: the apply command must see the same fleet. */
  fleet: string,
): Promise<SavedPlan> {
  const plan = await planSweep({ policy, now }, { client, adapters });
  const failed = plan.summary.targets.filter((target) => target.failure !== undefined).map((t) => t.name);
  if (failed.length > 0) throw new CheckFailedError(`listings of ${failed.join(', ')} failed; no plan saved`);
  if (plan.refusals.length > 0) {
    const names = plan.refusals.map((refusal) => refusal.target).join(', ');
    throw new CheckFailedError(`the circuit breaker (max_delete_share) refuses ${names}; no plan saved`);
  }
  const saved = planFile(policy, plan, now);
  let bytes: number;
  try {
    bytes = writePlanFile(file, saved);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new UsageError(`--save ${file}: cannot write it (${code}); no plan saved`);
  }
  return {
    json: {
      file,
      plan_id: saved.plan_id,
      plan_hash: saved.plan_hash,
      deletions: saved.items.length,
      bytes,
    },
    lines: [
      `Saved plan ${file} (${(bytes / 1024).toFixed(0)} KiB): ${saved.items.length} deletions, plan_id ${saved.plan_id}, plan_hash ${saved.plan_hash}`,
      `Review it, then apply exactly it: npm run sweep -- --plan ${file} --approve ${saved.plan_hash}${fleet}`,
    ],
  };
}
