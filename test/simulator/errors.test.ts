import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CSBS_PROVIDER_ID, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, firstProject, REGION } from './helpers.ts';

let sim: Simulator;
let projectId: string;

beforeAll(async () => {
  sim = await startSimulator({
    generate: {
      seed: 3,
      projects: 1,
      regions: [REGION],
      resourcesPerProject: 4,
      backupsPerResource: 4,
      inProgressShare: 0,
    },
  });
  projectId = firstProject(sim);
});

afterAll(async () => {
  await sim.close();
});

function expectApigError(response: {
  status: number;
  json: Record<string, unknown>;
  headers: Record<string, unknown>;
}) {
  expect(response.json).toEqual({
    error_code: expect.any(String),
    error_msg: expect.any(String),
    request_id: response.headers['x-request-id'],
  });
}

describe('CBR delete errors', () => {
  it('answers 404 CSBS.3001 for an unknown backup', async () => {
    const response = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/no-such-backup`);
    expect(response.status).toBe(404);
    expect(response.json.error_code).toBe('CSBS.3001');
    expectApigError(response);
  });

  it('answers 400 6201 for a backup that cannot be deleted now (restoring)', async () => {
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    backup.status = 'restoring';
    const response = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    backup.status = 'available';
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('6201');
  });

  it('answers 400 CSBS.2003 while a backup of the same resource is being created', async () => {
    const [older, newer] = [...sim.state.cbr.get(projectId)!.values()];
    sim.state.addCbrBackups([
      { ...older!, id: 'in-creation', status: 'protecting', resource_id: newer!.resource_id },
    ]);
    const sibling = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${newer!.id}`);
    expect(sibling.status).toBe(400);
    expect(sibling.json.error_code).toBe('CSBS.2003');
    const itself = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/in-creation`);
    expect(itself.json.error_code).toBe('CSBS.2003');
    sim.state.cbrBackup('in-creation')!.status = 'available';
    const after = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${newer!.id}`);
    expect(after.status).toBe(204);
  });
});

