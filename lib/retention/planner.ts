import { z } from 'zod';
import { type Backup, BackupStateSchema, resourceKey } from '../services/backup.ts';
import { type CivilTime, calendarFor, isoWeekKey, type ZoneCalendar } from './calendar.ts';
import { type CompiledGlobs, compileGlobs } from './glob.ts';
import type { PolicyDuration, ResolvedTarget, Target } from './policy.ts';

/**
 * The planner: pure `(backups, rules, now) → decisions`. Keep rules follow restic's `forget` exactly
 * (RETENTION.md); our own rules (max_age, min_keep, protection, failed_max_age, the newest finished backup,
 * in-progress backups) are applied after them and can only add keeps, never remove one a keep rule made.
 */

export const DecisionSchema = z.object({
  backup_id: z.string(),
  delete_id: z.string(),
  resource_key: z.string(),
  created_at: z.number().int(),
  state: BackupStateSchema,
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
  deleted_bytes: z.number(),
  /** deleted ÷ finished+failed candidates; compared with max_delete_share by the sweep. */
  delete_share: z.number(),
  max_delete_share_exceeded: z.boolean(),
});
export type PlanSummary = z.infer<typeof PlanSummarySchema>;

export interface ResourcePlan {
  readonly decisions: Decision[];
  readonly summary: PlanSummary;
}

/** The parts of a (resolved) target that decide keep/delete. */
export type RetentionRules = Pick<
  Target,
  'keep' | 'max_age' | 'min_keep' | 'failed_max_age' | 'protect' | 'allow_delete_newest' | 'max_delete_share'
>;

enum Rule {
  Last = 0,
  Hourly = 1,
  Daily = 2,
  Weekly = 3,
  Monthly = 4,
  Yearly = 5,
}
const RULE_NAMES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

interface WindowRule {
  readonly rule: Rule;
  readonly duration: PolicyDuration;
  readonly label: string;
}

interface CompiledRules {
  readonly calendar: ZoneCalendar;
  readonly counts: readonly number[];
  readonly activeCounts: readonly Rule[];
  readonly within: PolicyDuration | undefined;
  readonly windows: readonly WindowRule[];
  readonly needsCivil: boolean;
  readonly tagSets: readonly { readonly tags: readonly string[]; readonly reason: string }[];
  readonly protectIds: ReadonlySet<string>;
  readonly protectNames: CompiledGlobs;
  readonly protectTags: CompiledGlobs;
  readonly minKeep: number;
  readonly allowDeleteNewest: boolean;
  readonly maxAge: PolicyDuration | undefined;
  readonly failedMaxAge: PolicyDuration | undefined;
  readonly withinReason: string;
  readonly youngerReason: readonly string[];
  readonly deleteReason: readonly string[];
  readonly failedDeleteReason: readonly string[];
  readonly failedKeepReason: readonly string[];
}

const IN_PROGRESS_REASON: readonly string[] = Object.freeze(['in progress']);
const DELETING_REASON: readonly string[] = Object.freeze(['deleting']);
const compiledCache = new WeakMap<RetentionRules, Map<string, CompiledRules>>();

