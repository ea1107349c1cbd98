/**
 * End to end: the repo's serverless.yml under `serverless offline` (bundled by serverless-esbuild, handlers in
 * worker threads), against a simulator started here, driven with plain HTTP requests — one deletion per service.
 *
 * Started as a user starts it, `npm run offline` (package.json): `--noAuth`, because serverless-offline 14 treats
 * the `aws_iam` HTTP API authorizer as a JWT authorizer and refuses to start without it, so IAM authorisation is
 * NOT checked here; each request names its caller with the `sls-offline-authorizer-override` header instead
 * (the functions refuse a request without a caller identity). `--localEnvironment`, so the handlers get this
 * process's environment (the simulator's AK/SK, its endpoints, LEDGER=local) on top of provider.environment —
 * serverless.yml itself carries no credentials.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSBS_PROVIDER_ID } from '../../lib/services/csbs.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { Picker, REGION, startDeletionSimulator } from '../deletions/fleet.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
/** Bundling eight functions with esbuild comes first; a loaded 2-core machine needs well over the idle ~20 s. */
const STARTUP_MS = 100_000;

let sim: Simulator;
let projectId: string;
let pick: Picker;
let offline: ChildProcess | undefined;
let exited: Promise<void> = Promise.resolve();
let output = '';
let baseUrl: string;
let ledgerDir: string;

/** A port that was free a moment ago (bound to 0 on loopback, then released for serverless-offline). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject()));
    });
  });
}

function startOffline(env: NodeJS.ProcessEnv, httpPort: number, lambdaPort: number): Promise<void> {
  const child = spawn(
    'npm',
    [
      'run',
      '--silent',
      'offline',
      '--',
      '--host',
      '127.0.0.1',
      '--httpPort',
      String(httpPort),
      '--lambdaPort',
      String(lambdaPort),
    ],
    // Its own process group, so teardown can stop serverless and anything it started at once.
    { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  offline = child;
  exited = new Promise((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serverless offline not ready after ${STARTUP_MS} ms:\n${output}`)),
      STARTUP_MS,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Server ready:')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`serverless offline exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}

async function stopOffline(): Promise<void> {
  const child = offline;
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const group = -child.pid;
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(group, name);
    } catch {
      // the group is already gone
    }
  };
  signal('SIGTERM');
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 10_000).unref()),
  ]);
  if (timedOut) signal('SIGKILL');
  await exited;
  // Anything left in the group (it should be empty) goes too.
  signal('SIGKILL');
}

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  pick = new Picker(sim, projectId);
  ledgerDir = mkdtempSync(join(tmpdir(), 'hwc-e2e-ledger-'));
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  baseUrl = `http://127.0.0.1:${httpPort}`;
  const overrides = (['csbs', 'cbr', 'dds', 'dis'] as const)
    .map((service) => `${service}=${sim.baseUrl(service, REGION)}`)
    .join(',');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HWC_REGION: REGION,
    HWC_PROJECT_ALLOWLIST: projectId,
    HWC_ENDPOINT_PRESET: 'huaweicloud',
    HWC_AUTH_MODE: 'aksk',
    HWC_CREDENTIALS_SECRET_ARN: '',
    HUAWEICLOUD_SDK_AK: sim.credentials.ak,
    HUAWEICLOUD_SDK_SK: sim.credentials.sk,
    HWC_ENDPOINT_OVERRIDES: overrides,
    HWC_BUNDLE_EXTENSION: '.mjs',
    LEDGER: 'local',
    LEDGER_DIR: ledgerDir,
    LOG_LEVEL: 'WARN',
    // serverless-offline runs schedule events: keep the daily sweep away from the simulator during the test
    // (a string 'false' for `enabled` would still be truthy to it). Fires only on 29 February at 00:00.
    SWEEP_SCHEDULE: 'cron(0 0 29 2 ? *)',
  };
  for (const key of Object.keys(env)) {
    if (key.startsWith('HUAWEICLOUD_SDK_REGION_')) delete env[key];
  }
  await startOffline(env, httpPort, lambdaPort);
}, STARTUP_MS + 20_000);

afterAll(async () => {
  await stopOffline();
  await sim?.close();
  if (ledgerDir) rmSync(ledgerDir, { recursive: true, force: true });
}, 30_000);

/** The IAM identity API Gateway's `aws_iam` authorizer would give a signed caller. */
const OFFLINE_CALLER = {
  iam: { userArn: 'arn:aws:iam::123456789012:user/offline-test', accountId: '123456789012' },
};

