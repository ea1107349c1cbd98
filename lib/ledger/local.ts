/**
 * The embedded-default ledger: all records in memory, optionally journalled to `<dir>/ledger.jsonl`
 * (one JSON line per write, last line wins on reload). Every check-and-set runs synchronously inside one
 * call, so concurrent async callers in one process cannot both win a conditional write; journal appends are
 * chained so lines land in write order. Safe for one process, not for several sharing a directory.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { LedgerNotFoundError, LedgerUnavailableError } from './errors.ts';
import {
  applyTransition,
  assertLegal,
  cleanRecord,
  decideRearm,
  type Ledger,
  type LedgerOptions,
  newDeletionRecord,
  type ResolvedLedgerOptions,
  resolveOptions,
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
      status: 'planned',
      dry_run: parsed.dry_run,
      requested_by: parsed.requested_by,
      summary: parsed.summary,
      planned_count: parsed.items.length,
      created_at: now,
      updated_at: now,
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
}

/** An in-memory ledger (tests, dry runs). */
export function createMemoryLedger(options: LedgerOptions = {}): Ledger {
  return new LocalLedger(resolveOptions(options), async () => undefined);
}

export interface LocalFileLedger extends Ledger {
  /** Waits for pending journal writes and closes the file. */
  close(): Promise<void>;
}

/** Opens (creating if needed) the journal under `dir` and replays it. */
export async function openLocalLedger(dir: string, options: LedgerOptions = {}): Promise<LocalFileLedger> {
  const path = join(dir, LOCAL_LEDGER_FILE);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new LedgerUnavailableError(`cannot create ledger directory ${dir}`, { cause: error });
  }
  const { lines, validBytes } = await readJournal(path);
  const handle = await open(path, 'a');
  // A torn last line (a crash mid-append, never acknowledged) is cut off so the next record starts clean.
  if ((await handle.stat()).size > validBytes) await handle.truncate(validBytes);
  let chain: Promise<void> = Promise.resolve();
  const append: Append = (line) => {
    const text = `${JSON.stringify(line)}\n`;
    chain = chain.then(
      () => handle.appendFile(text, 'utf8'),
      () => handle.appendFile(text, 'utf8'),
    );
    return chain.catch((error: unknown) => {
      throw new LedgerUnavailableError(`cannot write ${path}`, { cause: error });
    });
  };
  const ledger = new LocalLedger(resolveOptions(options), append);
  for (const line of lines) ledger.replay(line);
  return Object.assign(ledger, {
    close: async () => {
      await chain.catch(() => undefined);
      await handle.close();
    },
  });
}

async function readJournal(path: string): Promise<{ lines: JournalLine[]; validBytes: number }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], validBytes: 0 };
    throw new LedgerUnavailableError(`cannot read ${path}`, { cause: error });
  }
  // Every append ends with a newline, so text after the last newline is a torn write from a crash that was
  // never acknowledged: it is ignored (and cut off by the caller). A corrupt complete line is a real problem.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  const lines: JournalLine[] = [];
  complete.split('\n').forEach((row, index) => {
    if (row.trim() === '') return;
    try {
      lines.push(JournalLineSchema.parse(JSON.parse(row)));
    } catch (error) {
      throw new LedgerUnavailableError(`${path}:${index + 1} is corrupt`, { cause: error });
    }
  });
  return { lines, validBytes: Buffer.byteLength(complete, 'utf8') };
}
