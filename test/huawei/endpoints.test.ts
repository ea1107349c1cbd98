import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { ConfigurationError } from '../../lib/huawei/errors.ts';

describe('createEndpointResolver', () => {
  it('builds {service}.{region}.myhuaweicloud.com by default', () => {
    const resolver = createEndpointResolver();
    expect(resolver.resolve('cbr', 'cn-north-4').href).toBe('https://cbr.cn-north-4.myhuaweicloud.com/');
    expect(resolver.resolve('iam', 'ap-southeast-1').href).toBe(
      'https://iam.ap-southeast-1.myhuaweicloud.com/',
    );
  });

  it('knows the eu-west-101 exception on .myhuaweicloud.eu', () => {
    const resolver = createEndpointResolver();
    expect(resolver.resolve('dds', 'eu-west-101').host).toBe('dds.eu-west-101.myhuaweicloud.eu');
  });

  it('refuses DIS outside its seven regions with a ConfigurationError naming the override', () => {
    const resolver = createEndpointResolver();
    expect(resolver.has('dis', 'cn-north-4')).toBe(true);
    expect(() => resolver.resolve('dis', 'af-south-1')).toThrow(ConfigurationError);
    expect(() => resolver.resolve('dis', 'af-south-1')).toThrow(/HUAWEICLOUD_SDK_REGION_DIS_AF_SOUTH_1/);
  });

  it('refuses an unknown service or region', () => {
    const resolver = createEndpointResolver();
    expect(() => resolver.resolve('ecs' as never, 'cn-north-4')).toThrow(ConfigurationError);
    expect(() => resolver.resolve('cbr', 'mars-1')).toThrow(ConfigurationError);
  });

  it('has an Open Telekom Cloud preset', () => {
    const resolver = createEndpointResolver({ preset: 'otc' });
    expect(resolver.resolve('csbs', 'eu-de').href).toBe('https://csbs.eu-de.otc.t-systems.com/');
    expect(resolver.resolve('dds', 'eu-nl').host).toBe('dds.eu-nl.otc.t-systems.com');
    expect(() => resolver.resolve('cbr', 'cn-north-4')).toThrow(ConfigurationError);
  });

  it('prefers env-style overrides, keeps a path prefix, takes the first of several URLs', () => {
    const resolver = createEndpointResolver({
      overrides: {
        [overrideKey('cbr', 'cn-north-4')]: 'http://127.0.0.1:4010/cbr',
        HUAWEICLOUD_SDK_REGION_DDS_MY_REGION_1: 'https://dds.a.example,https://dds.b.example',
        UNRELATED: 'ignored',
      },
    });
    expect(overrideKey('cbr', 'cn-north-4')).toBe('HUAWEICLOUD_SDK_REGION_CBR_CN_NORTH_4');
    expect(resolver.resolve('cbr', 'cn-north-4').href).toBe('http://127.0.0.1:4010/cbr');
    expect(resolver.resolve('dds', 'my-region-1').host).toBe('dds.a.example');
    expect(resolver.resolve('csbs', 'cn-north-4').host).toBe('csbs.cn-north-4.myhuaweicloud.com');
  });

  it('reads the official regions.yaml shape (endpoint or endpoints, any service case)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'regions-'));
    const file = join(dir, 'regions.yaml');
    writeFileSync(
      file,
      [
        'CBR:',
        '  - id: my-region-1',
        '    endpoint: https://cbr.my-region-1.example.com',
        'dds:',
        '  - id: my-region-1',
        '    endpoints:',
        '      - https://dds.my-region-1.example.com',
        '      - https://dds-backup.my-region-1.example.com',
        '  - id: no-endpoint',
      ].join('\n'),
    );
    const resolver = createEndpointResolver({
      regionsFile: file,
      overrides: { HUAWEICLOUD_SDK_REGION_CBR_MY_REGION_1: 'https://override.example' },
    });
    expect(resolver.resolve('dds', 'my-region-1').host).toBe('dds.my-region-1.example.com');
    // Overrides win over the file, as in the SDK provider chain.
    expect(resolver.resolve('cbr', 'my-region-1').host).toBe('override.example');
    expect(resolver.has('dds', 'no-endpoint')).toBe(false);
  });

  it('fails at construction on a malformed regions file or a bad URL', () => {
    expect(() => createEndpointResolver({ regionsYaml: 'CBR: [{ endpoint: x }]' })).toThrow(/CBR\.0\.id/);
    expect(() => createEndpointResolver({ regionsFile: '/nonexistent/regions.yaml' })).toThrow(
      ConfigurationError,
    );
    expect(() => createEndpointResolver({ overrides: { HUAWEICLOUD_SDK_REGION_CBR_X: 'ftp://x' } })).toThrow(
      ConfigurationError,
    );
  });

  it('returns a fresh URL each time so callers cannot mutate the table', () => {
    const resolver = createEndpointResolver();
    const first = resolver.resolve('cbr', 'cn-north-4');
    first.pathname = '/changed';
    expect(resolver.resolve('cbr', 'cn-north-4').pathname).toBe('/');
  });
});
