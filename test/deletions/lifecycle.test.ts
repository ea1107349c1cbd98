/**
 * The deletion lifecycle over loopback against the simulator: a record a stopped caller left `sent` (the
 * "zombie"), a DELETE whose answer was lost, DIS repeats, canonical keys and permanent refusals — through the
 * HTTP business layer (requestDeletion / refreshDeletion) the functions call.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { refreshDeletion, requestDeletion } from '../../lib/deletions/index.ts';
import { closeHuaweiPools, createHuaweiClient, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { HuaweiBadRequestError } from '../../lib/huawei/errors.ts';
import { createMemoryLedger, deletionId, type Ledger } from '../../lib/ledger/index.ts';
import { cbrAdapter } from '../../lib/services/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { simulatorClient } from '../simulator/helpers.ts';
import { Picker, REGION, startDeletionSimulator } from './fleet.ts';

const MINUTE = 60_000;
const caller = { kind: 'iam' as const, principal: 'arn:aws:iam::123456789012:user/sre' };

let sim: Simulator;
let projectId: string;
let client: HuaweiClient;
let pick: Picker;
let ledger: Ledger;
let now: number;

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  client = simulatorClient(sim);
  pick = new Picker(sim, projectId);
});
beforeEach(() => {
  now = Date.now();
  ledger = createMemoryLedger({ now: () => now });
  sim.setFaults({});
  sim.resetInspection();
});
afterAll(async () => {
  await sim.close();
  await closeHuaweiPools();
});

function deps(overrides: { client?: HuaweiClient } = {}) {
  return {
    client: overrides.client ?? client,
    ledger,
    now: () => now,
    region: REGION,
    allowlist: new Set([projectId]),
  };
}

/** A client that waits out a long Retry-After itself, with a sleep that never ends: a frozen invocation. */
function frozenOnRetryAfter(): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 60_000, maxTotalMs: 120_000 },
    sleep: () => new Promise<void>(() => undefined),
  });
}

const cbrInput = (backupId: string) => ({ service: 'cbr' as const, projectId, backupId });

