/**
 * Checks a sweep against what the simulator saw, independently of the sweep's own bookkeeping: no kept backup
 * received a DELETE, no backup was deleted twice, and CSBS never ran more than 5 deletions of one project.
 * Used by the demo (it prints the result) and the end-to-end tests.
 */
import type { PlannedItem } from '../ledger/schema.ts';
import type { Backup } from '../services/backup.ts';
import type { Inspection } from '../simulator/index.ts';

export interface SimulatorCheck {
  readonly planned: number;
  readonly kept: number;
  /** Kept backups that received any DELETE call. */
  readonly keptWithDelete: readonly string[];
  /** Backups with more than one accepted DELETE call. */
  readonly deletedTwice: readonly string[];
  /** Per project: the most CSBS deletions in flight at once. */
  readonly csbsMaxConcurrent: Readonly<Record<string, number>>;
  readonly ok: boolean;
}

/** The backup id a planned item deletes (CSBS: its one checkpoint item). */
export function plannedBackupId(item: PlannedItem): string | undefined {
  if (item.target.kind === 'backup') return item.target.backup_id;
  if (item.target.kind === 'checkpoint') return item.target.checkpoint_items?.[0];
  return undefined;
}

/**
 * Accepted DELETEs of a backup. CBR and DDS name the backup in the path, so a call the service refused
 * (CSBS.2003 busy: retried later, nothing deleted) is told apart by its status. CSBS names the item in the
 * query; the sweep never plans an item still being created, so every CSBS call that reached the service counts.
 */
function acceptedDeletes(inspection: Inspection, backup: Backup, byPath: Map<string, number>): number {
  if (backup.service === 'csbs') return inspection.deleteCalls(backup.id);
  return byPath.get(`${backup.service}/${backup.project_id}/${backup.id}`) ?? 0;
}

export function checkAgainstSimulator(
  inspection: Inspection,
  listedBefore: readonly Backup[],
  plannedItems: readonly PlannedItem[],
  csbsLimit = 5,
): SimulatorCheck {
  const planned = new Set(plannedItems.map(plannedBackupId).filter((id) => id !== undefined));
  const byPath = new Map<string, number>();
  for (const request of inspection.requests) {
    if (request.method !== 'DELETE' || request.status < 200 || request.status > 299 || request.fault)
      continue;
    const id = request.path.slice(request.path.lastIndexOf('/') + 1);
    const key = `${request.service}/${request.projectId}/${id}`;
    byPath.set(key, (byPath.get(key) ?? 0) + 1);
  }
  const keptWithDelete: string[] = [];
  const deletedTwice: string[] = [];
  let kept = 0;
  for (const backup of listedBefore) {
    if (planned.has(backup.id)) {
      if (acceptedDeletes(inspection, backup, byPath) > 1)
        deletedTwice.push(`${backup.service}:${backup.id}`);
    } else {
      kept += 1;
      if (inspection.deleteCalls(backup.id) > 0) keptWithDelete.push(`${backup.service}:${backup.id}`);
    }
  }
  const csbsMaxConcurrent = { ...inspection.maxConcurrentDeletionsByService.csbs };
  const overCap = Object.values(csbsMaxConcurrent).some((value) => value > csbsLimit);
  return {
    planned: planned.size,
    kept,
    keptWithDelete,
    deletedTwice,
    csbsMaxConcurrent,
    ok: keptWithDelete.length === 0 && deletedTwice.length === 0 && !overCap,
  };
}
