import type { Backup } from '../services/backup.ts';

/**
 * A listing may return one backup more than once: a paginated list whose pages shift while it is read, or a
 * service that reports a backup under two states. Planning works on distinct backups only, so that a repeat
 * counts once everywhere — toward min_keep, the keep rules, the circuit breaker's share and the reasons — and
 * the plan never depends on the order of the listing.
 *
 * Copies of one backup (one id within a resource, which fixes service, region, project and vault) are folded
 * into one, found per resource after its backups are sorted newest first (no table over the whole listing: a
 * million backups plan in about a second):
 * - the first copy in that order — the newest time any copy reports, the youngest reading, which age rules keep
 *   longest — represents the backup; the others get no decision;
 * - copies that disagree on anything a decision reads (delete id, name, state, manual, tags) make the backup
 *   "pinned": it is kept, whatever the rules say, and is invisible to the rules (it fills no keep-rule bucket and
 *   does not count toward min_keep), since at least one reading of it might keep it (in progress, protected,
 *   tagged, out of scope).
 * A listing that reports one id under two resources plans each under its own resource; the sweep still deletes
 * that id only when no target keeps it under any resource (lib/sweep/plan-sweep.ts).
 */

/** Per position of a sorted listing: a distinct backup, a copy folded into an earlier one, or a pinned one. */
export const Role = { Distinct: 0, Copy: 1, Pinned: 2 } as const;

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
    a.name === b.name &&
    a.state === b.state &&
    a.manual === b.manual &&
    sameTags(a.tags, b.tags)
  );
}

/** Orders two copies of one id with the same time, so the representative never depends on the listing order. */
export function compareCopies(a: Backup, b: Backup): number {
  const left = JSON.stringify(a);
  const right = JSON.stringify(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/**
 * Marks the copies in `sorted[start..end)` (one resource, newest first): `roles[i]` becomes Copy for every copy
 * after the first of its id, Pinned for a first copy whose copies disagree with it. Returns how many copies were
 * folded; `copies` gets the number of copies (the first included) of each pinned position.
 */
export function markRepeats(
  sorted: readonly Backup[],
  start: number,
  end: number,
  roles: Uint8Array,
  copies: Map<number, number>,
): number {
  if (end - start < 2) return 0;
  let folded = 0;
  const fold = (first: number, index: number) => {
    roles[index] = Role.Copy;
    folded += 1;
    copies.set(first, (copies.get(first) ?? 1) + 1);
    if (!agree(sorted[first] as Backup, sorted[index] as Backup)) roles[first] = Role.Pinned;
  };
  if (end - start <= 32) {
    // A typical resource: compare ids pairwise, no allocation.
    for (let index = start + 1; index < end; index += 1) {
      const id = (sorted[index] as Backup).id;
      for (let earlier = start; earlier < index; earlier += 1) {
        if (roles[earlier] !== Role.Copy && (sorted[earlier] as Backup).id === id) {
          fold(earlier, index);
          break;
        }
      }
    }
  } else {
    const firstOf = new Map<string, number>();
    for (let index = start; index < end; index += 1) {
      const id = (sorted[index] as Backup).id;
      const first = firstOf.get(id);
      if (first === undefined) firstOf.set(id, index);
      else fold(first, index);
    }
  }
  // Copies that only repeat the representative are not worth a count; keep counts for pinned ones only.
  for (const position of [...copies.keys()]) {
    if (position >= start && position < end && roles[position] !== Role.Pinned) copies.delete(position);
  }
  return folded;
}

/**
 * Moves the copies of `sorted[start..end)` behind the distinct backups (both in their order), with their roles
 * and pinned counts, so the planner decides `[start, returned end)` and every pass over a resource (keep rules,
 * chains, the max_gap guard) sees each backup once. Returns the end of the distinct backups.
 */
export function moveCopiesToEnd(
  sorted: Backup[],
  start: number,
  end: number,
  roles: Uint8Array,
  copies: Map<number, number>,
): number {
  const distinct: Backup[] = [];
  const repeats: Backup[] = [];
  const distinctRoles: number[] = [];
  const moved = new Map<number, number>();
  for (let index = start; index < end; index += 1) {
    const backup = sorted[index] as Backup;
    if (roles[index] === Role.Copy) {
      repeats.push(backup);
      continue;
    }
    const count = copies.get(index);
    if (count !== undefined) {
      moved.set(start + distinct.length, count);
      copies.delete(index);
    }
    distinct.push(backup);
    distinctRoles.push(roles[index] as number);
  }
  for (const [position, count] of moved) copies.set(position, count);
  const distinctEnd = start + distinct.length;
  for (let offset = 0; offset < distinct.length; offset += 1) {
    sorted[start + offset] = distinct[offset] as Backup;
    roles[start + offset] = distinctRoles[offset] as number;
  }
  for (let offset = 0; offset < repeats.length; offset += 1) {
    sorted[distinctEnd + offset] = repeats[offset] as Backup;
    roles[distinctEnd + offset] = Role.Copy;
  }
  return distinctEnd;
}
