import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  abandonDeletion,
  executeDeletion,
  type PlannedDeletionRef,
  plannedDeletionId,
  pollAndRecord,
  runDeletion,
} from '../../lib/deletions/index.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger, LedgerNotFoundError } from '../../lib/ledger/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { simulatorClient } from '../simulator/helpers.ts';
import { Picker, REGION, startDeletionSimulator } from './fleet.ts';

let sim: Simulator;
let projectId: string;
let client: HuaweiClient;
let ledger: Ledger;
let pick: Picker;

const sweep = { kind: 'sweep' as const, principal: 'sweep:test' };

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  client = simulatorClient(sim);
  pick = new Picker(sim, projectId);
});
beforeEach(() => {
  ledger = createMemoryLedger();
  sim.setFaults({});
});
afterAll(async () => {
  await sim.close();
  await closeHuaweiPools();
});

function ref(
  service: PlannedDeletionRef['service'],
  deleteId: string,
  itemId = deleteId,
): PlannedDeletionRef {
  return { service, region: REGION, projectId, deleteId, itemId, sweepId: 'sweep-1', requestedBy: sweep };
}

describe('executeDeletion', () => {
  it('starts a CSBS item deletion, records it as accepted with a poll ref, and polls it to done', async () => {
    const item = pick.csbsItem();
    const planned = ref('csbs', item.checkpoint_id, item.id);
    const outcome = await executeDeletion(planned, { client, ledger });
    expect(outcome.kind).toBe('started');
    expect(outcome.deletionId).toBe(plannedDeletionId(planned));
    expect(outcome.record).toMatchObject({
      status: 'accepted',
      sweep_id: 'sweep-1',
      attempts: 1,
      poll_ref: { service: 'csbs', itemId: item.id },
    });
    expect(outcome.upstreamRequestId).toBeDefined();
    expect(outcome.record.upstream_request_ids).toEqual([outcome.upstreamRequestId]);

    const running = await pollAndRecord(outcome.deletionId, { client, ledger });
    expect(running.status?.state).toBe('running');
    expect(running.record.status).toBe('running');
    sim.advance(60_000);
    const done = await pollAndRecord(outcome.deletionId, { client, ledger });
    expect(done.record.status).toBe('done');
    expect(done.record.history.map((entry) => entry.status)).toEqual([
      'requested',
      'sent',
      'accepted',
      'running',
      'done',
    ]);
    expect(sim.inspect().deleteCalls(item.id)).toBe(1);
  });

  it('starts CBR and DDS deletions and polls them to done', async () => {
    const cbr = pick.cbrBackup();
    const dds = pick.ddsBackup();
    const cbrOutcome = await executeDeletion(ref('cbr', cbr.id), { client, ledger });
    const ddsOutcome = await executeDeletion(ref('dds', dds.id), { client, ledger });
    expect(cbrOutcome.kind).toBe('started');
    expect(ddsOutcome.kind).toBe('started');
    expect(cbrOutcome.record.poll_ref).toMatchObject({ service: 'cbr', backupId: cbr.id });
    expect(ddsOutcome.record.poll_ref?.service).toBe('dds');
    sim.advance(60_000);
    expect((await pollAndRecord(cbrOutcome.deletionId, { client, ledger })).record.status).toBe('done');
    expect((await pollAndRecord(ddsOutcome.deletionId, { client, ledger })).record.status).toBe('done');
  });

  it('skips a deletion already in flight without a second upstream DELETE', async () => {
    const backup = pick.cbrBackup();
    const first = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    const second = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    expect(first.kind).toBe('started');
    expect(second.kind).toBe('skipped');
    expect(second.record.status).toBe('accepted');
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });

  it('lets only one of two concurrent executions send the DELETE', async () => {
    const backup = pick.ddsBackup();
    const outcomes = await Promise.all([
      executeDeletion(ref('dds', backup.id), { client, ledger }),
      executeDeletion(ref('dds', backup.id), { client, ledger }),
    ]);
    expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['skipped', 'started']);
    expect(sim.inspect().deleteAttempts(backup.id)).toBe(1);
  });

  it('records a backup that no longer exists as gone with the upstream code', async () => {
    const outcome = await executeDeletion(ref('cbr', 'b0000000-0000-4000-8000-000000000000'), {
      client,
      ledger,
    });
    expect(outcome.kind).toBe('gone');
    expect(outcome.record).toMatchObject({ status: 'gone', upstream_status: 404 });
    if (outcome.kind === 'gone') expect(outcome.upstreamCode).toBeDefined();
  });

  it('records a throttled DELETE as failed and retryable, and a later execution re-arms and sends it', async () => {
    const backup = pick.cbrBackup();
    sim.setFaults({
      services: { cbr: { operations: { deleteBackup: { throttleRate: 1, retryAfterSeconds: 3 } } } },
    });
    const failed = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    expect(failed).toMatchObject({ kind: 'failed', code: 'THROTTLED', retryable: true, retryAfterMs: 3000 });
    expect(failed.record.status).toBe('failed');
    sim.setFaults({});
    const retried = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    expect(retried.kind).toBe('started');
    expect(retried.record.attempts).toBe(2);
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });

  it('records an upstream server error after the DELETE was sent as unknown, never as failed', async () => {
    const backup = pick.ddsBackup();
    sim.setFaults({ services: { dds: { operations: { deleteBackup: { serverErrorRate: 1 } } } } });
    const outcome = await executeDeletion(ref('dds', backup.id), { client, ledger });
    expect(outcome).toMatchObject({ kind: 'unknown', code: 'UPSTREAM_UNAVAILABLE' });
    expect(outcome.record.status).toBe('unknown');
    expect(outcome.record.error?.code).toBe('DELETE_OUTCOME_UNKNOWN');
    // The record blocks a second DELETE: a new begin finds it in flight.
    sim.setFaults({});
    expect((await executeDeletion(ref('dds', backup.id), { client, ledger })).kind).toBe('skipped');
  });

  it('records a 4xx refusal as failed, and a permanent one (CBR 6201) as never to be retried', async () => {
    const backup = pick.cbrBackup();
    backup.status = 'restoring';
    const refused = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    expect(refused).toMatchObject({
      kind: 'failed',
      code: 'UPSTREAM_REJECTED',
      permanent: true,
      retryable: false,
    });
    expect(refused.record.error).toMatchObject({ permanent: true });
    const again = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    expect(again.kind).toBe('skipped');
    expect(sim.inspect().deleteCalls(backup.id)).toBe(1);
  });

  it('deletes a DIS checkpoint synchronously (done)', async () => {
    const checkpoint = pick.disCheckpoint();
    const outcome = await runDeletion(
      {
        service: 'dis',
        region: REGION,
        projectId,
        target: {
          kind: 'dis_checkpoint',
          stream_name: checkpoint.stream_name,
          app_name: checkpoint.app_name,
          checkpoint_type: 'LAST_READ',
          partition_id: String(checkpoint.partition),
        },
        requestedBy: sweep,
      },
      { client, ledger },
    );
    expect(outcome.kind).toBe('done');
    expect(outcome.record.status).toBe('done');
  });
});

