/**
 * One planned backup deletion, as the sweep has it, run through the lifecycle (lib/deletions/lifecycle.ts,
 * which owns every record transition and documents them). Re-exports the lifecycle's calls under the names
 * the HTTP functions and the sweep have always used.
 */
import type { CallerIdentity, DeletionTarget } from '../ledger/schema.ts';
import { deletionId } from '../ledger/schema.ts';
import { CSBS_PROVIDER_ID } from '../services/csbs.ts';
import { type DeletionDeps, type ExecutedDeletion, runDeletion } from './lifecycle.ts';

export * from './lifecycle.ts';

/** One planned backup deletion, as the sweep has it (Backup.delete_id / Backup.id). */
export interface PlannedDeletionRef {
  readonly service: 'csbs' | 'cbr' | 'dds';
  readonly region: string;
  readonly projectId: string;
  /** Backup.delete_id (CSBS: the checkpoint id). */
  readonly deleteId: string;
  /** Backup.id (CSBS: the checkpoint item id; CBR/DDS: equal to deleteId). */
  readonly itemId: string;
  readonly sweepId?: string | undefined;
  readonly requestedBy: CallerIdentity;
  readonly sizeBytes?: number | undefined;
}

/** The ledger target of a planned backup deletion (CSBS deletes exactly the one item). */
export function plannedTarget(
  ref: Pick<PlannedDeletionRef, 'service' | 'deleteId' | 'itemId'>,
): DeletionTarget {
  return ref.service === 'csbs'
    ? {
        kind: 'checkpoint',
        provider_id: CSBS_PROVIDER_ID,
        checkpoint_id: ref.deleteId,
        checkpoint_items: [ref.itemId],
      }
    : { kind: 'backup', backup_id: ref.deleteId };
}

/** The deterministic deletion id `executeDeletion(ref)` will use (for the sweep's plan items). */
export function plannedDeletionId(
  ref: Pick<PlannedDeletionRef, 'service' | 'region' | 'projectId' | 'deleteId' | 'itemId'>,
): string {
  return deletionId(ref.service, ref.region, ref.projectId, plannedTarget(ref));
}

/** One planned backup deletion: begin → send → record. Never throws for upstream errors (see `failed`). */
export function executeDeletion(ref: PlannedDeletionRef, deps: DeletionDeps): Promise<ExecutedDeletion> {
  return runDeletion(
    {
      service: ref.service,
      region: ref.region,
      projectId: ref.projectId,
      target: plannedTarget(ref),
      requestedBy: ref.requestedBy,
      sweepId: ref.sweepId,
      sizeBytes: ref.sizeBytes,
    },
    deps,
  );
}
