import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultConfig, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, firstProject, REGION } from './helpers.ts';

let sim: Simulator;

afterEach(async () => {
  await sim?.close();
});

async function start(faults?: FaultConfig) {
  sim = await startSimulator({
    generate: { projects: 2, regions: [REGION], resourcesPerProject: 1, backupsPerResource: 3 },
    ...(faults ? { faults } : {}),
  });
  return firstProject(sim);
}

describe('fault injection', () => {
  it('throttles with 429 APIG.0308 and Retry-After', async () => {
    const projectId = await start({ services: { cbr: { throttleRate: 1, retryAfterSeconds: 7 } } });
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`);
    expect(response.status).toBe(429);
    expect(response.headers['retry-after']).toBe('7');
    expect(response.json.error_code).toBe('APIG.0308');
    expect(sim.inspect().requests[0]).toMatchObject({
      status: 429,
      fault: 'throttle',
      operation: 'listBackups',
    });
  });

  it('answers the configured server error statuses', async () => {
    const projectId = await start({ all: { serverErrorRate: 1, serverErrorStatuses: [502] } });
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`);
    expect(response.status).toBe(502);
    expect(response.headers['x-request-id']).toBeTypeOf('string');
  });

  it('applies an operation rule only to that operation', async () => {
    const projectId = await start({
      services: { cbr: { operations: { deleteBackup: { serverErrorRate: 1, serverErrorStatuses: [503] } } } },
    });
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    expect((await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`)).status).toBe(200);
    expect((await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`)).status).toBe(200);
    const deleted = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    expect(deleted.status).toBe(503);
    expect(sim.state.cbrBackup(backup.id)?.status).toBe('available');
    const inspection = sim.inspect();
    expect(inspection.deleteCalls(backup.id)).toBe(0);
    expect(inspection.deleteAttempts(backup.id)).toBe(1);
  });

  it('resets the connection', async () => {
    const projectId = await start({ services: { cbr: { resetRate: 1 } } });
    await expect(call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`)).rejects.toThrow();
    expect(sim.inspect().requests[0]).toMatchObject({ status: 0, fault: 'reset' });
  });

  it('leaves a request hanging until the client gives up', async () => {
    const projectId = await start({ services: { cbr: { hangRate: 1 } } });
    await expect(
      call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    expect(sim.inspect().requests[0]).toMatchObject({ status: 0, fault: 'hang' });
  });

  it('delays answers by the configured latency and still answers correctly', async () => {
    const projectId = await start({ all: { latency: { kind: 'normal', meanMs: 5, stdDevMs: 2 } } });
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`);
    expect(response.status).toBe(200);
    expect(response.json.count).toBe(3);
  });

  it('draws the same faults for the same seed and request order', async () => {
    const config: FaultConfig = {
      seed: 42,
      all: { serverErrorRate: 0.5, serverErrorStatuses: [500, 502, 503] },
    };
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const projectId = await start(config);
      const statuses: number[] = [];
      for (let i = 0; i < 20; i++)
        statuses.push((await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`)).status);
      runs.push(statuses);
      await sim.close();
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(new Set(runs[0])).toContain(200);
    expect(runs[0]!.some((status) => status >= 500)).toBe(true);
  });

  it('rate-limits per project with a token bucket', async () => {
    const projectId = await start({ rateLimit: { ratePerSecond: 0.001, burst: 3 } });
    const other = [...sim.state.projects.keys()][1]!;
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    expect((await call(sim, 'GET', 'cbr', `/v3/${other}/backups`)).status).toBe(200);
  });

  it('rejects an invalid fault config', async () => {
    await start();
    expect(() => sim.setFaults({ all: { throttleRate: 2 } })).toThrow();
  });
});

describe('admin endpoints', () => {
  it('sets faults, reports inspection and resets over HTTP', async () => {
    const projectId = await start();
    const setFaults = await request(`${sim.url}/__admin/faults`, {
      method: 'POST',
      body: JSON.stringify({ services: { dds: { throttleRate: 1 } } }),
    });
    await setFaults.body.dump();
    expect(setFaults.statusCode).toBe(204);
    expect((await call(sim, 'GET', 'dds', `/v3/${projectId}/backups`)).status).toBe(429);
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    const inspected = await request(`${sim.url}/__admin/inspect`);
    const body = (await inspected.body.json()) as {
      requests: { status: number }[];
      deleteCalls: Record<string, number>;
      maxConcurrentDeletions: Record<string, number>;
    };
    expect(body.requests.map((r) => r.status)).toEqual([429, 204]);
    expect(body.deleteCalls[backup.id]).toBe(1);
    expect(body.maxConcurrentDeletions[projectId]).toBe(1);
    const reset = await request(`${sim.url}/__admin/reset`, { method: 'POST' });
    await reset.body.dump();
    expect(sim.inspect().requests).toHaveLength(0);
    const bad = await request(`${sim.url}/__admin/faults`, {
      method: 'POST',
      body: '{"all":{"hangRate":5}}',
    });
    await bad.body.dump();
    expect(bad.statusCode).toBe(400);
  });

  it('advances simulated time over HTTP', async () => {
    const projectId = await start();
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    const advanced = await request(`${sim.url}/__admin/advance`, { method: 'POST', body: '{"ms":3600000}' });
    await advanced.body.dump();
    expect((await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups/${backup.id}`)).status).toBe(404);
  });
});
