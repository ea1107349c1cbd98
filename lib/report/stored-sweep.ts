/**
 * A stored sweep as `GET /sweeps/{id}` shows it (status, totals, per-target counts) and as the report page
 * (`GET /sweeps/{id}/report`, the same renderer as `plan --html`). The ledger keeps a sweep's plan summary,
 * its planned deletions and each deletion's record — not the backups it kept — so the page draws one mark per
 * planned deletion with its outcome (deleted, already gone, failed, pending, not attempted) and shows the kept
 * backups as counts per target.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { applySweepId } from '../approval/apply.ts';
import { AppliedApprovalSchema, PlanHashSchema, ReportApprovalSchema } from '../approval/schema.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { DeletionRecord, PlannedItem, SweepWithItems } from '../ledger/schema.ts';
import { type PlannedTarget, PlannedTargetSchema, targetOfItem } from '../sweep/plan-sweep.ts';
import { type SweepReport, SweepReportSchema } from '../sweep/report.ts';
import { renderReportHtml } from './html.ts';
import { MARK_CLASSES, markClassIndex } from './marks.ts';
import { countClass, emptyResource, ReasonTable, type ReportModel, type ResourceReport } from './model.ts';

const Count = z.int().nonnegative();

export const SweepTargetViewSchema = z.object({
  name: z.string(),
  service: z.string(),
  listed: Count,
  kept: Count,
  planned: Count,
  deleted: Count,
  already_gone: Count,
  failed: Count,
  pending: Count,
  /** Planned, and no deletion was recorded (a dry run, or a sweep that stopped before the item). */
  not_attempted: Count,
  delete_share: z.number(),
  max_delete_share: z.number(),
  planned_bytes: z.number(),
});
export type SweepTargetView = z.infer<typeof SweepTargetViewSchema>;

export const SweepViewSchema = z.object({
  sweep_id: z.string(),
  /**
   * `planned` while items may still run; `finished` once its report is stored; `awaiting_approval`: a plan
   * that sends nothing until approved (`POST /sweeps/{sweep_id}/approve` with its plan_hash).
   */
  status: z.enum(['planned', 'finished', 'awaiting_approval']),
  /** The stored report's status (completed, completed_with_failures, aborted, refused, queued), once there is one. */
  outcome: z.string().optional(),
  dry_run: z.boolean(),
  requested_by: z.object({ kind: z.string(), principal: z.string() }),
  created_at: z.iso.datetime(),
  finished_at: z.iso.datetime().optional(),
  totals: SweepTargetViewSchema.omit({
    name: true,
    service: true,
    delete_share: true,
    max_delete_share: true,
  }),
  targets: z.array(SweepTargetViewSchema),
  /** The plan's id and hash: what an approval names (lib/approval/plan-hash.ts). */
  plan_id: z.string().optional(),
  plan_hash: PlanHashSchema.optional(),
  /** What awaits approval (status awaiting), or the approval this run applies (status approved). */
  approval: ReportApprovalSchema.optional(),
  /** For an approvable plan that was approved: the run that applies it, who approved it and when. */
  approved: AppliedApprovalSchema.pick({ approved_by: true, approved_at: true, skipped: true })
    .extend({ run_sweep_id: z.string(), run_status: z.string() })
    .optional(),
});
export type SweepView = z.infer<typeof SweepViewSchema>;

export interface StoredSweep {
  readonly stored: SweepWithItems;
  readonly records: readonly DeletionRecord[];
  /** For a plan that can be approved: the run that applied its approval, once there is one. */
  readonly appliedBy?: SweepWithItems | undefined;
}

/** Reads a sweep and its deletion records; undefined when the ledger has no such sweep. */
export async function loadStoredSweep(ledger: Ledger, sweepId: string): Promise<StoredSweep | undefined> {
  const stored = await ledger.getSweep(sweepId);
  if (stored === undefined) return undefined;
  const approvable =
    stored.sweep.plan_hash !== undefined &&
    (stored.sweep.dry_run || stored.sweep.status === 'awaiting_approval');
  const appliedBy = approvable ? await ledger.getSweep(applySweepId(sweepId)) : undefined;
  return { stored, records: await ledger.listBySweep(sweepId), appliedBy };
}

