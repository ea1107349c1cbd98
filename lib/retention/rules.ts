import { calendarFor, type ZoneCalendar } from './calendar.ts';
import { type CompiledGlobs, compileGlobs } from './glob.ts';
import type { PolicyDuration, Target } from './policy.ts';

/**
 * A target's rules compiled once per plan (and cached per rules object and time zone): counts as arrays, the
 * time-window rules with their labels, protection globs, and the fixed reason lists our own rules use.
 */

/** The parts of a (resolved) target that decide keep/delete. Treated as immutable once planned with. */
export type RetentionRules = Pick<
  Target,
  | 'keep'
  | 'max_age'
  | 'min_keep'
  | 'failed_max_age'
  | 'protect'
  | 'allow_delete_newest'
  | 'max_delete_share'
  | 'max_gap'
>;

/** The counted rules, in restic's order; the number indexes the per-rule arrays. */
export const Rule = { Last: 0, Hourly: 1, Daily: 2, Weekly: 3, Monthly: 4, Yearly: 5 } as const;
export type Rule = (typeof Rule)[keyof typeof Rule];
export const RULE_NAMES = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;

export interface WindowRule {
  readonly rule: Rule;
  readonly duration: PolicyDuration;
  readonly label: string;
  readonly labels: Map<number, string>;
}

export interface CompiledRules {
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
  /** The RPO guard (lib/retention/max-gap.ts) and its reason, `max_gap 2d`. */
  readonly maxGap: PolicyDuration | undefined;
  readonly maxGapReason: readonly string[];
  /** now − duration, memoised: every resource of a plan shares one `now`. */
  thresholdFromNow(nowMs: number, duration: PolicyDuration): number;
}

const compiledCache = new WeakMap<RetentionRules, Map<string, CompiledRules>>();

export function compileRules(rules: RetentionRules, timezone: string): CompiledRules {
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
    maxGap: rules.max_gap,
    maxGapReason: Object.freeze([`max_gap ${rules.max_gap?.text}`]),
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
