/**
 * `npm run plan -- --policy FILE [--json] [--cloud] [--html FILE] [--simulate 90d]`: lists every target of the policy through the Huawei
 * client, plans it, and prints a table per resource (or, with --json, the JSON plan). It never sends a DELETE.
 *
 * By default it runs against the embedded simulator with the demo fleet (policies/demo.yaml names its
 * projects); `--cloud` uses the real cloud with the credentials and endpoints from the environment
 * (HUAWEICLOUD_SDK_AK/SK or HWC_CREDENTIALS_SECRET_ARN, HWC_REGION; see lib/config.ts).
 * Exit codes: 0 planned, 2 invalid policy or arguments, 1 anything else (listing failed).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { config, requireRegion } from '../lib/config.ts';
import { closeHuaweiPools, createHuaweiClient } from '../lib/huawei/client.ts';
import {
  recordListings,
  renderSimulationTable,
  simulatePlan,
  writePlanReport,
} from '../lib/report/plan-report.ts';
import { planTargets, renderPlanTable, toPlanJson } from '../lib/retention/plan-targets.ts';
import { loadPolicy, type Policy, PolicyError } from '../lib/retention/policy.ts';
import { parseSimulationDays } from '../lib/retention/simulate.ts';
import { authProviderFor, endpointResolverFor } from '../lib/runtime.ts';
import type { Backup } from '../lib/services/backup.ts';
import { adapters, type HuaweiRequester } from '../lib/services/index.ts';
import { pairProjectsWithRegions } from '../lib/services/projects.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run plan -- --policy FILE [--json] [--cloud | --simulator] [--html FILE] [--simulate 90d]\n`,
  );
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      policy: { type: 'string' },
      json: { type: 'boolean', default: false },
      cloud: { type: 'boolean', default: false },
      simulator: { type: 'boolean', default: false },
      html: { type: 'string' },
      simulate: { type: 'string' },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  usage((error as Error).message);
}
const { values } = parsed;
if (values.policy === undefined) usage('--policy is required');
if (values.cloud && values.simulator) usage('choose one of --cloud and --simulator');
let simulateDays: number | undefined;
try {
  simulateDays = values.simulate === undefined ? undefined : parseSimulationDays(values.simulate);
} catch (error) {
  usage((error as Error).message);
}

async function main(policyFile: string): Promise<number> {
  let policy: Policy;
  try {
    policy = loadPolicy(readFileSync(policyFile, 'utf8'), policyFile);
  } catch (error) {
    if (error instanceof PolicyError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let sim: Simulator | undefined;
  let client: HuaweiRequester;
  if (values.cloud) {
    const cfg = config();
    const endpoints = endpointResolverFor(cfg);
    client = createHuaweiClient({ endpoints, auth: authProviderFor(cfg, endpoints, requireRegion(cfg)) });
  } else {
    sim = await startDemoSimulator();
    const regions = [...new Set(policy.targets.flatMap((target) => target.regions))];
    client = simulatorClient(sim, regions);
    process.stderr.write(
      `Planning against the embedded simulator (${sim.url}); --cloud for the real cloud\n`,
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
    const result = await planTargets(policy, recorder.list, new Date(), (progress) => {
      if (progress.phase === 'planned') return;
      process.stderr.write(
        `  [${progress.targetIndex + 1}/${progress.targetCount}] ${progress.target}: ${progress.phase} ${progress.listed} backups\n`,
      );
    });
    const simulations =
      simulateDays === undefined
        ? undefined
        : simulatePlan(policy, result, recorder.listings, { days: simulateDays });
    const json =
      simulations === undefined
        ? toPlanJson(result)
        : { ...toPlanJson(result), simulation: [...simulations.values()] };
    process.stdout.write(values.json ? `${JSON.stringify(json, null, 2)}\n` : renderPlanTable(result));
    if (simulations !== undefined && !values.json)
      process.stdout.write(`\n${renderSimulationTable(simulations, result.timezone)}`);
    if (values.html !== undefined) {
      const bytes = writePlanReport({
        file: values.html,
        plan: result,
        listings: recorder.listings,
        simulations,
      });
      process.stderr.write(`HTML report: ${values.html} (${(bytes / 1024).toFixed(0)} KiB)\n`);
    }
    return 0;
  } finally {
    await sim?.close();
    await closeHuaweiPools();
  }
}

main(values.policy).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`plan failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
