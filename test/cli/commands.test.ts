/**
 * The conventions every command in bin/ follows, checked on each as a user runs it: `--help` prints the
 * usage on stdout and exits 0; a bad option is one line on stderr and exit 2; `--json` puts exactly one
 * JSON document on stdout; a `--cloud` run without configuration names every missing setting at once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { overrideKey } from '../../lib/huawei/endpoints.ts';
import { PlanJsonSchema } from '../../lib/retention/plan-targets.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import { DEMO_REGIONS, startDemoSimulator } from '../../lib/sweep/demo-fleet.ts';
import { bareEnv, firstJsonOf, runBin, runBinClosingStdout } from './run-bin.ts';

const COMMANDS = ['demo', 'plan', 'simulator', 'projects', 'invoke', 'schemas', 'doctor', 'sweep'] as const;

describe.each(COMMANDS)('npm run %s', (name) => {
  it('prints its usage on stdout and exits 0 on --help', async () => {
    const result = await runBin(name, ['--help']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^usage: npm run ${name} -- `));
    expect(result.stdout).toContain('-h, --help');
    expect(result.stderr).toBe('');
  });

  it('exits 2 with one line on stderr for an unknown option', async () => {
    const result = await runBin(name, ['--no-such-option']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(`${name}: unknown option --no-such-option (see npm run ${name} -- --help)\n`);
  });
});

describe('--json', () => {
  it('plan prints the JSON plan alone on stdout, progress on stderr', async () => {
    const result = await runBin('plan', ['--policy', 'policies/demo.yaml', '--json']);
    expect(result.code, result.stderr).toBe(0);
    const plan = PlanJsonSchema.parse(JSON.parse(result.stdout));
    expect(plan.targets.map((target) => target.name)).toHaveLength(6);
    expect(result.stderr).toContain('Planning against the embedded simulator');
  });

  it('projects prints the projects with their regions alone on stdout', async () => {
    const result = await runBin('projects', ['--json']);
    expect(result.code, result.stderr).toBe(0);
    const { projects } = JSON.parse(result.stdout) as { projects: { id: string; region: string }[] };
    // The demo fleet: exactly the projects policies/demo.yaml names, each in the region it names.
    expect(projects.map((project) => `${project.region} ${project.id}`)).toEqual([
      'ap-southeast-1 02ff152c0fdc7f12fa169e5eb2f38b96',
      'ap-southeast-1 eefda8251326dd80b9bcd5ce0846bdce',
      'cn-north-4 6d74674f4306932b05e79f379adf2412',
      'cn-north-4 e41cb15b8eff8d043b3cf7117fb53196',
    ]);
  });

  it('simulator prints its connection details and the matching policy as JSON, then serves until stopped', async () => {
    const { json, code } = await firstJsonOf('simulator', ['--json']);
    const details = json as { url: string; policy: string; projects: { id: string }[]; environment: object };
    expect(details.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(details.policy).toBe('policies/demo.yaml');
    expect(details.projects).toHaveLength(4);
    expect(Object.keys(details.environment)).toContain('HUAWEICLOUD_SDK_REGION_CBR_AP_SOUTHEAST_1');
    expect(code).toBe(0);
  });
});

describe('plan', () => {
  it('prints a summary by default: one row per target and a total, no per-backup rows', async () => {
    const result = await runBin('plan', ['--policy', 'policies/demo.yaml']);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines.filter((line) => /^ {2}\S/.test(line))).toHaveLength(8); // header, 6 targets, total
    expect(result.stdout).not.toMatch(/^ {4}(keep|delete) /m);
    expect(result.stdout).not.toMatch(/\b0 B\b|0\.0 GiB/);
  });

  it('prints every backup with resource names beside the ids with --table', async () => {
    const result = await runBin('plan', ['--policy', 'policies/demo.yaml', '--table']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      /^ {2}ecs-02ff-0 \(csbs\/ap-southeast-1\/02ff152c0fdc7f12fa169e5eb2f38b96\/-\/[0-9a-f-]{36}\): keep \d+, delete \d+$/m,
    );
    expect(result.stdout).toMatch(/^ {4}(keep|delete) +\S+ \S+ +[0-9a-f-]{36} +(manual|autobk)_ecs-/m);
  });

  it('keeps --simulate and --html under the conventions: a bad value is exit 2, --json stays one document', async () => {
    const bad = await runBin('plan', ['--policy', 'policies/demo.yaml', '--simulate', 'ninety']);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trimEnd().split('\n')).toHaveLength(1);
    const dir = mkdtempSync(join(tmpdir(), 'hwc-plan-html-'));
    try {
      const html = join(dir, 'report.html');
      const result = await runBin('plan', [
        '--policy',
        'policies/demo.yaml',
        '--json',
        '--simulate',
        '30d',
        '--html',
        html,
      ]);
      expect(result.code, result.stderr).toBe(0);
      const json = JSON.parse(result.stdout) as { simulation: unknown[]; targets: unknown[] };
      expect(json.simulation).toHaveLength(json.targets.length);
      expect(result.stderr).toContain(`HTML report: ${html}`);
      expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('replays a fleet fixture with --fixture', async () => {
    const result = await runBin('plan', [
      '--policy',
      'policies/demo.yaml',
      '--fixture',
      'test/cli/fixtures/one-project.json',
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const plan = PlanJsonSchema.parse(JSON.parse(result.stdout));
    const vaults = plan.targets.find((target) => target.name === 'vaults-ap-southeast-1');
    expect(vaults?.listed).toBe(3);
    expect(vaults?.resources.map((resource) => resource.resource_name)).toEqual(['ecs-fixture']);
  });

  it('exits 2 naming the file for a fixture that is not a fleet', async () => {
    const result = await runBin('plan', [
      '--policy',
      'policies/demo.yaml',
      '--fixture',
      'policies/demo.yaml',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^plan: --fixture policies\/demo\.yaml: not JSON /),
    ]);
  });

  it('plans the running simulator with --cloud from the environment it prints, without HWC_REGION', async () => {
    const sim = await startDemoSimulator();
    try {
      const env = bareEnv();
      env.HUAWEICLOUD_SDK_AK = sim.credentials.ak;
      env.HUAWEICLOUD_SDK_SK = sim.credentials.sk;
      for (const region of DEMO_REGIONS)
        for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'])
          env[overrideKey(service, region)] = sim.baseUrl(service as 'cbr', region);
      const result = await runBin('plan', ['--policy', 'policies/demo.yaml', '--cloud', '--json'], { env });
      expect(result.code, result.stderr).toBe(0);
      const plan = PlanJsonSchema.parse(JSON.parse(result.stdout));
      expect(plan.targets.reduce((sum, target) => sum + target.listed, 0)).toBe(873);
      expect(sim.inspect().requests.every((request) => request.method === 'GET')).toBe(true);
    } finally {
      await sim.close();
    }
  });

  it('names every missing setting at once with --cloud and needs no HWC_REGION when the policy lists regions', async () => {
    const result = await runBin('plan', ['--policy', 'policies/demo.yaml', '--cloud'], { env: bareEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing configuration (1):');
    expect(result.stderr).toContain('HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK');
    expect(result.stderr).not.toContain('HWC_REGION');
  });
});

describe('a closed stdout (| head)', () => {
  it('ends the command with its exit code and no stack trace', async () => {
    const { code, stderr } = await runBinClosingStdout('plan', ['--policy', 'policies/demo.yaml', '--table']);
    expect(code).toBe(0);
    expect(stderr).not.toContain('EPIPE');
  });
});

describe('projects', () => {
  it('names both missing settings at once with --cloud on a bare machine', async () => {
    const result = await runBin('projects', ['--cloud'], { env: bareEnv() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('missing configuration (2):');
    expect(result.stderr).toMatch(/HWC_REGION: is required[\s\S]*HUAWEICLOUD_SDK_AK and HUAWEICLOUD_SDK_SK/);
  });

  it('prints a starter policy that loads, names each project in its region and caps deletions at 20%', async () => {
    const result = await runBin('projects', ['--policy-template']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.split('\n')[0]).toBe(
      '# yaml-language-server: $schema=../schemas/policy.schema.json',
    );
    const policy = loadPolicy(result.stdout, 'template.yaml');
    expect(policy.defaults?.max_delete_share).toBe(0.2);
    expect(
      policy.targets.map((target) => `${target.service} ${target.regions.join()} ${target.projects.length}`),
    ).toEqual([
      'csbs ap-southeast-1 2',
      'cbr ap-southeast-1 2',
      'dds ap-southeast-1 2',
      'csbs cn-north-4 2',
      'cbr cn-north-4 2',
      'dds cn-north-4 2',
    ]);
  });
});