describe('CSBS delete errors', () => {
  it('answers 404 CSBS.3001 for an unknown checkpoint or an item outside it', async () => {
    const unknown = await call(
      sim,
      'DELETE',
      'csbs',
      `/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/nope`,
    );
    expect(unknown.status).toBe(404);
    expect(unknown.json.error_code).toBe('CSBS.3001');
    const item = [...sim.state.csbs.get(projectId)!.values()][0]!;
    const outside = await call(
      sim,
      'DELETE',
      'csbs',
      `/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/${item.checkpoint_id}`,
      { query: { checkpoint_items: 'not-a-member' } },
    );
    expect(outside.json.error_code).toBe('CSBS.3001');
  });

  it('answers 400 CSBS.2003 while an item of the checkpoint is being created', async () => {
    const item = [...sim.state.csbs.get(projectId)!.values()][1]!;
    item.status = 'protecting';
    const response = await call(
      sim,
      'DELETE',
      'csbs',
      `/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/${item.checkpoint_id}`,
    );
    item.status = 'available';
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('CSBS.2003');
  });

  it('rejects a provider id other than the fixed CSBS one', async () => {
    const item = [...sim.state.csbs.get(projectId)!.values()][0]!;
    const response = await call(
      sim,
      'DELETE',
      'csbs',
      `/v1/${projectId}/providers/other/checkpoints/${item.checkpoint_id}`,
    );
    expect(response.status).toBe(400);
  });

  it('answers 404 CSBS.3001 for an unknown item GET', async () => {
    const response = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items/nope`);
    expect(response.status).toBe(404);
    expect(response.json.error_code).toBe('CSBS.3001');
  });
});

describe('DDS errors', () => {
  it('refuses to delete an automated backup (400 DBS.200001)', async () => {
    const auto = [...sim.state.ddsBackups.get(projectId)!.values()].find((b) => b.type !== 'Manual')!;
    const response = await call(sim, 'DELETE', 'dds', `/v3/${projectId}/backups/${auto.id}`);
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('DBS.200001');
    expect(sim.state.ddsBackup(auto.id)?.status).not.toBe('DISABLED');
  });

  it('answers DBS.201502 for an unknown backup and an unknown job', async () => {
    const backup = await call(sim, 'DELETE', 'dds', `/v3/${projectId}/backups/nope`);
    expect(backup.status).toBe(400);
    expect(backup.json.error_code).toBe('DBS.201502');
    const job = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, { query: { id: 'nope' } });
    expect(job.status).toBe(400);
    expect(job.json.error_code).toBe('DBS.201502');
  });
});

describe('DIS checkpoint deletion parameter rules', () => {
  const base = { stream_name: 'dis-stream-0', app_name: 'app_0000', checkpoint_type: 'LAST_READ' };

  it.each([
    ['shardId-0000000001', 204],
    ['1', 204],
    ['shardId-1', 400],
    ['-1', 400],
    ['99', 400],
  ])('partition_id %s → %i', async (partition, status) => {
    const response = await call(sim, 'DELETE', 'dis', `/v2/${projectId}/checkpoints`, {
      query: { ...base, partition_id: partition },
    });
    expect(response.status).toBe(status);
  });

  it.each([
    ['app_name too long', { app_name: 'a'.repeat(51) }],
    ['app_name empty', { app_name: '' }],
    ['app_name with a space', { app_name: 'my app' }],
    ['checkpoint_type not LAST_READ', { checkpoint_type: 'TRIM_HORIZON' }],
  ])('rejects %s with 400', async (_name, override) => {
    const response = await call(sim, 'DELETE', 'dis', `/v2/${projectId}/checkpoints`, {
      query: { ...base, ...override },
    });
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('DIS.4200');
  });

  it('deletes the checkpoint synchronously (204) so the consumer state shows no sequence number', async () => {
    const response = await call(sim, 'DELETE', 'dis', `/v2/${projectId}/checkpoints`, {
      query: { ...base, app_name: 'app_0002', partition_id: '0' },
    });
    expect(response.status).toBe(204);
    const state = await call(sim, 'GET', 'dis', `/v2/${projectId}/apps/app_0002/streams/dis-stream-0`, {
      query: { checkpoint_type: 'LAST_READ' },
    });
    expect(state.json.partition_consuming_states[0]).toMatchObject({
      partition_id: 'shardId-0000000000',
      sequence_number: '-1',
    });
    expect(state.json.partition_consuming_states[1].sequence_number).not.toBe('-1');
  });

  it('answers 404 for an unknown stream', async () => {
    const response = await call(sim, 'DELETE', 'dis', `/v2/${projectId}/checkpoints`, {
      query: { ...base, stream_name: 'nope' },
    });
    expect(response.status).toBe(404);
  });
});

describe('routing', () => {
  it('answers 404 APIG.0101 with a request id for unknown routes and services', async () => {
    const route = await call(sim, 'GET', 'cbr', `/v3/${projectId}/nothing-here`);
    expect(route.status).toBe(404);
    expect(route.json.error_code).toBe('APIG.0101');
    expectApigError(route);
    const verb = await call(sim, 'PUT', 'cbr', `/v3/${projectId}/backups`);
    expect(verb.status).toBe(404);
  });

  it('tells CBR and DDS apart by prefix although their paths are the same', async () => {
    const cbr = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { query: { limit: '1' } });
    const dds = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, { query: { limit: '1' } });
    expect(cbr.json).toHaveProperty('count');
    expect(dds.json).toHaveProperty('total_count');
    expect(sim.state.cbrBackup(cbr.json.backups[0].id)).toBeDefined();
    expect(sim.state.ddsBackup(dds.json.backups[0].id)).toBeDefined();
  });

  it('puts an X-Request-Id on every response, success or not', async () => {
    const responses = await Promise.all([
      call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`),
      call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/nope`),
      call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { unsigned: true }),
    ]);
    const ids = responses.map((r) => r.headers['x-request-id']);
    expect(ids.every((id) => typeof id === 'string' && id.length === 32)).toBe(true);
    expect(new Set(ids).size).toBe(3);
  });
});
