/**
 * The sweep, inline mode, against the simulator over loopback (`npm run bench -- sweep [--full]`).
 *
 * 1. Fan-out: N deletions of CSBS checkpoint items across 4 projects, every simulator request delayed 100 ms,
 *    deletions finishing upstream at once. CSBS allows 5 deletions per project in flight and the sweep holds a
 *    slot from the DELETE until its poll says done, so each deletion costs two round trips of slot time:
 *    floor = (N / 4 projects / 5 slots) × 2 × 100 ms. Reports elapsed / floor; target ≤ 1.15.
 *    Default N = 1,000 (floor 10 s); `--full` N = 10,000 (floor 100 s).
 * 2. Listing: 100,000 backups (4 projects × 25,000 CSBS items, 1,000 per page) at zero latency, then planning
 *    them — the sweep's first half, through the same code (planSweep). `--full` only; default 20,000.
 *
 * The client's connection pool is 16 per origin and the simulator is one origin, while the caps allow 20
 * requests at once; the bench splits the projects over two clients (two pools) so the pool is not the cap.
 */
import { performance } from 'node:perf_hooks';
import { closeHuaweiPools, createHuaweiClient, type HuaweiClient } from '../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../lib/huawei/endpoints.ts';
import { createMemoryLedger } from '../lib/ledger/index.ts';
import { parsePolicy } from '../lib/retention/policy.ts';
import { adapters, type HuaweiRequester } from '../lib/services/index.ts';
import { type Simulator, startSimulator } from '../lib/simulator/index.ts';
import { planSweep } from '../lib/sweep/plan-sweep.ts';
import { runSweep } from '../lib/sweep/sweep.ts';

const FULL = process.argv.includes('--full');
const REGION = 'ap-southeast-1';
const TARGET_RATIO = 1.15;
const LATENCY_MS = 100;
const PROJECTS = 4;

function clientFor(sim: Simulator, connectMs: number): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    // A different connect timeout is a different pool (see the module comment).
    timeouts: { connectMs },
  });
}

/** Routes each project to one of two clients, so 20 concurrent requests fit in 2 × 16 connections. */
function splitRequester(sim: Simulator, projects: readonly string[]): HuaweiRequester {
  const clients = [clientFor(sim, 5_000), clientFor(sim, 5_001)];
  const pick = new Map(projects.map((projectId, index) => [projectId, clients[index % 2] as HuaweiClient]));
  return {
    request: ((operation, schema, options) =>
      (pick.get(operation.projectId ?? '') ?? (clients[0] as HuaweiClient)).request(
        operation,
        schema,
        options,
      )) as HuaweiClient['request'],
  };
}

function csbsPolicy(projects: readonly string[], keepLast: number) {
  return parsePolicy({
    version: 1,
    targets: [
      {
        name: 'servers',
        service: 'csbs',
        projects,
        regions: [REGION],
        keep: { last: keepLast },
        max_delete_share: 1,
      },
    ],
  });
}

async function fanOut(deletions: number): Promise<number> {
  const perProject = deletions / PROJECTS;
  const resources = 25;
  const keepLast = 4;
  const perResource = perProject / resources + keepLast;
  const sim = await startSimulator({
    deletion: { csbsMs: 0, cbrMs: 0, ddsMs: 0 },
    maxRecordedRequests: 10,
    generate: {
      seed: 3,
      projects: PROJECTS,
      regions: [REGION],
      services: ['csbs'],
      resourcesPerProject: resources,
      backupsPerResource: perResource,
      failedShare: 0,
      inProgressShare: 0,
      multiItemShare: 0,
    },
    faults: { all: { latency: { kind: 'fixed', ms: LATENCY_MS } } },
  });
  try {
    const projects = [...sim.state.projects.keys()];
    let fanOutStarted = 0;
    const started = performance.now();
    const report = await runSweep(
      { policy: csbsPolicy(projects, keepLast), dryRun: false, now: new Date() },
      {
        client: splitRequester(sim, projects),
        ledger: createMemoryLedger(),
        tracking: { baseMs: 50, capMs: 200, minDelayMs: 10 },
        onProgress: (event) => {
          if (event.type === 'planned') fanOutStarted = performance.now();
        },
      },
    );
    const ended = performance.now();
    if (report.totals.deleted !== deletions || report.status !== 'completed') {
      throw new Error(`expected ${deletions} deletions, got ${JSON.stringify(report.totals)}`);
    }
    const inspection = sim.inspect();
    const maxInFlight = Math.max(...Object.values(inspection.maxConcurrentDeleteRequests.csbs));
    const floorMs = (perProject / 5) * 2 * LATENCY_MS;
    const fanOutMs = ended - fanOutStarted;
    const ratio = fanOutMs / floorMs;
    console.log(
      `fan-out: ${deletions.toLocaleString('en')} CSBS deletions, ${PROJECTS} projects × 5 in flight, ${LATENCY_MS} ms per request: ` +
        `${(fanOutMs / 1000).toFixed(2)} s (floor ${(floorMs / 1000).toFixed(2)} s) ratio ${ratio.toFixed(3)} ` +
        `(target ≤ ${TARGET_RATIO}); whole sweep incl. listing and planning ${((ended - started) / 1000).toFixed(2)} s; ` +
        `most CSBS DELETE requests in flight per project: ${maxInFlight}`,
    );
    return ratio;
  } finally {
    await sim.close();
  }
}

async function listing(total: number): Promise<void> {
  const perProject = total / PROJECTS;
  const sim = await startSimulator({
    maxRecordedRequests: 10,
    generate: {
      seed: 4,
      projects: PROJECTS,
      regions: [REGION],
      services: ['csbs'],
      resourcesPerProject: 100,
      backupsPerResource: perProject / 100,
      multiItemShare: 0,
    },
  });
  try {
    const projects = [...sim.state.projects.keys()];
    const client = clientFor(sim, 5_000);
    const started = performance.now();
    let listedAt = 0;
    let listed = 0;
    const plan = await planSweep(
      { policy: csbsPolicy(projects, 10), now: new Date() },
      {
        client,
        adapters,
        onProgress: (progress) => {
          if (progress.phase === 'listed') {
            listed = progress.total;
            listedAt = performance.now();
          }
        },
      },
    );
    const ended = performance.now();
    if (listed !== total) throw new Error(`listed ${listed}, expected ${total}`);
    console.log(
      `listing: ${total.toLocaleString('en')} backups (${PROJECTS} projects, 1,000 per page, zero latency): ` +
        `${((listedAt - started) / 1000).toFixed(2)} s listed (${Math.round(total / ((listedAt - started) / 1000)).toLocaleString('en')} backups/s), ` +
        `${((ended - listedAt) / 1000).toFixed(2)} s planned (${plan.items.length.toLocaleString('en')} deletions)`,
    );
  } finally {
    await sim.close();
  }
}

const ratio = await fanOut(FULL ? 10_000 : 1_000);
await listing(FULL ? 100_000 : 20_000);
await closeHuaweiPools();
if (!FULL) console.log('(smaller default sizes; run with --full for 10,000 deletions and 100,000 listed)');
if (ratio > TARGET_RATIO) {
  console.error(`fan-out ratio ${ratio.toFixed(3)} misses the target ${TARGET_RATIO}`);
  process.exit(1);
}
