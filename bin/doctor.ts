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
import { writeFileSync } from 'node:fs';
import { defineCommand } from '../lib/cli/args.ts';
import { UsageError } from '../lib/cli/exit.ts';
import { readInputFile } from '../lib/cli/files.ts';
import { createOutput } from '../lib/cli/output.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { config, requireCredentials } from '../lib/config.ts';
import { renderDoctor, runDoctor } from '../lib/doctor/doctor.ts';
import { closeHuaweiPools, createHuaweiClient } from '../lib/huawei/client.ts';
import { createEndpointResolver, type EndpointResolver, overrideKey } from '../lib/huawei/endpoints.ts';
import { loadPolicy } from '../lib/retention/policy.ts';
import { authProviderFor, endpointResolverFor } from '../lib/runtime.ts';
import type { HuaweiRequester } from '../lib/services/index.ts';
import type { Simulator } from '../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../lib/sweep/demo-fleet.ts';

const doctorCommand = defineCommand({
  name: 'doctor',
  summary:
    'Checks, read-only, whether a sweep of the policy would work: credentials, endpoints, clock, project regions, list permissions, and every listed record against the SDK models.',
  synopsis: '--policy FILE [--cloud] [--record FILE] [--json]',
  options: {
    policy: { type: 'string', value: 'FILE', description: 'the retention policy (YAML or JSON)' },
    cloud: {
      type: 'boolean',
      description: 'check the real cloud (configuration from the environment, see .env.example)',
    },
    record: {
      type: 'string',
      value: 'FILE',
      description: 'write the listed fleet, anonymised, as a simulator fixture (--fixture replays it)',
    },
    json: { type: 'boolean', description: 'print the findings as one JSON document on stdout' },
  },
  notes: [
    'exit codes: 0 a sweep would work; 1 problems found (listed); 2 invalid arguments, policy or configuration',
  ],
});

function credentialsLabel(): string | undefined {
  const source = config().credentials;
  if (source === undefined) return undefined;
  if (source.source !== 'env') return `AK/SK from the secret ${source.source}`;
  return source.mode === 'aksk'
    ? `AK/SK from HUAWEICLOUD_SDK_AK (${source.ak.slice(0, 4)}…)${source.securityToken ? ' with a security token' : ''}`
    : `IAM token for ${source.userName} in ${source.domainName}`;
}

runCommandAndExit(doctorCommand, async ({ values }) => {
  if (values.policy === undefined) throw new UsageError('--policy FILE is required');
  const policy = loadPolicy(readInputFile('--policy', values.policy), values.policy);
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
      // The policy's regions stand in for HWC_REGION (token auth logs in through the first one).
      client = createHuaweiClient({
        endpoints,
        auth: authProviderFor(cfg, endpoints, cfg.region ?? (regions[0] as string)),
      });
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
    if (values.json) createOutput(true).result(result);
    else process.stdout.write(renderDoctor(result));
    return result.ok ? 0 : 1;
  } finally {
    await sim?.close();
    await closeHuaweiPools();
  }
});
