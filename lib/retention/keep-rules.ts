import type { Backup } from '../services/backup.ts';
import { type CivilTime, isoWeekKeyIn } from './calendar.ts';
import { compareCopies } from './repeats.ts';
import {
  type CompiledRules,
  compileRules,
  type RetentionRules,
  RULE_NAMES,
  Rule,
  type WindowRule,
} from './rules.ts';

/**
 * restic's keep rules (`forget --keep-*`, internal/data/snapshot_policy.go) over one resource's finished
 * backups, newest first, with the reasons each rule gives. See docs/retention.md.
 */

/**
 * Newest first; equal times by id, and copies of one id at one time by their content, so that the result never
 * depends on the input order.
 */
export function compareNewestFirst(a: Backup, b: Backup): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return a === b ? 0 : compareCopies(a, b);
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
export interface ReasonNode {
  readonly reasons: readonly string[];
  readonly next: Map<string, ReasonNode>;
}
const REASON_ROOT: ReasonNode = { reasons: Object.freeze([]), next: new Map() };
let internedLists = 0;

export function addReason(node: ReasonNode | undefined, reason: string): ReasonNode {
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

/**
 * A listing that returns the same backup twice (a page boundary shifting under a paginated list) must not make
 * it count twice — twice toward min_keep would let a real backup go. Sorting puts such repeats (same id, same
 * time) next to each other; the first is decided, the repeat is kept and ignored by every rule.
 */
export function isRepeat(sorted: readonly Backup[], start: number, index: number): boolean {
  return index > start && (sorted[index - 1] as Backup).id === (sorted[index] as Backup).id;
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
export class KeepRuleWalk {
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

  /**
   * Starts a resource: its backups are `backups[start..end)`, newest first; only finished ones are walked, and
   * none whose `skip[index]` is non-zero (copies and pinned backups, lib/retention/repeats.ts).
   */
  reset(backups: readonly Backup[], start: number, end: number, nowMs: number, skip?: Uint8Array): void {
    const rules = this.#rules;
    // The reference for `within`: the newest backup that is not in the future (restic's findLatestTimestamp);
    // with none, every backup is inside, as restic's zero time makes it.
    let latest = Number.NEGATIVE_INFINITY;
    let finished = 0;
    for (let index = start; index < end; index += 1) {
      const backup = backups[index] as Backup;
      if (backup.state !== 'finished' || isRepeat(backups, start, index)) continue;
      if (skip !== undefined && skip[index] !== 0) continue;
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
    // Negated comparisons: a threshold that is not a number (a date out of range) keeps, never drops.
    if (rules.within !== undefined && !(backup.created_at <= this.#withinThreshold)) {
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
      if (backup.created_at <= (this.#windowThresholds[index] as number)) continue;
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
