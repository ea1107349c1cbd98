/**
 * Cold-start budget (`npm run bench -- coldstart [--runs N]`): packages every function exactly as deployed
 * (`serverless package` into a temporary directory), unzips each artifact and imports its handler file in
 * fresh Node processes, as the Lambda runtime's init phase does. The AWS SDK is resolvable beside the code
 * (a `node_modules` link to this checkout's), as the runtime provides it, and is not in the zips.
 *
 * Per function, medians over N runs (default 10): the import's duration and the process's RSS after it over
 * a bare `node` process, the zip size, and the ratio of the import time to a floor bundle: the third-party
 * clients an invocation of that function cannot do without (below), bundled with the same esbuild options
 * and imported eagerly, with none of our code. Targets on this machine: every HTTP function ≤ 200 ms and
 * ≤ +35 MiB over bare node; every zip ≤ 400 KB. Exits 1 when one is missed.
 *
 * What lib/runtime.ts loads on an invocation's first use (see its comment) is not in the import time: the
 * first request of a container that needs it pays for it once. The AWS SDK is such a load (lib/aws-sdk.ts, the
 * Powertools providers through deploy/esbuild-plugins.mjs): the last table is a getDeletion import followed by
 * its first invocation, which reads the ledger in DynamoDB Local, so what moved from init to it is measured.
 *
 * "over runtime" is the RSS over a process that has loaded `node:http` and made an Agent, as the Lambda
 * Node.js runtime client does before it imports the handler (aws-lambda-nodejs-runtime-interface-client,
 * src/client/rapid-client.ts): on Lambda that part of `node:http`'s ~17 MiB is not the function's. It is
 * shown only; the targets are over bare node.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { startDynamoDbLocal } from '../test/helpers/dynamodb-local.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;
const HTTP_MS = 200;
const HTTP_MIB = 35;
const ZIP_KB = 400;

/** Functions behind API Gateway (the ms / MiB targets apply to them). */
const HTTP = new Set([
  'deleteCsbsCheckpoint',
  'deleteCbrBackup',
  'deleteDdsBackup',
  'deleteDisCheckpoint',
  'getDeletion',
  'getSweep',
  'sweepApi',
  'approveSweep',
]);

/**
 * The third-party packages every function evaluates at import as deployed (handler middleware, logging,
 * validation, the Huawei client's HTTP stack). The AWS SDK clients are not among them: they load on first
 * use (lib/aws-sdk.ts), as do Powertools Metrics and Parameters.
 */
const FLOOR = ['@middy/core', '@aws-lambda-powertools/logger', 'zod', 'undici'];

/** The deployed environment's shape (the import reads none of it; a handler reads it on first use). */
const DEPLOYED_ENV = {
  HWC_REGION: 'ap-southeast-1',
  HWC_PROJECT_ALLOWLIST: '0123456789abcdef0123456789abcdef',
  HWC_CREDENTIALS_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:hwc-retention-AbCdEf',
  LEDGER: 'dynamodb',
  LEDGER_TABLE: 'bench-ledger',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_SERVICE_NAME: 'hwc-retention',
  LOG_LEVEL: 'INFO',
};

