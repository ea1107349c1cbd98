import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as deleteCbr } from '../../functions/delete-cbr-backup.ts';
import { handler as deleteCsbs } from '../../functions/delete-csbs-checkpoint.ts';
import { handler as deleteDds } from '../../functions/delete-dds-backup.ts';
import { handler as deleteDis } from '../../functions/delete-dis-checkpoint.ts';
import { handler as getDeletion } from '../../functions/get-deletion.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, deletionId, type Ledger } from '../../lib/ledger/index.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import { CSBS_PROVIDER_ID } from '../../lib/services/csbs.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { Picker, REGION, startDeletionSimulator } from '../deletions/fleet.ts';
import { eventFor, invoke, type Reply, testClient, useRuntime } from './harness.ts';

let sim: Simulator;
let projectId: string;
let client: HuaweiClient;
let ledger: Ledger;
let pick: Picker;

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  client = testClient(sim);
  pick = new Picker(sim, projectId);
});
beforeEach(async () => {
  sim.setFaults({});
  sim.resetInspection();
  ledger = createMemoryLedger();
  await useRuntime({ client, ledger, allowlist: [projectId, 'otherproject'] });
});
afterAll(async () => {
  setRuntimeForTests(undefined);
  await sim.close();
  await closeHuaweiPools();
});

const csbsEvent = (checkpointId: string, items: string | string[] | null) =>
  eventFor('delete-csbs-checkpoint', {
    path: { project_id: projectId, checkpoint_id: checkpointId },
    query: items === null ? null : { checkpoint_items: items },
  });
const cbrEvent = (backupId: string) =>
  eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: backupId } });
const ddsEvent = (backupId: string) =>
  eventFor('delete-dds-backup', { path: { project_id: projectId, backup_id: backupId } });
const getEvent = (deletionId: string) => eventFor('get-deletion', { path: { deletion_id: deletionId } });

function expectIds(reply: Reply) {
  expect(reply.headers['x-request-id']).toBe('JKJaXmPLvHcESHA=');
  expect(reply.headers['x-upstream-request-id']).toMatch(/.+/);
}

function expectAccepted(reply: Reply) {
  expect(reply.status).toBe(202);
  expect(reply.json.deletion_id).toMatch(/^del_/);
  expect(reply.json.status).toBe('accepted');
  expect(reply.headers.location).toBe(`/deletions/${reply.json.deletion_id}`);
  expectIds(reply);
}

describe('DELETE /csbs/v1/{project_id}/providers/{provider_id}/checkpoints/{checkpoint_id}', () => {
  it('answers 202 with a deletion id and Location, and GET /deletions/{id} follows it to done', async () => {
    const item = pick.csbsItem();
    const reply = await invoke(deleteCsbs, csbsEvent(item.checkpoint_id, item.id));
    expectAccepted(reply);
    expect(sim.inspect().deleteCalls(item.id)).toBe(1);

    const running = await invoke(getDeletion, getEvent(reply.json.deletion_id));
    expect(running.status).toBe(200);
    expect(running.json).toMatchObject({ status: 'running', final: false, service: 'csbs' });
    expectIds(running);

    sim.advance(60_000);
    const done = await invoke(getDeletion, getEvent(reply.json.deletion_id));
    expect(done.json).toMatchObject({ status: 'done', final: true });
    expect(done.json.history.map((entry: { status: string }) => entry.status)).toEqual([
      'requested',
      'sent',
      'accepted',
      'running',
      'done',
    ]);
    expect(done.json.requested_by).toEqual({
      kind: 'iam',
      principal: 'arn:aws:iam::123456789012:user/backup-operator',
    });
  });

  it('takes checkpoint_items repeated, comma-separated or in a JSON body, as the same deletion', async () => {
    const a = pick.csbsItem();
    const b = pick.csbsItem();
    sim.state.addCsbsItems([{ ...b, checkpoint_id: a.checkpoint_id }]);
    const repeated = await invoke(deleteCsbs, csbsEvent(a.checkpoint_id, [a.id, b.id]));
    expectAccepted(repeated);
    const comma = await invoke(deleteCsbs, csbsEvent(a.checkpoint_id, `${b.id},${a.id}`));
    const body = await invoke(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', {
        path: { project_id: projectId, checkpoint_id: a.checkpoint_id },
        query: null,
        body: JSON.stringify({ checkpoint_items: [a.id, b.id] }),
      }),
    );
    expect(comma.json.deletion_id).toBe(repeated.json.deletion_id);
    expect(body.json.deletion_id).toBe(repeated.json.deletion_id);
    expect(body.json.replayed).toBe(true);
    expect(sim.inspect().deleteAttempts(a.checkpoint_id)).toBe(1);
    sim.advance(60_000);
    const done = await invoke(getDeletion, getEvent(repeated.json.deletion_id));
    expect(done.json.status).toBe('done');
  });

  it('answers 409 BUSY while a backup of the checkpoint is being made', async () => {
    const item = pick.csbsItem();
    sim.state.csbsItem(item.id)!.status = 'protecting';
    const reply = await invoke(deleteCsbs, csbsEvent(item.checkpoint_id, item.id));
    expect(reply.status).toBe(409);
    expect(reply.json.error).toMatchObject({ code: 'BUSY', details: { upstream_code: 'CSBS.2003' } });
    expectIds(reply);
    const id = deletionId('csbs', REGION, projectId, {
      kind: 'checkpoint',
      provider_id: CSBS_PROVIDER_ID,
      checkpoint_id: item.checkpoint_id,
      checkpoint_items: [item.id],
    });
    expect(await ledger.get(id)).toMatchObject({
      status: 'failed',
      error: { code: 'BUSY' },
      upstream_code: 'CSBS.2003',
    });
  });
});