function compileRules(rules: RetentionRules, timezone: string): CompiledRules {
  let byZone = compiledCache.get(rules);
  const cached = byZone?.get(timezone);
  if (cached !== undefined) return cached;
  const keep = rules.keep ?? {};
  const counts = [keep.last, keep.hourly, keep.daily, keep.weekly, keep.monthly, keep.yearly].map(
    (n) => n ?? 0,
  );
  const activeCounts = counts.flatMap((count, rule) => (count !== 0 ? [rule as Rule] : []));
  const windowSpecs: [Rule, PolicyDuration | undefined][] = [
    [Rule.Hourly, keep.within_hourly],
    [Rule.Daily, keep.within_daily],
    [Rule.Weekly, keep.within_weekly],
    [Rule.Monthly, keep.within_monthly],
    [Rule.Yearly, keep.within_yearly],
  ];
  const windows = windowSpecs.flatMap(([rule, duration]) =>
    duration === undefined ? [] : [{ rule, duration, label: `${RULE_NAMES[rule]} within ${duration.text}` }],
  );
  const maxAge = rules.max_age;
  const failedMaxAge = rules.failed_max_age;
  const compiled: CompiledRules = {
    calendar: calendarFor(timezone),
    counts,
    activeCounts,
    within: keep.within,
    windows,
    needsCivil: windows.length > 0 || activeCounts.some((rule) => rule !== Rule.Last),
    tagSets: (keep.tags ?? []).map((tags) => ({ tags, reason: `tags ${tags.join('+')}` })),
    protectIds: new Set(rules.protect?.ids ?? []),
    protectNames: compileGlobs(rules.protect?.name_patterns),
    protectTags: compileGlobs(rules.protect?.tags),
    minKeep: rules.min_keep ?? 0,
    allowDeleteNewest: rules.allow_delete_newest === true,
    maxAge,
    failedMaxAge,
    withinReason: keep.within === undefined ? '' : `within ${keep.within.text}`,
    youngerReason: Object.freeze([`younger than max_age ${maxAge?.text}`]),
    deleteReason: Object.freeze([
      maxAge === undefined ? 'kept by no rule' : `kept by no rule and older than max_age ${maxAge.text}`,
    ]),
    failedDeleteReason: Object.freeze([`failed and older than failed_max_age ${failedMaxAge?.text}`]),
    failedKeepReason: Object.freeze([
      failedMaxAge === undefined
        ? 'failed, no failed_max_age'
        : `failed, younger than failed_max_age ${failedMaxAge.text}`,
    ]),
  };
  if (byZone === undefined) {
    byZone = new Map();
    compiledCache.set(rules, byZone);
  }
  byZone.set(timezone, compiled);
  return compiled;
}

/** Newest first; equal times by id so that the result never depends on the input order. */
export function compareNewestFirst(a: Backup, b: Backup): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

function bucketOf(rule: Rule, civil: CivilTime, nr: number): number {
  switch (rule) {
    case Rule.Last:
      return nr;
    case Rule.Hourly:
      return civil.year * 1_000_000 + civil.month * 10_000 + civil.day * 100 + civil.hour;
    case Rule.Daily:
      return civil.year * 10_000 + civil.month * 100 + civil.day;
    case Rule.Weekly:
      return isoWeekKey(civil.epochDay);
    case Rule.Monthly:
      return civil.year * 100 + civil.month;
    default:
      return civil.year;
  }
}

const labelCaches: Map<number, string>[] = RULE_NAMES.map(() => new Map());
const two = (n: number) => (n < 10 ? `0${n}` : String(n));

/** `daily 2026-11-20`, `weekly 2026-W47`, `hourly 2026-11-20T13`, `monthly 2026-11`, `yearly 2026`, `last`. */
function bucketLabel(rule: Rule, bucket: number): string {
  if (rule === Rule.Last) return 'last';
  const cache = labelCaches[rule] as Map<number, string>;
  let label = cache.get(bucket);
  if (label === undefined) {
    label = `${RULE_NAMES[rule]} ${formatBucket(rule, bucket)}`;
    if (cache.size > 200_000) cache.clear();
    cache.set(bucket, label);
  }
  return label;
}

function formatBucket(rule: Rule, bucket: number): string {
  switch (rule) {
    case Rule.Hourly:
      return `${Math.floor(bucket / 1_000_000)}-${two(Math.floor(bucket / 10_000) % 100)}-${two(Math.floor(bucket / 100) % 100)}T${two(bucket % 100)}`;
    case Rule.Daily:
      return `${Math.floor(bucket / 10_000)}-${two(Math.floor(bucket / 100) % 100)}-${two(bucket % 100)}`;
    case Rule.Weekly:
      return `${Math.floor(bucket / 100)}-W${two(bucket % 100)}`;
    case Rule.Monthly:
      return `${Math.floor(bucket / 100)}-${two(bucket % 100)}`;
    default:
      return String(bucket);
  }
}

function addReason(reasons: string[] | undefined, reason: string): string[] {
  if (reasons === undefined) return [reason];
  reasons.push(reason);
  return reasons;
}

