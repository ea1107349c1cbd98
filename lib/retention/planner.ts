import { z } from 'zod';
import { type Backup, resourceKey } from '../services/backup.ts';
import { type CivilTime, calendarFor, isoWeekKeyIn, type ZoneCalendar } from './calendar.ts';
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
  /**
   * Creation time (epoch ms) of each decision's backup, by index. Kept out of Decision on purpose: a boxed
   * number per decision costs 24 bytes, a million of them 24 MB; this array costs 8.
   */
  readonly created_at: Float64Array<ArrayBuffer>;
  readonly summary: PlanSummary;
}

/** The parts of a (resolved) target that decide keep/delete. */
export type RetentionRules = Pick<
  Target,
  'keep' | 'max_age' | 'min_keep' | 'failed_max_age' | 'protect' | 'allow_delete_newest' | 'max_delete_share'
>;

/** The counted rules, in restic's order; the number indexes the per-rule arrays. */
const Rule = { Last: 0, Hourly: 1, Daily: 2, Weekly: 3, Monthly: 4, Yearly: 5 } as const;
type Rule = (typeof Rule)[keyof typeof Rule];
const RULE_NAMES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

interface WindowRule {
  readonly rule: Rule;
  readonly duration: PolicyDuration;
  readonly label: string;
  readonly labels: Map<number, string>;
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
  /** now − duration, memoised: every resource of a plan shares one `now`. */
  thresholdFromNow(nowMs: number, duration: PolicyDuration): number;
}

const IN_PROGRESS_REASON: readonly string[] = Object.freeze(['in progress']);
const DELETING_REASON: readonly string[] = Object.freeze(['deleting']);
const MIN_KEEP_REASON: readonly string[] = Object.freeze(['min_keep']);
const REPEAT_REASON: readonly string[] = Object.freeze(['listed twice; decided once']);

/**
 * A listing that returns the same backup twice (a page boundary shifting under a paginated list) must not make
 * it count twice — twice toward min_keep would let a real backup go. Sorting puts such repeats (same id, same
 * time) next to each other; the first is decided, the repeat is kept and ignored by every rule.
 */
