/**
 * Simulator throughput: simple AK/SK-signed GETs (CBR show backup) over keep-alive loopback.
 * The simulator runs in this process; the load generator (undici Pool, signing every request) runs in a
 * child process, so client and server share the 2 cores honestly and the server's own CPU time per request
 * can be read from `process.cpuUsage()` (a number that does not depend on what else the machine runs).
 * Target: ≥ 5,000 req/s measured. Also prints how long generating and loading a 100,000-backup fleet takes.
 * Usage: `npm run bench -- simulator` (or `tsx bench/simulator.bench.ts [concurrency]`).
 */
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { sign } from '../lib/huawei/signer.ts';
import { generateFleet, startSimulator } from '../lib/simulator/index.ts';

const TARGET_RPS = 5_000;
const LOAD_FLAG = '--load-generator';
const CONCURRENCY = Number(process.argv.find((arg) => /^\d+$/.test(arg)) ?? 32);
const WARMUP_MS = 1_000;
const MEASURE_MS = 3_000;
const ROUNDS = 3;

interface LoadJob {
  origin: string;
  paths: string[];
  credentials: { ak: string; sk: string };
}

interface LoadResult {
  ok: number;
  failed: number;
  /** Requests completed outside the measured window (warm-up, drain): served, not counted. */
  warmup: number;
  elapsedMs: number;
}

async function generateLoad(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, { connections: CONCURRENCY, keepAliveTimeout: 30_000, allowH2: false });
  let measuring = false;
  let stop = false;
  let ok = 0;
  let failed = 0;
  let unmeasured = 0;
  let next = 0;
  async function worker() {
    while (!stop) {
      const path = job.paths[next++ % job.paths.length] as string;
      const url = new URL(path, job.origin);
      const headers = sign({ method: 'GET', url, headers: {} }, job.credentials, new Date());
      try {
        const response = await pool.request({
          origin: job.origin,
          path,
          method: 'GET',
          headers: { ...headers },
        });
        await response.body.dump();
        if (!measuring) unmeasured++;
        else if (response.statusCode === 200) ok++;
        else failed++;
      } catch {
        if (measuring) failed++;
      }
    }
  }
  const loops = Array.from({ length: CONCURRENCY }, () => worker());
  await new Promise((resolve) => setTimeout(resolve, WARMUP_MS));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, MEASURE_MS));
  measuring = false;
  const elapsedMs = performance.now() - started;
  stop = true;
  await Promise.all(loops);
  await pool.close();
  return { ok, failed, warmup: unmeasured, elapsedMs };
}

function runLoad(job: LoadJob): Promise<LoadResult> {
  const child = fork(fileURLToPath(import.meta.url), [LOAD_FLAG, String(CONCURRENCY)], {
    execArgv: ['--import', 'tsx'],
  });
  return new Promise<LoadResult>((resolve, reject) => {
    child.once('message', (message) => resolve(message as LoadResult));
    child.once('error', reject);
    child.once('exit', (code) => code !== 0 && reject(new Error(`load generator exited with ${code}`)));
    child.send(job);
  });
}

interface RoundResult {
  rps: number;
  cpuUsPerRequest: number;
  failed: number;
}

/** One measured round against `origin`; the CPU time is this process's, i.e. the server's alone. */
async function round(
  origin: string,
  paths: string[],
  credentials: { ak: string; sk: string },
): Promise<RoundResult> {
  const cpuBefore = process.cpuUsage();
  const result = await runLoad({ origin, paths, credentials });
  const cpu = process.cpuUsage(cpuBefore);
  // Warm-up requests are served too: spread the CPU over every request the generator completed.
  const served = result.ok + result.failed + result.warmup;
  return {
    rps: result.ok / (result.elapsedMs / 1000),
    cpuUsPerRequest: (cpu.user + cpu.system) / served,
    failed: result.failed,
  };
}

