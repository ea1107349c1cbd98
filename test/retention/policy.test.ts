import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicy, parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import { policyError } from './factories.ts';

const VALID_YAML = `version: 1
timezone: Europe/Berlin
defaults:
  min_keep: 3
  failed_max_age: 7d
targets:
  - name: prod-servers
    service: csbs
    projects: [p-prod]
    regions: [ap-southeast-1, eu-west-101]
    filters:
      name_patterns: ["autobk_*"]
      manual: automatic
    keep:
      daily: 7
      weekly: 4
      monthly: 12
      within: 2d
      tags: [[legal-hold]]
    max_age: 90d
    protect:
      ids: [a1b2]
      tags: ["keep=*"]
  - name: mongo
    service: dds
    projects: [p-prod]
    regions: [ap-southeast-1]
    min_keep: 1
    keep: { last: 5 }
`;

describe('loadPolicy', () => {
  it('parses a YAML policy, its durations and defaults', () => {
    const policy = loadPolicy(VALID_YAML, 'policy.yaml');
    expect(policy.timezone).toBe('Europe/Berlin');
    const [servers, mongo] = resolveTargets(policy);
    expect(servers?.keep?.within).toEqual({ years: 0, months: 0, days: 2, hours: 0, text: '2d' });
    expect(servers?.min_keep).toBe(3);
    expect(servers?.failed_max_age?.text).toBe('7d');
    expect(servers?.timezone).toBe('Europe/Berlin');
    // A target's own setting wins over the default.
    expect(mongo?.min_keep).toBe(1);
  });

  it('parses the same policy written as JSON', () => {
    const json = JSON.stringify({
      version: 1,
      targets: [{ name: 't', service: 'cbr', projects: ['p'], regions: ['r'], keep: { daily: 7 } }],
    });
    const policy = loadPolicy(json, 'policy.json');
    expect(policy.timezone).toBe('UTC');
    expect(policy.targets[0]?.keep?.daily).toBe(7);
  });

  it('names the field path and line of an unknown key (a typo never keeps nothing silently)', () => {
    const text = VALID_YAML.replace('      daily: 7', '      dialy: 7');
    const error = policyError(() => loadPolicy(text, 'policy.yaml'));
    expect(error.code).toBe('POLICY_INVALID');
    expect(error.issues).toEqual([
      expect.objectContaining({ path: 'targets[0].keep.dialy', line: 15, column: 7 }),
    ]);
    expect(error.message).toContain('policy.yaml:15:7 targets[0].keep.dialy');
  });

  it('names the line of a bad duration and of a bad count', () => {
    const text = VALID_YAML.replace('max_age: 90d', 'max_age: 90D').replace('weekly: 4', 'weekly: -2');
    const error = policyError(() => loadPolicy(text, 'p.yml'));
    const byPath = Object.fromEntries(error.issues.map((issue) => [issue.path, issue]));
    expect(byPath['targets[0].max_age']?.line).toBe(20);
    expect(byPath['targets[0].max_age']?.message).toContain('invalid unit');
    expect(byPath['targets[0].keep.weekly']?.line).toBe(16);
  });

  it('points a missing required field at its parent object', () => {
    const text = VALID_YAML.replace('    service: dds\n', '');
    const error = policyError(() => loadPolicy(text, 'policy.yaml'));
    expect(error.issues).toEqual([expect.objectContaining({ path: 'targets[1].service', line: 24 })]);
  });

  it('reports YAML syntax errors with their line', () => {
    const error = policyError(() => loadPolicy('version: 1\ntargets: [\n  - a: b\n', 'broken.yaml'));
    expect(error.issues[0]?.line).toBeGreaterThan(1);
  });

  it('rejects a JSON file that is not JSON', () => {
    const error = policyError(() => loadPolicy('version: 1', 'policy.json'));
    expect(error.issues[0]?.message).toContain('not valid JSON');
  });

  it('rejects duplicate keys', () => {
    const error = policyError(() => loadPolicy('version: 1\nversion: 1\ntargets: []\n', 'dup.yaml'));
    expect(error.issues[0]?.line).toBe(2);
  });
});

describe('parsePolicy', () => {
  const target = { name: 't', service: 'cbr', projects: ['p'], regions: ['r'] };

  it('refuses a target whose rules keep nothing (RETENTION.md 7)', () => {
    const error = policyError(() =>
      parsePolicy({ version: 1, targets: [{ ...target, keep: { daily: 0 } }] }),
    );
    expect(error.issues[0]?.path).toBe('targets[0].keep');
    expect(error.issues[0]?.message).toContain('allow_empty_keep');
  });

  it('accepts an empty keep when the target says so explicitly, or when max_age is set', () => {
    expect(() => parsePolicy({ version: 1, targets: [{ ...target, allow_empty_keep: true }] })).not.toThrow();
    expect(() => parsePolicy({ version: 1, targets: [{ ...target, max_age: '30d' }] })).not.toThrow();
  });

  it('takes keep rules from defaults when the target has none', () => {
    expect(() =>
      parsePolicy({ version: 1, defaults: { keep: { last: 3 } }, targets: [target] }),
    ).not.toThrow();
  });

  it('rejects duplicate target names', () => {
    const error = policyError(() =>
      parsePolicy({
        version: 1,
        targets: [
          { ...target, keep: { last: 1 } },
          { ...target, keep: { last: 2 } },
        ],
      }),
    );
    expect(error.issues).toEqual([expect.objectContaining({ path: 'targets[1].name' })]);
  });

  it('rejects an unknown time zone, negative and zero durations', () => {
    const error = policyError(() =>
      parsePolicy({
        version: 1,
        timezone: 'Mars/Olympus',
        targets: [
          { ...target, keep: { within: '-1d' } },
          { ...target, keep: { within_daily: '0d' } },
        ],
      }),
    );
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining(['timezone', 'targets[0].keep.within', 'targets[1].keep.within_daily']),
    );
  });

  it('rejects unknown keys at every level and out-of-range numbers', () => {
    const error = policyError(() =>
      parsePolicy({
        version: 1,
        extra: true,
        targets: [
          {
            ...target,
            keep: { last: 1.5 },
            max_delete_share: 1.2,
            protect: { names: ['x'] },
            filters: { x: 1 },
          },
        ],
      }),
    );
    const paths = error.issues.map((issue) => issue.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'extra',
        'targets[0].keep.last',
        'targets[0].max_delete_share',
        'targets[0].protect.names',
        'targets[0].filters.x',
      ]),
    );
  });

  it('requires version 1 and at least one target', () => {
    const error = policyError(() => parsePolicy({ version: 2, targets: [] }));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['targets', 'version']);
  });
});

describe('the documented example policy (docs/retention.md)', () => {
  it('is a valid policy', () => {
    const doc = readFileSync(new URL('../../docs/retention.md', import.meta.url), 'utf8');
    const example = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(example).toBeDefined();
    const policy = loadPolicy(example as string, 'docs/retention.md');
    expect(resolveTargets(policy)[0]?.keep?.within_yearly?.text).toBe('10y');
  });
});
