/**
 * The outcome notice of a queued sweep. The sweep function only hands the plan to the delete-workers (status
 * `queued`: no notice, unless part of the plan awaits approval, which the sweep announces itself); the worker
 * that finishes the last item stores the report (lib/sweep/queued/report.ts) and sends this. The queued report
 * carries counts only, so the report a message is written from is completed from the stored sweep: its start,
 * its targets' service, shares and whole-target failures (the plan's summary). Its status maps to a notice
 * kind exactly as an inline run's does (lib/approval/decision.ts `sweepOutcomeNotice`).
 */
import { type SweepOutcomeNotice, sweepOutcomeNotice } from '../approval/decision.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { SweepSummarySchema } from '../sweep/plan-sweep.ts';
import type { QueuedSweepReport } from '../sweep/queued/report.ts';
import { emptyCounts, type SweepReport } from '../sweep/report.ts';

/** The notice for a queued sweep whose report was just stored; undefined while it runs or when unknown. */
export async function queuedSweepNotice(
  ledger: Pick<Ledger, 'getSweep'>,
  report: QueuedSweepReport,
  now: number,
): Promise<SweepOutcomeNotice | undefined> {
  if (report.status === 'running') return undefined;
  const stored = await ledger.getSweep(report.sweep_id);
  if (stored === undefined) return undefined;
  const summary = SweepSummarySchema.parse(stored.sweep.summary);
  const finishedAt = stored.sweep.finished_at ?? now;
  const counted = new Map(report.targets.map((target) => [target.name, target]));
  const full: SweepReport = {
    sweep_id: report.sweep_id,
    status: report.status,
    dry_run: stored.sweep.dry_run,
    resumed: false,
    mode: 'queued',
    started_at: new Date(stored.sweep.created_at).toISOString(),
    finished_at: new Date(finishedAt).toISOString(),
    duration_ms: Math.max(0, finishedAt - stored.sweep.created_at),
    totals: report.totals,
    targets: summary.targets.map((target) => {
      const { name: _name, ...counts } = counted.get(target.name) ?? { name: target.name, ...emptyCounts() };
      return {
        name: target.name,
        service: target.service,
        ...counts,
        kept_by_other_target: target.kept_by_other_target,
        delete_share: target.delete_share,
        max_delete_share: target.max_delete_share,
        duration_ms: Math.max(0, finishedAt - stored.sweep.created_at),
        ...(target.failure === undefined ? {} : { failure: target.failure }),
      };
    }),
    ...(stored.sweep.plan_id === undefined ? {} : { plan_id: stored.sweep.plan_id }),
  };
  return sweepOutcomeNotice(full);
}
