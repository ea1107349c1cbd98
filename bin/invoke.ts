/**
 * `npm run invoke -- FUNCTION EVENT [--seed N | --fixture FILE]`: `serverless invoke local` of one function
 * of serverless.yml against the embedded simulator, with everything it needs set here: the simulator's
 * endpoints and AK/SK, a local ledger in a temporary directory, and the bundle settings osls needs (it loads
 * only `.js` handlers, so the bundle is built as `.js` into its own folder, away from `serverless package`'s
 * `.esbuild`). Prints the function's result; exits with serverless's exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import { defineCommand, integerOption } from '../lib/cli/args.ts';
import { UsageError } from '../lib/cli/exit.ts';
import { readInputFile } from '../lib/cli/files.ts';
import { loadFleetFixture } from '../lib/cli/fixture.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { overrideKey } from '../lib/huawei/endpoints.ts';
import { DEMO_POLICY_FILE, DEMO_SEED, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';

const invokeCommand = defineCommand({
  name: 'invoke',
  summary:
    'Runs one function of serverless.yml locally (serverless invoke local) against the embedded Huawei Cloud simulator; no variables to set.',
  synopsis: 'FUNCTION EVENT [--seed N | --fixture FILE]',
  positionals: [
    {
      name: 'FUNCTION',
      description: 'a function name from serverless.yml, e.g. deleteCbrBackup or sweepApi',
    },
    { name: 'EVENT', description: 'a Lambda event JSON file, e.g. events/demo/delete-cbr-backup.json' },
  ],
  options: {
    seed: {
      type: 'string',
      value: 'N',
      default: String(DEMO_SEED),
      description: `the demo fleet's seed (${DEMO_POLICY_FILE} and events/demo/ match the default)`,
    },
    fixture: {
      type: 'string',
      value: 'FILE',
      description: 'serve a fleet fixture instead of the demo fleet',
    },
  },
  notes: [
    'examples:\n  npm run invoke -- deleteCbrBackup events/demo/delete-cbr-backup.json\n  npm run invoke -- sweepApi events/sweep-http.json     # a dry run of policies/demo.yaml',
    'LOG_LEVEL (default WARN here) and POLICY_FILE are taken from the environment when set.',
    'exit codes: serverless invoke local’s own (0 the function returned); 2 invalid arguments',
  ],
});

const root = new URL('../', import.meta.url);
const SERVICES = ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const;

/** The function names serverless.yml declares (its CloudFormation tags are irrelevant here). */
function declaredFunctions(): string[] {
  const document = parseDocument(readFileSync(new URL('serverless.yml', root), 'utf8'), {
    logLevel: 'silent',
  });
  const functions = document.toJS({ maxAliasCount: -1 })?.functions;
  return functions && typeof functions === 'object' ? Object.keys(functions) : [];
}

function readEvent(file: string): Record<string, unknown> {
  const text = readInputFile('EVENT', file);
  try {
    const event = JSON.parse(text) as unknown;
    if (event === null || typeof event !== 'object' || Array.isArray(event)) throw new Error('not an object');
    return event as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(`EVENT ${file}: not a JSON event (${(error as Error).message})`);
  }
}

runCommandAndExit(invokeCommand, async ({ values, positionals }) => {
  const [fn, eventFile] = positionals as [string, string];
  const functions = declaredFunctions();
  if (!functions.includes(fn))
    throw new UsageError(`FUNCTION ${fn}: not in serverless.yml (${functions.join(', ')})`);
  const event = readEvent(eventFile);
  const seed = integerOption('seed', values.seed);
  if (values.fixture !== undefined && values.seed !== String(DEMO_SEED))
    throw new UsageError('choose one of --seed and --fixture');
  const sim = await startDemoSimulator(
    seed,
    values.fixture === undefined ? undefined : loadFleetFixture(values.fixture),
  );
  const ledgerDir = mkdtempSync(join(tmpdir(), 'hwc-invoke-ledger-'));
  // serverless-esbuild joins its work folder to the service directory: a fresh one inside the checkout
  // (gitignored), removed afterwards, so parallel runs and `serverless package` never share bundles.
  const workFolder = basename(mkdtempSync(join(fileURLToPath(root), '.esbuild-invoke-')));
  try {
    const projects = [...sim.state.projects.values()];
    const eventProject = (event.pathParameters as { project_id?: unknown } | undefined)?.project_id;
    const project =
      typeof eventProject === 'string'
        ? projects.find((candidate) => candidate.id === eventProject)
        : projects[0];
    if (project === undefined) {
      throw new UsageError(
        `EVENT ${eventFile}: project ${String(eventProject)} is not in the simulator's fleet; use an event from events/demo/ or one of ${projects.map((p) => p.id).join(', ')}`,
      );
    }
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      // The shell's own Huawei settings must not point this run anywhere but the simulator.
      if (!/^(HUAWEICLOUD_SDK_|HWC_|LEDGER|SWEEP_QUEUE_URL)/.test(key)) env[key] = value;
    }
    Object.assign(env, {
      HWC_REGION: project.region,
      // Every fleet project: the sweep checks its policy's projects against the allowlist too.
      HWC_PROJECT_ALLOWLIST: projects.map((p) => p.id).join(','),
      HWC_ENDPOINT_PRESET: 'huaweicloud',
      HWC_AUTH_MODE: 'aksk',
      HWC_CREDENTIALS_SECRET_ARN: '',
      HUAWEICLOUD_SDK_AK: sim.credentials.ak,
      HUAWEICLOUD_SDK_SK: sim.credentials.sk,
      LEDGER: 'local',
      LEDGER_DIR: ledgerDir,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARN',
      // Absolute: invoke local runs the bundle from the build folder, where a relative path finds nothing.
      POLICY_FILE: resolve(process.env.POLICY_FILE ?? DEMO_POLICY_FILE),
      // osls `invoke local` loads only .js/.cjs handlers; package.json's "type": "module" keeps them ESM.
      HWC_BUNDLE_EXTENSION: '.js',
      HWC_ESBUILD_WORK_FOLDER: workFolder,
    });
    for (const region of new Set(projects.map((p) => p.region)))
      for (const service of SERVICES) env[overrideKey(service, region)] = sim.baseUrl(service, region);
    process.stderr.write(
      `invoke: ${fn} with ${eventFile} against the embedded simulator (${sim.url}, ${project.region}, ledger ${ledgerDir})\n`,
    );
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          new URL('node_modules/serverless/bin/serverless.js', root).pathname,
          'invoke',
          'local',
          '--function',
          fn,
          '--path',
          eventFile,
        ],
        { cwd: new URL('.', root).pathname, env, stdio: ['ignore', 'inherit', 'inherit'] },
      );
      child.once('error', reject);
      child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
    });
    const requests = sim.inspect().requests;
    process.stderr.write(
      `invoke: the simulator received ${requests.length} requests, ${requests.filter((r) => r.method === 'DELETE').length} of them DELETE\n`,
    );
    return code;
  } finally {
    await sim.close();
    rmSync(ledgerDir, { recursive: true, force: true });
    rmSync(join(fileURLToPath(root), workFolder), { recursive: true, force: true });
  }
});
