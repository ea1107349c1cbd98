import { z } from 'zod';
import { type Backup, resourceKey } from '../services/backup.ts';
import { type CompiledGlobs, compileGlobs } from './glob.ts';
import { addReason, compareNewestFirst, KeepRuleWalk } from './keep-rules.ts';
import { applyMaxGap } from './max-gap.ts';
import type { ResolvedTarget, Target } from './policy.ts';
import { markRepeats, moveCopiesToEnd, Role } from './repeats.ts';
import { type CompiledRules, compileRules, type RetentionRules } from './rules.ts';

export { applyKeepRules, compareNewestFirst } from './keep-rules.ts';
export type { RetentionRules } from './rules.ts';

/**
 * The planner: pure `(backups, rules, now) → decisions`. Keep rules follow restic's `forget` exactly
 * (RETENTION.md); our own rules (max_age, min_keep, protection, failed_max_age, the newest finished backup,
 * in-progress backups) are applied after them and can only add keeps, never remove one a keep rule made.
 */

export const DecisionSchema = z.object({
  backup_id: z.string(),
  delete_id: z.string(),
  resource_key: z.string(),
  action: z.enum(['keep', 'delete']),
  /** Why: every rule that kept the backup, or why it is deleted. Never empty. */
  reasons: z.array(z.string()).min(1),
});
export type Decision = z.infer<typeof DecisionSchema>;

export const PlanSummarySchema = z.object({
  resources: z.number().int(),
  /** Backups the target's scope selected (everything that got a decision). */
  considered: z.number().int(),
  /** Backups listed but outside the target's scope (other service/project/region, filters). */
  ignored: z.number().int(),
  kept: z.number().int(),
  deleted: z.number().int(),
  finished: z.number().int(),
  /** Bytes of the deletions whose size the service reports. */
  deleted_bytes: z.number(),
  /** Deletions whose size is unknown (CBR never reports one): their bytes are not in deleted_bytes. */
  deleted_unknown_size: z.number().int().default(0),
  /** deleted ÷ finished+failed candidates; compared with max_delete_share by the sweep. */
  delete_share: z.number(),
  max_delete_share_exceeded: z.boolean(),
});
export type PlanSummary = z.infer<typeof PlanSummarySchema>;

export interface ResourcePlan {
  readonly decisions: Decision[];
  /**
   * Creation time (epoch ms) of each decision's backup, by index. Kept out of Decision on purpose: a boxed
   * number per decision costs 24 bytes, a million of them 24 MB; this array costs 8.
   */
  readonly created_at: Float64Array<ArrayBuffer>;
  readonly summary: PlanSummary;
}

const IN_PROGRESS_REASON: readonly string[] = Object.freeze(['in progress']);
const DELETING_REASON: readonly string[] = Object.freeze(['deleting']);
const MIN_KEEP_REASON: readonly string[] = Object.freeze(['min_keep']);

/** `listed 2 times with conflicting details; kept` (lib/retention/repeats.ts), interned per count. */
function pinnedReason(copies: number): readonly string[] {
  return addReason(undefined, `listed ${copies} times with conflicting details; kept`).reasons;
}
const CHAIN_BASE_REASON: readonly string[] = Object.freeze(['base of a kept incremental chain']);
const CHAIN_LINK_REASON: readonly string[] = Object.freeze(['link of a kept incremental chain']);
/** `image_type`s in scope when a target names none: replication copies are left alone. */
export const DEFAULT_IMAGE_TYPES: readonly string[] = Object.freeze(['backup']);

/** One shared, frozen reason list per upstream refusal ("not deletable upstream", "instance restoring", ...). */
const upstreamReasons = new Map<string, readonly string[]>();
function upstreamReason(reason: string): readonly string[] {
  let reasons = upstreamReasons.get(reason);
  if (reasons === undefined) {
    reasons = Object.freeze([reason]);
    upstreamReasons.set(reason, reasons);
  }
  return reasons;
}

/** `expires upstream 2026-12-20`: CBR's own retention, shown beside the decision's reasons. */
function withExpiry(decision: Decision, expiresAt: number): Decision {
  const day = new Date(expiresAt).toISOString().slice(0, 10);
  return {
    ...decision,
    reasons: Object.freeze([...decision.reasons, `expires upstream ${day}`]) as string[],
  };
}

