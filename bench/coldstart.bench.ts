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
 * first request of a container that needs it pays for it once.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

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
]);

/** The clients each kind of function needs on every invocation as deployed (DynamoDB ledger, Huawei calls). */
const FLOORS: Record<string, readonly string[]> = {
  http: [
    '@middy/core',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    'zod',
    'undici',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
  ],
  worker: [
    '@middy/core',
    '@aws-lambda-powertools/logger',
    '@aws-lambda-powertools/metrics',
    'zod',
    'undici',
    '@aws-sdk/client-dynamodb',
    '@aws-sdk/lib-dynamodb',
    '@aws-sdk/client-sqs',
  ],
};
const floorOf = (fn: string) => (fn === 'deleteWorker' ? 'worker' : 'http');

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
function sample(cwd: string, file: string | undefined): Sample {
  const script = `
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    ${file === undefined ? '' : `await import(${JSON.stringify(pathToFileURL(file).href)});`}
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

  // The floor bundles: the same esbuild options as serverless.yml's custom.esbuild.
  const floors = new Map<string, string>();
  const floorPackages = new Map<string, readonly string[]>();
  for (const [kind, all] of Object.entries(FLOORS)) {
    // Before a package is installed (comparing with an older checkout) the floor goes without it.
    const packages = all.filter((p) => existsSync(join(root, 'node_modules', p)));
    const entry = join(functionsDir, `floor-${kind}.entry.mjs`);
    writeFileSync(
      entry,
      packages.map((p, i) => `import * as m${i} from '${p}'; globalThis.m${i} = m${i};`).join('\n'),
    );
    const outfile = join(functionsDir, `floor-${kind}.mjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      keepNames: true,
      format: 'esm',
      platform: 'node',
      target: 'node24',
      external: ['@aws-sdk/*'],
      banner: {
        js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);",
      },
      nodePaths: [join(root, 'node_modules')],
      absWorkingDir: root,
      logLevel: 'error',
    });
    floors.set(kind, outfile);
    floorPackages.set(kind, packages);
  }

  const files = new Map<string, string | undefined>([['bare', undefined]]);
  for (const [kind, file] of floors) files.set(`floor ${kind}`, file);
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
  console.log(
    `node ${process.version}, ${RUNS} rounds (medians); bare node: ${bare.rssMiB.toFixed(1)} MiB RSS. ` +
      'Targets are checked on CPU ms (user + system): an import is CPU-bound, and on a shared machine the ' +
      'wall time also measures the neighbours.',
  );
  const row = (name: string, r: Measured, ratio: string, zip: string, verdict: string) =>
    `${name.padEnd(22)} ${`${r.cpuMs.toFixed(0)} ms`.padStart(8)} ${`${r.ms.toFixed(0)} ms`.padStart(8)} ${`+${(r.rssMiB - bare.rssMiB).toFixed(1)} MiB`.padStart(10)} ${ratio.padStart(8)} ${zip.padStart(9)}  ${verdict}`;
  console.log(
    `${'bundle'.padEnd(22)} ${'CPU'.padStart(8)} ${'wall'.padStart(8)} ${'RSS over'.padStart(10)} ${'÷ floor'.padStart(8)} ${'zip'.padStart(9)}  target`,
  );
  for (const kind of floors.keys()) {
    console.log(
      row(
        `floor ${kind}`,
        results.get(`floor ${kind}`) as Measured,
        '',
        '',
        (floorPackages.get(kind) ?? []).join(', '),
      ),
    );
  }
  let missed = 0;
  for (const zip of zips) {
    const name = zip.replace(/\.zip$/, '');
    const result = results.get(name) as Measured;
    const floor = results.get(`floor ${floorOf(name)}`) as Measured;
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
  if (missed > 0) {
    console.error(`${missed} target(s) missed`);
    process.exitCode = 1;
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