/** The approval fields of a stored sweep's view. */
function approvalView({ stored, appliedBy }: StoredSweep): Partial<SweepView> {
  const sweep = stored.sweep;
  const approval = ReportApprovalSchema.safeParse(sweep.approval);
  const applied = AppliedApprovalSchema.safeParse(appliedBy?.sweep.approval);
  const hash = PlanHashSchema.safeParse(sweep.plan_hash);
  return {
    ...(sweep.plan_id === undefined ? {} : { plan_id: sweep.plan_id }),
    ...(hash.success ? { plan_hash: hash.data } : {}),
    ...(approval.success ? { approval: approval.data } : {}),
    ...(appliedBy !== undefined && applied.success
      ? {
          approved: {
            approved_by: applied.data.approved_by,
            approved_at: applied.data.approved_at,
            skipped: applied.data.skipped,
            run_sweep_id: appliedBy.sweep.sweep_id,
            run_status:
              SweepReportSchema.safeParse(appliedBy.sweep.report).data?.status ?? appliedBy.sweep.status,
          },
        }
      : {}),
  };
}

type Outcome = 'deleted' | 'already_gone' | 'failed' | 'pending' | 'not_attempted';

function outcomeOf(record: DeletionRecord | undefined): Outcome {
  if (record === undefined) return 'not_attempted';
  if (record.status === 'done') return 'deleted';
  if (record.status === 'gone') return 'already_gone';
  if (record.status === 'failed') return 'failed';
  return 'pending';
}

function plannedTargets(stored: SweepWithItems): PlannedTarget[] {
  const parsed = z.array(PlannedTargetSchema).safeParse(stored.sweep.summary.targets);
  return parsed.success ? parsed.data : [];
}

function storedReport(stored: SweepWithItems): SweepReport | undefined {
  const parsed = SweepReportSchema.safeParse(stored.sweep.report);
  return parsed.success ? parsed.data : undefined;
}

/** Per target, its planned items (by the `<target>: ` prefix of each item's reason). */
function itemsByTarget(stored: SweepWithItems, names: readonly string[]): Map<string, PlannedItem[]> {
  const byTarget = new Map<string, PlannedItem[]>(names.map((name) => [name, []]));
  for (const item of stored.items) {
    const name = targetOfItem(item, names);
    if (name !== undefined) byTarget.get(name)?.push(item);
  }
  return byTarget;
}

export function sweepView(loaded: StoredSweep): SweepView {
  const { stored, records } = loaded;
  const sweep = stored.sweep;
  const byId = new Map(records.map((record) => [record.id, record]));
  const targets = plannedTargets(stored);
  const grouped = itemsByTarget(
    stored,
    targets.map((target) => target.name),
  );
  const views = targets.map((target): SweepTargetView => {
    const counts = { deleted: 0, already_gone: 0, failed: 0, pending: 0, not_attempted: 0 };
    for (const item of grouped.get(target.name) ?? []) counts[outcomeOf(byId.get(item.deletion_id))] += 1;
    return {
      name: target.name,
      service: target.service,
      listed: target.listed,
      kept: target.kept,
      planned: target.planned,
      ...counts,
      delete_share: target.delete_share,
      max_delete_share: target.max_delete_share,
      planned_bytes: target.planned_bytes,
    };
  });
  const sum = (key: keyof SweepView['totals']) => views.reduce((total, view) => total + view[key], 0);
  const report = storedReport(stored);
  return {
    sweep_id: sweep.sweep_id,
    status: sweep.status,
    ...(report === undefined ? {} : { outcome: report.status }),
    dry_run: sweep.dry_run,
    requested_by: { kind: sweep.requested_by.kind, principal: sweep.requested_by.principal },
    created_at: new Date(sweep.created_at).toISOString(),
    ...(sweep.finished_at === undefined ? {} : { finished_at: new Date(sweep.finished_at).toISOString() }),
    totals: {
      listed: sum('listed'),
      kept: sum('kept'),
      planned: sum('planned'),
      deleted: sum('deleted'),
      already_gone: sum('already_gone'),
      failed: sum('failed'),
      pending: sum('pending'),
      not_attempted: sum('not_attempted'),
      planned_bytes: sum('planned_bytes'),
    },
    targets: views,
    ...approvalView(loaded),
  };
}

function backupIdOf(item: PlannedItem): string {
  const target = item.target;
  if (target.kind === 'backup') return target.backup_id;
  if (target.kind === 'checkpoint') return target.checkpoint_items?.join(',') ?? target.checkpoint_id;
  return `${target.stream_name}/${target.app_name}`;
}

const CLASS_OF: Record<Outcome, number> = {
  deleted: markClassIndex('deleted'),
  already_gone: markClassIndex('deleted'),
  failed: markClassIndex('delete_failed'),
  pending: markClassIndex('pending'),
  not_attempted: markClassIndex('skipped'),
};

