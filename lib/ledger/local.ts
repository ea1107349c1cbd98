/**
 * The embedded-default ledger: all records in memory, optionally journalled to `<dir>/ledger.jsonl`
 * (one JSON line per write, last line wins on reload). Every check-and-set runs synchronously inside one
 * call, so concurrent async callers in one process cannot both win a conditional write; journal appends are
 * chained so lines land in write order.
 *
 * Single writer by construction: every operation of a journalled ledger runs holding `<dir>/ledger.lock`,
 * taken exclusively (O_EXCL) with the holder's pid, host and a token. Holding it, the ledger first replays what
 * other writers appended since its last operation, then checks and writes — so two processes (or two bundles
 * in one `serverless offline`) on one LEDGER_DIR take turns on one history and never write beside each other.
 * A second writer waits for the lock (operations hold it for milliseconds); one held longer than
 * LOCK_WAIT_MS by a live process fails the operation with LedgerLockedError naming the holder. A lock left by
 * a process that no longer runs (same host, pid gone), or older than LOCK_STALE_MS, is taken over with a warning.
 */

import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { logger } from '../logger.ts';
import { LedgerLockedError, LedgerNotFoundError, LedgerUnavailableError } from './errors.ts';
import {
  applyTransition,
  assertLegal,
  cleanRecord,
  decideRearm,
  historyEntryOf,
  type Ledger,
  type LedgerOptions,
  newDeletionRecord,
  type ResolvedLedgerOptions,
  resolveOptions,
  sweepPlanFields,
} from './ledger.ts';
import {
  type BeginResult,
  type DeletionRecord,
  DeletionRecordSchema,
  type NewDeletion,
  type NewSweepPlan,
  NewSweepPlanSchema,
  type PlannedItem,
  PlannedItemSchema,
  type SweepHistoryEntry,
  type SweepRecord,
  SweepRecordSchema,
  type SweepWithItems,
  type TransitionRequest,
} from './schema.ts';

const JournalLineSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('deletion'), record: DeletionRecordSchema }),
  z.object({ t: z.literal('sweep'), sweep: SweepRecordSchema }),
  z.object({ t: z.literal('items'), sweep_id: z.string(), items: z.array(PlannedItemSchema) }),
]);
type JournalLine = z.infer<typeof JournalLineSchema>;

export const LOCAL_LEDGER_FILE = 'ledger.jsonl';
export const LOCAL_LEDGER_LOCK = 'ledger.lock';

type Append = (line: JournalLine) => Promise<void>;

class LocalLedger implements Ledger {
  readonly #deletions = new Map<string, DeletionRecord>();
  readonly #sweeps = new Map<string, SweepRecord>();
  readonly #items = new Map<string, PlannedItem[]>();
  readonly #options: ResolvedLedgerOptions;
  readonly #append: Append;

  constructor(options: ResolvedLedgerOptions, append: Append) {
    this.#options = options;
    this.#append = append;
  }

  /** Replays one journal line (used on load). */
  replay(line: JournalLine): void {
    if (line.t === 'deletion') this.#deletions.set(line.record.id, line.record);
    else if (line.t === 'sweep') this.#sweeps.set(line.sweep.sweep_id, line.sweep);
    else this.#items.set(line.sweep_id, line.items);
  }

