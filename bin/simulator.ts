/**
 * `npm run simulator [-- --port N --seed N --time-scale X --fixture FILE --json]`: starts the local Huawei
 * Cloud simulator with the demo fleet (the one policies/demo.yaml names; or a fixture), prints where it
 * listens, the credentials, the projects, the matching policy and the environment that points the `--cloud`
 * commands at it, and runs until Ctrl-C.
 */
import { defineCommand, integerOption } from '../lib/cli/args.ts';
import { UsageError } from '../lib/cli/exit.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { createOutput } from '../lib/cli/output.ts';
import { endQuietlyOnClosedPipe, runCommand } from '../lib/cli/run.ts';
import { overrideKey } from '../lib/huawei/endpoints.ts';
import { type Simulator, startSimulator } from '../lib/simulator/index.ts';
import { DEMO_POLICY_FILE, DEMO_SEED, demoSimulatorOptions } from '../lib/sweep/demo-fleet.ts';

const simulatorCommand = defineCommand({
  name: 'simulator',
  summary:
    'Runs the local Huawei Cloud simulator (CSBS, CBR, DDS, DIS, IAM over HTTP on 127.0.0.1) until Ctrl-C.',
  synopsis: '[--port N] [--seed N | --fixture FILE] [--time-scale X] [--json]',
  options: {
    port: { type: 'string', value: 'N', default: '0', description: 'the port to listen on (0: a free one)' },
    seed: {
      type: 'string',
      value: 'N',
      default: String(DEMO_SEED),
      description: `the demo fleet's seed (${DEMO_POLICY_FILE} matches the default)`,
    },
    fixture: {
      type: 'string',
      value: 'FILE',
      description: 'serve a fleet fixture (FleetSchema in lib/simulator/fleet.ts) instead of the demo fleet',
    },
    'time-scale': {
      type: 'string',
      value: 'X',
      default: '1',
      description: 'simulated ms per wall ms (deletions, jobs, lock-outs)',
    },
    json: { type: 'boolean', description: 'print the connection details as one JSON document on stdout' },
  },
  notes: [
    `Then, in another shell: paste the printed exports and run e.g.\n  npm run plan -- --policy ${DEMO_POLICY_FILE} --cloud`,
    'Admin routes: GET /__admin/inspect, GET /__admin/info, POST /__admin/faults, POST /__admin/reset, POST /__admin/advance {"ms":N}',
  ],
});

const SERVICES = ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const;

/** The environment that points lib/config.ts (and so every `--cloud` command) at the simulator. */
function environmentFor(simulator: Simulator): Record<string, string> {
  const env: Record<string, string> = {
    HUAWEICLOUD_SDK_AK: simulator.credentials.ak,
    HUAWEICLOUD_SDK_SK: simulator.credentials.sk,
  };
  const regions = new Set([...simulator.state.projects.values()].map((project) => project.region));
  for (const region of regions)
    for (const service of SERVICES) env[overrideKey(service, region)] = simulator.baseUrl(service, region);
  return env;
}

endQuietlyOnClosedPipe();
const code = await runCommand(simulatorCommand, async ({ values }) => {
  const port = integerOption('port', values.port);
  const seed = integerOption('seed', values.seed);
  const timeScale = Number(values['time-scale']);
  if (!(timeScale > 0))
    throw new UsageError(`--time-scale must be a positive number, got ${values['time-scale']}`);
  if (values.fixture !== undefined && values.seed !== String(DEMO_SEED))
    throw new UsageError('choose one of --seed and --fixture');
  const { generate, ...timings } = demoSimulatorOptions(seed);
  const simulator = await startSimulator({
    ...timings,
    port,
    timeScale,
    ...(values.fixture === undefined ? { generate } : { fleet: loadFleetFixture(values.fixture) }),
  });
  // Before anything is printed: a caller that stops us as soon as it has read the details gets a clean exit.
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const out = createOutput(values.json);
  const projects = [...simulator.state.projects.values()];
  const policy = values.fixture === undefined && seed === DEMO_SEED ? DEMO_POLICY_FILE : undefined;
  const env = environmentFor(simulator);
  if (values.json) {
    out.result({
      url: simulator.url,
      credentials: simulator.credentials,
      user: { name: simulator.user.name, password: simulator.user.password, domain: simulator.user.domain },
      projects,
      counts: simulator.state.counts(),
      policy: policy ?? null,
      environment: env,
    });
  } else {
    const counts = simulator.state.counts();
    const lines = [
      `Huawei Cloud simulator listening on ${simulator.url}`,
      `Fleet: ${values.fixture === undefined ? `demo fleet, seed ${seed}` : values.fixture}: ${counts.csbs} CSBS items, ${counts.cbr} CBR backups, ${counts.dds} DDS backups, ${counts.dis} DIS checkpoints`,
      policy === undefined
        ? `Policy: none bundled matches this fleet; print one with npm run projects -- --policy-template ${values.fixture === undefined ? `--seed ${seed}` : `--fixture ${values.fixture}`}`
        : `Policy: ${policy} names exactly these projects`,
      '',
      'Projects:',
      ...projects.map((project) => `  ${project.region}  ${project.id}  (${project.name})`),
      '',
      `IAM password login: user ${simulator.user.name}, password ${simulator.user.password}, domain ${simulator.user.domain}`,
      '',
      'Environment for the --cloud commands against this simulator (paste into another shell):',
      ...Object.entries(env).map(([key, value]) => `  export ${key}=${value}`),
      `  npm run plan -- --policy ${policy ?? 'YOUR-POLICY.yaml'} --cloud`,
      '',
      'Admin: GET /__admin/inspect, POST /__admin/faults, POST /__admin/reset, POST /__admin/advance {"ms":N}',
      'Ctrl-C to stop.',
    ];
    out.say(lines.join('\n'));
  }
  return 0;
});
// Exit only on failure: a running simulator keeps the process alive until a signal stops it.
if (code !== 0) process.exit(code);
