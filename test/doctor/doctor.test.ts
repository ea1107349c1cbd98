import { readFileSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { runDoctor } from '../../lib/doctor/doctor.ts';
import { closeHuaweiPools, createHuaweiClient, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, type EndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { loadPolicy, type Policy, parsePolicy } from '../../lib/retention/policy.ts';
import { adapters } from '../../lib/services/index.ts';
import { FleetSchema, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { DEMO_REGIONS, demoSimulatorOptions } from '../../lib/sweep/demo-fleet.ts';
import { planSweep, type SweepPlan } from '../../lib/sweep/plan-sweep.ts';

/** `npm run doctor` at library level, against the simulator over loopback. */

const demoPolicy = loadPolicy(readFileSync('policies/demo.yaml', 'utf8'), 'policies/demo.yaml');
const NOW = new Date(Date.UTC(2026, 10, 27, 12));
const sims: Simulator[] = [];

async function demoSim(fleet?: unknown): Promise<Simulator> {
  // The demo fleet without the timer that finishes backups in creation: both runs see the same states.
  const { creationMs: _timer, ...options } = demoSimulatorOptions();
  const sim = await startSimulator(
    fleet === undefined ? { ...options, generate: { ...options.generate, now: NOW.getTime() } } : { fleet },
  );
  sims.push(sim);
  return sim;
}

function endpointsOf(sim: Simulator): EndpointResolver {
  const overrides: Record<string, string> = {};
  for (const region of DEMO_REGIONS) {
    for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const)
      overrides[overrideKey(service, region)] = sim.baseUrl(service, region);
  }
  return createEndpointResolver({ overrides });
}

function clientOf(sim: Simulator, sk = sim.credentials.sk): HuaweiClient {
  return createHuaweiClient({
    endpoints: endpointsOf(sim),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sk)),
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20, maxTotalMs: 2_000 },
  });
}

afterEach(async () => {
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
});
afterAll(async () => {
  await closeHuaweiPools();
});

const doctor = (sim: Simulator, policy: Policy, sk?: string, record = false) =>
  runDoctor(
    policy,
    { client: clientOf(sim, sk), endpoints: endpointsOf(sim), credentials: 'AK/SK (test)' },
    { record, salt: Buffer.from('fixed salt') },
  );

describe('runDoctor', () => {
  it('passes against the simulator with policies/demo.yaml, every record fitting the SDK models', async () => {
    const sim = await demoSim();
    const result = await doctor(sim, demoPolicy);
    expect(result.findings.filter((finding) => !finding.ok)).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.findings.some((finding) => finding.check === 'clock' && finding.ok)).toBe(true);
    expect(Object.keys(result.records).sort()).toEqual([
      'cbr backup',
      'cbr vault',
      'csbs item',
      'dds backup',
    ]);
    for (const stats of Object.values(result.records)) {
      expect(stats.records).toBeGreaterThan(0);
      for (const paths of Object.values(stats.problems)) expect(paths).toEqual({});
    }
    // Read-only: not one DELETE.
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toEqual([]);
  });

  it('stops after one 401 with a clear message when the SK is wrong', async () => {
    const sim = await demoSim();
    const result = await doctor(sim, demoPolicy, 'wrong-secret-key-0000000000000000000000');
    expect(result.ok).toBe(false);
    expect(result.stopped).toMatch(/credentials were rejected \(HTTP 401 APIG\.0301/);
    expect(result.stopped).toMatch(/stopped after this one attempt/);
    expect(sim.inspect().requests.filter((request) => request.status === 401)).toHaveLength(1);
    expect(sim.isLocked(sim.credentials.ak)).toBe(false);
  });

  it('reports a project whose region the target does not name', async () => {
    const sim = await demoSim();
    const [project] = demoPolicy.targets[0]?.projects ?? [];
    const policy = parsePolicy({
      version: 1,
      targets: [
        { name: 'wrong', service: 'cbr', projects: [project], regions: ['cn-north-4'], keep: { last: 1 } },
      ],
    });
    const result = await doctor(sim, policy);
    expect(result.ok).toBe(false);
    expect(result.findings.filter((finding) => !finding.ok)).toEqual([
      expect.objectContaining({
        check: 'region',
        detail: expect.stringMatching(/belongs to ap-southeast-1/),
      }),
    ]);
  });

  it('records an anonymised fleet that the simulator replays into the same plan as the live run', async () => {
    const live = await demoSim();
    const livePlan = await planSweep({ policy: demoPolicy, now: NOW }, { client: clientOf(live), adapters });
    const recorded = await doctor(live, demoPolicy, undefined, true);
    const fleet = FleetSchema.parse(JSON.parse(JSON.stringify(recorded.fleet)));
    // Ids and names are replaced (the policy's project ids stay: the same policy must run on the replay).
    const liveIds = new Set([...live.state.cbr.values()].flatMap((c) => [...c.values()].map((b) => b.id)));
    expect(fleet.cbr.length).toBe(liveIds.size);
    expect(fleet.cbr.filter((backup) => liveIds.has(backup.id))).toEqual([]);
    expect(new Set(fleet.projects.map((project) => project.id))).toEqual(new Set(live.state.projects.keys()));
    const replay = await demoSim(fleet);
    const replayPlan = await planSweep(
      { policy: demoPolicy, now: NOW },
      { client: clientOf(replay), adapters },
    );
    expect(replayPlan.summary.targets).toEqual(livePlan.summary.targets);
    expect(shape(replayPlan)).toEqual(shape(livePlan));
    expect(livePlan.items.length).toBeGreaterThan(50);
  });
});

/** A plan without its ids: per item its service, region, project, time, size and reasons. */
function shape(plan: SweepPlan): string[] {
  return plan.items
    .map((item) =>
      [
        item.service,
        item.region,
        item.project_id,
        item.backup_created_at,
        item.size_bytes ?? '-',
        item.reason,
      ].join('|'),
    )
    .sort();
}
