import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

describe('npm run demo (the README main command)', () => {
  it('plans, sweeps and proves from the simulator log that nothing kept was touched', {
    timeout: 90_000,
  }, async () => {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bin/demo.ts'], {
      cwd: root,
      timeout: 80_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout).toContain('== 1. Plan (dry run: no DELETE is sent)');
    expect(stdout).toMatch(/Dry run \S+: \d+ deletions planned, \d+ kept, DELETE calls so far: 0/);
    expect(stdout).toMatch(/deleted\/total: servers-ap-southeast-1 (\d+)\/\1/);
    expect(stdout).toContain('status completed');
    expect(stdout).toMatch(
      /kept backups that received a DELETE: 0 \(of \d+ not planned: \d+ kept, \d+ out of scope, 0 in no target\)/,
    );
    expect(stdout).toMatch(/backups deleted more than once: +0 \(of \d+ deleted\)/);
    expect(stdout).not.toContain('VIOLATION');
    expect(stdout.trimEnd().split('\n').at(-1)).toMatch(/^OK /);
  });
});
