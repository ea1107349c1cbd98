import { afterEach, describe, expect, it } from 'vitest';
import { CSBS_PROVIDER_ID, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, firstProject, REGION } from './helpers.ts';

let sim: Simulator;

afterEach(async () => {
  await sim?.close();
});

async function fleetSim(options: Parameters<typeof startSimulator>[0] = {}) {
  sim = await startSimulator({
    deletion: { csbsMs: 60_000, cbrMs: 30_000, ddsMs: 20_000 },
    generate: {
      seed: 11,
      projects: 1,
      regions: [REGION],
      resourcesPerProject: 4,
      backupsPerResource: 5,
      failedShare: 0,
      inProgressShare: 0,
      multiItemShare: 0,
    },
    ...options,
  });
  return firstProject(sim);
}

function checkpointPath(projectId: string, checkpointId: string) {
  return `/v1/${projectId}/providers/${CSBS_PROVIDER_ID}/checkpoints/${checkpointId}`;
}

describe('CSBS asynchronous deletion', () => {
  it('answers 200, shows the item deleting, then deleted, and then gone (CSBS.3001)', async () => {
    const projectId = await fleetSim();
    const item = [...sim.state.csbs.get(projectId)!.values()][0]!;
    const deleted = await call(sim, 'DELETE', 'csbs', checkpointPath(projectId, item.checkpoint_id));
    expect(deleted.status).toBe(200);
    const during = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items/${item.id}`);
    expect(during.json.checkpoint_item.status).toBe('deleting');
    sim.advance(60_000);
    // The documented `deleted` status: still listed for a while once the deletion is done.
    const done = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items/${item.id}`);
    expect(done.json.checkpoint_item.status).toBe('deleted');
    sim.advance(60_000);
    const after = await call(sim, 'GET', 'csbs', `/v1/${projectId}/checkpoint_items/${item.id}`);
    expect(after.status).toBe(404);
    expect(after.json.error_code).toBe('CSBS.3001');
    expect(sim.inspect().deleteCalls(item.checkpoint_id)).toBe(1);
  });

  it('runs at most 5 deletion tasks per project at once and queues the rest', async () => {
    const projectId = await fleetSim();
    const checkpoints = [
      ...new Set([...sim.state.csbs.get(projectId)!.values()].map((i) => i.checkpoint_id)),
    ];
    const eight = checkpoints.slice(0, 8);
    const responses = await Promise.all(
      eight.map((id) => call(sim, 'DELETE', 'csbs', checkpointPath(projectId, id))),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(8).fill(200));
    const statuses = eight.map((id) => sim.state.csbsCheckpointItems(projectId, id)[0]!.status);
    expect(statuses.filter((s) => s === 'deleting')).toHaveLength(5);
    expect(statuses.filter((s) => s === 'waiting_delete')).toHaveLength(3);
    expect(sim.inspect().maxRunningCsbsTasks[projectId]).toBe(5);
    expect(sim.inspect().maxConcurrentDeletions[projectId]).toBe(8);

    sim.advance(60_000); // the first five finish; the three queued start
    expect(eight.filter((id) => sim.state.csbsCheckpointItems(projectId, id).length > 0)).toHaveLength(3);
    sim.advance(60_000);
    const inspection = sim.inspect();
    expect(inspection.pendingDeletions).toBe(0);
    expect(inspection.maxRunningCsbsTasks[projectId]).toBe(5);
    expect(eight.every((id) => sim.state.csbsCheckpointItems(projectId, id).length === 0)).toBe(true);
  });

  it('deletes only the named item of a multi-item checkpoint when checkpoint_items is given', async () => {
    const projectId = await fleetSim();
    const [a, b] = [...sim.state.csbs.get(projectId)!.values()];
    sim.state.addCsbsItems([{ ...b!, id: 'extra-item', checkpoint_id: a!.checkpoint_id }]);
    const response = await call(sim, 'DELETE', 'csbs', checkpointPath(projectId, a!.checkpoint_id), {
      query: { checkpoint_items: 'extra-item' },
    });
    expect(response.status).toBe(200);
    sim.advance(60_000);
    expect(sim.state.csbsItem('extra-item')?.status).toBe('deleted');
    sim.advance(60_000);
    expect(sim.state.csbsItem('extra-item')).toBeUndefined();
    expect(sim.state.csbsItem(a!.id)?.status).toBe('available');
  });
});