function formatLoad(): string {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
}

async function main() {
  const loadBefore = formatLoad();
  const region = 'ap-southeast-1';
  let started = performance.now();
  const fleet = generateFleet({
    seed: 1,
    services: ['cbr'],
    projects: 10,
    regions: [region],
    resourcesPerProject: 100,
    backupsPerResource: 100,
  });
  const generateMs = performance.now() - started;
  started = performance.now();
  const simulator = await startSimulator();
  simulator.state.load(fleet, { validate: false });
  const loadMs = performance.now() - started;
  console.log(
    `fleet: ${fleet.cbr.length} CBR backups generated in ${generateMs.toFixed(0)} ms, loaded in ${loadMs.toFixed(0)} ms`,
  );

  const base = new URL(simulator.baseUrl('cbr', region)).pathname;
  const paths = fleet.cbr
    .slice(0, 1_000)
    .map((backup) => `${base}/v3/${backup.project_id}/backups/${backup.id}`);
  (globalThis as { gc?: () => void }).gc?.();
  // Baseline: a bare node:http server answering the same JSON with no signature check, under the same load,
  // alternated with the simulator so both see the same machine (other processes share these 2 cores).
  const sampleBody = JSON.stringify({ backup: fleet.cbr[0] });
  const bare = createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      response.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': Buffer.byteLength(sampleBody),
      });
      response.end(sampleBody);
    });
  });
  await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  const bareOrigin = `http://127.0.0.1:${(bare.address() as AddressInfo).port}`;

  const baselines: RoundResult[] = [];
  const rounds: RoundResult[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    baselines.push(await round(bareOrigin, paths, simulator.credentials));
    rounds.push(await round(simulator.url, paths, simulator.credentials));
  }
  await new Promise((resolve) => bare.close(resolve));
  bare.closeAllConnections();
  const errors = simulator.inspect().requests.filter((request) => request.status !== 200).length;
  await simulator.close();

  const best = (results: RoundResult[]) => results.reduce((a, b) => (b.rps > a.rps ? b : a));
  const bestSim = best(rounds);
  const bestBare = best(baselines);
  const list = (results: RoundResult[]) => results.map((r) => r.rps.toFixed(0)).join(', ');
  console.log(
    `signed GET /v3/{project}/backups/{id}, keep-alive, concurrency ${CONCURRENCY}, load generator in a child process, ${ROUNDS} rounds of ${MEASURE_MS / 1000} s`,
  );
  console.log(`  load average before/after: ${loadBefore} / ${formatLoad()}`);
  console.log(
    `  baseline bare node:http req/s per round: ${list(baselines)} (best ${bestBare.rps.toFixed(0)}, ${bestBare.cpuUsPerRequest.toFixed(0)} µs server CPU per request)`,
  );
  console.log(`  simulator req/s per round:               ${list(rounds)}`);
  console.log(
    `  simulator throughput (best round): ${bestSim.rps.toFixed(0)} req/s (target ≥ ${TARGET_RPS}), ${((bestSim.rps / bestBare.rps) * 100).toFixed(0)}% of the best baseline`,
  );
  console.log(
    `  simulator CPU: ${bestSim.cpuUsPerRequest.toFixed(0)} µs per request → ${(1e6 / bestSim.cpuUsPerRequest).toFixed(0)} req/s per core of server capacity`,
  );
  const failed = rounds.reduce((sum, r) => sum + r.failed, 0) + errors;
  if (failed > 0 || bestSim.rps < TARGET_RPS) {
    console.error(failed > 0 ? `FAIL: ${failed} requests failed` : `FAIL: below ${TARGET_RPS} req/s`);
    process.exit(1);
  }
}

if (process.argv.includes(LOAD_FLAG)) {
  process.once('message', async (job) => {
    const result = await generateLoad(job as LoadJob);
    process.send?.(result, () => process.exit(0));
  });
} else {
  await main();
}
