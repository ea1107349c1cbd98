/**
 * `npm run projects [-- --cloud] [--policy-template] [--json]`: the projects (and so the regions) the
 * credentials can use, through IAM `GET /v3/auth/projects` — the ids a policy's `projects:` needs. With
 * `--policy-template` it prints a conservative starter policy for them instead (max_delete_share 0.2).
 * Against the embedded simulator by default (the demo fleet, or `--seed`/`--fixture`), the real account
 * with `--cloud` (credentials from the environment; IAM through HWC_REGION's or `--region`'s endpoint).
 */
import { defineCommand, integerOption } from '../lib/cli/args.ts';
import { cloudClient, configuredRegion } from '../lib/cli/cloud.ts';
import { CheckFailedError, UsageError } from '../lib/cli/exit.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { createOutput, renderColumns } from '../lib/cli/output.ts';
import { policyTemplate } from '../lib/cli/policy-template.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { RegionSchema } from '../lib/config.ts';
import { closeHuaweiPools } from '../lib/huawei/client.ts';
import type { HuaweiRequester } from '../lib/services/index.ts';
import { listAuthProjects } from '../lib/services/projects.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { DEMO_SEED, simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';

const projectsCommand = defineCommand({
  name: 'projects',
  summary:
    'Lists the projects and regions your credentials can use (IAM GET /v3/auth/projects), or prints a starter policy for them.',
  synopsis: '[--cloud [--region R]] [--policy-template | --json] [--seed N | --fixture FILE]',
  options: {
    cloud: {
      type: 'boolean',
      description: 'ask the real account (credentials from the environment, see .env.example)',
    },
    region: {
      type: 'string',
      value: 'R',
      description: 'the region whose IAM endpoint to call with --cloud (default HWC_REGION)',
    },
    'policy-template': {
      type: 'boolean',
      description: 'print a conservative starter policy (YAML) for the listed projects',
    },
    json: { type: 'boolean', description: 'print the projects as JSON on stdout' },
    seed: {
      type: 'string',
      value: 'N',
      default: String(DEMO_SEED),
      description: 'without --cloud: the demo fleet’s seed',
    },
    fixture: { type: 'string', value: 'FILE', description: 'without --cloud: a fleet fixture to serve' },
  },
  notes: [
    'exit codes: 0 listed; 1 the call failed or listed no usable project; 2 invalid arguments or configuration',
    'examples:\n  npm run projects -- --cloud --region eu-west-101\n  npm run projects -- --cloud --policy-template > policies/mine.yaml',
  ],
});

runCommandAndExit(projectsCommand, async ({ values }) => {
  if (values.json && values['policy-template'])
    throw new UsageError('choose one of --json and --policy-template');
  if (values.cloud && (values.fixture !== undefined || values.seed !== String(DEMO_SEED)))
    throw new UsageError('--seed and --fixture are for the embedded simulator: drop --cloud');
  if (!values.cloud && values.region !== undefined)
    throw new UsageError('--region picks the IAM endpoint for --cloud');
  if (values.region !== undefined && !RegionSchema.safeParse(values.region).success)
    throw new UsageError(`--region ${values.region}: not a region id such as ap-southeast-1`);
  const out = createOutput(values.json);
  let sim: Simulator | undefined;
  let client: HuaweiRequester;
  let region: string;
  if (values.cloud) {
    client = cloudClient(values.region === undefined ? [] : [values.region]);
    region = values.region ?? (configuredRegion() as string);
  } else {
    const seed = integerOption('seed', values.seed);
    sim = await startDemoSimulator(
      seed,
      values.fixture === undefined ? undefined : loadFleetFixture(values.fixture),
    );
    region = [...sim.state.projects.values()][0]?.region ?? 'ap-southeast-1';
    client = simulatorClient(sim, [region]);
    out.progress(`Listing the embedded simulator's projects (${sim.url}); --cloud for your account`);
  }
  try {
    const projects = await listAuthProjects(client, region);
    if (values.json) {
      out.result({ projects });
      return 0;
    }
    if (values['policy-template']) {
      if (!projects.some((project) => project.enabled && project.region !== undefined))
        throw new CheckFailedError('no enabled project with a region was listed: nothing to put in a policy');
      process.stdout.write(policyTemplate(projects, new Date()));
      return 0;
    }
    const rows = projects.map((project) => [
      project.region ?? '-',
      project.id,
      project.name,
      project.enabled ? 'yes' : 'no',
    ]);
    out.say(renderColumns(['REGION', 'PROJECT ID', 'NAME', 'ENABLED'], rows).join('\n'));
    out.say('');
    out.say('Use the ids as `projects:` and the regions as `regions:` of a policy target, or start from');
    out.say(`  npm run projects --${values.cloud ? ' --cloud' : ''} --policy-template > policies/mine.yaml`);
    return 0;
  } finally {
    await sim?.close();
    await closeHuaweiPools();
  }
});
