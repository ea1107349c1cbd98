import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as deleteCbr } from '../../functions/delete-cbr-backup.ts';
import { handler as deleteCsbs } from '../../functions/delete-csbs-checkpoint.ts';
import { handler as getDeletion } from '../../functions/get-deletion.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createDynamoLedger, type Ledger } from '../../lib/ledger/index.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { Picker, startDeletionSimulator } from '../deletions/fleet.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { eventFor, invoke, testClient, useRuntime } from './harness.ts';

/** The same functions with the ledger on DynamoDB Local: conditional writes hold across real requests. */

const dynamo = useDynamoDbLocal();
let sim: Simulator;
let projectId: string;
let ledger: Ledger;
let pick: Picker;

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  pick = new Picker(sim, projectId);
  const local = dynamo();
  const tableName = await local.createLedgerTable();
  ledger = createDynamoLedger({ tableName, client: local.documentClient });
  await useRuntime({ client: testClient(sim), ledger, allowlist: [projectId] });
}, 60_000);
afterAll(async () => {
  setRuntimeForTests(undefined);
  await sim?.close();
  await closeHuaweiPools();
});

describe('deletion functions on DynamoDB Local', () => {
  it('sends one upstream DELETE for three concurrent identical requests', async () => {
    const backup = pick.cbrBackup();
    const event = () =>
      eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: backup.id } });
    const replies = await Promise.all([
      invoke(deleteCbr, event()),
      invoke(deleteCbr, event()),
      invoke(deleteCbr, event()),
    ]);
    expect(replies.map((reply) => reply.status)).toEqual([202, 202, 202]);
    expect(new Set(replies.map((reply) => reply.json.deletion_id)).size).toBe(1);
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
    const record = await ledger.get(replies[0]?.json.deletion_id);
    expect(record).toMatchObject({ status: 'accepted', attempts: 1 });
  });

  it('follows a CSBS deletion to done through GET /deletions/{id}', async () => {
    const item = pick.csbsItem();
    const reply = await invoke(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', {
        path: { project_id: projectId, checkpoint_id: item.checkpoint_id },
        query: { checkpoint_items: item.id },
      }),
    );
    expect(reply.status).toBe(202);
    const get = () => eventFor('get-deletion', { path: { deletion_id: reply.json.deletion_id } });
    expect((await invoke(getDeletion, get())).json.status).toBe('running');
    sim.advance(60_000);
    const done = await invoke(getDeletion, get());
    expect(done.json).toMatchObject({ status: 'done', final: true });
    expect((await ledger.get(reply.json.deletion_id))?.status).toBe('done');
  });
});