function outcomeReason(outcome: Outcome, record: DeletionRecord | undefined, dryRun: boolean): string {
  switch (outcome) {
    case 'deleted':
      return 'deleted';
    case 'already_gone':
      return 'already gone upstream';
    case 'failed':
      return `deletion failed${record?.error === undefined ? '' : `: ${record.error.code}`}`;
    case 'pending':
      return `deletion ${record?.status ?? 'pending'}`;
    default:
      return dryRun ? 'dry run: planned, not sent' : 'no deletion recorded';
  }
}

/** The report page's model for a stored sweep: one mark per planned deletion, with its outcome. */
export function reportFromStoredSweep({ stored, records }: StoredSweep): ReportModel {
  const sweep = stored.sweep;
  const view = sweepView({ stored, records });
  const byId = new Map(records.map((record) => [record.id, record]));
  const reasons = new ReasonTable();
  const targets = plannedTargets(stored);
  const grouped = itemsByTarget(
    stored,
    targets.map((target) => target.name),
  );
  const dryRunClass = markClassIndex('deleted');
  const modelTargets = targets.map((target) => {
    const items = (grouped.get(target.name) ?? [])
      .slice()
      .sort((a, b) => (b.backup_created_at ?? 0) - (a.backup_created_at ?? 0));
    const counts: Record<string, number> = {};
    const times = items.map((item) => Math.floor((item.backup_created_at ?? 0) / 1000));
    const tMin = times.length === 0 ? 0 : Math.min(...times);
    const tMax = times.length === 0 ? 0 : Math.max(...times);
    const byResource = new Map<string, ResourceReport>();
    for (const item of items) {
      const key = `${item.service}/${item.region}/${item.project_id}/${item.resource_id ?? '-'}`;
      let resource = byResource.get(key);
      if (resource === undefined) {
        resource = emptyResource(key, item.resource_id ?? key);
        byResource.set(key, resource);
      }
      const record = byId.get(item.deletion_id);
      const outcome = outcomeOf(record);
      const classIndex = sweep.dry_run && outcome === 'not_attempted' ? dryRunClass : CLASS_OF[outcome];
      const planReasons = (item.reason ?? '').slice(target.name.length + 2);
      resource.t.push(Math.floor((item.backup_created_at ?? 0) / 1000) - tMin);
      resource.c.push(classIndex);
      resource.r.push(reasons.add([outcomeReason(outcome, record, sweep.dry_run), planReasons]));
      resource.id.push(backupIdOf(item));
      resource.name.push(null);
      countClass(counts, classIndex);
    }
    const sized = items.filter((item) => item.size_bytes !== undefined).length;
    return {
      name: target.name,
      service: target.service,
      listed: target.listed,
      considered: target.listed,
      kept: target.kept,
      deleted: target.planned,
      counts,
      delete_share: target.delete_share,
      max_delete_share: target.max_delete_share,
      max_delete_share_default: false,
      max_delete_share_exceeded: target.delete_share > target.max_delete_share,
      bytes_to_reclaim: sized === 0 ? null : target.planned_bytes,
      bytes_unknown: items.length - sized,
      t_min: tMin,
      t_max: tMax,
      resources: [...byResource.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
  });
  const outcome = view.outcome === undefined ? sweep.status : `${sweep.status}, ${view.outcome}`;
  return {
    version: 1,
    title: `Sweep ${sweep.sweep_id}`,
    kind: 'sweep',
    generated_at: new Date(sweep.finished_at ?? sweep.updated_at).toISOString(),
    timezone: 'UTC',
    notes: [
      `${sweep.dry_run ? 'Dry run' : 'Sweep'} ${outcome}, requested by ${sweep.requested_by.principal}: ` +
        `${view.totals.planned} planned, ${view.totals.deleted} deleted, ${view.totals.already_gone} already gone, ` +
        `${view.totals.failed} failed, ${view.totals.pending} pending, ${view.totals.not_attempted} not attempted.`,
      'The ledger stores a sweep’s deletions, not the backups it kept: kept backups appear as counts per target, ' +
        'each mark is a planned deletion with its outcome. "npm run plan -- --html FILE" draws every backup.',
    ],
    classes: MARK_CLASSES.map((markClass) => ({ ...markClass })),
    reasons: reasons.lists,
    targets: modelTargets,
  };
}

/** The stored sweep's report page as a file (the demo writes one after its real sweep); returns its size. */
export async function writeStoredSweepReport(ledger: Ledger, sweepId: string, file: string): Promise<number> {
  const stored = await loadStoredSweep(ledger, sweepId);
  if (stored === undefined) throw new Error(`sweep ${sweepId} is not in the ledger`);
  const html = renderReportHtml(reportFromStoredSweep(stored));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, html);
  return Buffer.byteLength(html);
}
