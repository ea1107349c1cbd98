import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { AppError } from '../errors.ts';
import { BackupServiceSchema } from '../services/backup.ts';
import { isValidTimeZone } from './calendar.ts';
import { type CalendarDuration, formatDuration, parseDuration } from './duration.ts';
import { tagRuleProblem } from './tag-rules.ts';

/**
 * The retention policy file (YAML or JSON). Every object is strict: an unknown key is an error, so a typo such
 * as `dialy: 7` can never silently keep nothing. Durations use restic's `NyNmNdNh` syntax.
 */

/** A parsed duration plus its canonical text (restic's String(), used in reasons). */
export type PolicyDuration = CalendarDuration & { readonly text: string };

const DurationSchema = z.string().transform((text, ctx): PolicyDuration => {
  let parsed: CalendarDuration;
  try {
    parsed = parseDuration(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `invalid duration "${text}": ${(error as Error).message}` });
    return z.NEVER;
  }
  if (parsed.years < 0 || parsed.months < 0 || parsed.days < 0 || parsed.hours < 0) {
    ctx.addIssue({ code: 'custom', message: `duration "${text}" must not be negative` });
    return z.NEVER;
  }
  const canonical = formatDuration(parsed);
  if (canonical === '') {
    ctx.addIssue({ code: 'custom', message: `duration "${text}" is zero; use NyNmNdNh such as 30d` });
    return z.NEVER;
  }
  return { ...parsed, text: canonical };
});

/** restic's keep counts: 0 (or absent) = rule off, −1 = unlimited. */
const KeepCountSchema = z.number().int().min(-1);
const NonEmptyStrings = z.array(z.string().min(1)).min(1);

export const KeepRulesSchema = z.strictObject({
  last: KeepCountSchema.optional(),
  hourly: KeepCountSchema.optional(),
  daily: KeepCountSchema.optional(),
  weekly: KeepCountSchema.optional(),
  monthly: KeepCountSchema.optional(),
  yearly: KeepCountSchema.optional(),
  within: DurationSchema.optional(),
  within_hourly: DurationSchema.optional(),
  within_daily: DurationSchema.optional(),
  within_weekly: DurationSchema.optional(),
  within_monthly: DurationSchema.optional(),
  within_yearly: DurationSchema.optional(),
  /** Keep a backup that carries every tag of any one set. */
  tags: z.array(NonEmptyStrings).optional(),
});
export type KeepRules = z.infer<typeof KeepRulesSchema>;

export const TargetFiltersSchema = z.strictObject({
  resource_ids: NonEmptyStrings.optional(),
  vault_ids: NonEmptyStrings.optional(),
  /** DDS instance ids (the DDS resource id). */
  instance_ids: NonEmptyStrings.optional(),
  /** Globs on the backup name; a backup matching any is in scope. */
  name_patterns: NonEmptyStrings.optional(),
  /** Globs on `key=value` tags; a backup is in scope when every pattern matches one of its tags. */
  tags: NonEmptyStrings.optional(),
  manual: z.enum(['manual', 'automatic', 'any']).optional(),
  /**
   * CBR and CSBS `image_type`s in scope: `backup`, and `replication` (copies made by cross-region
   * replication) only when listed. Default: `[backup]`.
   */
  image_types: z
    .array(z.enum(['backup', 'replication']))
    .min(1)
    .optional(),
});
export type TargetFilters = z.infer<typeof TargetFiltersSchema>;

export const ProtectSchema = z.strictObject({
  /** Backup ids (or delete ids) that are never deleted. */
  ids: NonEmptyStrings.optional(),
  /** Globs on the backup name. */
  name_patterns: NonEmptyStrings.optional(),
  /** Globs on `key=value` tags; one matching tag protects the backup. */
  tags: NonEmptyStrings.optional(),
});
export type Protect = z.infer<typeof ProtectSchema>;

/**
 * The review loop's switch: `required: true` makes a sweep store its plan for this target (or every target)
 * awaiting a person's approval instead of deleting; an approval given later than `expires_after` after the
 * plan was made is refused (default 24h).
 */
export const ApprovalSettingsSchema = z.strictObject({
  required: z.boolean(),
  expires_after: DurationSchema.optional(),
});
export type ApprovalSettings = z.infer<typeof ApprovalSettingsSchema>;