function hasEveryTag(backup: Backup, tags: readonly string[]): boolean {
  for (const tag of tags) if (!backup.tags.includes(tag)) return false;
  return true;
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
 * restic's ApplyPolicy over one resource's finished backups (already newest first): the reasons each backup is
 * kept by a keep rule, or undefined when no keep rule keeps it. Exported so tests can compare with restic alone.
 */
export function applyKeepRules(
  finished: readonly Backup[],
  rules: RetentionRules,
  now: Date,
  timezone = 'UTC',
): (string[] | undefined)[] {
  return keepReasons(finished, compileRules(rules, timezone), now.getTime());
}

function keepReasons(
  finished: readonly Backup[],
  rules: CompiledRules,
  nowMs: number,
): (string[] | undefined)[] {
  const total = finished.length;
  const result: (string[] | undefined)[] = new Array(total);
  if (total === 0) return result;
  const { calendar, activeCounts, windows, tagSets } = rules;

  // The reference for `within`: the newest backup that is not in the future (restic's findLatestTimestamp).
  let latest = Number.NEGATIVE_INFINITY;
  for (const backup of finished) {
    if (backup.created_at > latest && backup.created_at < nowMs) latest = backup.created_at;
  }
  const thresholdFrom = (duration: PolicyDuration) =>
    latest === Number.NEGATIVE_INFINITY ? Number.NEGATIVE_INFINITY : calendar.subtract(latest, duration);
  const withinThreshold = rules.within === undefined ? Number.NaN : thresholdFrom(rules.within);
  const windowThresholds = windows.map((window) => thresholdFrom(window.duration));

  const remaining = rules.counts.slice();
  const lastBucket = [Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN, Number.NaN];
  const windowLastBucket = windows.map(() => Number.NaN);
  const oldest = total - 1;

  for (let nr = 0; nr < total; nr += 1) {
    const backup = finished[nr] as Backup;
    let reasons: string[] | undefined;
    for (const tagSet of tagSets) {
      if (hasEveryTag(backup, tagSet.tags)) reasons = addReason(reasons, tagSet.reason);
    }
    if (rules.within !== undefined && backup.created_at > withinThreshold)
      reasons = addReason(reasons, rules.withinReason);

    const civil = rules.needsCivil ? calendar.civil(backup.created_at) : (undefined as unknown as CivilTime);
    for (const rule of activeCounts) {
      const count = remaining[rule] as number;
      if (count === 0) continue;
      const bucket = bucketOf(rule, civil, nr);
      const previous = lastBucket[rule] as number;
      if (bucket !== previous || nr === oldest) {
        const label = bucketLabel(rule, bucket);
        reasons = addReason(reasons, bucket === previous ? `oldest ${label}` : label);
        lastBucket[rule] = bucket;
        if (count > 0) remaining[rule] = count - 1;
      }
    }
    for (let index = 0; index < windows.length; index += 1) {
      if (!(backup.created_at > (windowThresholds[index] as number))) continue;
      const window = windows[index] as WindowRule;
      const bucket = bucketOf(window.rule, civil, nr);
      const previous = windowLastBucket[index] as number;
      if (bucket !== previous || nr === oldest) {
        const label = `${window.label} ${formatBucket(window.rule, bucket)}`;
        reasons = addReason(reasons, bucket === previous ? `oldest ${label}` : label);
        windowLastBucket[index] = bucket;
      }
    }
    result[nr] = reasons;
  }
  return result;
}

/**
 * Plans one resource (every backup must share one resourceKey). Returns one decision per backup, newest first.
 */
export function planResource(
  backups: readonly Backup[],
  rules: RetentionRules,
  now: Date,
  timezone = 'UTC',
): Decision[] {
  return decideGroup(backups.slice().sort(compareNewestFirst), compileRules(rules, timezone), now.getTime());
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
    created_at: backup.created_at,
    state: backup.state,
    action,
    reasons: reasons as string[],
  };
}