function isRepeat(sorted: readonly Backup[], start: number, index: number): boolean {
  return index > start && (sorted[index - 1] as Backup).id === (sorted[index] as Backup).id;
}
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
    duration === undefined
      ? []
      : [
          {
            rule,
            duration,
            label: `${RULE_NAMES[rule]} within ${duration.text}`,
            labels: new Map<number, string>(),
          },
        ],
  );
  const maxAge = rules.max_age;
  const failedMaxAge = rules.failed_max_age;
  const calendar = calendarFor(timezone);
  const thresholds = new Map<PolicyDuration, { nowMs: number; threshold: number }>();
  const compiled: CompiledRules = {
    calendar,
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
    thresholdFromNow(nowMs, duration) {
      let byNow = thresholds.get(duration);
      if (byNow === undefined || byNow.nowMs !== nowMs) {
        byNow = { nowMs, threshold: calendar.subtract(nowMs, duration) };
        thresholds.set(duration, byNow);
      }
      return byNow.threshold;
    },
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
      return isoWeekKeyIn(civil.epochDay, civil.year);
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

/**
 * Reason lists are interned: the same sequence of reasons is one frozen array shared by every decision that has
 * it (a million decisions hold a few thousand distinct lists), built without temporary arrays or strings.
 */
interface ReasonNode {
  readonly reasons: readonly string[];
  readonly next: Map<string, ReasonNode>;
}
const REASON_ROOT: ReasonNode = { reasons: Object.freeze([]), next: new Map() };
let internedLists = 0;

function addReason(node: ReasonNode | undefined, reason: string): ReasonNode {
  const from = node ?? REASON_ROOT;
  let next = from.next.get(reason);
  if (next === undefined) {
    // Bound the table for long-lived processes; dropping it only costs sharing, never correctness.
    if (internedLists > 100_000) {
      REASON_ROOT.next.clear();
      internedLists = 0;
    }
    next = { reasons: Object.freeze([...from.reasons, reason]), next: new Map() };
    from.next.set(reason, next);
    internedLists += 1;
  }
  return next;
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

const oldestLabels = new Map<string, string>();
function oldestLabel(label: string): string {
  let oldest = oldestLabels.get(label);
  if (oldest === undefined) {
    oldest = `oldest ${label}`;
    if (oldestLabels.size > 100_000) oldestLabels.clear();
    oldestLabels.set(label, oldest);
  }
  return oldest;
}

function windowLabel(window: WindowRule, bucket: number): string {
  let label = window.labels.get(bucket);
  if (label === undefined) {
    label = `${window.label} ${formatBucket(window.rule, bucket)}`;
    if (window.labels.size > 100_000) window.labels.clear();
    window.labels.set(bucket, label);
  }
  return label;
}

/**
 * restic's ApplyPolicy over one resource's finished backups, newest first: the reasons each backup is kept by a
 * keep rule, or undefined when no keep rule keeps it. Exported so tests can hold the engine against restic's
 * own golden results with none of our extra rules in the way.
 */
export function applyKeepRules(
  finished: readonly Backup[],
  rules: RetentionRules,
  now: Date,
  timezone = 'UTC',
): (readonly string[] | undefined)[] {
  const walk = new KeepRuleWalk(compileRules(rules, timezone));
  walk.reset(finished, 0, finished.length, now.getTime());
  // Like the planner, the walk sees finished backups only; anything else gets no keep-rule reason.
  return finished.map((backup) => (backup.state === 'finished' ? walk.next(backup)?.reasons : undefined));
}

/**
 * One pass of the keep rules over a resource's finished backups, fed newest first. One instance serves every
 * resource of a plan (`reset` per resource), so planning 100,000 resources allocates no per-resource state.
 */
class KeepRuleWalk {
  readonly #rules: CompiledRules;
  #oldest = 0;
  #withinThreshold = Number.NaN;
  readonly #windowThresholds: number[];
  readonly #remaining: number[];
  readonly #lastBucket: number[];
  readonly #windowLastBucket: number[];
  readonly #civil: CivilTime = { year: 0, month: 0, day: 0, hour: 0, withinHour: 0, epochDay: 0 };
  #nr = 0;

  constructor(rules: CompiledRules) {
    this.#rules = rules;
    this.#windowThresholds = rules.windows.map(() => Number.NaN);
    this.#remaining = rules.counts.slice();
    this.#lastBucket = rules.counts.map(() => Number.NaN);
    this.#windowLastBucket = rules.windows.map(() => Number.NaN);
  }

  /** Starts a resource: its backups are `backups[start..end)`, newest first; only finished ones are walked. */
  reset(backups: readonly Backup[], start: number, end: number, nowMs: number): void {
    const rules = this.#rules;
    // The reference for `within`: the newest backup that is not in the future (restic's findLatestTimestamp);
    // with none, every backup is inside, as restic's zero time makes it.
    let latest = Number.NEGATIVE_INFINITY;
    let finished = 0;
    for (let index = start; index < end; index += 1) {
      const backup = backups[index] as Backup;
      if (backup.state !== 'finished' || isRepeat(backups, start, index)) continue;
      finished += 1;
      if (backup.created_at > latest && backup.created_at < nowMs) latest = backup.created_at;
    }
    this.#oldest = finished - 1;
    this.#nr = 0;
    const calendar = rules.calendar;
    const unbounded = latest === Number.NEGATIVE_INFINITY;
    if (rules.within !== undefined) {
      this.#withinThreshold = unbounded ? latest : calendar.subtract(latest, rules.within);
    }
    for (let index = 0; index < rules.windows.length; index += 1) {
      const window = rules.windows[index] as WindowRule;
      this.#windowThresholds[index] = unbounded ? latest : calendar.subtract(latest, window.duration);
      this.#windowLastBucket[index] = Number.NaN;
    }
    for (let rule = 0; rule < rules.counts.length; rule += 1) {
      this.#remaining[rule] = rules.counts[rule] as number;
      this.#lastBucket[rule] = Number.NaN;
    }
  }

  next(backup: Backup): ReasonNode | undefined {
    const rules = this.#rules;
    const nr = this.#nr;
    this.#nr += 1;
    const isOldest = nr === this.#oldest;
    let reasons: ReasonNode | undefined;
    for (const tagSet of rules.tagSets) {
      if (hasEveryTag(backup, tagSet.tags)) reasons = addReason(reasons, tagSet.reason);
    }
    if (rules.within !== undefined && backup.created_at > this.#withinThreshold) {
      reasons = addReason(reasons, rules.withinReason);
    }
    const civil = this.#civil;
    if (rules.needsCivil) rules.calendar.civilInto(backup.created_at, civil);
    for (const rule of rules.activeCounts) {
      const count = this.#remaining[rule] as number;
      if (count === 0) continue;
      const bucket = bucketOf(rule, civil, nr);
      const previous = this.#lastBucket[rule] as number;
      if (bucket !== previous || isOldest) {
        const label = bucketLabel(rule, bucket);
        reasons = addReason(reasons, bucket === previous ? oldestLabel(label) : label);
        this.#lastBucket[rule] = bucket;
        if (count > 0) this.#remaining[rule] = count - 1;
      }
    }
    const windows = rules.windows;
    for (let index = 0; index < windows.length; index += 1) {
      if (!(backup.created_at > (this.#windowThresholds[index] as number))) continue;
      const window = windows[index] as WindowRule;
      const bucket = bucketOf(window.rule, civil, nr);
      const previous = this.#windowLastBucket[index] as number;
      if (bucket !== previous || isOldest) {
        const label = windowLabel(window, bucket);
        reasons = addReason(reasons, bucket === previous ? oldestLabel(label) : label);
        this.#windowLastBucket[index] = bucket;
      }
    }
    return reasons;
  }
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
  const sorted = backups.slice().sort(compareNewestFirst);
  const first = sorted[0];
  if (first === undefined) return [];
  const decisions: Decision[] = new Array(sorted.length);
  const compiled = compileRules(rules, timezone);
  const context = { rules: compiled, walk: new KeepRuleWalk(compiled), nowMs: now.getTime(), candidates: [] };
  decideRange(context, sorted, 0, sorted.length, resourceKey(first), decisions);
  return decisions;
}

interface PlanContext {
  readonly rules: CompiledRules;
  readonly walk: KeepRuleWalk;
  readonly nowMs: number;
  /** Scratch list of indexes, reused for every resource. */
  readonly candidates: number[];
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
  const { rules, walk, nowMs, candidates } = context;
  walk.reset(sorted, start, end, nowMs);
  const maxAgeThreshold =
    rules.maxAge === undefined ? Number.NaN : rules.thresholdFromNow(nowMs, rules.maxAge);
  const failedThreshold =
    rules.failedMaxAge === undefined ? Number.NaN : rules.thresholdFromNow(nowMs, rules.failedMaxAge);

  candidates.length = 0;
  let keptFinished = 0;
  let isNewestFinished = true;
  for (let index = start; index < end; index += 1) {
    const backup = sorted[index] as Backup;
    if (isRepeat(sorted, start, index)) {
      out[index] = decision(backup, key, 'keep', REPEAT_REASON);
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
    } else if (rules.maxAge !== undefined && backup.created_at > maxAgeThreshold) {
      out[index] = decision(backup, key, 'keep', rules.youngerReason);
      keptFinished += 1;
    } else {
      candidates.push(index);
    }
  }
  // min_keep tops the resource up with the newest backups that nothing else kept.
  for (const index of candidates) {
    const backup = sorted[index] as Backup;
    if (keptFinished < rules.minKeep) {
      out[index] = decision(backup, key, 'keep', MIN_KEEP_REASON);
      keptFinished += 1;
    } else {
      out[index] = decision(backup, key, 'delete', rules.deleteReason);
    }
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
  const context: PlanContext = { rules, walk: new KeepRuleWalk(rules), nowMs: now.getTime(), candidates: [] };
  const { ordered, groups, ignored } = groupByResource(backups, target);
  const decisions: Decision[] = new Array(ordered.length);
  for (const group of groups) {
    const end = group.start + group.count;
    sortRangeNewestFirst(ordered, group.start, end);
    decideRange(context, ordered, group.start, end, group.key, decisions);
  }
  let kept = 0;
  let deleted = 0;
  let finished = 0;
  let candidates = 0;
  let deletedBytes = 0;
  for (let index = 0; index < ordered.length; index += 1) {
    const backup = ordered[index] as Backup;
    if (backup.state === 'finished') finished += 1;
    if (backup.state === 'finished' || backup.state === 'failed') candidates += 1;
    if ((decisions[index] as Decision).action === 'delete') {
      deleted += 1;
      deletedBytes += backup.size_bytes ?? 0;
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
