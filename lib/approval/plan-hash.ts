/**
 * A plan's identity: `plan_hash` is SHA-256 over a canonical form of the policy and every planned deletion, so
 * the same plan always hashes the same whatever order the listings came in, and any change to the policy or
 * to one item (another backup, another creation time, one item more or less) changes it.
 *
 *   canonical form = JSON, keys sorted at every depth, of
 *     { format: 'hwc-retention-plan/1', policy: <the policy as a document>, items: [...] }
 *   each item = { service, region, project_id, deletion_id, target (backup id, or delete id and item ids,
 *                 in their canonical spelling), created_at (the backup's creation time, epoch ms) }
 *   items sorted by deletion_id (one per backup: the sweep deduplicates by it).
 *
 * The policy enters as a document (durations as their canonical `NyNmNdNh` text, defaults applied by the
 * schema), so two files that parse to the same policy hash the same. The time the plan was made is not part
 * of the hash: an approval's age is checked against the stored plan's time instead.
 */
import { createHash } from 'node:crypto';
import { canonicalJson, canonicalTarget, type PlannedItem } from '../ledger/schema.ts';
import type { Policy } from '../retention/policy.ts';

const FORMAT = 'hwc-retention-plan/1';

/** A parsed duration (`{years, months, days, hours, text}`) is written back as its text. */
function isParsedDuration(value: object): value is { text: string } {
  const keys = Object.keys(value).sort().join(',');
  return keys === 'days,hours,months,text,years' && typeof (value as { text?: unknown }).text === 'string';
}

/** The policy as a document PolicySchema reads back to the same policy (durations as text). */
export function policyDocument(policy: Policy): unknown {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === 'object') {
      if (isParsedDuration(value)) return value.text;
      return Object.fromEntries(
        Object.entries(value)
          .filter(([, inner]) => inner !== undefined)
          .map(([key, inner]) => [key, walk(inner)]),
      );
    }
    return value;
  };
  return walk(policy);
}

/** The hashed fields of one planned deletion. */
function itemForm(item: PlannedItem) {
  return {
    service: item.service,
    region: item.region,
    project_id: item.project_id,
    deletion_id: item.deletion_id,
    target: canonicalTarget(item.target),
    created_at: item.backup_created_at ?? null,
  };
}

/** The canonical text the hash is taken over (exported for the tests and for anyone re-checking a hash). */
export function canonicalPlan(policy: Policy, items: readonly PlannedItem[]): string {
  const sorted = items
    .map(itemForm)
    .sort((a, b) => (a.deletion_id < b.deletion_id ? -1 : a.deletion_id > b.deletion_id ? 1 : 0));
  return canonicalJson({ format: FORMAT, policy: policyDocument(policy), items: sorted });
}

/** `sha256:<64 hex>` over `canonicalPlan(policy, items)`. */
export function planHash(policy: Policy, items: readonly PlannedItem[]): string {
  return `sha256:${createHash('sha256').update(canonicalPlan(policy, items)).digest('hex')}`;
}
