/** Runs a command of bin/ as a user would (its own Node process, tsx), capturing exit code and both streams. */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));

export interface BinResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runBin(
  name: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', `bin/${name}.ts`, ...args],
      {
        cwd: root,
        env: options.env ?? process.env,
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Starts a long-running command (the simulator) and resolves with its first complete JSON document on
 * stdout; the process is stopped with SIGTERM afterwards and its exit code returned too.
 */
export function firstJsonOf(
  name: string,
  args: readonly string[],
): Promise<{ json: unknown; stderr: string; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `bin/${name}.ts`, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    let json: unknown;
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (json !== undefined) return;
      try {
        json = JSON.parse(stdout);
      } catch {
        return; // not complete yet
      }
      child.kill('SIGTERM');
      exited.then((code) => resolve({ json, stderr, code }), reject);
    });
    child.once('exit', (code) => {
      if (json === undefined)
        reject(new Error(`${name} exited (${code}) before printing JSON:\n${stdout}\n${stderr}`));
    });
  });
}

/** The environment of a fresh shell: no HWC_*, HUAWEICLOUD_*, LEDGER*, POLICY_*, SWEEP_* or LOG_LEVEL. */
export function bareEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(HWC_|HUAWEICLOUD_|LEDGER|POLICY_|SWEEP_|LOG_LEVEL)/.test(key)) env[key] = value;
  }
  return env;
}

/** Runs a command and closes its stdout after the first chunk (as `| head -1` does). */
export function runBinClosingStdout(
  name: string,
  args: readonly string[],
): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `bin/${name}.ts`, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.once('data', () => child.stdout.destroy());
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stderr }));
  });
}
