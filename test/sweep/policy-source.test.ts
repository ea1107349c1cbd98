import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
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
    // Powertools' cache reads the wall clock: the test moves it.
    vi.useFakeTimers({ toFake: ['Date'], now: 0 });
    try {
      const load = createPolicyLoader({ ssm: new SSMClient({ region: 'eu-west-1' }), ttlMs: 1_000 });
      const source = { kind: 'ssm', name: '/hwc/policy' } as const;
      const first = await load(source);
      expect(first.targets[0]?.name).toBe('first');
      vi.setSystemTime(1_000);
      expect(await load(source)).toBe(first);
      vi.setSystemTime(1_001);
      expect((await load(source)).targets[0]?.name).toBe('second');
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      ssm.restore();
    }
  });

  it('shares one SSM read between concurrent loads and keeps the parse of an unchanged value', async () => {
    const ssm = mockClient(SSMClient);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: policyText('same') } });
    vi.useFakeTimers({ toFake: ['Date'], now: 0 });
    try {
      const load = createPolicyLoader({ ssm: new SSMClient({ region: 'eu-west-1' }), ttlMs: 1_000 });
      const source = { kind: 'ssm', name: '/hwc/policy' } as const;
      const [a, b] = await Promise.all([load(source), load(source)]);
      expect(a).toBe(b);
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1);
      vi.setSystemTime(5_000);
      expect(await load(source)).toBe(a);
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      ssm.restore();
    }
  });

  it('names the parameter when SSM cannot be read, and reads it again on the next call', async () => {
    const ssm = mockClient(SSMClient);
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }))
      .resolvesOnce({ Parameter: {} })
      .resolvesOnce({ Parameter: { Value: policyText('readable') } });
    const load = createPolicyLoader({ ssm: new SSMClient({ region: 'eu-west-1' }) });
    const source = { kind: 'ssm', name: '/hwc/policy' } as const;
    const unreadable = await load(source).catch((error: unknown) => error);
    expect(unreadable).toBeInstanceOf(ConfigurationError);
    expect((unreadable as Error).message).toBe('SSM parameter /hwc/policy cannot be read');
    await expect(load(source)).rejects.toThrow('SSM parameter /hwc/policy has no value');
    expect((await load(source)).targets[0]?.name).toBe('readable');
    expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(3);
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