  async beginDeletion(input: NewDeletion): Promise<BeginResult> {
    const now = this.#options.now();
    const fresh = cleanRecord(newDeletionRecord(input, now));
    const existing = this.#deletions.get(fresh.id);
    let record = fresh;
    if (existing !== undefined) {
      const decision = decideRearm(existing, fresh, now, this.#options.idempotencyWindowMs);
      if (decision.kind === 'keep') return { created: false, record: structuredClone(existing) };
      record = cleanRecord(decision.record);
    }
    this.#deletions.set(record.id, record);
    await this.#append({ t: 'deletion', record });
    return { created: true, record: structuredClone(record) };
  }

  async transition(id: string, request: TransitionRequest): Promise<DeletionRecord> {
    assertLegal(request);
    const existing = this.#deletions.get(id);
    if (existing === undefined) throw new LedgerNotFoundError(id);
    const record = cleanRecord(applyTransition(existing, request, this.#options.now()));
    this.#deletions.set(id, record);
    await this.#append({ t: 'deletion', record });
    return structuredClone(record);
  }

  async get(id: string): Promise<DeletionRecord | undefined> {
    const record = this.#deletions.get(id);
    return record === undefined ? undefined : structuredClone(record);
  }

  async listBySweep(sweepId: string): Promise<DeletionRecord[]> {
    return [...this.#deletions.values()]
      .filter((record) => record.sweep_id === sweepId)
      .map((r) => structuredClone(r));
  }

  async putSweepPlan(plan: NewSweepPlan): Promise<{ created: boolean; sweep: SweepRecord }> {
    const parsed = NewSweepPlanSchema.parse(plan);
    const existing = this.#sweeps.get(parsed.sweep_id);
    if (existing !== undefined) return { created: false, sweep: structuredClone(existing) };
    const now = this.#options.now();
    const sweep: SweepRecord = {
      sweep_id: parsed.sweep_id,
      status: parsed.status ?? 'planned',
      dry_run: parsed.dry_run,
      requested_by: parsed.requested_by,
      summary: parsed.summary,
      planned_count: parsed.items.length,
      ...sweepPlanFields(parsed),
      created_at: now,
      updated_at: now,
      ...(parsed.history === undefined ? {} : { history: parsed.history }),
    };
    this.#sweeps.set(sweep.sweep_id, sweep);
    this.#items.set(sweep.sweep_id, parsed.items);
    await this.#append({ t: 'items', sweep_id: sweep.sweep_id, items: parsed.items });
    await this.#append({ t: 'sweep', sweep });
    return { created: true, sweep: structuredClone(sweep) };
  }

  async getSweep(sweepId: string): Promise<SweepWithItems | undefined> {
    const sweep = this.#sweeps.get(sweepId);
    if (sweep === undefined) return undefined;
    return structuredClone({ sweep, items: this.#items.get(sweepId) ?? [] });
  }

  async finishSweep(sweepId: string, report: Record<string, unknown>): Promise<SweepRecord> {
    const existing = this.#sweeps.get(sweepId);
    if (existing === undefined) throw new LedgerNotFoundError(sweepId);
    const now = this.#options.now();
    const sweep: SweepRecord = { ...existing, status: 'finished', report, updated_at: now, finished_at: now };
    this.#sweeps.set(sweepId, sweep);
    await this.#append({ t: 'sweep', sweep });
    return structuredClone(sweep);
  }

  async recentSweeps(policyKey: string, limit: number): Promise<SweepHistoryEntry[]> {
    const entries: SweepHistoryEntry[] = [];
    for (const sweep of this.#sweeps.values()) {
      if (sweep.history?.policy_key !== policyKey) continue;
      const entry = historyEntryOf(sweep);
      if (entry !== undefined) entries.push(entry);
    }
    entries.sort((a, b) => b.finished_at - a.finished_at || (a.sweep_id < b.sweep_id ? 1 : -1));
    return structuredClone(entries.slice(0, Math.max(0, limit)));
  }
}

/** An in-memory ledger (tests, dry runs). */
export function createMemoryLedger(options: LedgerOptions = {}): Ledger {
  return new LocalLedger(resolveOptions(options), async () => undefined);
}

export interface LocalFileLedger extends Ledger {
  /** Waits for pending operations and closes the file. */
  close(): Promise<void>;
}

export interface LocalLedgerOpenOptions extends LedgerOptions {
  /** How long an operation waits for another writer's lock. Default LOCK_WAIT_MS. */
  readonly lockWaitMs?: number;
}

/** An operation holds the lock for milliseconds; waiting this long means the holder is stuck. */
export const LOCK_WAIT_MS = 10_000;
/** A lock older than this is taken over even if its pid runs (a worker thread of a live process died). */
export const LOCK_STALE_MS = 60_000;

type FileHandle = Awaited<ReturnType<typeof open>>;

/** Opens (creating if needed) the journal under `dir` and replays it; every operation then takes the lock. */
export async function openLocalLedger(
  dir: string,
  options: LocalLedgerOpenOptions = {},
): Promise<LocalFileLedger> {
  const path = join(dir, LOCAL_LEDGER_FILE);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new LedgerUnavailableError(`cannot create ledger directory ${dir}`, { cause: error });
  }
  const waitMs = options.lockWaitMs ?? LOCK_WAIT_MS;
  let writer: FileHandle;
  let reader: FileHandle;
  try {
    writer = await open(path, 'a');
    reader = await open(path, 'r');
  } catch (error) {
    throw new LedgerUnavailableError(`cannot open ${path}`, { cause: error });
  }
  /** Bytes of the journal this instance has replayed (and written). */
  let offset = 0;
  let lineNumber = 0;
  const append: Append = async (line) => {
    const text = `${JSON.stringify(line)}\n`;
    try {
      await writer.appendFile(text, 'utf8');
    } catch (error) {
      throw new LedgerUnavailableError(`cannot write ${path}`, { cause: error });
    }
    offset += Buffer.byteLength(text, 'utf8');
    lineNumber += 1;
  };
  const ledger = new LocalLedger(resolveOptions(options), append);

  /** Replays the complete lines other writers appended; cuts off a torn tail (a writer died mid-append). */
  const catchUp = async () => {
    const { size } = await reader.stat();
    if (size <= offset) return;
    const buffer = Buffer.alloc(size - offset);
    await reader.read(buffer, 0, buffer.length, offset);
    const end = buffer.lastIndexOf(0x0a) + 1;
    const { lines, rows } = parseJournal(buffer.subarray(0, end).toString('utf8'), path, lineNumber);
    for (const line of lines) ledger.replay(line);
    offset += end;
    lineNumber += rows;
    if (end < buffer.length) await writer.truncate(offset);
  };

  // One operation of this instance at a time; other instances and processes queue on the lock file.
  let queue: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(operation: () => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      const lock = await acquireJournalLock(dir, { waitMs });
      try {
        await catchUp();
        return await operation();
      } finally {
        await lock.release();
      }
    });
    queue = run.catch(() => undefined);
    return run;
  };

  try {
    await exclusive(async () => undefined);
  } catch (error) {
    await writer.close();
    await reader.close();
    throw error;
  }
  return {
    beginDeletion: (input) => exclusive(() => ledger.beginDeletion(input)),
    transition: (id, request) => exclusive(() => ledger.transition(id, request)),
    get: (id) => exclusive(() => ledger.get(id)),
    listBySweep: (sweepId) => exclusive(() => ledger.listBySweep(sweepId)),
    putSweepPlan: (plan) => exclusive(() => ledger.putSweepPlan(plan)),
    getSweep: (sweepId) => exclusive(() => ledger.getSweep(sweepId)),
    finishSweep: (sweepId, report) => exclusive(() => ledger.finishSweep(sweepId, report)),
    recentSweeps: (policyKey, limit) => exclusive(() => ledger.recentSweeps(policyKey, limit)),
    close: async () => {
      await queue;
      await writer.close();
      await reader.close();
    },
  };
}

/** Complete journal rows → lines; a corrupt complete row names its line number. */
function parseJournal(
  complete: string,
  path: string,
  firstLine: number,
): { lines: JournalLine[]; rows: number } {
  const lines: JournalLine[] = [];
  const rows = complete.split('\n');
  rows.pop();
  rows.forEach((row, index) => {
    if (row.trim() === '') return;
    try {
      lines.push(JournalLineSchema.parse(JSON.parse(row)));
    } catch (error) {
      throw new LedgerUnavailableError(`${path}:${firstLine + index + 1} is corrupt`, { cause: error });
    }
  });
  return { lines, rows: rows.length };
}

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly token?: string | undefined;
}

const LockOwnerSchema = z.object({
  pid: z.number().int().positive(),
  host: z.string(),
  since: z.string(),
  token: z.string().optional(),
});

function readOwner(text: string): LockOwner | undefined {
  try {
    const parsed = LockOwnerSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** True when `pid` runs on this host (EPERM: it runs, as another user). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function describeOwner(owner: LockOwner | undefined): string {
  return owner === undefined ? 'an unknown owner' : `pid ${owner.pid} on ${owner.host} since ${owner.since}`;
}

/** Why a lock may be taken over, or undefined while its holder may still be working. */
function staleReason(owner: LockOwner, me: LockOwner, nowMs: number): string | undefined {
  if (owner.host === me.host && !isAlive(owner.pid)) return `pid ${owner.pid} no longer runs`;
  const since = Date.parse(owner.since);
  if (Number.isFinite(since) && nowMs - since > LOCK_STALE_MS) return `held since ${owner.since}`;
  return undefined;
}

/**
 * Removes the lock at `lockPath` if it still holds `staleText`. Takers serialise on `<lock>.takeover` (O_EXCL),
 * so one taker cannot remove a lock another taker has just created; a takeover file of a dead pid is removed.
 */
async function removeStaleLock(lockPath: string, staleText: string, me: LockOwner): Promise<void> {
  const claimPath = `${lockPath}.takeover`;
  try {
    const handle = await open(claimPath, 'wx');
    try {
      await handle.writeFile(JSON.stringify(me), 'utf8');
    } finally {
      await handle.close();
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
      throw new LedgerUnavailableError(`cannot take over the stale lock ${lockPath}`, { cause: error });
    }
    const claimer = readOwner(await readFile(claimPath, 'utf8').catch(() => ''));
    if (claimer !== undefined && staleReason(claimer, me, Date.now()) !== undefined) {
      await unlink(claimPath).catch(() => undefined);
    }
    return;
  }
  try {
    if ((await readFile(lockPath, 'utf8').catch(() => undefined)) === staleText) await unlink(lockPath);
  } finally {
    await unlink(claimPath).catch(() => undefined);
  }
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes `<dir>/ledger.lock` or throws LedgerLockedError after `waitMs`. A stale lock (see staleReason) is
 * removed under a takeover claim (see removeStaleLock), with a warning, and taken.
 */
export async function acquireJournalLock(
  dir: string,
  options: { readonly waitMs?: number } = {},
): Promise<{ release(): Promise<void> }> {
  const lockPath = join(dir, LOCAL_LEDGER_LOCK);
  const waitMs = options.waitMs ?? LOCK_WAIT_MS;
  const started = Date.now();
  let lastOwner: LockOwner | undefined;
  for (let round = 0; ; round++) {
    const me: LockOwner = {
      pid: process.pid,
      host: hostname(),
      since: new Date().toISOString(),
      token: randomBytes(8).toString('hex'),
    };
    const text = `${JSON.stringify(me)}\n`;
    try {
      const handle = await open(lockPath, 'wx');
      try {
        await handle.writeFile(text, 'utf8');
      } finally {
        await handle.close();
      }
      return {
        release: async () => {
          // Only our own lock: a stuck holder's lock taken over by another must not be removed by it.
          if ((await readFile(lockPath, 'utf8').catch(() => '')) === text) await unlink(lockPath);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new LedgerUnavailableError(`cannot create the journal lock ${lockPath}`, { cause: error });
      }
    }
    const held = await readFile(lockPath, 'utf8').catch(() => undefined);
    if (held === undefined) continue; // Released in between: try again at once.
    const owner = readOwner(held);
    lastOwner = owner;
    const stale = owner === undefined ? undefined : staleReason(owner, me, Date.now());
    if (owner !== undefined && stale !== undefined) {
      logger.warn('taking over a stale local ledger lock', {
        lock: lockPath,
        owner_pid: owner.pid,
        why: stale,
      });
      await removeStaleLock(lockPath, held, me);
      continue;
    }
    if (Date.now() - started >= waitMs) break;
    // Operations hold the lock for milliseconds: poll briefly, with jitter so waiters do not move in step.
    await pause(Math.min(2 + round, 20) * (0.5 + Math.random()));
  }
  throw new LedgerLockedError(
    `the local ledger in ${dir} is locked by ${describeOwner(lastOwner)} for more than ${waitMs} ms; ` +
      'is another process stuck? Stop it, remove the lock if it is gone, or use another LEDGER_DIR',
    lastOwner?.pid,
  );
}