describe('pollAndRecord', () => {
  it('throws LedgerNotFoundError for an unknown deletion id', async () => {
    await expect(pollAndRecord('del_unknown', { client, ledger })).rejects.toBeInstanceOf(
      LedgerNotFoundError,
    );
  });

  it('returns a finished record without polling upstream', async () => {
    const checkpoint = pick.disCheckpoint();
    const outcome = await runDeletion(
      {
        service: 'dis',
        region: REGION,
        projectId,
        target: {
          kind: 'dis_checkpoint',
          stream_name: checkpoint.stream_name,
          app_name: checkpoint.app_name,
          checkpoint_type: 'LAST_READ',
        },
        requestedBy: sweep,
      },
      { client, ledger },
    );
    sim.resetInspection();
    const polled = await pollAndRecord(outcome.deletionId, { client, ledger });
    expect(polled.status).toBeUndefined();
    expect(polled.record.status).toBe('done');
    expect(sim.inspect().requests).toHaveLength(0);
  });

  it('abandonDeletion marks a still-running deletion failed with the given code', async () => {
    const backup = pick.cbrBackup();
    const outcome = await executeDeletion(ref('cbr', backup.id), { client, ledger });
    const record = await abandonDeletion(
      outcome.deletionId,
      { code: 'TRACKING_TIMEOUT', message: 'still running after 30 minutes' },
      { ledger },
    );
    expect(record).toMatchObject({ status: 'failed', error: { code: 'TRACKING_TIMEOUT' } });
  });
});
