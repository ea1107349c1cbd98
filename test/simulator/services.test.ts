import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { HuaweiBadRequestError, HuaweiBusyError, HuaweiNotFoundError } from '../../lib/huawei/errors.ts';
import * as cbr from '../../lib/services/cbr.ts';
import * as csbs from '../../lib/services/csbs.ts';
import * as dds from '../../lib/services/dds.ts';
import * as dis from '../../lib/services/dis.ts';
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { collect, firstProject, REGION, simulatorClient } from './helpers.ts';

/**
 * The project's own service modules (list → delete → poll) against the simulator: the shapes, statuses and
 * error codes the simulator produces are the ones those modules were written for.
 */

let sim: Simulator;
let projectId: string;

beforeAll(async () => {
  sim = await startSimulator({
    deletion: { csbsMs: 60_000, cbrMs: 60_000, ddsMs: 60_000 },
    generate: {
      seed: 9,
      projects: 1,
      regions: [REGION],
      resourcesPerProject: 3,
      backupsPerResource: 6,
      inProgressShare: 0,
      failedShare: 0,
    },
  });
  projectId = firstProject(sim);
});

afterAll(async () => {
  await closeHuaweiPools();
  await sim.close();
});

const target = () => ({ region: REGION, projectId });

describe('service modules against the simulator', () => {
  it('CSBS: lists, deletes one item, polls running then done, and a repeat delete is not-found', async () => {
    const client = simulatorClient(sim);
    const backups = await collect(csbs.listBackups(client, target()));
    const victim = backups.find((b) => b.state === 'finished')!;
    const ref = { ...target(), deleteId: victim.delete_id, itemId: victim.id };
    const started = await csbs.deleteBackup(client, ref);
    expect(started.kind).toBe('accepted');
    if (started.kind !== 'accepted' || started.poll.service !== 'csbs') throw new Error('unexpected start');
    expect((await csbs.pollDeletion(client, started.poll)).state).toBe('running');
    sim.advance(60_000);
    expect((await csbs.pollDeletion(client, started.poll)).state).toBe('done');
    await expect(csbs.deleteBackup(client, ref)).rejects.toBeInstanceOf(HuaweiNotFoundError);
    expect(sim.inspect().deleteCalls(victim.id)).toBe(2);
  });

  it('CBR: lists, deletes, polls to done; a busy resource surfaces as HuaweiBusyError', async () => {
    const client = simulatorClient(sim);
    const backups = await collect(cbr.listBackups(client, target()));
    expect(backups).toHaveLength(18);
    const [victim, busy] = backups;
    const started = await cbr.deleteBackup(client, {
      ...target(),
      deleteId: victim!.delete_id,
      itemId: victim!.id,
    });
    if (started.kind !== 'accepted' || started.poll.service !== 'cbr') throw new Error('unexpected start');
    expect((await cbr.pollDeletion(client, started.poll)).state).toBe('running');
    sim.advance(60_000);
    expect((await cbr.pollDeletion(client, started.poll)).state).toBe('done');

    const record = sim.state.cbrBackup(busy!.id)!;
    sim.state.addCbrBackups([{ ...record, id: 'being-created', status: 'protecting' }]);
    await expect(
      cbr.deleteBackup(client, { ...target(), deleteId: busy!.delete_id, itemId: busy!.id }),
    ).rejects.toBeInstanceOf(HuaweiBusyError);
    sim.state.cbrBackup('being-created')!.status = 'available';
  });

  it('DDS: deletes a manual backup through a job; an automated one is refused', async () => {
    const client = simulatorClient(sim);
    const backups = await collect(dds.listBackups(client, target()));
    const manual = backups.find((b) => b.manual)!;
    const started = await dds.deleteBackup(client, {
      ...target(),
      deleteId: manual.delete_id,
      itemId: manual.id,
    });
    if (started.kind !== 'accepted' || started.poll.service !== 'dds') throw new Error('unexpected start');
    expect((await dds.pollDeletion(client, started.poll)).state).toBe('running');
    sim.advance(60_000);
    expect((await dds.pollDeletion(client, started.poll)).state).toBe('done');
    const auto = backups.find((b) => !b.manual)!;
    await expect(
      dds.deleteBackup(client, { ...target(), deleteId: auto.delete_id, itemId: auto.id }),
    ).rejects.toBeInstanceOf(HuaweiBadRequestError);
  });

  it('DIS: pages through apps and deletes a checkpoint synchronously', async () => {
    const client = simulatorClient(sim);
    const apps = await collect(dis.listApps(client, { ...target(), pageSize: 1 }));
    expect(apps.map((app) => app.app_name)).toEqual(['app_0000', 'app_0001', 'app_0002']);
    const streamName = apps[0]!.commit_checkpoint_stream_names![0]!;
    const result = await dis.deleteCheckpoint(client, {
      ...target(),
      streamName,
      appName: 'app_0000',
      checkpointType: 'LAST_READ',
      partitionId: 'shardId-0000000001',
    });
    expect(result.kind).toBe('done');
    const states = await collect(
      dis.listConsumerStates(client, { ...target(), appName: 'app_0000', streamName }),
    );
    expect(states.map((s) => s.sequence_number)[1]).toBe('-1');
  });
});