function protection(backup: Backup, rules: CompiledRules): string | undefined {
  if (
    rules.protectIds.size > 0 &&
    (rules.protectIds.has(backup.id) || rules.protectIds.has(backup.delete_id))
  ) {
    return 'protected id';
  }
  const name = rules.protectNames.firstMatch(backup.name);
  if (name !== undefined) return `protected name ${name}`;
  if (rules.protectTags.patterns.length > 0) {
    for (const tag of backup.tags) {
      const pattern = rules.protectTags.firstMatch(tag);
      if (pattern !== undefined) return `protected tag ${pattern}`;
    }
  }
  return undefined;
}

/**
 * Plans one resource (every backup must share one resourceKey). Returns one decision per distinct backup (a
 * repeated id is decided once, see lib/retention/repeats.ts), newest first.
 */
export function planResource(
  backups: readonly Backup[],
  rules: RetentionRules,
  now: Date,
  timezone = 'UTC',
): Decision[] {
  const sorted = backups.slice().sort(compareNewestFirst);
  const first = sorted[0];
  if (first === undefined) return [];
  const decisions: Decision[] = new Array(sorted.length);
  const compiled = compileRules(rules, timezone);
  const context: PlanContext = {
    rules: compiled,
    walk: new KeepRuleWalk(compiled),
    nowMs: now.getTime(),
    candidates: [],
    roles: new Uint8Array(sorted.length),
    copies: new Map(),
  };
  const folded = markRepeats(sorted, 0, sorted.length, context.roles, context.copies);
  const end =
    folded === 0 ? sorted.length : moveCopiesToEnd(sorted, 0, sorted.length, context.roles, context.copies);
  decideRange(context, sorted, 0, end, resourceKey(first), decisions);
  return folded === 0 ? decisions : decisions.slice(0, end);
}

interface PlanContext {
  readonly rules: CompiledRules;
  readonly walk: KeepRuleWalk;
  readonly nowMs: number;
  /** Scratch list of indexes, reused for every resource. */
  readonly candidates: number[];
  /**
   * Per position of the sorted backups (lib/retention/repeats.ts): a copy folded into an earlier one (moved
   * past the range decided, no decision), or a pinned backup whose copies disagree (kept, invisible to the rules).
   */
  readonly roles: Uint8Array;
  /** Copies listed of each pinned position. */
  readonly copies: Map<number, number>;
}

function decision(
  backup: Backup,
  key: string,
  action: 'keep' | 'delete',
  reasons: readonly string[],
): Decision {
  return {
    backup_id: backup.id,
    delete_id: backup.delete_id,
    resource_key: key,
    action,
    // Shared and frozen (see addReason): readers must not mutate a decision's reasons.
    reasons: reasons as string[],
  };
}

