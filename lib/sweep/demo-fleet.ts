/**
 * The embedded default: the simulator fleet the demo and `plan --simulator` run against, and a Huawei client
 * pointed at it. The fleet is deterministic (fixed seed), so policies/demo.yaml can name its project ids.
 */
import { createHuaweiClient, type HuaweiClient } from '../huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../huawei/endpoints.ts';
import { type Fleet, type Simulator, type SimulatorOptions, startSimulator } from '../simulator/index.ts';

export const DEMO_REGIONS = ['ap-southeast-1', 'cn-north-4'] as const;
export const DEMO_SEED = 7;

/** Several projects in two regions, all three backup services, some in-progress and failed backups. */
export function demoSimulatorOptions(seed = DEMO_SEED): SimulatorOptions {
  return {
    seed,
    // Deletions finish in well under a second so the demo runs end to end in seconds.
    deletion: { csbsMs: 400, cbrMs: 250, ddsMs: 250 },
    // Backups being created finish after 1.5 s: deleting an older backup of such a CBR resource is busy
    // (CSBS.2003) until then, and the sweep retries it.
    creationMs: 1_500,
    generate: {
      seed,
      projects: 2,
      regions: [...DEMO_REGIONS],
      services: ['csbs', 'cbr', 'dds'],
      resourcesPerProject: 3,
      backupsPerResource: 24,
      manualShare: 0.3,
      failedShare: 0.08,
      inProgressShare: 0.25,
      multiItemShare: 0.1,
    },
  };
}

/**
 * The demo simulator: the generated demo fleet for `seed`, or `fleet` (a fixture, e.g. one `doctor --record`
 * wrote) with the same fast deletion timings instead.
 */
export function startDemoSimulator(seed = DEMO_SEED, fleet?: Fleet): Promise<Simulator> {
  const { generate: _generated, ...options } = demoSimulatorOptions(seed);
  return startSimulator(fleet === undefined ? demoSimulatorOptions(seed) : { ...options, fleet });
}

/** The bundled policy that names the demo fleet's projects (seed DEMO_SEED). */
export const DEMO_POLICY_FILE = 'policies/demo.yaml';

/** The project's client against the simulator (every service, every region it serves). */
export function simulatorClient(
  sim: Simulator,
  regions: readonly string[] = DEMO_REGIONS,
  options: { maxAttempts?: number } = {},
): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const region of regions) {
    for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
      overrides[overrideKey(service, region)] = sim.baseUrl(service, region);
    }
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    retry: { maxAttempts: options.maxAttempts ?? 5, baseDelayMs: 20, maxDelayMs: 500, maxTotalMs: 10_000 },
  });
}
