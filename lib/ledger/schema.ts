/**
 * The ledger's records. Zod schemas are the only source of types. A deletion moves through
 *
 *   requested → sent → accepted | running → done | gone | failed      (failed → requested re-arms a retry)
 *                  ↘ unknown → running | done | gone | failed          (resolved only by asking upstream)
 *
 * and every move is appended to `history` with its timestamp. lib/deletions/lifecycle.ts is the one owner of
 * these moves and documents when each is made.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
// The service modules' own poll reference, stored as is so the tracker can hand it straight back to them.
import { PollRefSchema } from '../services/deletion.ts';

export const LedgerServiceSchema = z.enum(['csbs', 'cbr', 'dds', 'dis']);
export type LedgerService = z.infer<typeof LedgerServiceSchema>;

export const DeletionStatusSchema = z.enum([
  'requested',
  'sent',
  'accepted',
  'running',
  /** A DELETE went out and no definitive answer came back: it may have been applied. Never resent as is. */
  'unknown',
  'done',
  'gone',
  'failed',
]);
export type DeletionStatus = z.infer<typeof DeletionStatusSchema>;

/** Statuses in which an upstream DELETE may be in flight: a second one must not be sent. */
export const IN_FLIGHT_STATUSES: readonly DeletionStatus[] = [
  'requested',
  'sent',
  'accepted',
  'running',
  'unknown',
];
export const FINAL_STATUSES: readonly DeletionStatus[] = ['done', 'gone', 'failed'];

/** The only moves a deletion can make. `running → running` records a poll without a status change. */
export const ALLOWED_TRANSITIONS: Readonly<Record<DeletionStatus, readonly DeletionStatus[]>> = {
  requested: ['sent', 'failed', 'gone'],
  sent: ['accepted', 'running', 'unknown', 'done', 'gone', 'failed'],
  unknown: ['running', 'done', 'gone', 'failed'],
  accepted: ['running', 'done', 'gone', 'failed'],
  running: ['running', 'done', 'gone', 'failed'],
  failed: ['requested'],
  done: [],
  gone: [],
};

export function isAllowedTransition(from: DeletionStatus, to: DeletionStatus): boolean {
  return ALLOWED_TRANSITIONS[from].includes(to);
}

/** What is deleted: a CBR/DDS backup, a CSBS checkpoint (optionally some items), or a DIS app checkpoint. */
export const DeletionTargetSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('backup'), backup_id: z.string().min(1) }).strict(),
  z
    .object({
      kind: z.literal('checkpoint'),
      provider_id: z.string().min(1),
      checkpoint_id: z.string().min(1),
      checkpoint_items: z.array(z.string().min(1)).optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('dis_checkpoint'),
      stream_name: z.string().min(1),
      app_name: z.string().min(1),
      checkpoint_type: z.string().min(1),
      partition_id: z.string().min(1).optional(),
    })
    .strict(),
]);
export type DeletionTarget = z.infer<typeof DeletionTargetSchema>;

/** Who asked: the API Gateway authorizer's principal, the sweep that planned the deletion, or the CLI's user. */
export const CallerIdentitySchema = z.object({
  kind: z.enum(['iam', 'jwt', 'anonymous', 'sweep', 'cli']),
  principal: z.string().min(1),
  account_id: z.string().optional(),
  issuer: z.string().optional(),
  source_ip: z.string().optional(),
});
export type CallerIdentity = z.infer<typeof CallerIdentitySchema>;

export const DeletionErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /**
   * Upstream said this backup can never be deleted (e.g. CBR 6201): the failure is not re-armed, and a sweep
   * skips the backup with this reason instead of sending a DELETE every night.
   */
  permanent: z.boolean().optional(),
});

