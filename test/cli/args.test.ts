import { describe, expect, it } from 'vitest';
import { defineCommand, parseCommand, usageText } from '../../lib/cli/args.ts';
import { endingFor, UsageError } from '../../lib/cli/exit.ts';
import { formatSize, formatSizeTotal } from '../../lib/cli/output.ts';
import { loadConfig, requireSettings } from '../../lib/config.ts';
import { ConfigurationError } from '../../lib/huawei/errors.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';

const spec = defineCommand({
  name: 'example',
  summary: 'Does an example thing.',
  synopsis: 'FILE [--json] [--count N]',
  positionals: [{ name: 'FILE', description: 'the input' }],
  options: {
    json: { type: 'boolean', description: 'JSON output' },
    count: { type: 'string', value: 'N', default: '3', description: 'how many' },
  },
  notes: ['exit codes: 0 ok'],
});

describe('parseCommand', () => {
  it('returns typed values with defaults and the positionals', () => {
    expect(parseCommand(spec, ['in.txt'])).toEqual({
      values: { json: false, count: '3' },
      positionals: ['in.txt'],
    });
    expect(parseCommand(spec, ['--', 'in.txt', '--json', '--count', '5'])).toEqual({
      values: { json: true, count: '5' },
      positionals: ['in.txt'],
    });
  });

  it('answers help for -h and --help, even beside an unknown option', () => {
    expect(parseCommand(spec, ['-h'])).toBe('help');
    expect(parseCommand(spec, ['--help', '--bogus'])).toBe('help');
  });

  it.each([
    [['in.txt', '--bogus'], 'unknown option --bogus'],
    [['in.txt', '--count'], '--count needs a value'],
    [['in.txt', '--json=yes'], '--json takes no value'],
    [[], 'missing FILE'],
    [['a', 'b'], 'unexpected argument b'],
  ])('throws a short UsageError for %j', (argv, message) => {
    expect(() => parseCommand(spec, argv)).toThrow(new UsageError(message));
  });
});

describe('usageText', () => {
  it('lists the synopsis, arguments, every option with its default, --help and the notes', () => {
    const text = usageText(spec);
    expect(text.split('\n')[0]).toBe('usage: npm run example -- FILE [--json] [--count N]');
    expect(text).toMatch(/^ {2}FILE +the input$/m);
    expect(text).toMatch(/^ {6}--count N +how many \(default 3\)$/m);
    expect(text).toMatch(/^ {2}-h, --help +print this help and exit$/m);
    expect(text).toContain('exit codes: 0 ok');
  });
});

describe('endingFor', () => {
  it('maps usage, policy and configuration errors to exit 2 and anything else to exit 1 on one line', () => {
    expect(endingFor('plan', new UsageError('unknown option --x'))).toEqual({
      exitCode: 2,
      message: 'plan: unknown option --x (see npm run plan -- --help)',
    });
    let policyError: unknown;
    try {
      loadPolicy('version: 1\ntargets: []\n', 'p.yaml');
    } catch (error) {
      policyError = error;
    }
    expect(endingFor('plan', policyError).exitCode).toBe(2);
    expect(endingFor('plan', new ConfigurationError('HWC_REGION: is required')).exitCode).toBe(2);
    expect(endingFor('plan', new Error('socket hang up\n    at stack frame'))).toEqual({
      exitCode: 1,
      message: 'plan failed: socket hang up',
    });
  });

  it('keeps a usage error on one line when its message quotes a newline (a JSON parse error)', () => {
    const error = new UsageError(
      '--plan x.json: not JSON (Unexpected token \'g\', "garbage\n" is not valid JSON)',
    );
    expect(endingFor('sweep', error).message).toBe(
      'sweep: --plan x.json: not JSON (Unexpected token \'g\', "garbage " is not valid JSON) (see npm run sweep -- --help)',
    );
  });
});

describe('sizes', () => {
  it('prints an unknown size as unknown, and a sum with unknown parts as such', () => {
    expect(formatSize(undefined)).toBe('unknown');
    expect(formatSize(512)).toBe('512 B');
    expect(formatSize(3 * 1024 ** 3)).toBe('3.0 GiB');
    expect(formatSizeTotal(0, 4, 4)).toBe('unknown');
    expect(formatSizeTotal(2048, 1, 3)).toBe('2.0 KiB + 1 unknown');
    expect(formatSizeTotal(2048, 0, 3)).toBe('2.0 KiB');
  });
});

describe('requireSettings', () => {
  it('names every missing setting in one error', () => {
    const cfg = loadConfig({});
    expect(() => requireSettings(cfg, ['region', 'credentials', 'projectAllowlist'])).toThrow(
      /missing configuration \(3\):\n {2}HWC_REGION: .*\n {2}HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK .*\n {2}HWC_PROJECT_ALLOWLIST: /,
    );
  });

  it('passes when every needed setting is there', () => {
    const cfg = loadConfig({ HWC_REGION: 'eu-west-101', HUAWEICLOUD_SDK_AK: 'AK', HUAWEICLOUD_SDK_SK: 'SK' });
    expect(() => requireSettings(cfg, ['region', 'credentials'])).not.toThrow();
  });
});
