/**
 * The queued sweep's report, assembled from the ledger on read: the sweep function only enqueues and answers
 * "queued N"; workers record every outcome in the deletion records; this reads the stored plan and each planned
 * item's record and counts them the way the inline report does. A reader (a test, an operator) gets `running`
 * with `pending` counts until every item is final; the worker finishing the last item stores it.
 */
import type { Ledger } from '../../ledger/ledger.ts';
import type { DeletionRecord, PlannedItem } from '../../ledger/schema.ts';
import { SweepSummarySchema, targetOfItem } from '../plan-sweep.ts';
import { countOutcome, emptyCounts, type ItemOutcome, type SweepCounts, sumCounts } from '../report.ts';
import { finalItemOutcome } from '../step.ts';

export interface QueuedTargetReport extends SweepCounts {
  readonly name: string;
}

export interface QueuedSweepReport {
  readonly sweep_id: string;
  readonly mode: 'queued';
  /** running: some planned item has no final record yet. */
  readonly status: 'running' | 'completed' | 'completed_with_failures';
  readonly totals: SweepCounts;
  readonly targets: readonly QueuedTargetReport[];
}

/** How a planned item stands in the ledger, as an item outcome (`pending` until its record is final). */
export function outcomeFromRecord(
  item: PlannedItem,
  record: DeletionRecord | undefined,
  sweepId: string,
): ItemOutcome {
  if (record === undefined) return { deletion_id: item.deletion_id, status: 'pending', code: 'NOT_STARTED' };
  return (
    finalItemOutcome(item, record, sweepId) ?? {
      deletion_id: item.deletion_id,
      status: 'pending',
      code: record.status.toUpperCase(),
    }
  );
}

/** The sweep's report from the ledger; undefined when the ledger has no such sweep. */
export async function queuedSweepReport(
  ledger: Pick<Ledger, 'getSweep' | 'listBySweep' | 'get'>,
  sweepId: string,
  /** The workers' own outcomes (lib/sweep/queued/completion.ts): they win over what the records say. */
  counted?: ReadonlyMap<string, ItemOutcome>,
): Promise<QueuedSweepReport | undefined> {
  const stored = await ledger.getSweep(sweepId);
  if (stored === undefined) return undefined;
  const summary = SweepSummarySchema.parse(stored.sweep.summary);
  const records = new Map((await ledger.listBySweep(sweepId)).map((record) => [record.id, record]));
  // A record re-armed by another sweep no longer carries this sweep id: read those one by one.
  for (const item of stored.items) {
    if (!records.has(item.deletion_id)) {
      const record = await ledger.get(item.deletion_id);
      if (record !== undefined) records.set(record.id, record);
    }
  }
  const names = summary.targets.map((target) => target.name);
  const counts = new Map<string, SweepCounts>();
  for (const target of summary.targets) {
    counts.set(target.name, {
      ...emptyCounts(),
      listed: target.listed,
      kept: target.kept,
      planned: target.planned,
    });
  }
  for (const item of stored.items) {
    const name = targetOfItem(item, names) ?? '(unknown)';
    let entry = counts.get(name);
    if (entry === undefined) {
      entry = emptyCounts();
      counts.set(name, entry);
    }
    countOutcome(
      entry,
      counted?.get(item.deletion_id) ?? outcomeFromRecord(item, records.get(item.deletion_id), sweepId),
    );
  }
  const targets = [...counts].map(([name, entry]) => ({ name, ...entry }));
  const totals = sumCounts(targets);
  const status =
    totals.pending > 0
      ? 'running'
      : totals.failed > 0 || totals.skipped > 0 || summary.targets.some((target) => target.failure)
        ? 'completed_with_failures'
        : 'completed';
  return { sweep_id: sweepId, mode: 'queued', status, totals, targets };
}

/**
 * Stores the assembled report with `ledger.finishSweep` once no item is pending (idempotent: a second call
 * stores the same counts again). The delete-worker that finishes the sweep's last item calls it (once, see
 * lib/sweep/queued/completion.ts) with the workers' outcomes; a reader may call it too. Returns the report.
 */
export async function finalizeQueuedSweep(
  ledger: Pick<Ledger, 'getSweep' | 'listBySweep' | 'get' | 'finishSweep'>,
  sweepId: string,
  counted?: ReadonlyMap<string, ItemOutcome>,
): Promise<QueuedSweepReport | undefined> {
  const report = await queuedSweepReport(ledger, sweepId, counted);
  if (report !== undefined && report.status !== 'running') {
    await ledger.finishSweep(sweepId, { ...report, targets: [...report.targets] });
  }
  return report;
}