interface Sample {
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssMiB: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/**
 * One fresh process: imports `file` (or nothing) and prints the import's wall time, the CPU time (user +
 * system) the process spent in it, and the RSS after it.
 */
/** What the Lambda runtime client has loaded before the handler (see the file's comment). */
const RUNTIME_BASELINE =
  "const { Agent } = await import('node:http'); new Agent({ keepAlive: true, maxSockets: 1 });";

function sample(cwd: string, file: string | undefined): Sample {
  const script = `
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    ${file === undefined ? '' : file === 'runtime' ? RUNTIME_BASELINE : `await import(${JSON.stringify(pathToFileURL(file).href)});`}
    const cpu = process.cpuUsage(c0);
    const ms = performance.now() - t0;
    console.log(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage().rss }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', ...DEPLOYED_ENV },
  });
  if (result.status !== 0) throw new Error(`import of ${file ?? '(bare)'} failed:\n${result.stderr}`);
  const lines = result.stdout.trim().split('\n');
  const parsed = JSON.parse(lines[lines.length - 1] as string) as { ms: number; cpuMs: number; rss: number };
  return { ms: parsed.ms, cpuMs: parsed.cpuMs, rssMiB: parsed.rss / 2 ** 20 };
}

interface Measured {
  readonly ms: number;
  readonly cpuMs: number;
  readonly rssMiB: number;
}

/**
 * Medians over RUNS rounds; each round imports every file once, in turn, so that a busy neighbour slows
 * every line of the table alike instead of one function's runs.
 */
function measureAll(cwd: string, files: ReadonlyMap<string, string | undefined>): Map<string, Measured> {
  const samples = new Map<string, Sample[]>([...files.keys()].map((key) => [key, []]));
  for (let round = 0; round < RUNS; round++) {
    for (const [key, file] of files) samples.get(key)?.push(sample(cwd, file));
  }
  const out = new Map<string, Measured>();
  for (const [key, list] of samples) {
    out.set(key, {
      ms: median(list.map((s) => s.ms)),
      cpuMs: median(list.map((s) => s.cpuMs)),
      rssMiB: median(list.map((s) => s.rssMiB)),
    });
  }
  return out;
}

/**
 * getDeletion's import and then its first invocation (an unknown deletion: one ledger read, answered 404)
 * against DynamoDB Local, in fresh processes: what a cold start costs in all once the SDK loads on first use.
 */
async function firstInvocation(cwd: string, file: string): Promise<void> {
  const dynamo = await startDynamoDbLocal();
  try {
    const table = await dynamo.createLedgerTable();
    const event = readFileSync(join(root, 'events/get-deletion.json'), 'utf8');
    const script = `
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const { handler } = await import(${JSON.stringify(pathToFileURL(file).href)});
      const importCpu = process.cpuUsage(c0);
      const t1 = performance.now();
      const context = {
        awsRequestId: 'bench', functionName: 'getDeletion', functionVersion: '$LATEST', memoryLimitInMB: '512',
        invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:getDeletion',
        getRemainingTimeInMillis: () => 29_000,
      };
      const response = await handler(${event}, context);
      const callCpu = process.cpuUsage(c0);
      const t2 = performance.now();
      console.log(JSON.stringify({
        status: response.statusCode,
        importCpu: (importCpu.user + importCpu.system) / 1000, importMs: t1 - t0,
        callCpu: (callCpu.user + callCpu.system - importCpu.user - importCpu.system) / 1000, callMs: t2 - t1,
        rss: process.memoryUsage().rss / 2 ** 20,
      }));
    `;
    const runs: Array<Record<string, number>> = [];
    for (let round = 0; round < RUNS; round++) {
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          ...DEPLOYED_ENV,
          LEDGER_TABLE: table,
          HWC_DYNAMODB_ENDPOINT: dynamo.endpoint,
          // DynamoDB Local keeps tables per access key and region: the ones the table was created with.
          AWS_REGION: 'local',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          LOG_LEVEL: 'ERROR',
        },
      });
      const lines = result.stdout.trim().split('\n');
      const run = JSON.parse(lines[lines.length - 1] ?? '{}') as Record<string, number>;
      if (result.status !== 0 || run.status !== 404) {
        throw new Error(`getDeletion's first invocation failed:\n${result.stdout}\n${result.stderr}`);
      }
      runs.push(run);
    }
    const med = (key: string) => median(runs.map((run) => run[key] as number));
    console.log(
      `getDeletion, import + first invocation (one ledger read in DynamoDB Local, 404), ${RUNS} runs (medians): ` +
        `import ${med('importCpu').toFixed(0)} ms CPU / ${med('importMs').toFixed(0)} ms wall, ` +
        `first invocation ${med('callCpu').toFixed(0)} ms CPU / ${med('callMs').toFixed(0)} ms wall, ` +
        `together ${(med('importCpu') + med('callCpu')).toFixed(0)} ms CPU; RSS after it ${med('rss').toFixed(1)} MiB`,
    );
  } finally {
    await dynamo.stop();
  }
}

