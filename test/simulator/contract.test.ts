import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CBR_LIST_BACKUPS,
  CBR_LIST_VAULTS,
  CBR_SHOW_BACKUP,
  CSBS_LIST_ITEMS,
  CSBS_SHOW_ITEM,
  checkRecord,
  DDS_INSTANCE_TAGS,
  DDS_LIST_BACKUPS,
  DDS_SHOW_JOB,
  DIS_CONSUMER_STATE,
  DIS_LIST_APPS,
  type RecordSpec,
} from '../../lib/services/wire-contract.ts';
import { CSBS_PROVIDER_ID, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, REGION } from './helpers.ts';

/**
 * Each list/show/poll response of the simulator, field by field against the SDK models restated as data in
 * lib/services/wire-contract.ts: an unknown extra field, a missing required one, a value outside an enum or an
 * unparsable time fails.
 */

let sim: Simulator;
let projectId: string;

beforeAll(async () => {
  sim = await startSimulator({
    seed: 3,
    deletion: { csbsMs: 1_000, cbrMs: 1_000, ddsMs: 1_000 },
    generate: { seed: 3, projects: 1, regions: [REGION], resourcesPerProject: 2, backupsPerResource: 6 },
  });
  projectId = [...sim.state.projects.keys()][0] as string;
});
afterAll(async () => {
  await sim.close();
});

async function expectContract(spec: RecordSpec, body: unknown) {
  expect(checkRecord(spec, body)).toEqual([]);
}

describe('checkRecord', () => {
  const spec: RecordSpec = {
    source: 'test',
    fields: {
      id: { type: 'string', required: true },
      status: { type: 'string', values: ['a', 'b'] },
      at: { type: 'string', time: true },
    },
  };

  it('reports unknown fields, missing required ones, unknown values and unparsable times', () => {
    expect(checkRecord(spec, { id: 'x', status: 'a', at: '2026-01-01T00:00:00' })).toEqual([]);
    expect(
      checkRecord(spec, { status: 'c', at: 'yesterday', extra: 1 }).map((p) => [p.kind, p.path]),
    ).toEqual([
      ['unknown_field', 'extra'],
      ['missing_field', 'id'],
      ['unknown_value', 'status'],
      ['bad_time', 'at'],
    ]);
  });
});

