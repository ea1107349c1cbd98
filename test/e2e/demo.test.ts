import { describe, expect, it } from 'vitest';
import { runBin } from '../cli/run-bin.ts';

/** The report table's rows (after `== 3. Report`): name → its cells by column title. */
function reportRows(text: string): Map<string, Record<string, string>> {
  const section = text.slice(text.indexOf('== 3. Report'));
  const lines = section.split('\n');
  const headerAt = lines.findIndex((line) => line.trim().startsWith('TARGET'));
  const header = (lines[headerAt] as string).trim().split(/ {2,}/);
  const rows = new Map<string, Record<string, string>>();
  for (const line of lines.slice(headerAt + 1)) {
    if (!/^ {2}\S/.test(line) || line.trim().startsWith('status') || line.trim().startsWith('codes')) break;
    const cells = line.trim().split(/ {2,}/);
    rows.set(
      cells[0] as string,
      Object.fromEntries(header.map((title, index) => [title, cells[index] ?? ''])),
    );
  }
  return rows;
}

describe('npm run demo (the README main command)', () => {
  it('plans, sweeps and proves from the simulator log that nothing kept was touched', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout, stderr } = await runBin('demo', [], { timeoutMs: 110_000 });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain('== 1. Plan (dry run: no DELETE is sent)');
    expect(stdout).toMatch(/Dry run \S+: \d+ deletions planned, \d+ kept, DELETE calls so far: 0/);
    expect(stdout).toMatch(/deleted\/total: servers-ap-southeast-1 (\d+)\/\1/);
    expect(stdout).toContain('status completed');
    expect(stdout).toMatch(
      /kept backups that received a DELETE: 0 \(of \d+ not planned: \d+ kept, \d+ out of scope, 0 in no target\)/,
    );
    expect(stdout).toMatch(/backups deleted more than once: +0 \(of \d+ deleted\)/);
    expect(stdout).toMatch(
      /^ {4}02ff152c0fdc7f12fa169e5eb2f38b96 {2}ap-southeast-1 {2}ap-southeast-1_project0 {2}[1-5]$/m,
    );
    expect(stdout).not.toMatch(/\{"/); // no raw JSON object in the text
    expect(stdout).not.toContain('VIOLATION');
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^OK /);
  });

  it('prints report totals that add up on screen: listed = kept + planned + out of scope on every row', {
    timeout: 120_000,
  }, async () => {
    const { code, stdout, stderr } = await runBin('demo', ['--json'], { timeoutMs: 110_000 });
    expect(code, stderr).toBe(0);
    const json = JSON.parse(stdout) as {
      ok: boolean;
      report: { targets: { name: string; listed: number }[]; totals: { listed: number } };
    };
    expect(json.ok).toBe(true);
    // With --json the text goes to stderr: the same tables a person reads.
    const rows = reportRows(stderr);
    expect([...rows.keys()]).toEqual([...json.report.targets.map((target) => target.name), 'total']);
    let outOfScope = 0;
    for (const [name, row] of rows) {
      const [listed, kept, planned, ignored] = ['LISTED', 'KEPT', 'PLANNED', 'OUT OF SCOPE'].map((title) =>
        Number(row[title]),
      );
      expect(listed, name).toBe((kept as number) + (planned as number) + (ignored as number));
      if (name !== 'total') outOfScope += ignored as number;
    }
    expect(Number(rows.get('total')?.['OUT OF SCOPE'])).toBe(outOfScope);
    expect(outOfScope).toBeGreaterThan(0); // DDS automatic backups: the demo policy deletes manual ones only
    expect(Number(rows.get('total')?.LISTED)).toBe(json.report.totals.listed);
    expect(stderr).not.toMatch(/\b0\.0 GiB\b| - *$/m);
  });

  it('fails before deleting anything when the fleet does not match the policy (--seed 5)', {
    timeout: 60_000,
  }, async () => {
    const { code, stdout, stderr } = await runBin('demo', ['--seed', '5']);
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /^ {2}MISMATCH target servers-ap-southeast-1: project 02ff152c0fdc7f12fa169e5eb2f38b96 is not in the fleet$/m,
    );
    expect(stdout).not.toContain('== 2. Sweep');
    expect(stdout).not.toMatch(/^OK/m);
    expect(stderr).toMatch(/^demo: the policy does not match the simulator's fleet \(12 problems above\)/);
  });

  it('fails when a target lists nothing', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await runBin('demo', [
      '--fixture',
      'test/cli/fixtures/one-project.json',
      '--policy',
      'test/cli/fixtures/one-project-policy.yaml',
    ]);
    expect(code).toBe(1);
    expect(stdout).toContain('servers: listed nothing');
    expect(stdout).not.toContain('== 2. Sweep');
    expect(stderr).toMatch(/^demo: 1 target\(s\) listed nothing: servers;/);
  });
});