const work = mkdtempSync(join(tmpdir(), 'hwc-coldstart-'));
try {
  const artifacts = join(work, 'artifacts');
  console.log(`packaging (serverless package --package ${artifacts}) ...`);
  const packaged = spawnSync('npx', ['serverless', 'package', '--package', artifacts], {
    cwd: root,
    encoding: 'utf8',
    // The bench measures the deployed bundles: the default `.mjs`, whatever the shell says, with the
    // parameters a deployment must give (packaging refuses to run without them).
    env: {
      ...process.env,
      HWC_BUNDLE_EXTENSION: '.mjs',
      HWC_PROJECT_ALLOWLIST: DEPLOYED_ENV.HWC_PROJECT_ALLOWLIST,
      HWC_CREDENTIALS_SECRET_ARN: DEPLOYED_ENV.HWC_CREDENTIALS_SECRET_ARN,
    },
  });
  if (packaged.status !== 0) {
    throw new Error(`serverless package failed:\n${packaged.stdout}\n${packaged.stderr}`);
  }
  const functionsDir = join(work, 'fn');
  mkdirSync(functionsDir);
  symlinkSync(join(root, 'node_modules'), join(functionsDir, 'node_modules'), 'dir');

  // The floor bundle: the same esbuild options and plugins as serverless.yml's custom.esbuild.
  const pluginsFile = join(root, 'deploy/esbuild-plugins.mjs');
  const plugins = existsSync(pluginsFile)
    ? ((await import(pathToFileURL(pluginsFile).href)) as { default: Plugin[] }).default
    : [];
  // Before a package is installed (comparing with an older checkout) the floor goes without it.
  const floorPackages = FLOOR.filter((p) => existsSync(join(root, 'node_modules', p)));
  const floorEntry = join(functionsDir, 'floor.entry.mjs');
  writeFileSync(
    floorEntry,
    floorPackages.map((p, i) => `import * as m${i} from '${p}'; globalThis.m${i} = m${i};`).join('\n'),
  );
  const floorFile = join(functionsDir, 'floor.mjs');
  await build({
    entryPoints: [floorEntry],
    outfile: floorFile,
    bundle: true,
    minify: true,
    keepNames: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: ['@aws-sdk/*'],
    define: { esbuildDetection: '1' },
    plugins,
    banner: {
      js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
    },
    nodePaths: [join(root, 'node_modules')],
    absWorkingDir: root,
    logLevel: 'error',
  });

  const files = new Map<string, string | undefined>([
    ['bare', undefined],
    ['runtime', 'runtime'],
    ['floor', floorFile],
  ]);
  const zips = readdirSync(artifacts)
    .filter((name) => name.endsWith('.zip'))
    .sort();
  for (const zip of zips) {
    const name = zip.replace(/\.zip$/, '');
    const dir = join(functionsDir, name);
    execFileSync('unzip', ['-q', join(artifacts, zip), '-d', dir]);
    const handlerDir = join(dir, 'functions');
    const handler = readdirSync(handlerDir).find((f) => f.endsWith('.mjs'));
    if (handler === undefined) throw new Error(`${zip}: no functions/*.mjs`);
    files.set(name, join(handlerDir, handler));
  }
  const results = measureAll(functionsDir, files);
  const bare = results.get('bare') as Measured;
  const lambdaRuntime = results.get('runtime') as Measured;
  const floor = results.get('floor') as Measured;
  console.log(
    `node ${process.version}, ${RUNS} rounds (medians); bare node: ${bare.rssMiB.toFixed(1)} MiB RSS, with ` +
      `node:http loaded as the Lambda runtime has it: ${lambdaRuntime.rssMiB.toFixed(1)} MiB. Targets are ` +
      'checked on CPU ms (user + system): an import is CPU-bound, and on a shared machine the wall time also ' +
      'measures the neighbours.',
  );
  const mib = (value: number) => `+${value.toFixed(1)} MiB`;
  const row = (name: string, r: Measured, ratio: string, zip: string, verdict: string) =>
    `${name.padEnd(22)} ${`${r.cpuMs.toFixed(0)} ms`.padStart(8)} ${`${r.ms.toFixed(0)} ms`.padStart(8)} ${mib(r.rssMiB - bare.rssMiB).padStart(10)} ${mib(r.rssMiB - lambdaRuntime.rssMiB).padStart(12)} ${ratio.padStart(8)} ${zip.padStart(9)}  ${verdict}`;
  console.log(
    `${'bundle'.padEnd(22)} ${'CPU'.padStart(8)} ${'wall'.padStart(8)} ${'RSS over'.padStart(10)} ${'over runtime'.padStart(12)} ${'÷ floor'.padStart(8)} ${'zip'.padStart(9)}  target`,
  );
  console.log(row('floor', floor, '', '', floorPackages.join(', ')));
  let missed = 0;
  for (const zip of zips) {
    const name = zip.replace(/\.zip$/, '');
    const result = results.get(name) as Measured;
    const zipKB = statSync(join(artifacts, zip)).size / 1000;
    const overMiB = result.rssMiB - bare.rssMiB;
    const misses: string[] = [];
    if (zipKB > ZIP_KB) misses.push(`zip > ${ZIP_KB} KB`);
    if (HTTP.has(name) && result.cpuMs > HTTP_MS) misses.push(`> ${HTTP_MS} ms`);
    if (HTTP.has(name) && overMiB > HTTP_MIB) misses.push(`> +${HTTP_MIB} MiB`);
    missed += misses.length;
    console.log(
      row(
        name,
        result,
        (result.cpuMs / floor.cpuMs).toFixed(2),
        `${zipKB.toFixed(0)} KB`,
        misses.length === 0 ? 'ok' : `MISSED: ${misses.join(', ')}`,
      ),
    );
  }
  const getDeletion = files.get('getDeletion');
  if (getDeletion !== undefined) await firstInvocation(functionsDir, getDeletion);
  if (missed > 0) {
    console.error(`${missed} target(s) missed`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