describe('CBR contract (services/cbr/v1/model)', () => {
  it('ListBackups, ShowBackup and ListVault answer the model fields and nothing else', async () => {
    const list = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`);
    expect(list.json.backups.length).toBeGreaterThan(0);
    await expectContract(CBR_LIST_BACKUPS, list.json);
    const show = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups/${list.json.backups[0].id}`);
    await expectContract(CBR_SHOW_BACKUP, show.json);
    const vaults = await call(sim, 'GET', 'cbr', `/v3/${projectId}/vaults`);
    expect(vaults.json.vaults.length).toBeGreaterThan(0);
    await expectContract(CBR_LIST_VAULTS, vaults.json);
  });

  it('honours image_type, sort, marker and repeated status, and answers 400 to a filter it does not serve', async () => {
    const all = (await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`)).json.backups as {
      id: string;
      name: string;
      status: string;
    }[];
    const byName = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { query: { sort: 'name:asc' } });
    expect(byName.json.backups.map((b: { name: string }) => b.name)).toEqual(all.map((b) => b.name).sort());
    const second = all[1] as { id: string };
    const afterMarker = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      query: { marker: all[0]?.id as string, limit: '1' },
    });
    expect(afterMarker.json.backups.map((b: { id: string }) => b.id)).toEqual([second.id]);
    const url = `/v3/${projectId}/backups?status=available&status=error`;
    const statuses = await call(sim, 'GET', 'cbr', url);
    expect(statuses.json.count).toBe(
      all.filter((b) => b.status === 'available' || b.status === 'error').length,
    );
    const replicas = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      query: { image_type: 'replication' },
    });
    expect(replicas.json.count).toBe(0);
    for (const query of [
      { own_type: 'private' },
      { resource_az: 'az1' },
      { colour: 'red' },
      { sort: 'size:up' },
    ] as Record<string, string>[]) {
      const refused = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { query });
      expect(refused.status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe('DDS contract (services/dds/v3/model)', () => {
  it('ListBackups, ListInstanceTags and the job of a deletion answer the model fields', async () => {
    const list = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`);
    await expectContract(DDS_LIST_BACKUPS, list.json);
    expect(list.json.backups[0]).not.toHaveProperty('project_id');
    const instance = [...(sim.state.ddsInstances.get(projectId) ?? [])][0]?.id as string;
    const incremental = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, {
      query: { backup_type: 'Incremental', instance_id: instance },
    });
    await expectContract(DDS_LIST_BACKUPS, incremental.json);
    const tags = await call(sim, 'GET', 'dds', `/v3/${projectId}/instances/${instance}/tags`);
    await expectContract(DDS_INSTANCE_TAGS, tags.json);
    const manual = (list.json.backups as { id: string; type: string; status: string }[]).find(
      (b) => b.type === 'Manual' && b.status === 'COMPLETED',
    );
    const deleted = await call(sim, 'DELETE', 'dds', `/v3/${projectId}/backups/${manual?.id}`);
    expect(deleted.status).toBe(202);
    const running = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, {
      query: { id: deleted.json.job_id },
    });
    await expectContract(DDS_SHOW_JOB, running.json);
    sim.advance(1_000);
    const done = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, {
      query: { id: deleted.json.job_id },
    });
    await expectContract(DDS_SHOW_JOB, done.json);
    expect(done.json.job.ended).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/);
  });

  it('honours backup_status and backup_id, and answers 400 to order_field and mode', async () => {
    const failed = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, {
      query: { backup_status: 'FAILED' },
    });
    for (const backup of failed.json.backups) expect(backup.status).toBe('FAILED');
    const some = (await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`)).json.backups[0];
    const one = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, { query: { backup_id: some.id } });
    expect(one.json.backups.map((b: { id: string }) => b.id)).toEqual([some.id]);
    for (const query of [{ order_field: 'name', order_rule: 'asc' }, { mode: 'Single' }] as Record<
      string,
      string
    >[]) {
      expect((await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, { query })).status).toBe(400);
    }
  });
});

describe('CSBS contract (golangsdk openstack/csbs/v1/backup, CSBS API reference)', () => {
  it('the item list and show answer the documented fields, without project_id', async () => {
    const list = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { limit: '3' },
    });
    await expectContract(CSBS_LIST_ITEMS, list.json);
    expect(list.json.checkpoint_items[0]).not.toHaveProperty('project_id');
    const show = await call(
      sim,
      'GET',
      'csbs',
      `/v1/${projectId}/checkpoint_items/${list.json.checkpoint_items[0].id}`,
    );
    await expectContract(CSBS_SHOW_ITEM, show.json);
  });

  it('shows the documented deleted status once a deletion is done', async () => {
    const item = (
      await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, { query: { status: 'available' } })
    ).json.checkpoint_items[0];
    const path = `/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/${item.checkpoint_id}`;
    expect((await call(sim, 'DELETE', 'csbs', path, { query: { checkpoint_items: item.id } })).status).toBe(
      200,
    );
    sim.advance(1_000);
    const shown = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items/${item.id}`);
    await expectContract(CSBS_SHOW_ITEM, shown.json);
    expect(shown.json.checkpoint_item.status).toBe('deleted');
  });

  it('honours sort, checkpoint_id and image_type, and answers 400 to the filters it does not serve', async () => {
    const all = (await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`)).json
      .checkpoint_items as {
      id: string;
      checkpoint_id: string;
      created_at: string;
    }[];
    const oldest = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { sort: 'created_at:asc', limit: '1' },
    });
    expect(oldest.json.checkpoint_items[0].created_at).toBe(all.map((i) => i.created_at).sort()[0]);
    const first = all[0] as { checkpoint_id: string };
    const byCheckpoint = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { checkpoint_id: first.checkpoint_id },
    });
    for (const item of byCheckpoint.json.checkpoint_items)
      expect(item.checkpoint_id).toBe(first.checkpoint_id);
    const replicas = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { image_type: 'replication' },
    });
    expect(replicas.json.checkpoint_items).toEqual([]);
    for (const query of [
      { all_tenants: 'true' },
      { policy_id: 'p' },
      { ip: '10.0.0.1' },
      { sort: 'size' },
    ] as Record<string, string>[]) {
      const refused = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, { query });
      expect(refused.status, JSON.stringify(query)).toBe(400);
    }
  });
});

describe('DIS contract (services/dis/v2/model, DIS API reference)', () => {
  it('ListApps and the consumer state answer the documented fields, with limit and start_partition_id', async () => {
    const apps = await call(sim, 'GET', 'dis', `/v2/${projectId}/apps`, { query: { limit: '2' } });
    await expectContract(DIS_LIST_APPS, apps.json);
    const app = apps.json.apps[0];
    const stream = app.commit_checkpoint_stream_names[0];
    const path = `/v2/${projectId}/apps/${app.app_name}/streams/${stream}`;
    const page = await call(sim, 'GET', 'dis', path, { query: { checkpoint_type: 'LAST_READ', limit: '2' } });
    await expectContract(DIS_CONSUMER_STATE, page.json);
    expect(page.json.partition_consuming_states.map((p: { partition_id: string }) => p.partition_id)).toEqual(
      ['shardId-0000000000', 'shardId-0000000001'],
    );
    expect(page.json.has_more).toBe(true);
    const rest = await call(sim, 'GET', 'dis', path, {
      query: { checkpoint_type: 'LAST_READ', start_partition_id: 'shardId-0000000001' },
    });
    expect(rest.json.partition_consuming_states.map((p: { partition_id: string }) => p.partition_id)).toEqual(
      ['shardId-0000000002'],
    );
    expect(rest.json.has_more).toBe(false);
    expect(
      (await call(sim, 'GET', 'dis', path, { query: { checkpoint_type: 'LAST_READ', limit: '0' } })).status,
    ).toBe(400);
    expect(
      (await call(sim, 'GET', 'dis', path, { query: { checkpoint_type: 'LAST_READ', app_id: 'x' } })).status,
    ).toBe(400);
  });
});
