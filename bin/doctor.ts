/**
 * `npm run doctor -- --policy FILE [--cloud] [--record FILE] [--json]`: checks, read-only, whether a sweep of
 * the policy would work — credentials (AK/SK or token), an endpoint per service and region, the clock against
 * the server's `Date`, each project's region, the permission of every list call — and runs every listed record
 * through the SDK models, counting unknown fields, unknown enum/status values and unparsable times. It stops
 * at the first 401 (five failures lock an AK). `--record FILE` writes the listed fleet, anonymised, in the
 * simulator's fixture format (`npm run simulator -- --fixture FILE` replays it).
 *
 * By default it runs against the embedded simulator with the demo fleet; `--cloud` uses the real cloud with
 * the configuration from the environment (lib/config.ts). It never sends a DELETE.
 * Exit codes: 0 a sweep would work, 1 problems found (listed), 2 invalid arguments or policy.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { config, requireCredentials, requireRegion } from '../lib/config.ts';
import { renderDoctor, runDoctor } from '../lib/doctor/doctor.ts';
import { closeHuaweiPools, createHuaweiClient } from '../lib/huawei/client.ts';
import { createEndpointResolver, type EndpointResolver, overrideKey } from '../lib/huawei/endpoints.ts';
import { loadPolicy, type Policy, PolicyError } from '../lib/retention/policy.ts';
import { authProviderFor, endpointResolverFor } from '../lib/runtime.ts';
import type { HuaweiRequester } from '../lib/services/index.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';

function usage(message: string): never {
  process.stderr.write(
    `${message}\nusage: npm run doctor -- --policy FILE [--cloud] [--record FILE] [--json]\n`,
  );
  process.exit(2);
}

let parsed: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      policy: { type: 'string' },
      cloud: { type: 'boolean', default: false },
      record: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
}
try {
  parsed = parse();
} catch (error) {
  usage((error as Error).message);
}
const { values } = parsed;
if (values.policy === undefined) usage('--policy is required');

function credentialsLabel(): string | undefined {
  const source = config().credentials;
  if (source === undefined) return undefined;
  if (source.source !== 'env') return `AK/SK from the secret ${source.source}`;
  return source.mode === 'aksk'
    ? `AK/SK from HUAWEICLOUD_SDK_AK (${source.ak.slice(0, 4)}…)${source.securityToken ? ' with a security token' : ''}`
    : `IAM token for ${source.userName} in ${source.domainName}`;
}

async function main(policyFile: string): Promise<number> {
  let policy: Policy;
  try {
    policy = loadPolicy(readFileSync(policyFile, 'utf8'), policyFile);
  } catch (error) {
    if (error instanceof PolicyError) {
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    throw error;
  }
  let sim: Simulator | undefined;
  let client: HuaweiRequester;
  let endpoints: EndpointResolver;
  let credentials: string | undefined;
  const regions = [...new Set(policy.targets.flatMap((target) => target.regions))];
  if (values.cloud) {
    const cfg = config();
    endpoints = endpointResolverFor(cfg);
    credentials = credentialsLabel();
    if (credentials !== undefined) {
      requireCredentials(cfg);
      client = createHuaweiClient({ endpoints, auth: authProviderFor(cfg, endpoints, requireRegion(cfg)) });
    } else client = { request: () => Promise.reject(new Error('no credentials')) };
  } else {
    sim = await startDemoSimulator();
    client = simulatorClient(sim, regions);
    const overrides: Record<string, string> = {};
    for (const region of regions) {
      for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const)
        overrides[overrideKey(service, region)] = sim.baseUrl(service, region);
    }
    endpoints = createEndpointResolver({ overrides });
    credentials = 'AK/SK of the embedded simulator';
    process.stderr.write(
      `Checking against the embedded simulator (${sim.url}); --cloud for the real cloud\n`,
    );
  }
  try {
    const result = await runDoctor(
      policy,
      { client, endpoints, credentials },
      { record: values.record !== undefined },
    );
    if (values.record !== undefined && result.fleet !== undefined) {
      writeFileSync(values.record, `${JSON.stringify(result.fleet, null, 2)}\n`);
      process.stderr.write(`Recorded an anonymised fleet to ${values.record}\n`);
    }
    process.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : renderDoctor(result));
    return result.ok ? 0 : 1;
  } finally {
    await sim?.close();
    await closeHuaweiPools();
  }
}

main(values.policy).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`doctor failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
