import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import * as cbr from '../../lib/services/cbr.ts';
import * as csbs from '../../lib/services/csbs.ts';
import * as dds from '../../lib/services/dds.ts';
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, collect, firstProject, REGION, simulatorClient } from './helpers.ts';

let sim: Simulator;
let projectId: string;

beforeAll(async () => {
  // 1 project, 5 resources x 11 backups per service: page sizes of 7 cross many page boundaries.
  sim = await startSimulator({
    generate: {
      seed: 7,
      projects: 1,
      regions: [REGION],
      resourcesPerProject: 5,
      backupsPerResource: 11,
      multiItemShare: 0.5,
    },
  });
  projectId = firstProject(sim);
});

afterAll(async () => {
  await closeHuaweiPools();
  await sim.close();
});

describe('CSBS pagination (limit + marker + checkpoint_items_links)', () => {
  it('lists every item exactly once across pages through the project client', async () => {
    const client = simulatorClient(sim);
    const listed = await collect(csbs.listBackups(client, { region: REGION, projectId, pageSize: 7 }));
    const expected = [...sim.state.csbs.get(projectId)!.values()].map((item) => item.id).sort();
    expect(expected.length).toBeGreaterThan(55);
    expect(listed.map((backup) => backup.id).sort()).toEqual(expected);
    const pages = sim.inspect().requests.filter((r) => r.operation === 'listCheckpointItems');
    expect(pages.length).toBe(Math.ceil(expected.length / 7));
  });

  it('gives a next link only while more items remain, and the link carries the marker', async () => {
    const first = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { limit: '50' },
    });
    expect(first.status).toBe(200);
    expect(first.json.checkpoint_items).toHaveLength(50);
    const next = new URL(first.json.checkpoint_items_links[0].href);
    expect(next.searchParams.get('marker')).toBe(first.json.checkpoint_items[49].id);
    expect(next.pathname).toBe(`/csbs/${REGION}/v1/${projectId}/checkpoint_items`);
    const second = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: Object.fromEntries(next.searchParams),
    });
    expect(second.json.checkpoint_items_links).toEqual([]);
    const all = [...first.json.checkpoint_items, ...second.json.checkpoint_items];
    expect(new Set(all.map((item: { id: string }) => item.id)).size).toBe(
      sim.state.csbs.get(projectId)!.size,
    );
  });

  it('rejects a limit above 1000', async () => {
    const response = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items`, {
      query: { limit: '1001' },
    });
    expect(response.status).toBe(400);
  });
});

describe('CBR pagination (offset/limit/count)', () => {
  it('lists every backup exactly once through the project client', async () => {
    const client = simulatorClient(sim);
    const listed = await collect(cbr.listBackups(client, { region: REGION, projectId, pageSize: 7 }));
    expect(listed).toHaveLength(55);
    expect(new Set(listed.map((backup) => backup.id)).size).toBe(55);
  });

  it('reports the total count and echoes offset and limit', async () => {
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      query: { offset: '50', limit: '7' },
    });
    expect(response.json).toMatchObject({ count: 55, offset: 50, limit: 7 });
    expect(response.json.backups).toHaveLength(5);
  });
});

describe('DDS pagination (offset, limit 1..100, total_count)', () => {
  it('lists every backup exactly once through the project client', async () => {
    const client = simulatorClient(sim);
    const listed = await collect(dds.listBackups(client, { region: REGION, projectId, pageSize: 7 }));
    expect(listed).toHaveLength(55);
    expect(new Set(listed.map((backup) => backup.id)).size).toBe(55);
  });

  it.each(['0', '101', 'x'])('rejects limit=%s with DBS.200001', async (limit) => {
    const response = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, { query: { limit } });
    expect(response.status).toBe(400);
    expect(response.json.error_code).toBe('DBS.200001');
  });

  it('filters by begin_time/end_time in yyyy-mm-dd hh:mm:ss and rejects other formats', async () => {
    const all = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, { query: { limit: '100' } });
    const times = all.json.backups.map((b: { begin_time: string }) => b.begin_time).sort();
    const begin = times[10];
    const end = times[20];
    const window = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, {
      query: { begin_time: begin, end_time: end, limit: '100' },
    });
    expect(window.json.total_count).toBe(times.filter((t: string) => t >= begin && t <= end).length);
    const iso = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, {
      query: { begin_time: '2026-01-01T00:00:00Z', end_time: end },
    });
    expect(iso.status).toBe(400);
    const lonely = await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`, {
      query: { begin_time: begin },
    });
    expect(lonely.status).toBe(400);
  });
});

describe('DIS app pagination (limit 1..100, start_app_name, has_more_app)', () => {
  it('walks all apps with start_app_name and stops when has_more_app is false', async () => {
    const names: string[] = [];
    let start: string | undefined;
    for (;;) {
      const query: Record<string, string> = { limit: '2' };
      if (start) query.start_app_name = start;
      const page = await call(sim, 'GET', 'dis', `/v2/${projectId}/apps`, { query });
      expect(page.status).toBe(200);
      names.push(...page.json.apps.map((app: { app_name: string }) => app.app_name));
      if (!page.json.has_more_app) break;
      start = names[names.length - 1];
    }
    expect(names).toEqual(['app_0000', 'app_0001', 'app_0002', 'app_0003', 'app_0004']);
  });

  it('rejects limit=101', async () => {
    const response = await call(sim, 'GET', 'dis', `/v2/${projectId}/apps`, { query: { limit: '101' } });
    expect(response.status).toBe(400);
  });
});