/** Leaves a CBR deletion `sent` the way a throttled, then killed, invocation does; returns its id. */
async function zombie(backupId: string): Promise<string> {
  sim.setFaults({
    services: { cbr: { operations: { deleteBackup: { throttleRate: 1, retryAfterSeconds: 12 } } } },
  });
  void requestDeletion(cbrInput(backupId), caller, deps({ client: frozenOnRetryAfter() }));
  const id = deletionId('cbr', REGION, projectId, { kind: 'backup', backup_id: backupId });
  for (let i = 0; i < 200 && sim.inspect().deleteAttempts(backupId) === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect((await ledger.get(id))?.status).toBe('sent');
  sim.setFaults({});
  return id;
}

describe('a deletion a stopped caller left sent', () => {
  it('is sent exactly once by the request after the throttling clears, and ends done', async () => {
    const backup = pick.cbrBackup();
    const id = await zombie(backup.id);
    expect(sim.inspect().deleteCalls(backup.id)).toBe(0);
    now += 11 * MINUTE;
    const repeat = await requestDeletion(cbrInput(backup.id), caller, deps());
    expect(repeat).toMatchObject({ kind: 'accepted', replayed: false });
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
    sim.advance(31_000);
    const state = await refreshDeletion(id, deps());
    expect(state.deletion).toMatchObject({ status: 'done', final: true });
    await requestDeletion(cbrInput(backup.id), caller, deps());
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });

  it('is resolved by GET the same way: re-armed, not sent, and the next request sends it once', async () => {
    const backup = pick.cbrBackup();
    const id = await zombie(backup.id);
    now += 11 * MINUTE;
    const read = await refreshDeletion(id, deps());
    expect(read.deletion).toMatchObject({ status: 'failed', error: { code: 'DELETE_NOT_APPLIED' } });
    expect(sim.inspect().deleteCalls(backup.id)).toBe(0);
    await requestDeletion(cbrInput(backup.id), caller, deps());
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });

  it('is finished from what upstream shows when its DELETE did land, without a second one', async () => {
    const backup = pick.cbrBackup();
    const id = deletionId('cbr', REGION, projectId, { kind: 'backup', backup_id: backup.id });
    const begun = await ledger.beginDeletion({
      service: 'cbr',
      region: REGION,
      project_id: projectId,
      target: { kind: 'backup', backup_id: backup.id },
      requested_by: caller,
    });
    await ledger.transition(begun.record.id, { from: ['requested'], to: 'sent' });
    // Its DELETE went out before the caller stopped.
    await cbrAdapter.deleteBackup(client, {
      region: REGION,
      projectId,
      deleteId: backup.id,
      itemId: backup.id,
    });
    // Inside the in-flight horizon: upstream is asked anyway, and it shows the deletion running.
    const read = await refreshDeletion(id, deps());
    expect(read.deletion.status).toBe('running');
    sim.advance(31_000);
    expect((await refreshDeletion(id, deps())).deletion.status).toBe('done');
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });
});

describe('a DELETE whose answer is lost', () => {
  it('is recorded unknown and a repeat inside the horizon asks upstream instead of resending', async () => {
    const backup = pick.ddsBackup();
    // DDS answers after 1.5 s; the client gives up after 0.5 s and does not retry the DELETE.
    const slow = createHuaweiClient({
      endpoints: createEndpointResolver({
        overrides: { [overrideKey('dds', REGION)]: sim.baseUrl('dds', REGION) },
      }),
      auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
      retry: { maxAttempts: 1 },
      timeouts: { headersMs: 500 },
    });
    sim.setFaults({
      services: { dds: { operations: { deleteBackup: { latency: { kind: 'fixed', ms: 1_500 } } } } },
    });
    const input = { service: 'dds' as const, projectId, backupId: backup.id };
    await expect(requestDeletion(input, caller, deps({ client: slow }))).rejects.toMatchObject({
      code: 'UPSTREAM_NETWORK',
    });
    const id = deletionId('dds', REGION, projectId, { kind: 'backup', backup_id: backup.id });
    expect((await ledger.get(id))?.status).toBe('unknown');
    // The DELETE lands after 1.5 s, long after the client gave up.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    sim.setFaults({});
    const repeat = await requestDeletion(input, caller, deps());
    expect(repeat.deletion.status).toBe('running');
    sim.advance(21_000);
    expect((await refreshDeletion(id, deps())).deletion.status).toBe('done');
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });
});

describe('DIS checkpoints and canonical keys', () => {
  it('sends a new DELETE for a repeat of a done DIS deletion (the checkpoint can come back)', async () => {
    const checkpoint = pick.disCheckpoint();
    const input = {
      service: 'dis' as const,
      projectId,
      streamName: checkpoint.stream_name,
      appName: checkpoint.app_name,
      checkpointType: 'LAST_READ' as const,
      partitionId: String(checkpoint.partition),
    };
    const [key, committed] = [...sim.state.disCheckpoints.entries()].find(
      ([, value]) =>
        value.project_id === projectId &&
        value.stream_name === checkpoint.stream_name &&
        value.app_name === checkpoint.app_name &&
        value.partition === checkpoint.partition,
    ) as [string, typeof checkpoint];
    expect((await requestDeletion(input, caller, deps())).kind).toBe('done');
    // The consumer commits the checkpoint again.
    sim.state.disCheckpoints.set(key, structuredClone(committed));
    const again = await requestDeletion(input, caller, deps());
    expect(again).toMatchObject({ kind: 'done', replayed: false });
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toHaveLength(2);
  });

  it('treats partition 0 and shardId-0000000000 as one deletion', async () => {
    const plain = deletionId('dis', REGION, projectId, {
      kind: 'dis_checkpoint',
      stream_name: 's',
      app_name: 'a',
      checkpoint_type: 'LAST_READ',
      partition_id: '0',
    });
    const shard = deletionId('dis', REGION, projectId, {
      kind: 'dis_checkpoint',
      stream_name: 's',
      app_name: 'a',
      checkpoint_type: 'LAST_READ',
      partition_id: 'shardId-0000000000',
    });
    expect(plain).toBe(shard);
  });

  it('treats an upper-case backup id as the same deletion and sends nothing twice', async () => {
    const backup = pick.cbrBackup();
    const first = await requestDeletion(cbrInput(backup.id), caller, deps());
    const upper = await requestDeletion(cbrInput(backup.id.toUpperCase()), caller, deps());
    expect(upper.deletion.deletion_id).toBe(first.deletion.deletion_id);
    expect(upper.replayed).toBe(true);
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
    expect(sim.inspect().deleteCalls(backup.id.toUpperCase())).toBe(0);
  });
});

describe('a permanent refusal', () => {
  it('is recorded for good: a repeat answers the recorded refusal and sends nothing', async () => {
    const backup = pick.cbrBackup();
    backup.status = 'restoring';
    await expect(requestDeletion(cbrInput(backup.id), caller, deps())).rejects.toBeInstanceOf(
      HuaweiBadRequestError,
    );
    now += 48 * 60 * MINUTE;
    await expect(requestDeletion(cbrInput(backup.id), caller, deps())).rejects.toMatchObject({
      code: 'UPSTREAM_REJECTED',
      errorCode: '6201',
    });
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });
});