describe('CBR asynchronous deletion', () => {
  it('answers 204, keeps the backup deleting, then GET answers 404 CSBS.3001', async () => {
    const projectId = await fleetSim();
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    const deleted = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    const during = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    expect(during.json.backup.status).toBe('deleting');
    sim.advance(30_000);
    const after = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    expect(after.status).toBe(404);
    expect(after.json.error_code).toBe('CSBS.3001');
  });

  it('records per-project concurrent deletions for CBR', async () => {
    const projectId = await fleetSim();
    const backups = [...sim.state.cbr.get(projectId)!.values()].slice(0, 3);
    await Promise.all(backups.map((b) => call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${b.id}`)));
    expect(sim.inspect().maxConcurrentDeletionsByService.cbr[projectId]).toBe(3);
  });
});

describe('DDS deletion jobs', () => {
  it('answers 202 {job_id}; the job goes Running then Completed and the backup disappears', async () => {
    const projectId = await fleetSim();
    const manual = [...sim.state.ddsBackups.get(projectId)!.values()].find((b) => b.type === 'Manual')!;
    const deleted = await call(sim, 'DELETE', 'dds', `/v3/${projectId}/backups/${manual.id}`);
    expect(deleted.status).toBe(202);
    const jobId = deleted.json.job_id;
    expect(typeof jobId).toBe('string');
    const running = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, { query: { id: jobId } });
    expect(running.json.job.status).toBe('Running');
    sim.advance(20_000);
    const done = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, { query: { id: jobId } });
    expect(done.json.job.status).toBe('Completed');
    expect(sim.state.ddsBackup(manual.id)).toBeUndefined();
  });

  it('ends the job Failed and keeps the backup when the job fails', async () => {
    const projectId = await fleetSim({ ddsJobFailureRate: 1 });
    const manual = [...sim.state.ddsBackups.get(projectId)!.values()].find((b) => b.type === 'Manual')!;
    const deleted = await call(sim, 'DELETE', 'dds', `/v3/${projectId}/backups/${manual.id}`);
    sim.advance(20_000);
    const job = await call(sim, 'GET', 'dds', `/v3/${projectId}/jobs`, {
      query: { id: deleted.json.job_id },
    });
    expect(job.json.job.status).toBe('Failed');
    expect(job.json.job.fail_reason).not.toBe('');
    expect(sim.state.ddsBackup(manual.id)?.status).toBe('COMPLETED');
  });
});

describe('real-time deletions with a time scale', () => {
  it('finishes a 30-minute CBR deletion within a few wall milliseconds at timeScale 1e6', async () => {
    const projectId = await fleetSim({ timeScale: 1_000_000, deletion: { cbrMs: 1_800_000 } });
    const backup = [...sim.state.cbr.get(projectId)!.values()][0]!;
    await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backup.id}`);
    let status = 200;
    for (let i = 0; i < 100 && status === 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups/${backup.id}`)).status;
    }
    expect(status).toBe(404);
  });
});

describe('backups being created', () => {
  it('stay busy (CSBS.2003) until creationMs has passed, then can be deleted', async () => {
    const projectId = await fleetSim({
      creationMs: 120_000,
      generate: {
        seed: 2,
        projects: 1,
        regions: [REGION],
        resourcesPerProject: 3,
        backupsPerResource: 3,
        inProgressShare: 1,
      },
    });
    const busy = [...sim.state.cbr.get(projectId)!.values()].find((b) => b.status === 'protecting')!;
    const early = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${busy.id}`);
    expect(early.json.error_code).toBe('CSBS.2003');
    sim.advance(120_000);
    const later = await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${busy.id}`);
    expect(later.status).toBe(204);
    const building = [...sim.state.ddsBackups.get(projectId)!.values()].filter(
      (b) => b.status === 'BUILDING',
    );
    expect(building).toHaveLength(0);
  });
});

describe('caller concurrency', () => {
  it('reports the most DELETE requests in flight at once per service and project', async () => {
    const projectId = await fleetSim({
      faults: { services: { cbr: { latency: { kind: 'fixed', ms: 50 } } } },
    });
    const backups = [...sim.state.cbr.get(projectId)!.values()].slice(0, 4);
    await Promise.all(backups.map((b) => call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${b.id}`)));
    await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backups[0]!.id}`);
    const inspection = sim.inspect();
    expect(inspection.maxConcurrentDeleteRequests.cbr[projectId]).toBe(4);
    expect(inspection.maxConcurrentDeleteRequests.csbs[projectId]).toBeUndefined();
    sim.resetInspection();
    await call(sim, 'DELETE', 'cbr', `/v3/${projectId}/backups/${backups[1]!.id}`);
    expect(sim.inspect().maxConcurrentDeleteRequests.cbr[projectId]).toBe(1);
  });
});