describe('DELETE /cbr/v3/{project_id}/backups/{backup_id}', () => {
  it('answers 202 and records who asked', async () => {
    const backup = pick.cbrBackup();
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    expectAccepted(reply);
    const record = await ledger.get(reply.json.deletion_id);
    expect(record?.requested_by).toMatchObject({
      kind: 'iam',
      principal: 'arn:aws:iam::123456789012:user/backup-operator',
      account_id: '123456789012',
      source_ip: '203.0.113.7',
    });
    expect(record?.upstream_request_ids).toEqual([reply.headers['x-upstream-request-id']]);
  });

  it('sends one upstream DELETE for the same request made twice (the retry gets the same deletion)', async () => {
    const backup = pick.cbrBackup();
    const first = await invoke(deleteCbr, cbrEvent(backup.id));
    const second = await invoke(deleteCbr, cbrEvent(backup.id));
    expectAccepted(second);
    expect(second.json.deletion_id).toBe(first.json.deletion_id);
    expect(second.json.replayed).toBe(true);
    const deletes = sim.inspect().requests.filter((request) => request.method === 'DELETE');
    expect(deletes).toHaveLength(1);
  });

  it('answers 404 NOT_FOUND with the upstream code when the backup is already gone', async () => {
    const reply = await invoke(deleteCbr, cbrEvent('0b0b0b0b-0000-4000-8000-000000000000'));
    expect(reply.status).toBe(404);
    expect(reply.json.error).toMatchObject({ code: 'NOT_FOUND', details: { service: 'cbr' } });
    expect(reply.json.error.details.upstream_code).toBeDefined();
    expectIds(reply);
    const again = await invoke(deleteCbr, cbrEvent('0b0b0b0b-0000-4000-8000-000000000000'));
    expect(again.status).toBe(404);
    expect(again.json.error.details.upstream_code).toBe(reply.json.error.details.upstream_code);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
  });

  it('answers 429 THROTTLED with Retry-After when upstream keeps throttling', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({
      services: { cbr: { operations: { deleteBackup: { throttleRate: 1, retryAfterSeconds: 7 } } } },
    });
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    expect(reply.status).toBe(429);
    expect(reply.headers['retry-after']).toBe('7');
    expect(reply.json.error.code).toBe('THROTTLED');
    expectIds(reply);
  });

  it('answers 502 UPSTREAM_UNAVAILABLE after retrying upstream 5xx, and resends only once upstream shows it did not happen', async () => {
    const backup = pick.cbrBackup();
    // The ledger's clock runs 11 minutes behind at first: the failed DELETE is then past the in-flight horizon.
    let lag = 11 * 60_000;
    ledger = createMemoryLedger({ now: () => Date.now() - lag });
    await useRuntime({ client, ledger, allowlist: [projectId] });
    sim.setFaults({ services: { cbr: { operations: { deleteBackup: { serverErrorRate: 1 } } } } });
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    expect(reply.status).toBe(502);
    expect(reply.json.error.code).toBe('UPSTREAM_UNAVAILABLE');
    expectIds(reply);
    // A 5xx after the DELETE was sent may have been applied: the client does not repeat it.
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
    const id = deletionId('cbr', 'ap-southeast-1', projectId, { kind: 'backup', backup_id: backup.id });
    // Recorded unknown, not failed.
    expect((await ledger.get(id))?.status).toBe('unknown');
    sim.setFaults({});
    lag = 0;
    const retried = await invoke(deleteCbr, cbrEvent(backup.id));
    expectAccepted(retried);
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });

  it('does not resend a DELETE whose outcome is unknown while it may still land upstream', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({ services: { cbr: { operations: { deleteBackup: { serverErrorRate: 1 } } } } });
    expect((await invoke(deleteCbr, cbrEvent(backup.id))).status).toBe(502);
    sim.setFaults({});
    const repeat = await invoke(deleteCbr, cbrEvent(backup.id));
    expect(repeat.status).toBe(202);
    expect(repeat.json).toMatchObject({ status: 'unknown', replayed: true });
    expect(sim.inspect().deleteCalls(backup.id)).toBe(0);
  });

  it('answers 502 UPSTREAM_NETWORK when the connection keeps being reset', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({ services: { cbr: { operations: { deleteBackup: { resetRate: 1 } } } } });
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    expect(reply.status).toBe(502);
    expect(reply.json.error.code).toBe('UPSTREAM_NETWORK');
    expect(reply.headers['x-request-id']).toBe('JKJaXmPLvHcESHA=');
  });

  it('answers 502 UPSTREAM_AUTH when the service credentials are wrong, without leaking them', async () => {
    const backup = pick.cbrBackup();
    const wrong = { ak: sim.credentials.ak, sk: 'definitely-not-the-secret-key' };
    await useRuntime({ client: testClient(sim, wrong), ledger, allowlist: [projectId] });
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    expect(reply.status).toBe(502);
    expect(reply.json.error.code).toBe('UPSTREAM_AUTH');
    expect(reply.json.error.message).toMatch(/credentials/);
    expect(reply.raw.body).not.toContain(wrong.sk);
    expect(reply.raw.body).not.toContain(wrong.ak);
    expect(reply.headers['x-request-id']).toBe('JKJaXmPLvHcESHA=');
    expect(sim.inspect().deleteCalls(backup.id)).toBe(0);
  });
});