async function del(path: string): Promise<{ status: number; headers: Headers; body: string }> {
  const response = await fetch(`${baseUrl}${path}`, {
    method: 'DELETE',
    // serverless-offline's way to put an authorizer identity into the event (the functions refuse one without).
    headers: { 'sls-offline-authorizer-override': JSON.stringify(OFFLINE_CALLER) },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: response.status, headers: response.headers, body: await response.text() };
}

/** Asserts a 202 with its Location and returns the deletion id. */
function expectAccepted(reply: { status: number; headers: Headers; body: string }): string {
  expect(reply.status, reply.body).toBe(202);
  const json = JSON.parse(reply.body);
  expect(json.deletion_id).toMatch(/^del_/);
  expect(reply.headers.get('location')).toBe(`/deletions/${json.deletion_id}`);
  expect(reply.headers.get('x-upstream-request-id')).toMatch(/.+/);
  return json.deletion_id;
}

describe('serverless offline (the repo serverless.yml) against the simulator', () => {
  it('deletes one backup of each service over plain HTTP, each reaching the simulator as exactly one DELETE', {
    timeout: 60_000,
  }, async () => {
    sim.resetInspection();
    const item = pick.csbsItem();
    const cbr = pick.cbrBackup();
    const dds = pick.ddsBackup();
    const dis = pick.disCheckpoint();

    const deletionIds = [
      expectAccepted(
        await del(
          `/csbs/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/${item.checkpoint_id}?checkpoint_items=${item.id}`,
        ),
      ),
      expectAccepted(await del(`/cbr/v3/${projectId}/backups/${cbr.id}`)),
      expectAccepted(await del(`/dds/v3/${projectId}/backups/${dds.id}`)),
    ];
    const query = new URLSearchParams({
      stream_name: dis.stream_name,
      app_name: dis.app_name,
      checkpoint_type: 'LAST_READ',
      partition_id: String(dis.partition),
    });
    const disReply = await del(`/dis/v2/${projectId}/checkpoints?${query}`);
    expect(disReply.status, disReply.body).toBe(204);
    expect(disReply.body).toBe('');
    deletionIds.push(disReply.headers.get('x-deletion-id') ?? 'missing x-deletion-id');

    // LEDGER=local under LEDGER_DIR reached the handlers: every deletion is journalled there.
    const journal = readFileSync(join(ledgerDir, 'ledger.jsonl'), 'utf8');
    for (const id of deletionIds) expect(journal).toContain(id);

    const inspection = sim.inspect();
    expect(inspection.deleteCalls(item.id)).toBe(1);
    expect(inspection.deleteCalls(cbr.id)).toBe(1);
    expect(inspection.deleteCalls(dds.id)).toBe(1);
    // The deletion sends the partition in its canonical spelling (`0` → `shardId-0000000000`, both documented).
    const disKey = `${dis.stream_name}/${dis.app_name}/shardId-${String(dis.partition).padStart(10, '0')}`;
    expect(inspection.deleteCalls(disKey)).toBe(1);
    const deletes = inspection.requests.filter((request) => request.method === 'DELETE');
    expect(deletes.map((request) => request.service).sort()).toEqual(['cbr', 'csbs', 'dds', 'dis']);
    expect(deletes.every((request) => request.projectId === projectId)).toBe(true);
  });

  it('keeps a project outside HWC_PROJECT_ALLOWLIST away from the simulator (403)', async () => {
    sim.resetInspection();
    const reply = await del(`/cbr/v3/${'0'.repeat(32)}/backups/${pick.cbrBackup().id}`);
    expect(reply.status, reply.body).toBe(403);
    expect(sim.inspect().requests).toHaveLength(0);
  });
});