/** The settings a target may take from `defaults`. */
const targetSettings = {
  keep: KeepRulesSchema.optional(),
  filters: TargetFiltersSchema.optional(),
  max_age: DurationSchema.optional(),
  min_keep: z.number().int().min(0).optional(),
  failed_max_age: DurationSchema.optional(),
  protect: ProtectSchema.optional(),
  allow_delete_newest: z.boolean().optional(),
  allow_empty_keep: z.boolean().optional(),
  /** Circuit breaker for the sweep: refuse when a target would delete more than this share of its finished backups. */
  max_delete_share: z.number().min(0).max(1).optional(),
  /**
   * History breaker (lib/sweep/history-breaker.ts): hold a target whose backups in scope shrank by more than
   * this share since the last sweep (default 0.3; 1 switches the check off).
   */
  max_inventory_drop: z.number().min(0).max(1).optional(),
  /**
   * History breaker: hold a target planning more than this many times the median of its last 5 sweeps'
   * planned deletions (the median floored at 1; default 3).
   */
  max_delete_growth: z.number().positive().optional(),
  /** RPO guard: never delete a backup whose deletion leaves a longer gap between kept restore points. */
  max_gap: DurationSchema.optional(),
};

export const TargetDefaultsSchema = z.strictObject(targetSettings);
export type TargetDefaults = z.infer<typeof TargetDefaultsSchema>;

export const TargetSchema = z.strictObject({
  name: z.string().min(1),
  service: BackupServiceSchema,
  projects: NonEmptyStrings,
  regions: NonEmptyStrings,
  ...targetSettings,
  /** Overrides the policy-level `approval` for this target. */
  approval: ApprovalSettingsSchema.optional(),
});
export type Target = z.infer<typeof TargetSchema>;

/** A target with `defaults` applied (each setting the target leaves out comes whole from `defaults`). */
export type ResolvedTarget = Target & { readonly timezone: string };

export const PolicySchema = z
  .strictObject({
    version: z.literal(1),
    timezone: z
      .string()
      .refine(isValidTimeZone, {
        message: 'unknown time zone (use UTC or an IANA name such as Europe/Berlin)',
      })
      .default('UTC'),
    defaults: TargetDefaultsSchema.optional(),
    /** Every target's approval switch, unless the target sets its own. */
    approval: ApprovalSettingsSchema.optional(),
    targets: z.array(TargetSchema).min(1),
  })
  .superRefine((policy, ctx) => {
    const seen = new Map<string, number>();
    policy.targets.forEach((target, index) => {
      const earlier = seen.get(target.name);
      if (earlier !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'name'],
          message: `duplicate target name "${target.name}" (also targets[${earlier}])`,
        });
      } else seen.set(target.name, index);
      const resolved = resolveTarget(policy, target);
      for (const issue of tagRuleIssues(resolved)) {
        ctx.addIssue({ code: 'custom', path: ['targets', index, ...issue.path], message: issue.message });
      }
      if (!keepsAnything(resolved) && resolved.allow_empty_keep !== true) {
        ctx.addIssue({
          code: 'custom',
          path: ['targets', index, 'keep'],
          message:
            'the rules keep nothing: add a keep rule or max_age, or set allow_empty_keep: true to delete every finished backup this target selects',
        });
      }
    });
  });
export type Policy = z.infer<typeof PolicySchema>;

/** Tag rules of a (resolved) target that no tag of its service could match. */
function tagRuleIssues(target: ResolvedTarget): { path: (string | number)[]; message: string }[] {
  const issues: { path: (string | number)[]; message: string }[] = [];
  const check = (patterns: readonly string[] | undefined, path: (string | number)[], glob: boolean) => {
    patterns?.forEach((pattern, index) => {
      const problem = tagRuleProblem(pattern, target.service, glob);
      if (problem !== undefined)
        issues.push({
          path: [...path, index],
          message: `tag rule "${pattern}" can match nothing: ${problem}`,
        });
    });
  };
  check(target.protect?.tags, ['protect', 'tags'], true);
  check(target.filters?.tags, ['filters', 'tags'], true);
  target.keep?.tags?.forEach((set, index) => {
    check(set, ['keep', 'tags', index], false);
  });
  return issues;
}

