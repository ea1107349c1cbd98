import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfig, requireCredentials, requireProjectAllowlist, Secret } from '../lib/config.ts';
import { ConfigurationError } from '../lib/huawei/errors.ts';

const PROJECT_A = '0605767a3300d5762fb7c0186d9e1779';
const PROJECT_B = '1ab2c3d4e5f60718293a4b5c6d7e8f90';

function errorOf(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

describe('loadConfig', () => {
  it('applies defaults to an empty environment', () => {
    const cfg = loadConfig({});
    expect(cfg.endpointPreset).toBe('huaweicloud');
    expect(cfg.ledger).toEqual({
      kind: 'local',
      table: undefined,
      dir: '.hwc-retention/ledger',
      retentionDays: 400,
      dynamodbEndpoint: undefined,
    });
    expect(cfg.logLevel).toBe('INFO');
    expect(cfg.credentials).toBeUndefined();
    expect(cfg.projectAllowlist).toBeUndefined();
    expect(cfg.policySource).toBeUndefined();
  });

  it('returns a deeply frozen object', () => {
    const cfg = loadConfig({ LEDGER: 'dynamodb', LEDGER_TABLE: 'ledger' });
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.ledger)).toBe(true);
    expect(() => {
      (cfg as { region: string | undefined }).region = 'x';
    }).toThrow(TypeError);
  });

  it('parses the project allowlist as a comma list', () => {
    const cfg = loadConfig({ HWC_PROJECT_ALLOWLIST: ` ${PROJECT_A}, ${PROJECT_B} ,` });
    expect([...(cfg.projectAllowlist ?? [])]).toEqual([PROJECT_A, PROJECT_B]);
    expect(requireProjectAllowlist(cfg).has(PROJECT_B)).toBe(true);
  });

  it('rejects an allowlist entry that could escape a URL path', () => {
    const error = errorOf(() => loadConfig({ HWC_PROJECT_ALLOWLIST: `${PROJECT_A},../admin` }));
    expect(error.message).toContain('HWC_PROJECT_ALLOWLIST');
  });

  it('names HWC_PROJECT_ALLOWLIST when the HTTP functions require it', () => {
    expect(() => requireProjectAllowlist(loadConfig({}))).toThrow(/HWC_PROJECT_ALLOWLIST/);
  });

  it('names every invalid key in one error', () => {
    const error = errorOf(() =>
      loadConfig({ HWC_ENDPOINT_PRESET: 'aws', LOG_LEVEL: 'loud', SWEEP_QUEUE_URL: 'not a url' }),
    );
    expect(error.message).toContain('HWC_ENDPOINT_PRESET');
    expect(error.message).toContain('LOG_LEVEL');
    expect(error.message).toContain('SWEEP_QUEUE_URL');
  });

  it('accepts a lower-case log level', () => {
    expect(loadConfig({ LOG_LEVEL: 'debug' }).logLevel).toBe('DEBUG');
  });

  it('requires LEDGER_TABLE for the DynamoDB ledger', () => {
    expect(() => loadConfig({ LEDGER: 'dynamodb' })).toThrow(/LEDGER_TABLE/);
    const cfg = loadConfig({
      LEDGER: 'dynamodb',
      LEDGER_TABLE: 'hwc-ledger',
      HWC_DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
    });
    expect(cfg.ledger.table).toBe('hwc-ledger');
    expect(cfg.ledger.dynamodbEndpoint).toBe('http://127.0.0.1:8000');
  });

  it('collects every endpoint override into a service → region map', () => {
    const cfg = loadConfig({
      HUAWEICLOUD_SDK_REGION_DDS_EU_WEST_101: 'https://dds.eu-west-101.myhuaweicloud.eu',
      HUAWEICLOUD_SDK_REGION_CSBS_AP_SOUTHEAST_1: 'http://127.0.0.1:9000, http://127.0.0.1:9001',
      HUAWEICLOUD_SDK_REGION_CBR_EU_DE: 'https://cbr.eu-de.otc.t-systems.com',
    });
    expect(cfg.endpointOverrides).toEqual({
      dds: { 'eu-west-101': ['https://dds.eu-west-101.myhuaweicloud.eu'] },
      csbs: { 'ap-southeast-1': ['http://127.0.0.1:9000', 'http://127.0.0.1:9001'] },
      cbr: { 'eu-de': ['https://cbr.eu-de.otc.t-systems.com'] },
    });
  });

  it('names a malformed endpoint override key or value', () => {
    expect(() => loadConfig({ HUAWEICLOUD_SDK_REGION_ECS_EU_DE: 'https://x.example' })).toThrow(
      /HUAWEICLOUD_SDK_REGION_ECS_EU_DE/,
    );
    expect(() => loadConfig({ HUAWEICLOUD_SDK_REGION_CBR_EU_DE: 'ftp://x' })).toThrow(
      /HUAWEICLOUD_SDK_REGION_CBR_EU_DE/,
    );
  });

  it('reads HWC_ENDPOINT_OVERRIDES as service=url entries for HWC_REGION; a per-region key wins', () => {
    const cfg = loadConfig({
      HWC_REGION: 'ap-southeast-1',
      HWC_ENDPOINT_OVERRIDES:
        'csbs=http://127.0.0.1:9000/csbs, cbr=http://127.0.0.1:9000/cbr cbr=http://127.0.0.1:9001/cbr,DIS=http://127.0.0.1:9000/dis',
      HUAWEICLOUD_SDK_REGION_CSBS_AP_SOUTHEAST_1: 'http://127.0.0.1:7000',
    });
    expect(cfg.endpointOverrides).toEqual({
      csbs: { 'ap-southeast-1': ['http://127.0.0.1:7000'] },
      cbr: { 'ap-southeast-1': ['http://127.0.0.1:9000/cbr', 'http://127.0.0.1:9001/cbr'] },
      dis: { 'ap-southeast-1': ['http://127.0.0.1:9000/dis'] },
    });
  });

  it('treats an empty HWC_ENDPOINT_OVERRIDES as unset and names a malformed one', () => {
    expect(loadConfig({ HWC_ENDPOINT_OVERRIDES: '  ' }).endpointOverrides).toEqual({});
    expect(() => loadConfig({ HWC_ENDPOINT_OVERRIDES: 'cbr=http://127.0.0.1:9000' })).toThrow(
      /HWC_ENDPOINT_OVERRIDES: needs HWC_REGION/,
    );
    for (const bad of ['ecs=http://x.example', 'cbr=ftp://x', 'http://x.example', 'cbr']) {
      expect(() => loadConfig({ HWC_REGION: 'eu-de', HWC_ENDPOINT_OVERRIDES: bad })).toThrow(
        /HWC_ENDPOINT_OVERRIDES: expected/,
      );
    }
  });

  it('reads AK/SK credentials and keeps the secret out of JSON and inspect', () => {
    const cfg = loadConfig({
      HUAWEICLOUD_SDK_AK: 'QTWAOYTTINDUT2QVKYUC',
      HUAWEICLOUD_SDK_SK: 'MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc',
      HUAWEICLOUD_SDK_SECURITY_TOKEN: 'temporary-token-value',
    });
    const credentials = requireCredentials(cfg);
    if (credentials.source !== 'env' || credentials.mode !== 'aksk') throw new Error('unexpected source');
    expect(credentials.sk).toBeInstanceOf(Secret);
    expect(credentials.sk.reveal()).toBe('MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc');
    expect(credentials.securityToken?.reveal()).toBe('temporary-token-value');
    for (const printed of [JSON.stringify(cfg), inspect(cfg, { depth: 10 }), `${credentials.sk}`]) {
      expect(printed).not.toContain('MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc');
      expect(printed).not.toContain('temporary-token-value');
    }
  });

  it('names the missing half of an AK/SK pair', () => {
    expect(() => loadConfig({ HUAWEICLOUD_SDK_AK: 'AK' })).toThrow(/HUAWEICLOUD_SDK_SK/);
    expect(() => loadConfig({ HUAWEICLOUD_SDK_SK: 'SK' })).toThrow(/HUAWEICLOUD_SDK_AK/);
  });

  it('prefers a Secrets Manager ARN as the credentials source', () => {
    const arn = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:hwc-abc';
    const cfg = loadConfig({
      HWC_CREDENTIALS_SECRET_ARN: arn,
      HUAWEICLOUD_SDK_AK: 'AK',
      HUAWEICLOUD_SDK_SK: 'SK',
    });
    expect(cfg.credentials).toEqual({ source: 'secrets-manager', mode: 'aksk', secretArn: arn });
  });

  it('reads IAM token settings and names what is missing', () => {
    const cfg = loadConfig({
      HWC_AUTH_MODE: 'token',
      HWC_IAM_DOMAIN_NAME: 'acme',
      HWC_IAM_USER_NAME: 'sweeper',
      HWC_IAM_PASSWORD: 'hunter2-password',
    });
    expect(cfg.credentials).toMatchObject({
      source: 'env',
      mode: 'token',
      domainName: 'acme',
      userName: 'sweeper',
    });
    expect(JSON.stringify(cfg)).not.toContain('hunter2-password');
    expect(() => loadConfig({ HWC_AUTH_MODE: 'token', HWC_IAM_DOMAIN_NAME: 'acme' })).toThrow(
      /HWC_IAM_USER_NAME.*HWC_IAM_PASSWORD/,
    );
  });

  it('names HUAWEICLOUD_SDK_AK when no credentials are configured and they are required', () => {
    expect(() => requireCredentials(loadConfig({}))).toThrow(/HUAWEICLOUD_SDK_AK/);
  });

  it('reads the policy source and refuses two at once', () => {
    expect(loadConfig({ POLICY_FILE: 'policy.yaml' }).policySource).toEqual({
      kind: 'file',
      path: 'policy.yaml',
    });
    expect(loadConfig({ POLICY_SSM_PARAMETER: '/hwc/policy' }).policySource).toEqual({
      kind: 'ssm',
      name: '/hwc/policy',
    });
    expect(() => loadConfig({ POLICY_FILE: 'p.yaml', POLICY_SSM_PARAMETER: '/hwc/policy' })).toThrow(
      /POLICY_FILE/,
    );
  });

  it('treats blank values as unset', () => {
    const cfg = loadConfig({ HWC_REGION: '  ', SWEEP_QUEUE_URL: '' });
    expect(cfg.region).toBeUndefined();
    expect(cfg.sweepQueueUrl).toBeUndefined();
  });
});