export const HistoryEntrySchema = z.object({
  status: DeletionStatusSchema,
  at: z.number().int(),
  note: z.string().optional(),
  upstream_request_id: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof HistoryEntrySchema>;

const EpochMs = z.number().int().nonnegative();

export const DeletionRecordSchema = z.object({
  id: z.string().min(1),
  service: LedgerServiceSchema,
  region: z.string().min(1),
  project_id: z.string().min(1),
  target: DeletionTargetSchema,
  requested_by: CallerIdentitySchema,
  sweep_id: z.string().min(1).optional(),
  status: DeletionStatusSchema,
  /** Upstream DELETE calls sent so far (incremented on every move to `sent`). */
  attempts: z.number().int().nonnegative(),
  upstream_request_ids: z.array(z.string()),
  upstream_status: z.number().int().optional(),
  upstream_code: z.string().optional(),
  upstream_message: z.string().optional(),
  poll_ref: PollRefSchema.optional(),
  next_poll_at: EpochMs.optional(),
  error: DeletionErrorSchema.optional(),
  size_bytes: z.number().nonnegative().optional(),
  history: z.array(HistoryEntrySchema),
  created_at: EpochMs,
  updated_at: EpochMs,
  /** Optimistic-concurrency counter, +1 on every write. */
  version: z.number().int().nonnegative(),
});
export type DeletionRecord = z.infer<typeof DeletionRecordSchema>;

/** What `beginDeletion` needs; the ledger fills id, status, history and timestamps. */
export const NewDeletionSchema = DeletionRecordSchema.pick({
  service: true,
  region: true,
  project_id: true,
  target: true,
  requested_by: true,
  sweep_id: true,
  size_bytes: true,
}).strict();
export type NewDeletion = z.input<typeof NewDeletionSchema>;

/** Fields a transition may set. `upstream_request_id` is appended to `upstream_request_ids` and the history. */
export const DeletionPatchSchema = z
  .object({
    upstream_request_id: z.string().min(1).optional(),
    upstream_status: z.number().int().optional(),
    upstream_code: z.string().optional(),
    upstream_message: z.string().optional(),
    poll_ref: PollRefSchema.optional(),
    next_poll_at: EpochMs.optional(),
    error: DeletionErrorSchema.optional(),
    size_bytes: z.number().nonnegative().optional(),
    note: z.string().optional(),
  })
  .strict();
export type DeletionPatch = z.input<typeof DeletionPatchSchema>;

export type BeginResult =
  | { created: true; record: DeletionRecord }
  | { created: false; record: DeletionRecord };

export interface TransitionRequest {
  readonly from: readonly DeletionStatus[];
  readonly to: DeletionStatus;
  readonly patch?: DeletionPatch;
}

/** One backup the sweep plans to delete (the plan's delete decisions, with the deletion id they will use). */
export const PlannedItemSchema = z.object({
  deletion_id: z.string().min(1),
  service: LedgerServiceSchema,
  region: z.string().min(1),
  project_id: z.string().min(1),
  target: DeletionTargetSchema,
  resource_id: z.string().optional(),
  backup_created_at: EpochMs.optional(),
  size_bytes: z.number().nonnegative().optional(),
  reason: z.string().optional(),
});
export type PlannedItem = z.infer<typeof PlannedItemSchema>;

/** awaiting_approval: a stored plan that sends nothing until approved (lib/approval); a rerun refuses it. */
export const SweepStatusSchema = z.enum(['planned', 'finished', 'awaiting_approval']);

/**
 * One target of a real sweep as the history breaker (lib/sweep/history-breaker.ts) compares it: what its
 * listings held in scope and what it planned to delete. `held`: the breaker held the target (nothing of it was
 * deleted), so the entry is no baseline for later sweeps.
 */
export const TargetHistorySchema = z.object({
  name: z.string().min(1),
  /** Every backup its listings returned (in and out of its scope). */
  listed: z.number().int().nonnegative(),
  /** Its backups in scope: kept + planned. */
  inventory: z.number().int().nonnegative(),
  /** Deletions it planned (for a held target, the ones it would have made). */
  planned: z.number().int().nonnegative(),
  held: z.boolean().optional(),
});
export type TargetHistory = z.infer<typeof TargetHistorySchema>;

/**
 * What a real sweep stores for later sweeps of the same policy: the policy's key (its lock key, from the
 * target names) and one entry per target that was carried out or held (a target whose listing failed has
 * none). The ledger indexes it once the sweep finishes.
 */
export const SweepHistorySchema = z.object({
  policy_key: z.string().min(1),
  targets: z.array(TargetHistorySchema),
});
export type SweepHistory = z.infer<typeof SweepHistorySchema>;

/** Report statuses (`report.status`) of a sweep that ran to its end: the only ones history counts. */
export const COMPLETED_OUTCOMES: readonly string[] = ['completed', 'completed_with_failures'];

/** A finished sweep in a policy's history, newest first from `Ledger.recentSweeps`. */
export const SweepHistoryEntrySchema = z.object({
  sweep_id: z.string().min(1),
  finished_at: z.number().int().nonnegative(),
  /** The report's status (one of COMPLETED_OUTCOMES). */
  outcome: z.string(),
  targets: z.array(TargetHistorySchema),
});
export type SweepHistoryEntry = z.infer<typeof SweepHistoryEntrySchema>;

export const SweepRecordSchema = z.object({
  sweep_id: z.string().min(1),
  status: SweepStatusSchema,
  dry_run: z.boolean(),
  requested_by: CallerIdentitySchema,
  /** The plan's summary (per target: listed, kept, planned, ...); shape owned by the sweep. */
  summary: z.record(z.string(), z.unknown()),
  planned_count: z.number().int().nonnegative(),
  /** The final report; shape owned by the sweep. */
  report: z.record(z.string(), z.unknown()).optional(),
  /** The plan's id and hash (lib/approval/plan-hash.ts): what an approval names. */
  plan_id: z.string().min(1).optional(),
  plan_hash: z.string().min(1).optional(),
  /** What awaits approval, or the approval this run applies (approver, time, skipped items); shape owned by lib/approval. */
  approval: z.record(z.string(), z.unknown()).optional(),
  created_at: EpochMs,
  updated_at: EpochMs,
  finished_at: EpochMs.optional(),
  /** Real sweeps: what the history breaker of the policy's later sweeps compares with. */
  history: SweepHistorySchema.optional(),
});
export type SweepRecord = z.infer<typeof SweepRecordSchema>;

export const NewSweepPlanSchema = z.object({
  sweep_id: z.string().min(1),
  dry_run: z.boolean(),
  requested_by: CallerIdentitySchema,
  summary: z.record(z.string(), z.unknown()),
  items: z.array(PlannedItemSchema),
  /** Default `planned`; `awaiting_approval` stores a plan that nothing runs until it is approved. */
  status: z.enum(['planned', 'awaiting_approval']).optional(),
  plan_id: z.string().min(1).optional(),
  plan_hash: z.string().min(1).optional(),
  approval: z.record(z.string(), z.unknown()).optional(),
  /** Stored with real runs only (a dry run never becomes another sweep's baseline). */
  history: SweepHistorySchema.optional(),
});
export type NewSweepPlan = z.input<typeof NewSweepPlanSchema>;

export interface SweepWithItems {
  readonly sweep: SweepRecord;
  readonly items: PlannedItem[];
}

/** Canonical JSON: keys sorted at every depth, so equal targets hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, inner]) => inner !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** DIS partition ids: `shardId-` and ten digits, or the plain partition number (seed 004, DeleteCheckpoint). */
const DIS_PLAIN_PARTITION = /^\d{1,10}$/;

/**
 * The one spelling of a target, so equal deletions get equal ids (and the same DELETE) however they were asked:
 * - CBR backup, CSBS checkpoint and item ids are UUIDs, DDS backup ids 32 hex characters and `brNN`; Huawei
 *   issues them in lower case (every id in the SDK models' examples and the API pages is), so they are compared
 *   and sent lower-cased: an upper-case spelling names the same backup, not a new deletion. Whether the services
 *   themselves match ids case-insensitively is not documented; lower case is the form they issue.
 * - CSBS checkpoint items: duplicates dropped, sorted (`[a, b]` and `[b, a]` are one deletion).
 * - DIS partition ids: `0` and `shardId-0000000000` name the same partition (seed 004 accepts both); the
 *   `shardId-` form is kept. Stream and app names are case-sensitive in DIS and stay as given.
 * Project ids are not touched: the allowlist and the services compare them exactly.
 */
export function canonicalTarget(target: DeletionTarget): DeletionTarget {
  switch (target.kind) {
    case 'backup':
      return { kind: 'backup', backup_id: target.backup_id.toLowerCase() };
    case 'checkpoint':
      return {
        kind: 'checkpoint',
        provider_id: target.provider_id.toLowerCase(),
        checkpoint_id: target.checkpoint_id.toLowerCase(),
        ...(target.checkpoint_items === undefined
          ? {}
          : {
              checkpoint_items: [
                ...new Set(target.checkpoint_items.map((item) => item.toLowerCase())),
              ].sort(),
            }),
      };
    case 'dis_checkpoint': {
      const partition = target.partition_id;
      return {
        ...target,
        ...(partition !== undefined && DIS_PLAIN_PARTITION.test(partition)
          ? { partition_id: `shardId-${partition.padStart(10, '0')}` }
          : {}),
      };
    }
  }
}

/**
 * The deterministic deletion id: the same (service, region, project, target) always gets the same id, so a
 * retried request or an overlapping sweep finds the existing record instead of sending a second DELETE.
 * The target is taken in its canonical spelling (`canonicalTarget`).
 */
export function deletionId(
  service: LedgerService,
  region: string,
  projectId: string,
  target: DeletionTarget,
): string {
  const digest = createHash('sha256')
    .update(canonicalJson({ service, region, project_id: projectId, target: canonicalTarget(target) }))
    .digest('base64url');
  return `del_${digest.slice(0, 32)}`;
}