function decideGroup(sorted: readonly Backup[], rules: CompiledRules, nowMs: number): Decision[] {
  const first = sorted[0];
  if (first === undefined) return [];
  const key = resourceKey(first);
  const finished = sorted.filter((backup) => backup.state === 'finished');
  const keptByRules = keepReasons(finished, rules, nowMs);
  const maxAgeThreshold =
    rules.maxAge === undefined ? Number.NaN : rules.calendar.subtract(nowMs, rules.maxAge);
  const failedThreshold =
    rules.failedMaxAge === undefined ? Number.NaN : rules.calendar.subtract(nowMs, rules.failedMaxAge);

  const byBackup = new Map<Backup, Decision>();
  const candidates: Backup[] = [];
  let keptFinished = 0;
  for (let nr = 0; nr < finished.length; nr += 1) {
    const backup = finished[nr] as Backup;
    let reasons = keptByRules[nr];
    const protectedBy = protection(backup, rules);
    if (protectedBy !== undefined) reasons = addReason(reasons, protectedBy);
    if (nr === 0 && !rules.allowDeleteNewest) reasons = addReason(reasons, 'newest finished');
    if (reasons !== undefined) {
      byBackup.set(backup, decision(backup, key, 'keep', reasons));
      keptFinished += 1;
    } else if (rules.maxAge !== undefined && backup.created_at > maxAgeThreshold) {
      byBackup.set(backup, decision(backup, key, 'keep', rules.youngerReason));
      keptFinished += 1;
    } else {
      candidates.push(backup);
    }
  }
  for (const backup of candidates) {
    if (keptFinished < rules.minKeep) {
      byBackup.set(backup, decision(backup, key, 'keep', ['min_keep']));
      keptFinished += 1;
    } else {
      byBackup.set(backup, decision(backup, key, 'delete', rules.deleteReason));
    }
  }

  const decisions: Decision[] = new Array(sorted.length);
  for (let index = 0; index < sorted.length; index += 1) {
    const backup = sorted[index] as Backup;
    decisions[index] = byBackup.get(backup) ?? decideUnfinished(backup, key, rules, failedThreshold);
  }
  return decisions;
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
  if (protectedBy !== undefined) return decision(backup, key, 'keep', [protectedBy]);
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
 * Plans a target over a listing: selects the backups in scope, groups them by resource, plans each group.
 * Decisions come grouped by resource (resource keys in sorted order), newest first within a resource.
 */
export function plan(
  backups: Iterable<Backup>,
  target: PlanTarget | ResolvedTarget,
  now: Date,
  timezone: string = target.timezone ?? 'UTC',
): ResourcePlan {
  const rules = compileRules(target, timezone);
  const nowMs = now.getTime();
  const groups = new Map<string, Backup[]>();
  let ignored = 0;
  const filters = target.filters;
  const needsPatterns =
    filters !== undefined && (filters.name_patterns !== undefined || filters.tags !== undefined);
  for (const backup of backups) {
    if (!inScope(backup, target) || (needsPatterns && !matchesPatterns(backup, filters))) {
      ignored += 1;
      continue;
    }
    const key = resourceKey(backup);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [backup]);
    else group.push(backup);
  }
  const keys = [...groups.keys()].sort();
  const decisions: Decision[] = [];
  let kept = 0;
  let deleted = 0;
  let finished = 0;
  let candidates = 0;
  let deletedBytes = 0;
  for (const key of keys) {
    const group = groups.get(key) as Backup[];
    group.sort(compareNewestFirst);
    const groupDecisions = decideGroup(group, rules, nowMs);
    for (let index = 0; index < groupDecisions.length; index += 1) {
      const made = groupDecisions[index] as Decision;
      const backup = group[index] as Backup;
      decisions.push(made);
      if (backup.state === 'finished') finished += 1;
      if (backup.state === 'finished' || backup.state === 'failed') candidates += 1;
      if (made.action === 'delete') {
        deleted += 1;
        deletedBytes += backup.size_bytes ?? 0;
      } else kept += 1;
    }
  }
  const deleteShare = candidates === 0 ? 0 : deleted / candidates;
  return {
    decisions,
    summary: {
      resources: keys.length,
      considered: decisions.length,
      ignored,
      kept,
      deleted,
      finished,
      deleted_bytes: deletedBytes,
      delete_share: deleteShare,
      max_delete_share_exceeded:
        target.max_delete_share !== undefined && deleteShare > target.max_delete_share,
    },
  };
}
