import type { Backup } from '../services/backup.ts';

/**
 * A listing may return one backup more than once: a paginated list whose pages shift while it is read, or a
 * service that reports a backup under two states. Planning works on distinct backups only, so that a repeat
 * counts once everywhere — toward min_keep, the keep rules, the circuit breaker's share and the reasons — and
 * the plan never depends on the order of the listing.
 *
 * Copies of one backup (same service, region, project and id) are folded into one:
 * - copies that agree on everything that decides (delete id, resource, vault, name, state, manual, tags) are
 *   one backup, taken at the newest creation time any copy reports (the youngest reading: age rules keep it
 *   longest);
 * - copies that disagree on any of those are "pinned": the backup is kept, whatever the rules say, and is
 *   invisible to the rules (it neither fills a keep-rule bucket nor counts toward min_keep), since at least
 *   one reading of it might keep it — in progress, protected, tagged, out of scope.
 */

export interface DistinctListing {
  /** One backup per distinct id, in the order each id was first listed. */
  readonly backups: readonly Backup[];
  /** Representatives of ids whose copies disagree: always kept, never walked by the keep rules. */
  readonly pinned: ReadonlySet<Backup>;
  /** How many copies the listing held of each backup listed more than once. */
  readonly copies: ReadonlyMap<Backup, number>;
}

const NONE: ReadonlySet<Backup> = new Set();
const NO_COPIES: ReadonlyMap<Backup, number> = new Map();

function identity(backup: Backup): string {
  return `${backup.service}\u0000${backup.region}\u0000${backup.project_id}\u0000${backup.id}`;
}

function sameTags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  if (a.every((tag, index) => b[index] === tag)) return true;
  const sorted = [...b].sort();
  return [...a].sort().every((tag, index) => sorted[index] === tag);
}

/** Do two copies of one id agree on every field a decision reads (the creation time aside)? */
function agree(a: Backup, b: Backup): boolean {
  return (
    a.delete_id === b.delete_id &&
    a.resource_id === b.resource_id &&
    a.vault_id === b.vault_id &&
    a.name === b.name &&
    a.state === b.state &&
    a.manual === b.manual &&
    sameTags(a.tags, b.tags)
  );
}

/** A total order on copies, so the representative never depends on the listing order. */
function canonicalOrder(a: Backup, b: Backup): number {
  if (a.created_at !== b.created_at) return b.created_at - a.created_at;
  const left = JSON.stringify(a);
  const right = JSON.stringify(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Folds repeated ids into one backup each (see the module comment). Returns the input itself when none repeat. */
export function distinctBackups(listing: readonly Backup[]): DistinctListing {
  const firstAt = new Map<string, number>();
  let repeated: Map<number, Backup[]> | undefined;
  for (let position = 0; position < listing.length; position += 1) {
    const backup = listing[position] as Backup;
    const key = identity(backup);
    const first = firstAt.get(key);
    if (first === undefined) {
      firstAt.set(key, position);
      continue;
    }
    repeated ??= new Map();
    const copies = repeated.get(first);
    if (copies === undefined) repeated.set(first, [listing[first] as Backup, backup]);
    else copies.push(backup);
  }
  if (repeated === undefined) return { backups: listing, pinned: NONE, copies: NO_COPIES };
  const pinned = new Set<Backup>();
  const copyCounts = new Map<Backup, number>();
  const backups: Backup[] = [];
  for (let position = 0; position < listing.length; position += 1) {
    const backup = listing[position] as Backup;
    if (firstAt.get(identity(backup)) !== position) continue;
    const copies = repeated.get(position);
    if (copies === undefined) {
      backups.push(backup);
      continue;
    }
    const ordered = copies.slice().sort(canonicalOrder);
    const representative = ordered[0] as Backup;
    if (!ordered.every((copy) => agree(copy, representative))) pinned.add(representative);
    copyCounts.set(representative, copies.length);
    backups.push(representative);
  }
  return { backups, pinned, copies: copyCounts };
}
