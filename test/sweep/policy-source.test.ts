import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lib/huawei/errors.ts';
import { PolicyError } from '../../lib/retention/policy.ts';
import { createPolicyLoader } from '../../lib/sweep/policy-source.ts';

const demoFile = new URL('../../policies/demo.yaml', import.meta.url).pathname;
const policyText = (name: string) =>
  `version: 1\ntargets:\n  - name: ${name}\n    service: cbr\n    projects: [p1]\n    regions: [ap-southeast-1]\n    keep: {last: 3}\n`;

describe('createPolicyLoader', () => {
  it('loads and validates the bundled policy file once', async () => {
    const load = createPolicyLoader();
    const first = await load({ kind: 'file', path: demoFile });
    expect(first.targets.map((target) => target.name)).toContain('servers-ap-southeast-1');
    expect(await load({ kind: 'file', path: demoFile })).toBe(first);
  });

  it('reads an SSM parameter with decryption, reuses it within the TTL and re-reads it after', async () => {
    const ssm = mockClient(SSMClient);
    ssm
      .on(GetParameterCommand, { Name: '/hwc/policy', WithDecryption: true })
      .resolvesOnce({ Parameter: { Value: policyText('first') } })
      .resolvesOnce({ Parameter: { Value: policyText('second') } });
    let now = 0;
    const load = createPolicyLoader({
      ssm: new SSMClient({ region: 'eu-west-1' }),
      ttlMs: 1_000,
      now: () => now,
    });
    const source = { kind: 'ssm', name: '/hwc/policy' } as const;
    expect((await load(source)).targets[0]?.name).toBe('first');
    now = 999;
    expect((await load(source)).targets[0]?.name).toBe('first');
    now = 1_000;
    expect((await load(source)).targets[0]?.name).toBe('second');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    ssm.restore();
  });

  it('rejects an invalid policy in SSM and tries again on the next call', async () => {
    const ssm = mockClient(SSMClient);
    ssm
      .on(GetParameterCommand)
      .resolvesOnce({ Parameter: { Value: 'version: 1\ntargets: []\n' } })
      .resolvesOnce({ Parameter: { Value: policyText('fixed') } });
    const load = createPolicyLoader({ ssm: new SSMClient({ region: 'eu-west-1' }) });
    const source = { kind: 'ssm', name: '/hwc/policy' } as const;
    await expect(load(source)).rejects.toBeInstanceOf(PolicyError);
    expect((await load(source)).targets[0]?.name).toBe('fixed');
    ssm.restore();
  });

  it('names the missing setting when no policy source is configured', async () => {
    await expect(createPolicyLoader()(undefined)).rejects.toBeInstanceOf(ConfigurationError);
  });
});
