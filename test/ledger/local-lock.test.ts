/**
 * The local journal has one writer at a time: two real processes on one LEDGER_DIR take turns on one history
 * (no DELETE twice); a holder stuck past the wait is named; a lock left by a dead process is taken over.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LedgerLockedError,
  LOCAL_LEDGER_FILE,
  LOCAL_LEDGER_LOCK,
  openLocalLedger,
} from '../../lib/ledger/index.ts';
import { logger } from '../../lib/logger.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { Picker, REGION, startDeletionSimulator } from '../deletions/fleet.ts';
import { cbrDeletion } from './contract.ts';

const WRITER = new URL('./journal-writer.ts', import.meta.url).pathname;

let sim: Simulator;
let projectId: string;
let pick: Picker;
const dirs: string[] = [];

beforeAll(async () => {
  logger.setLogLevel('SILENT');
  ({ sim, projectId } = await startDeletionSimulator());
  pick = new Picker(sim, projectId);
});
afterAll(async () => {
  logger.setLogLevel('INFO');
  await sim.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hwc-lock-'));
  dirs.push(dir);
  return dir;
}

interface Writer {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves with the output line that starts with `prefix`. */
  readonly line: (prefix: string) => Promise<string>;
  readonly exit: Promise<number | null>;
}

function startWriter(dir: string, backupIds: readonly string[]): Writer {
  const job = {
    dir,
    region: REGION,
    projectId,
    cbrUrl: sim.baseUrl('cbr', REGION),
    ak: sim.credentials.ak,
    sk: sim.credentials.sk,
    backupIds,
  };
  // Node itself with tsx's loader, so the child's pid is the writer's (the tsx binary would add a wrapper).
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
    env: { ...process.env, WRITER_JOB: JSON.stringify(job), LOG_LEVEL: 'SILENT' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const waiters: { prefix: string; resolve: (line: string) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiters]) {
      const found = `${out}${err}`.split('\n').find((line) => line.startsWith(waiter.prefix));
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(found);
      }
    }
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    check();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
    check();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    line: (prefix) =>
      new Promise((resolve, reject) => {
        waiters.push({ prefix, resolve });
        check();
        void exit.then(() =>
          setImmediate(() => reject(new Error(`writer exited without "${prefix}": ${out} ${err}`))),
        );
      }),
    exit,
  };
}

/** A pid that no longer runs: a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 0;
}

describe('the local journal lock', () => {
  it('lets two processes on one LEDGER_DIR take turns: every backup gets one DELETE, one history', async () => {
    const dir = await tempDir();
    const backups = Array.from({ length: 12 }, () => pick.cbrBackup().id);
    sim.resetInspection();
    const first = startWriter(dir, backups);
    const second = startWriter(dir, [...backups].reverse());
    await Promise.all([first.line('locked'), second.line('locked')]);
    // Both start deleting the same backups at once.
    first.child.stdin?.write('go\n');
    second.child.stdin?.write('go\n');
    const sent = await Promise.all([first.line('done'), second.line('done')]);
    expect(await first.exit).toBe(0);
    expect(await second.exit).toBe(0);
    // Between them they sent each DELETE once; the other writer found the record and sent nothing.
    expect(sent.map((line) => Number(line.split(' ')[1])).reduce((a, b) => a + b, 0)).toBe(backups.length);
    for (const id of backups) expect(sim.inspect().deleteAttempts(id)).toBe(1);
    const journal = (await readFile(join(dir, LOCAL_LEDGER_FILE), 'utf8')).trim().split('\n');
    const sentLines = journal
      .map((line) => JSON.parse(line))
      .filter((line) => line.record?.status === 'sent');
    expect(sentLines).toHaveLength(backups.length);
    // The lock is held per operation only.
    await expect(readFile(join(dir, LOCAL_LEDGER_LOCK), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('sees what another writer recorded since its own last operation', async () => {
    const dir = await tempDir();
    const one = await openLocalLedger(dir);
    const two = await openLocalLedger(dir);
    const begun = await one.beginDeletion(cbrDeletion('b-shared'));
    expect(begun.created).toBe(true);
    const again = await two.beginDeletion(cbrDeletion('b-shared'));
    expect(again).toMatchObject({ created: false, record: { id: begun.record.id } });
    await two.transition(begun.record.id, { from: ['requested'], to: 'sent' });
    expect((await one.get(begun.record.id))?.status).toBe('sent');
    await one.close();
    await two.close();
  });

  it('fails an operation with a clear message when a live holder keeps the lock too long', async () => {
    const dir = await tempDir();
    const ledger = await openLocalLedger(dir, { lockWaitMs: 50 });
    const holder = { pid: process.ppid, host: hostname(), since: new Date().toISOString(), token: 'x' };
    await writeFile(join(dir, LOCAL_LEDGER_LOCK), JSON.stringify(holder));
    const error = await ledger.get('anything').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LedgerLockedError);
    expect((error as Error).message).toMatch(
      new RegExp(`locked by pid ${process.ppid} on .* for more than 50 ms`),
    );
    expect((error as LedgerLockedError).ownerPid).toBe(process.ppid);
    await rm(join(dir, LOCAL_LEDGER_LOCK));
    await ledger.close();
  });

  it('takes over the lock of a process that no longer runs, with a warning', async () => {
    const dir = await tempDir();
    const dead = await deadPid();
    const stale = { pid: dead, host: hostname(), since: new Date().toISOString(), token: 'gone' };
    await writeFile(join(dir, LOCAL_LEDGER_LOCK), JSON.stringify(stale));
    const warnings: unknown[] = [];
    const warn = logger.warn.bind(logger);
    logger.warn = (...args: Parameters<typeof logger.warn>) => {
      warnings.push(args);
    };
    try {
      const ledger = await openLocalLedger(dir, { lockWaitMs: 50 });
      expect((await ledger.beginDeletion(cbrDeletion('b-after-crash'))).created).toBe(true);
      await ledger.close();
    } finally {
      logger.warn = warn;
    }
    expect(JSON.stringify(warnings)).toContain(`"owner_pid":${dead}`);
    await expect(readFile(join(dir, LOCAL_LEDGER_LOCK), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('never takes over a lock it cannot read: it waits, then says so', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCAL_LEDGER_LOCK), 'not json');
    await expect(openLocalLedger(dir, { lockWaitMs: 30 })).rejects.toThrow(/locked by an unknown owner/);
  });
});