/** Decides one resource's backups `sorted[start..end)` (newest first) into `out` at the same indexes. */
function decideRange(
  context: PlanContext,
  sorted: readonly Backup[],
  start: number,
  end: number,
  key: string,
  out: Decision[],
): void {
  const { rules, walk, nowMs, candidates, roles } = context;
  walk.reset(sorted, start, end, nowMs, roles);
  const maxAgeThreshold =
    rules.maxAge === undefined ? Number.NaN : rules.thresholdFromNow(nowMs, rules.maxAge);
  const failedThreshold =
    rules.failedMaxAge === undefined ? Number.NaN : rules.thresholdFromNow(nowMs, rules.failedMaxAge);

  candidates.length = 0;
  let keptFinished = 0;
  let isNewestFinished = true;
  let hasIncremental = false;
  let hasExpiry = false;
  for (let index = start; index < end; index += 1) {
    const backup = sorted[index] as Backup;
    if (backup.incremental === true) hasIncremental = true;
    if (backup.expires_at !== undefined) hasExpiry = true;
    if (roles[index] === Role.Pinned) {
      out[index] = decision(backup, key, 'keep', pinnedReason(context.copies.get(index) ?? 2));
      continue;
    }
    if (backup.state !== 'finished') {
      out[index] = decideUnfinished(backup, key, rules, failedThreshold);
      continue;
    }
    let reasons = walk.next(backup);
    const protectedBy = protection(backup, rules);
    if (protectedBy !== undefined) reasons = addReason(reasons, protectedBy);
    if (isNewestFinished && !rules.allowDeleteNewest) reasons = addReason(reasons, 'newest finished');
    isNewestFinished = false;
    if (reasons !== undefined) {
      out[index] = decision(backup, key, 'keep', reasons.reasons);
      keptFinished += 1;
    } else if (rules.maxAge !== undefined && !(backup.created_at <= maxAgeThreshold)) {
      // Negated so that a threshold that is not a number (a date out of range) keeps, never deletes.
      out[index] = decision(backup, key, 'keep', rules.youngerReason);
      keptFinished += 1;
    } else {
      candidates.push(index);
    }
  }
  // min_keep tops the resource up with the newest backups that nothing else kept.
  for (const index of candidates) {
    const backup = sorted[index] as Backup;
    if (backup.not_deletable !== undefined) {
      // Upstream would refuse the deletion: never a candidate, and it stays as a restore point.
      out[index] = decision(backup, key, 'keep', upstreamReason(backup.not_deletable));
      keptFinished += 1;
    } else if (keptFinished < rules.minKeep) {
      out[index] = decision(backup, key, 'keep', MIN_KEEP_REASON);
      keptFinished += 1;
    } else {
      out[index] = decision(backup, key, 'delete', rules.deleteReason);
    }
  }
  if (hasIncremental) keepIncrementalChains(sorted, start, end, key, out);
  // The RPO guard, last: it only turns deletions back into keeps.
  if (rules.maxGap !== undefined) {
    applyMaxGap(rules, sorted, start, end, out, (index, reasons) =>
      decision(sorted[index] as Backup, key, 'keep', reasons),
    );
  }
  if (hasExpiry) {
    for (let index = start; index < end; index += 1) {
      const expiresAt = (sorted[index] as Backup).expires_at;
      if (expiresAt !== undefined) out[index] = withExpiry(out[index] as Decision, expiresAt);
    }
  }
}

/**
 * DDS incremental backups restore on top of the full backup before them (and the incremental ones between):
 * walking newest → oldest, once a kept incremental is seen, every finished backup back to and including the
 * next full one is kept.
 */
function keepIncrementalChains(
  sorted: readonly Backup[],
  start: number,
  end: number,
  key: string,
  out: Decision[],
): void {
  let needsBase = false;
  for (let index = start; index < end; index += 1) {
    const backup = sorted[index] as Backup;
    const current = out[index] as Decision;
    if (backup.state !== 'finished') continue;
    if (backup.incremental === true) {
      if (current.action === 'keep') needsBase = true;
      else if (needsBase) out[index] = decision(backup, key, 'keep', CHAIN_LINK_REASON);
      continue;
    }
    if (needsBase && current.action === 'delete')
      out[index] = decision(backup, key, 'keep', CHAIN_BASE_REASON);
    needsBase = false;
  }
}

function decideUnfinished(
  backup: Backup,
  key: string,
  rules: CompiledRules,
  failedThreshold: number,
): Decision {
  if (backup.state === 'in_progress') return decision(backup, key, 'keep', IN_PROGRESS_REASON);
  if (backup.state === 'deleting') return decision(backup, key, 'keep', DELETING_REASON);
  const protectedBy = protection(backup, rules);
  if (protectedBy !== undefined)
    return decision(backup, key, 'keep', addReason(undefined, protectedBy).reasons);
  if (backup.not_deletable !== undefined)
    return decision(backup, key, 'keep', upstreamReason(backup.not_deletable));
  // A threshold that is not a number compares false: the failed backup is kept.
  if (rules.failedMaxAge !== undefined && backup.created_at <= failedThreshold) {
    return decision(backup, key, 'delete', rules.failedDeleteReason);
  }
  return decision(backup, key, 'keep', rules.failedKeepReason);
}

