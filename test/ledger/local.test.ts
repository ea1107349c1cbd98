import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createMemoryLedger,
  LedgerUnavailableError,
  LOCAL_LEDGER_FILE,
  type LocalFileLedger,
  openLocalLedger,
} from '../../lib/ledger/index.ts';
import { cbrDeletion, ledgerContract } from './contract.ts';

const dirs: string[] = [];
const opened: LocalFileLedger[] = [];

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'hwc-ledger-'));
  dirs.push(dir);
  return dir;
}

afterAll(async () => {
  for (const ledger of opened) await ledger.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

ledgerContract('memory', async (options) => createMemoryLedger(options));

ledgerContract('local file', async (options) => {
  const ledger = await openLocalLedger(await tempDir(), options);
  opened.push(ledger);
  return ledger;
});

describe('local file ledger', () => {
  it('replays its journal on reopen', async () => {
    const dir = await tempDir();
    const first = await openLocalLedger(dir);
    const { record } = await first.beginDeletion(cbrDeletion('b-1', { sweep_id: 'sw-1' }));
    const sent = await first.transition(record.id, {
      from: ['requested'],
      to: 'sent',
      patch: { upstream_request_id: 'u' },
    });
    await first.putSweepPlan({
      sweep_id: 'sw-1',
      dry_run: true,
      requested_by: { kind: 'sweep', principal: 'cli' },
      summary: {},
      items: [],
    });
    await first.close();
    const second = await openLocalLedger(dir);
    opened.push(second);
    expect(await second.get(record.id)).toEqual(sent);
    expect(await second.listBySweep('sw-1')).toEqual([sent]);
    expect((await second.getSweep('sw-1'))?.sweep.dry_run).toBe(true);
    expect((await second.beginDeletion(cbrDeletion('b-1'))).created).toBe(false);
  });

  it('writes concurrent callers as whole lines', async () => {
    const dir = await tempDir();
    const ledger = await openLocalLedger(dir);
    await Promise.all(
      Array.from({ length: 50 }, (_, index) => ledger.beginDeletion(cbrDeletion(`b-${index}`))),
    );
    await ledger.close();
    const lines = (await readFile(join(dir, LOCAL_LEDGER_FILE), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(50);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('survives a torn last line from a crash and keeps appending on a fresh line', async () => {
    const dir = await tempDir();
    const first = await openLocalLedger(dir);
    const { record } = await first.beginDeletion(cbrDeletion('b-1'));
    await first.close();
    await appendFile(join(dir, LOCAL_LEDGER_FILE), '{"t":"deletion","rec');
    const second = await openLocalLedger(dir);
    await second.beginDeletion(cbrDeletion('b-2'));
    await second.close();
    const third = await openLocalLedger(dir);
    opened.push(third);
    expect(await third.get(record.id)).toEqual(record);
    expect((await third.beginDeletion(cbrDeletion('b-2'))).created).toBe(false);
  });

  it('refuses a journal corrupt in the middle', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, LOCAL_LEDGER_FILE), 'not json\n{"t":"sweep"}\n');
    await expect(openLocalLedger(dir)).rejects.toBeInstanceOf(LedgerUnavailableError);
  });
});
