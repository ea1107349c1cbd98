/**
 * `npm run invoke` end to end: serverless invoke local of the repo's serverless.yml (bundled by
 * serverless-esbuild) against the embedded simulator, with no variable set by hand — the command sets
 * endpoints, AK/SK, ledger and bundle options itself and builds outside the repo's `.esbuild`.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bareEnv, root, runBin } from '../cli/run-bin.ts';

const esbuildDir = join(root, '.esbuild');
const esbuildState = () => (existsSync(esbuildDir) ? statSync(esbuildDir).mtimeMs : 'absent');

describe('npm run invoke', () => {
  it('deletes one CBR backup of the demo fleet through deleteCbrBackup: 202 and exactly one DELETE upstream', {
    timeout: 180_000,
  }, async () => {
    const before = esbuildState();
    const result = await runBin('invoke', ['deleteCbrBackup', 'events/demo/delete-cbr-backup.json'], {
      env: bareEnv(),
      timeoutMs: 170_000,
    });
    expect(result.code, result.stderr).toBe(0);
    const response = JSON.parse(result.stdout) as {
      statusCode: number;
      body: { status: string; service: string };
    };
    expect(response.statusCode).toBe(202);
    expect(response.body).toMatchObject({ status: 'accepted', service: 'cbr' });
    expect(result.stderr).toContain('the simulator received 1 requests, 1 of them DELETE');
    expect(esbuildState()).toBe(before);
  });

  it('exits 2 and points to events/demo/ for an event whose project the simulator does not have', async () => {
    const result = await runBin('invoke', ['deleteCbrBackup', 'events/delete-cbr-backup.json'], {
      env: bareEnv(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toContain('is not in the simulator');
    expect(result.stderr).toContain('events/demo/');
  });

  it('exits 2 naming the functions serverless.yml declares for an unknown function', async () => {
    const result = await runBin('invoke', ['noSuchFunction', 'events/demo/delete-cbr-backup.json']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^invoke: FUNCTION noSuchFunction: not in serverless.yml \(.*deleteCbrBackup.*\)/,
    );
  });
});
