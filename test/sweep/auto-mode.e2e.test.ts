/**
 * Auto fan-out end to end: startSweep against the simulator with a memory ledger and a recording queue. A plan
 * that fits the time left runs inline (the DELETEs reach the simulator); the same plan with too little time
 * left is queued (nothing is sent upstream, every item goes to the queue). The report's EMF metric lines
 * (lib/metrics.ts) are read back from stdout.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger } from '../../lib/ledger/index.ts';
import type { PlannedItem } from '../../lib/ledger/schema.ts';
import { publishSweepMetrics } from '../../lib/metrics.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { startSweep } from '../../lib/sweep/start.ts';
import type { QueuedFanOut } from '../../lib/sweep/sweep.ts';
import { fastDeps, startSweepSimulator, sweepClient, sweepPolicy } from './sweep-fixture.ts';

let sim: Simulator;
let client: HuaweiClient;

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 31, projects: 2 });
  client = sweepClient(sim);
  sim.resetInspection();
});
afterEach(async () => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

function recordingQueue(): QueuedFanOut & { readonly sent: PlannedItem[] } {
  const sent: PlannedItem[] = [];
  return {
    sent,
    enqueue: async (_sweepId, items) => {
      sent.push(...items);
      return items.length;
    },
  };
}

function run(queue: QueuedFanOut, timeLeftMs: number, publish?: typeof publishSweepMetrics) {
  const ledger = createMemoryLedger();
  const now = new Date();
  const policy = sweepPolicy(sim);
  return startSweep(
    { dry_run: false },
    { kind: 'sweep', principal: 'test' },
    {
      runtime: {
        client,
        ledger,
        allowlist: new Set(policy.targets.flatMap((target) => target.projects)),
        config: { policySource: undefined, sweepMode: 'auto' },
      },
      loadPolicy: async () => policy,
      now: () => now,
      deadlineAt: now.getTime() + timeLeftMs,
      sweep: { ...fastDeps(sim, client, ledger), fanOut: queue },
      ...(publish === undefined ? {} : { publishMetrics: publish }),
    },
  );
}

describe('sweep mode auto', () => {
  it('runs a plan inline when its estimate fits the time left, and says so in the report', async () => {
    const queue = recordingQueue();
    const report = await run(queue, 24 * 3_600_000);
    expect(report.mode).toBe('inline');
    expect(report.status).toBe('completed');
    expect(report.fan_out).toMatchObject({ requested: 'auto', chosen: 'inline', budget_ms: 24 * 3_600_000 });
    expect(report.fan_out?.estimated_ms).toBeGreaterThan(0);
    expect(queue.sent).toHaveLength(0);
    const deletes = sim.inspect().requests.filter((request) => request.method === 'DELETE');
    expect(deletes.length).toBeGreaterThanOrEqual(report.totals.planned);
    expect(report.totals.deleted + report.totals.already_gone).toBe(report.totals.planned);
  });

  it('queues the same plan when the time left is shorter than its estimate, sending nothing upstream', async () => {
    const queue = recordingQueue();
    const report = await run(queue, 60_000);
    expect(report.mode).toBe('queued');
    expect(report.status).toBe('queued');
    expect(report.fan_out).toMatchObject({ requested: 'auto', chosen: 'queued', budget_ms: 60_000 });
    expect(report.fan_out?.reason).toMatch(/^estimated \d+ min exceeds the 60 s left$/);
    expect(queue.sent).toHaveLength(report.totals.planned);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toHaveLength(0);
  });

  it('logs the sweep, per-target and per-service metrics as EMF lines', async () => {
    // Metrics are off for the test run (vitest.config.ts); this test is about them.
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const lines: string[] = [];
    const write = process.stdout.write.bind(process.stdout);
    vi.spyOn(process.stdout, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: never[]) => {
      const text = String(chunk);
      if (text.includes('"_aws"')) lines.push(...text.trim().split('\n'));
      else return write(chunk, ...rest);
      return true;
    }) as typeof process.stdout.write);
    const report = await run(recordingQueue(), 24 * 3_600_000, publishSweepMetrics);
    const emf = lines.map((line) => JSON.parse(line));
    // One line for the sweep, one per target, one per backup service.
    expect(emf).toHaveLength(1 + report.targets.length + new Set(report.targets.map((t) => t.service)).size);
    for (const line of emf) {
      expect(line._aws.CloudWatchMetrics[0].Namespace).toBe('hwc-retention');
      expect(line.sweep_id).toBe(report.sweep_id);
      expect(line.service).toBe('hwc-retention');
    }
    const sweepLine = emf.find((line) => line.target === undefined && line.backup_service === undefined);
    expect(sweepLine).toMatchObject({
      Planned: report.totals.planned,
      Deleted: report.totals.deleted + report.totals.already_gone,
      Failed: 0,
      BreakerRefusals: 0,
      NotCompleted: 0,
      DurationMs: report.duration_ms,
      status: 'completed',
    });
    expect(sweepLine._aws.CloudWatchMetrics[0].Dimensions).toEqual([['service']]);
    for (const target of report.targets) {
      const line = emf.find((l) => l.target === target.name);
      expect(line).toMatchObject({
        backup_service: target.service,
        Planned: target.planned,
        Deleted: target.deleted,
      });
      expect(line._aws.CloudWatchMetrics[0].Dimensions[0].sort()).toEqual([
        'backup_service',
        'service',
        'target',
      ]);
    }
    const csbs = emf.find((line) => line.backup_service === 'csbs' && line.target === undefined);
    expect(csbs).toHaveProperty('Throttled');
  });
});