describe('DELETE /dds/v3/{project_id}/backups/{backup_id}', () => {
  it('answers 202 and GET /deletions/{id} follows the job to done', async () => {
    const backup = pick.ddsBackup();
    const reply = await invoke(deleteDds, ddsEvent(backup.id));
    expectAccepted(reply);
    sim.advance(20_000);
    const done = await invoke(getDeletion, getEvent(reply.json.deletion_id));
    expect(done.json.status).toBe('done');
  });

  it('answers 404 NOT_FOUND with DDS code DBS.201502 for an unknown backup', async () => {
    const reply = await invoke(deleteDds, ddsEvent(`${'ab'.repeat(16)}br02`));
    expect(reply.status).toBe(404);
    expect(reply.json.error.details).toMatchObject({ service: 'dds', upstream_code: 'DBS.201502' });
  });
});

describe('DELETE /dis/v2/{project_id}/checkpoints', () => {
  it('answers 204 and the checkpoint is gone', async () => {
    const checkpoint = pick.disCheckpoint();
    const event = eventFor('delete-dis-checkpoint', {
      path: { project_id: projectId },
      query: {
        stream_name: checkpoint.stream_name,
        app_name: checkpoint.app_name,
        checkpoint_type: 'LAST_READ',
        partition_id: String(checkpoint.partition),
      },
    });
    const reply = await invoke(deleteDis, event);
    expect(reply.status).toBe(204);
    expect(reply.raw.body).toBeUndefined();
    expectIds(reply);
    const id = reply.headers['x-deletion-id'] as string;
    expect((await ledger.get(id))?.status).toBe('done');
    expect(
      [...sim.state.disCheckpoints.values()].some(
        (c) =>
          c.project_id === projectId &&
          c.app_name === checkpoint.app_name &&
          c.stream_name === checkpoint.stream_name &&
          c.partition === checkpoint.partition,
      ),
    ).toBe(false);
    // A done DIS deletion is not replayed from the ledger (a consumer can commit the checkpoint again): the
    // repeat is a new DELETE, which DIS answers 204 again.
    const again = await invoke(deleteDis, structuredClone(event));
    expect(again.status).toBe(204);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toHaveLength(2);
  });
});

describe('GET /deletions/{deletion_id}', () => {
  it('answers 404 for a deletion id nobody made', async () => {
    const reply = await invoke(getDeletion, getEvent('del_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'));
    expect(reply.status).toBe(404);
    expect(reply.json.error.code).toBe('NOT_FOUND');
  });

  it('returns the stored state with refresh_error when the poll is throttled', async () => {
    const backup = pick.cbrBackup();
    const reply = await invoke(deleteCbr, cbrEvent(backup.id));
    sim.setFaults({
      services: { cbr: { operations: { getBackup: { throttleRate: 1, retryAfterSeconds: 9 } } } },
    });
    const state = await invoke(getDeletion, getEvent(reply.json.deletion_id));
    expect(state.status).toBe(200);
    expect(state.json).toMatchObject({ status: 'accepted', refresh_error: { code: 'THROTTLED' } });
  });
});
