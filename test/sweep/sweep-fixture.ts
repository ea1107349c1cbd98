/** A simulator fleet, client, policy and fast timings for the sweep's end-to-end tests. */
import { createHuaweiClient, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import type { Ledger } from '../../lib/ledger/ledger.ts';
import { type Policy, parsePolicy } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { adapters, type HuaweiRequester } from '../../lib/services/index.ts';
import type { FaultConfig, Simulator } from '../../lib/simulator/index.ts';
import { startSimulator } from '../../lib/simulator/index.ts';
import type { SweepDeps } from '../../lib/sweep/sweep.ts';

export const REGION = 'ap-southeast-1';

export async function startSweepSimulator(
  options: { seed?: number; projects?: number; faults?: FaultConfig } = {},
): Promise<Simulator> {
  return startSimulator({
    seed: options.seed ?? 11,
    deletion: { csbsMs: 40, cbrMs: 30, ddsMs: 30 },
    creationMs: 150,
    generate: {
      seed: options.seed ?? 11,
      projects: options.projects ?? 3,
      regions: [REGION],
      services: ['csbs', 'cbr', 'dds'],
      resourcesPerProject: 3,
      backupsPerResource: 12,
      manualShare: 0.5,
      failedShare: 0.1,
      inProgressShare: 0.3,
    },
    ...(options.faults ? { faults: options.faults } : {}),
  });
}

/** The project's client against the simulator, with quick retries (faults are retried as in production). */
export function sweepClient(sim: Simulator): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 40, maxTotalMs: 5_000 },
    timeouts: { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000 },
  });
}

/**
 * A requester whose DELETEs get one attempt and give up after `headersMs` (the answer is lost when upstream
 * is slower); listings and polls go through `client` as usual.
 */
export function deletesTimingOut(
  sim: Simulator,
  client: HuaweiRequester,
  headersMs: number,
): HuaweiRequester {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  const impatient = createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
    retry: { maxAttempts: 1 },
    timeouts: { connectMs: 2_000, headersMs, bodyMs: 2_000 },
  });
  return {
    request: (op, schema, options) =>
      (op.method === 'DELETE' ? impatient : client).request(op, schema, options),
  };
}

export function projectsOf(sim: Simulator): string[] {
  return [...sim.state.projects.keys()];
}

/** Keeps a few per resource and the monthly history; the breaker is relaxed for the generated fleet. */
export function sweepPolicy(sim: Simulator, extra: { maxDeleteShare?: number } = {}): Policy {
  const projects = projectsOf(sim);
  return parsePolicy({
    version: 1,
    defaults: {
      keep: { last: 3, monthly: 3 },
      failed_max_age: '7d',
      max_delete_share: extra.maxDeleteShare ?? 0.95,
      protect: { tags: ['keep=forever'] },
    },
    targets: [
      { name: 'servers', service: 'csbs', projects, regions: [REGION] },
      { name: 'vaults', service: 'cbr', projects, regions: [REGION] },
      { name: 'mongo', service: 'dds', projects, regions: [REGION], filters: { manual: 'manual' } },
    ],
  });
}

/** Fast waits: the simulator finishes deletions in tens of ms. */
export function fastDeps(sim: Simulator, client: HuaweiRequester, ledger: Ledger): SweepDeps {
  void sim;
  return {
    client,
    ledger,
    tracking: { baseMs: 10, capMs: 60, minDelayMs: 5 },
    retry: { busyDelayMs: 60, baseMs: 5, capMs: 50, maxAttempts: 40 },
    // The in-flight horizon: longer than one call of sweepClient can take (5 s of retries, then connect,
    // headers and body timeouts: 17 s), so a live sweep's DELETE is never taken for one that did not happen.
    staleAfterMs: 20_000,
  };
}

/** Every backup the simulator holds now, through the same adapters the sweep uses. */
export async function listEverything(sim: Simulator, client: HuaweiClient): Promise<Backup[]> {
  const out: Backup[] = [];
  for (const projectId of projectsOf(sim)) {
    for (const adapter of Object.values(adapters)) {
      for await (const backup of adapter.listBackups(client, { region: REGION, projectId })) out.push(backup);
    }
  }
  return out;
}