/** True when some keep rule or max_age can keep a finished backup (RETENTION.md 7). */
export function keepsAnything(target: Pick<Target, 'keep' | 'max_age'>): boolean {
  if (target.max_age !== undefined) return true;
  const keep = target.keep;
  if (keep === undefined) return false;
  const counts = [keep.last, keep.hourly, keep.daily, keep.weekly, keep.monthly, keep.yearly];
  if (counts.some((count) => count !== undefined && count !== 0)) return true;
  const windows = [
    keep.within,
    keep.within_hourly,
    keep.within_daily,
    keep.within_weekly,
    keep.within_monthly,
    keep.within_yearly,
  ];
  return windows.some((window) => window !== undefined) || (keep.tags !== undefined && keep.tags.length > 0);
}

export function resolveTarget(policy: Pick<Policy, 'defaults' | 'timezone'>, target: Target): ResolvedTarget {
  const resolved: Target = { ...target };
  const defaults = policy.defaults ?? {};
  for (const key of Object.keys(targetSettings) as (keyof TargetDefaults)[]) {
    if (resolved[key] === undefined && defaults[key] !== undefined) {
      (resolved as Record<string, unknown>)[key] = defaults[key];
    }
  }
  return { ...resolved, timezone: policy.timezone ?? 'UTC' };
}

export function resolveTargets(policy: Policy): ResolvedTarget[] {
  return policy.targets.map((target) => resolveTarget(policy, target));
}

/**
 * Bounds on what a policy may be, checked before the schema runs so that an oversized or hostile document costs
 * little and its error stays small: the document's size in bytes (UTF-8; a JSON value is measured as its JSON
 * text), its number of targets, and how many issues an error keeps and lists.
 */
export const POLICY_LIMITS = Object.freeze({
  maxBytes: 1024 * 1024,
  maxTargets: 1000,
  /** Issues a PolicyError keeps (and an HTTP error body carries); the rest are only counted. */
  maxIssues: 50,
});

export interface PolicyIssue {
  /** `targets[0].keep.daily` */
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

/**
 * An invalid policy file; the message lists each problem with its field path and, where known, its line — at
 * most POLICY_LIMITS.maxIssues of them, then how many more there are (`omittedIssues`).
 */
export class PolicyError extends AppError {
  override readonly name = 'PolicyError';
  readonly code = 'POLICY_INVALID';
  readonly issues: readonly PolicyIssue[];
  /** Problems found beyond the ones in `issues`. */
  readonly omittedIssues: number;

  constructor(fileName: string, issues: readonly PolicyIssue[], options?: { cause?: unknown }) {
    const kept = issues.slice(0, POLICY_LIMITS.maxIssues);
    const omitted = issues.length - kept.length;
    const lines = kept.map((issue) => `  ${formatIssue(fileName, issue)}`);
    if (omitted > 0) lines.push(`  ... and ${omitted} more`);
    super(`invalid policy ${fileName}:\n${lines.join('\n')}`, options);
    this.issues = kept;
    this.omittedIssues = omitted;
  }
}

/** The size and target-count limits; a PolicyError naming the limit when the document is over one. */
function checkLimits(fileName: string, value: unknown, bytes: number | undefined): void {
  if (bytes !== undefined && bytes > POLICY_LIMITS.maxBytes) {
    throw new PolicyError(fileName, [
      {
        path: '',
        message: `the policy is ${bytes} bytes; at most ${POLICY_LIMITS.maxBytes} bytes are accepted`,
      },
    ]);
  }
  const targets = (value as { targets?: unknown } | null | undefined)?.targets;
  if (Array.isArray(targets) && targets.length > POLICY_LIMITS.maxTargets) {
    throw new PolicyError(fileName, [
      {
        path: 'targets',
        message: `${targets.length} targets; at most ${POLICY_LIMITS.maxTargets} are accepted`,
      },
    ]);
  }
}

/** The JSON size of an already-parsed value (undefined when it has no JSON form, e.g. a cycle). */
function jsonBytes(value: unknown): number | undefined {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? undefined : Buffer.byteLength(text, 'utf8');
  } catch {
    return undefined;
  }
}

