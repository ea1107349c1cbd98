import type { Backup } from '../services/backup.ts';
import type { Decision } from './planner.ts';
import type { CompiledRules } from './rules.ts';

/**
 * The RPO guard `max_gap`: a sweep never deletes a backup whose deletion would leave a gap longer than
 * `max_gap` between two consecutive kept restore points of a resource. It runs after every other rule and
 * only turns deletions back into keeps (reason `max_gap 2d`), so nothing a keep rule keeps can be lost to it.
 *
 * Restore points are the resource's finished backups. Walking newest → oldest with the newest kept point as
 * the anchor, a deletion candidate that lies between two kept points stays deleted only when the next older
 * finished backup is still within `max_gap` of the anchor; otherwise it is kept and becomes the anchor. Every
 * gap after the sweep is therefore either at most `max_gap` or a gap between two adjacent backups that was
 * already there. Candidates newer than the newest kept point or older than the oldest one leave no gap
 * *between* kept points, so the guard leaves them alone (what is older than the oldest kept point is retention,
 * not a hole). "Longer than" uses the policy's calendar like `within`: a gap of exactly `max_gap` is allowed.
 */
export function applyMaxGap(
  rules: CompiledRules,
  sorted: readonly Backup[],
  start: number,
  end: number,
  out: Decision[],
  keep: (index: number, reasons: readonly string[]) => Decision,
): void {
  const maxGap = rules.maxGap;
  if (maxGap === undefined) return;
  // The restore points of this resource, newest first: finished backups, repeats counted once.
  const points: number[] = [];
  for (let index = start; index < end; index += 1) {
    const backup = sorted[index] as Backup;
    if (backup.state !== 'finished') continue;
    if (index > start && (sorted[index - 1] as Backup).id === backup.id) continue;
    points.push(index);
  }
  let oldestKept = -1;
  for (let position = points.length - 1; position >= 0; position -= 1) {
    if ((out[points[position] as number] as Decision).action === 'keep') {
      oldestKept = position;
      break;
    }
  }
  // The oldest time the next kept point may have: anchor − max_gap, computed once per anchor.
  let threshold = Number.NaN;
  for (let position = 0; position < oldestKept; position += 1) {
    const index = points[position] as number;
    const at = (sorted[index] as Backup).created_at;
    if ((out[index] as Decision).action === 'keep') {
      threshold = rules.calendar.subtract(at, maxGap);
      continue;
    }
    if (Number.isNaN(threshold)) continue;
    const nextOlder = (sorted[points[position + 1] as number] as Backup).created_at;
    if (nextOlder < threshold) {
      out[index] = keep(index, rules.maxGapReason);
      threshold = rules.calendar.subtract(at, maxGap);
    }
  }
}