/** Is the backup selected by the target (service, project, region and filters)? */
export function inScope(
  backup: Backup,
  target: Pick<Target, 'service' | 'projects' | 'regions' | 'filters'>,
): boolean {
  if (backup.service !== target.service) return false;
  if (!target.projects.includes(backup.project_id) || !target.regions.includes(backup.region)) return false;
  const filters = target.filters;
  if (
    backup.image_type !== undefined &&
    !(filters?.image_types ?? DEFAULT_IMAGE_TYPES).includes(backup.image_type)
  )
    return false;
  if (filters === undefined) return true;
  if (filters.resource_ids !== undefined && !filters.resource_ids.includes(backup.resource_id)) return false;
  if (filters.instance_ids !== undefined && !filters.instance_ids.includes(backup.resource_id)) return false;
  if (
    filters.vault_ids !== undefined &&
    (backup.vault_id === undefined || !filters.vault_ids.includes(backup.vault_id))
  ) {
    return false;
  }
  if (filters.manual === 'manual' && !backup.manual) return false;
  if (filters.manual === 'automatic' && backup.manual) return false;
  return true;
}

const scopeGlobs = new WeakMap<object, { names: CompiledGlobs; tags: CompiledGlobs[] }>();

function matchesPatterns(backup: Backup, filters: NonNullable<Target['filters']>): boolean {
  let compiled = scopeGlobs.get(filters);
  if (compiled === undefined) {
    compiled = {
      names: compileGlobs(filters.name_patterns),
      tags: (filters.tags ?? []).map((pattern) => compileGlobs([pattern])),
    };
    scopeGlobs.set(filters, compiled);
  }
  if (compiled.names.patterns.length > 0 && compiled.names.firstMatch(backup.name) === undefined)
    return false;
  for (const tagPattern of compiled.tags) {
    if (!backup.tags.some((tag) => tagPattern.firstMatch(tag) !== undefined)) return false;
  }
  return true;
}

export type PlanTarget = RetentionRules &
  Pick<Target, 'service' | 'projects' | 'regions' | 'filters'> & {
    readonly timezone?: string;
  };

/**
 * Plans a target over a listing: selects the backups in scope, groups them by resource, folds repeated ids into
 * one backup each (lib/retention/repeats.ts), plans each group. One decision per distinct backup, grouped by
 * resource (resource keys in sorted order), newest first within a resource.
 */
export function plan(
  backups: Iterable<Backup>,
  target: PlanTarget | ResolvedTarget,
  now: Date,
  timezone: string = target.timezone ?? 'UTC',
): ResourcePlan {
  const rules = compileRules(target, timezone);
  const grouped = groupByResource(backups, target);
  const { groups, ignored } = grouped;
  let ordered = grouped.ordered;
  const context: PlanContext = {
    rules,
    walk: new KeepRuleWalk(rules),
    nowMs: now.getTime(),
    candidates: [],
    roles: new Uint8Array(ordered.length),
    copies: new Map(),
  };
  let decisions: Decision[] = new Array(ordered.length);
  let folded = 0;
  for (const group of groups) {
    let end = group.start + group.count;
    sortRangeNewestFirst(ordered, group.start, end);
    const copies = markRepeats(ordered, group.start, end, context.roles, context.copies);
    if (copies > 0) {
      end = moveCopiesToEnd(ordered, group.start, end, context.roles, context.copies);
      folded += copies;
    }
    decideRange(context, ordered, group.start, end, group.key, decisions);
  }
  if (folded > 0) {
    // One decision per distinct backup: drop the folded copies (a rare listing; the usual one skips this).
    const keep = (_: unknown, index: number) => context.roles[index] !== Role.Copy;
    ordered = ordered.filter(keep);
    decisions = decisions.filter(keep);
  }
  let kept = 0;
  let deleted = 0;
  let finished = 0;
  let candidates = 0;
  let deletedBytes = 0;
  let unknownSize = 0;
  for (let index = 0; index < ordered.length; index += 1) {
    const backup = ordered[index] as Backup;
    if (backup.state === 'finished') finished += 1;
    if (backup.state === 'finished' || backup.state === 'failed') candidates += 1;
    if ((decisions[index] as Decision).action === 'delete') {
      deleted += 1;
      if (backup.size_bytes === undefined) unknownSize += 1;
      else deletedBytes += backup.size_bytes;
    } else kept += 1;
  }
  const deleteShare = candidates === 0 ? 0 : deleted / candidates;
  const createdAt = new Float64Array(ordered.length);
  for (let index = 0; index < ordered.length; index += 1)
    createdAt[index] = (ordered[index] as Backup).created_at;
  return {
    decisions,
    created_at: createdAt,
    summary: {
      resources: groups.length,
      considered: ordered.length,
      ignored,
      kept,
      deleted,
      finished,
      deleted_bytes: deletedBytes,
      deleted_unknown_size: unknownSize,
      delete_share: deleteShare,
      max_delete_share_exceeded:
        target.max_delete_share !== undefined && deleteShare > target.max_delete_share,
    },
  };
}