function formatIssue(fileName: string, issue: PolicyIssue): string {
  const where = issue.line === undefined ? fileName : `${fileName}:${issue.line}:${issue.column ?? 1}`;
  return `${where} ${issue.path || '(root)'}: ${issue.message}`;
}

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

/** Validates an already-parsed value (e.g. a request body); throws PolicyError naming each field path. */
export function parsePolicy(value: unknown, fileName = 'policy'): Policy {
  checkLimits(fileName, value, jsonBytes(value));
  const result = PolicySchema.safeParse(value);
  if (result.success) return result.data;
  throw new PolicyError(
    fileName,
    result.error.issues.map((issue) => ({ path: formatPath(issueLocation(issue)), message: issue.message })),
    { cause: result.error },
  );
}

/** An unknown key is reported at the key itself, not at the object holding it. */
function issueLocation(issue: z.core.$ZodIssue): PropertyKey[] {
  if (issue.code === 'unrecognized_keys' && issue.keys.length > 0)
    return [...issue.path, issue.keys[0] as string];
  return [...issue.path];
}

/**
 * Parses a policy file's text (YAML, or JSON — which the YAML parser reads too, so both get line numbers) and
 * validates it. Errors name the field path and the line/column of the offending node (or its nearest parent).
 * Every problem — size, YAML syntax, an alias bomb, the schema — is a PolicyError.
 */
export function loadPolicy(text: string, fileName: string): Policy {
  checkLimits(fileName, undefined, Buffer.byteLength(text, 'utf8'));
  try {
    return readPolicyText(text, fileName);
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    // Anything else the parsers throw (a nesting too deep for the stack) is still a problem of the document.
    throw new PolicyError(fileName, [{ path: '', message: `cannot be read: ${(error as Error).message}` }], {
      cause: error,
    });
  }
}

function readPolicyText(text: string, fileName: string): Policy {
  if (fileName.toLowerCase().endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (error) {
      throw new PolicyError(
        fileName,
        [{ path: '', message: `not valid JSON: ${(error as Error).message}` }],
        {
          cause: error,
        },
      );
    }
  }
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new PolicyError(
      fileName,
      document.errors.map((error) => {
        const position = lineCounter.linePos(error.pos[0]);
        return {
          path: '',
          message: error.message.split('\n')[0] ?? error.message,
          line: position.line,
          column: position.col,
        };
      }),
    );
  }
  // The yaml package refuses to expand more than 100 aliases (an alias bomb) with a ReferenceError, which
  // loadPolicy turns into a PolicyError.
  const value: unknown = document.toJS({ maxAliasCount: 100 });
  checkLimits(fileName, value, undefined);
  const result = PolicySchema.safeParse(value);
  if (result.success) return result.data;
  throw new PolicyError(
    fileName,
    result.error.issues.map((issue, index) => {
      const path = issueLocation(issue);
      // Only the issues the error keeps are located in the document (a walk of the YAML tree each).
      const position = index < POLICY_LIMITS.maxIssues ? nodePosition(document, lineCounter, path) : {};
      return { path: formatPath(path), message: issue.message, ...position };
    }),
    { cause: result.error },
  );
}

type YamlDocument = ReturnType<typeof parseDocument>;

function nodePosition(
  document: YamlDocument,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line?: number; column?: number } {
  for (let length = path.length; length >= 0; length -= 1) {
    const prefix = path.slice(0, length) as (string | number)[];
    const range = length === 0 ? rangeOf(document.contents) : keyOrValueRange(document, prefix);
    if (range?.[0] !== undefined) {
      const position = lineCounter.linePos(range[0]);
      return { line: position.line, column: position.col };
    }
  }
  return {};
}

/** A mapping entry is located at its key (`dialy:`), a sequence item at its value. */
function keyOrValueRange(document: YamlDocument, path: (string | number)[]): readonly number[] | undefined {
  const parent = path.length === 1 ? document.contents : document.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(last));
    if (pair !== undefined) return rangeOf(pair.key) ?? rangeOf(pair.value);
    return undefined;
  }
  return rangeOf(document.getIn(path, true));
}

function rangeOf(node: unknown): readonly number[] | undefined {
  return (node as { range?: readonly number[] } | null | undefined)?.range ?? undefined;
}
