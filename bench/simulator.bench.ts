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
const WARMUP_MS = 1_500;
const MEASURE_MS = 5_000;

interface LoadJob {
  origin: string;
  paths: string[];
  credentials: { ak: string; sk: string };
}

interface LoadResult {
  ok: number;
  failed: number;
  elapsedMs: number;
}

async function generateLoad(job: LoadJob): Promise<LoadResult> {
  const pool = new Pool(job.origin, { connections: CONCURRENCY, keepAliveTimeout: 30_000 });
  let measuring = false;
  let stop = false;
  let ok = 0;
  let failed = 0;
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
        if (measuring) {
          if (response.statusCode === 200) ok++;
          else failed++;
        }
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
  return { ok, failed, elapsedMs };
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

async function main() {
  const loadBefore = loadavg()
    .map((n) => n.toFixed(2))
    .join(' ');
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
  const simulator = await startSimulator({ fleet: { projects: [], cbr: [] } });
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
  // Baseline: a bare node:http server answering the same-sized JSON, no signature check, same load.
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
  const bareCpuBefore = process.cpuUsage();
  const baseline = await runLoad({ origin: bareOrigin, paths, credentials: simulator.credentials });
  const bareCpu = process.cpuUsage(bareCpuBefore);
  await new Promise((resolve) => bare.close(resolve));
  bare.closeAllConnections();

  const cpuBefore = process.cpuUsage();
  const recordedBefore = simulator.inspect().requests.length;
  const result = await runLoad({ origin: simulator.url, paths, credentials: simulator.credentials });
  const cpu = process.cpuUsage(cpuBefore);
  const inspection = simulator.inspect();
  const served = inspection.requests.length - recordedBefore;
  await simulator.close();
  const serverCpuUsPerRequest = (cpu.user + cpu.system) / served;
  const rps = result.ok / (result.elapsedMs / 1000);
  console.log(
    `signed GET /v3/{project}/backups/{id}, keep-alive, concurrency ${CONCURRENCY}, load generator in a child process`,
  );
  console.log(
    `  load average before/after: ${loadBefore} / ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log(
    `  requests ok: ${result.ok}, failed: ${result.failed}, over ${(result.elapsedMs / 1000).toFixed(2)} s`,
  );
  const baselineRps = baseline.ok / (baseline.elapsedMs / 1000);
  const bareCpuUsPerRequest = (bareCpu.user + bareCpu.system) / baseline.ok;
  console.log(
    `  baseline (bare node:http, same load generator): ${baselineRps.toFixed(0)} req/s, ${bareCpuUsPerRequest.toFixed(0)} µs CPU per request`,
  );
  console.log(
    `  throughput: ${rps.toFixed(0)} req/s (target ≥ ${TARGET_RPS}), ${((rps / baselineRps) * 100).toFixed(0)}% of the baseline`,
  );
  console.log(
    `  simulator CPU: ${serverCpuUsPerRequest.toFixed(0)} µs per request over ${served} requests → ${(1e6 / serverCpuUsPerRequest).toFixed(0)} req/s per core of capacity`,
  );
  if (result.failed > 0 || rps < TARGET_RPS) {
    console.error(result.failed > 0 ? 'FAIL: some requests failed' : `FAIL: below ${TARGET_RPS} req/s`);
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