interface ResourceGroup {
  readonly sample: Backup;
  /** Position in creation order (what `groupOf` records). */
  readonly index: number;
  key: string;
  count: number;
  /** Where the group's backups start in the ordered array. */
  start: number;
  /** Another resource with the same resource_id (different service/region/project/vault); rare. */
  sibling: ResourceGroup | undefined;
}

const sameResource = (a: Backup, b: Backup) =>
  a.service === b.service &&
  a.region === b.region &&
  a.project_id === b.project_id &&
  a.vault_id === b.vault_id;

/**
 * Puts the in-scope backups into one array, resource after resource (resources in key order), without a key
 * string or an array per backup or per resource: look up by resource_id (a string the listing shares between a
 * resource's backups), compare the other key parts, then place each backup with a counting sort.
 */
function groupByResource(
  listing: Iterable<Backup>,
  target: PlanTarget | ResolvedTarget,
): { ordered: Backup[]; groups: ResourceGroup[]; ignored: number } {
  const backups: readonly Backup[] = Array.isArray(listing) ? listing : Array.from(listing);
  const byResourceId = new Map<string, ResourceGroup>();
  const created: ResourceGroup[] = [];
  // The group (creation index) of each listed backup, −1 when out of scope.
  const groupOf = new Int32Array(backups.length);
  let ignored = 0;
  const filters = target.filters;
  const needsPatterns =
    filters !== undefined && (filters.name_patterns !== undefined || filters.tags !== undefined);
  for (let position = 0; position < backups.length; position += 1) {
    const backup = backups[position] as Backup;
    if (!inScope(backup, target) || (needsPatterns && !matchesPatterns(backup, filters))) {
      ignored += 1;
      groupOf[position] = -1;
      continue;
    }
    const head = byResourceId.get(backup.resource_id);
    let group = head;
    while (group !== undefined && !sameResource(group.sample, backup)) group = group.sibling;
    if (group === undefined) {
      group = { sample: backup, index: created.length, key: '', count: 0, start: 0, sibling: undefined };
      if (head === undefined) byResourceId.set(backup.resource_id, group);
      else {
        group.sibling = head.sibling;
        head.sibling = group;
      }
      created.push(group);
    }
    groupOf[position] = group.index;
    group.count += 1;
  }
  for (const group of created) group.key = resourceKey(group.sample);
  const groups = created.slice().sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let offset = 0;
  for (const group of groups) {
    group.start = offset;
    offset += group.count;
  }
  const filled = new Int32Array(created.length);
  const ordered: Backup[] = new Array(backups.length - ignored);
  for (let position = 0; position < backups.length; position += 1) {
    const index = groupOf[position] as number;
    if (index < 0) continue;
    ordered[(created[index] as ResourceGroup).start + (filled[index] as number)] = backups[
      position
    ] as Backup;
    filled[index] = (filled[index] as number) + 1;
  }
  return { ordered, groups, ignored };
}

/** Sorts `backups[start..end)` newest first in place: insertion sort for a typical resource, else a copy. */
function sortRangeNewestFirst(backups: Backup[], start: number, end: number): void {
  if (end - start > 32) {
    const sorted = backups.slice(start, end).sort(compareNewestFirst);
    for (let index = 0; index < sorted.length; index += 1) backups[start + index] = sorted[index] as Backup;
    return;
  }
  for (let index = start + 1; index < end; index += 1) {
    const current = backups[index] as Backup;
    let hole = index;
    while (hole > start && compareNewestFirst(backups[hole - 1] as Backup, current) > 0) {
      backups[hole] = backups[hole - 1] as Backup;
      hole -= 1;
    }
    backups[hole] = current;
  }
}
