/**
 * The sweep's first half: list every target (all pages, all projects and regions), plan each target, veto
 * deletions another target keeps, and apply the circuit breaker. Pure of side effects apart from the listing
 * calls; nothing here deletes or writes.
 *
 * A listing that fails (after the client's own retries) fails only the targets that need it: such a target is
 * reported with `failure: {stage: 'LISTING', code}` and plans no deletion at all — a partial view of a resource
 * could make a kept backup look deletable — while its keeps over what was listed still veto other targets'
 * deletions, and every other target proceeds.
 */

import { z } from 'zod';
import { plannedDeletionId, plannedTarget } from '../deletions/execute.ts';
import { AppError } from '../errors.ts';
import type { PlannedItem } from '../ledger/schema.ts';
import { compareNewestFirst, type Decision, plan } from '../retention/planner.ts';
import { type Policy, type ResolvedTarget, resolveTargets } from '../retention/policy.ts';
import { type Backup, type BackupService, BackupServiceSchema, resourceKey } from '../services/backup.ts';
import type { BackupServiceAdapter, HuaweiRequester } from '../services/index.ts';
import { pairProjectsWithRegions } from '../services/projects.ts';
import { type ListingFailure, type Refusal, type TargetFailure, TargetFailureSchema } from './report.ts';

/** Refuse a target whose plan deletes more than this share of its candidates, unless it sets its own. */
export const DEFAULT_MAX_DELETE_SHARE = 0.5;

/** Per target, what the plan says (stored in the ledger as the sweep's summary). */
export const PlannedTargetSchema = z.object({
  name: z.string(),
  service: BackupServiceSchema,
  listed: z.int().nonnegative(),
  /** Backups in the target's scope (kept + deleted before the veto): what the history breaker compares. */
  inventory: z.int().nonnegative().optional(),
  kept: z.int().nonnegative(),
  /** Deletions after the veto: what the sweep will delete. */
  planned: z.int().nonnegative(),
  kept_by_other_target: z.int().nonnegative(),
  /** Finished and failed backups: the breaker's denominator. */
  candidates: z.int().nonnegative(),
  delete_share: z.number().min(0).max(1),
  max_delete_share: z.number().min(0).max(1),
  planned_bytes: z.number().nonnegative(),
  /** Set when the target could not be planned (a listing failed): it deletes nothing this sweep. */
  failure: TargetFailureSchema.optional(),
});
export type PlannedTarget = z.infer<typeof PlannedTargetSchema>;

export const SweepSummarySchema = z.object({
  version: z.literal(1),
  generated_at: z.iso.datetime(),
  targets: z.array(PlannedTargetSchema),
});
export type SweepSummary = z.infer<typeof SweepSummarySchema>;

export interface SweepPlan {
  readonly summary: SweepSummary;
  /** The deletions, one per backup, deduplicated by deletion id; each `reason` starts with `<target>: `. */
  readonly items: PlannedItem[];
  /** Targets over their breaker: when non-empty the sweep must not start. */
  readonly refusals: Refusal[];
  /** With `collectListed`: the deletion id of every backup listed for the selected targets. */
  readonly listed?: ReadonlySet<string>;
}

export type ListingProgress =
  | { readonly phase: 'listing'; readonly key: string; readonly listed: number }
  | { readonly phase: 'listed'; readonly key: string; readonly listed: number; readonly total: number }
  | { readonly phase: 'failed'; readonly key: string; readonly listed: number; readonly code: string };

export interface PlanSweepDeps {
  readonly client: HuaweiRequester;
  readonly adapters: Readonly<Record<BackupService, BackupServiceAdapter>>;
  readonly signal?: AbortSignal | undefined;
  /** Listings run this many (service, region, project) at once. Default 4. */
  readonly listConcurrency?: number | undefined;
  readonly pageSize?: number | undefined;
  readonly onProgress?: ((progress: ListingProgress) => void) | undefined;
}

export interface PlanSweepInput {
  readonly policy: Policy;
  readonly now: Date;
  /** Only these targets delete (every target's keeps still veto). Default: all. */
  readonly targets?: readonly string[] | undefined;
  readonly defaultMaxDeleteShare?: number | undefined;
  /** Also return `listed` (an approval's run tells a backup deleted meanwhile from one kept now). */
  readonly collectListed?: boolean | undefined;
}

export class UnknownTargetError extends AppError {
  override name = 'UnknownTargetError';
  readonly code = 'UNKNOWN_TARGET';
  constructor(readonly targets: readonly string[]) {
    super(`unknown target(s): ${targets.join(', ')}`);
  }
}

const PROGRESS_EVERY = 1000;

function listingKey(service: BackupService, region: string, projectId: string): string {
  return `${service}/${region}/${projectId}`;
}

function combos(target: ResolvedTarget): string[] {
  return target.regions.flatMap((region) =>
    target.projects.map((projectId) => listingKey(target.service, region, projectId)),
  );
}

/** A typed error's stable code (the Huawei layer's and ours all carry one); undefined for anything else. */
function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code !== '' ? code : undefined;
}

/**
 * Lists every (service, region, project) once, even when several targets cover it. A listing that throws a
 * typed error is recorded in `failures` and leaves no entry in the listings (its partial pages are dropped);
 * an abort or an untyped error (a bug) stops the whole planning.
 */
async function listAll(
  keys: readonly string[],
  deps: PlanSweepDeps,
): Promise<{ listings: Map<string, Backup[]>; failures: Map<string, ListingFailure> }> {
  const listings = new Map<string, Backup[]>();
  const failures = new Map<string, ListingFailure>();
  const queue = [...keys];
  let total = 0;
  const worker = async () => {
    for (let key = queue.shift(); key !== undefined; key = queue.shift()) {
      const [service, region, projectId] = key.split('/') as [BackupService, string, string];
      const backups: Backup[] = [];
      const target = {
        region,
        projectId,
        ...(deps.pageSize === undefined ? {} : { pageSize: deps.pageSize }),
      };
      try {
        for await (const backup of deps.adapters[service].listBackups(deps.client, target, deps.signal)) {
          backups.push(backup);
          if (backups.length % PROGRESS_EVERY === 0)
            deps.onProgress?.({ phase: 'listing', key, listed: backups.length });
        }
      } catch (error) {
        const code = errorCodeOf(error);
        if (deps.signal?.aborted || code === undefined) throw error;
        failures.set(key, { key, code, message: (error as Error).message.slice(0, 500) });
        deps.onProgress?.({ phase: 'failed', key, listed: backups.length, code });
        continue;
      }
      listings.set(key, backups);
      total += backups.length;
      deps.onProgress?.({ phase: 'listed', key, listed: backups.length, total });
    }
  };
  const workers = Math.max(1, Math.min(deps.listConcurrency ?? 4, keys.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return { listings, failures };
}

/** The target's failure when any listing it needs failed (the first failed listing's code leads). */
function listingFailure(
  keys: readonly string[],
  failures: ReadonlyMap<string, ListingFailure>,
): TargetFailure | undefined {
  const failed = keys.flatMap((key) => {
    const failure = failures.get(key);
    return failure === undefined ? [] : [failure];
  });
  const first = failed[0];
  if (first === undefined) return undefined;
  return {
    stage: 'LISTING',
    code: first.code,
    message: `${failed.length} of ${keys.length} listings failed; nothing of this target is deleted (${first.key}: ${first.message})`,
    listings: failed,
  };
}

const decisionKey = (resource: string, backupId: string) => `${resource}#${backupId}`;
/**
 * One backup whatever resource a listing put it under: service/region/project (the resource key's first three
 * parts) and the id. A keep of the id under any resource vetoes its deletion.
 */
const backupKey = (resource: string, backupId: string) => `${resource.split('/', 3).join('/')}#${backupId}`;

/** The target an item belongs to: its reason starts with `<name>: ` (the longest matching name wins). */
export function targetOfItem(
  item: Pick<PlannedItem, 'reason'>,
  names: readonly string[],
): string | undefined {
  let best: string | undefined;
  for (const name of names) {
    if (item.reason?.startsWith(`${name}: `) && (best === undefined || name.length > best.length))
      best = name;
  }
  return best;
}

/** Lists, plans every target, vetoes deletions any target keeps, and checks each target's breaker. */
export async function planSweep(input: PlanSweepInput, deps: PlanSweepDeps): Promise<SweepPlan> {
  const all = resolveTargets(input.policy);
  const names = new Set(all.map((target) => target.name));
  const unknown = (input.targets ?? []).filter((name) => !names.has(name));
  if (unknown.length > 0) throw new UnknownTargetError(unknown);
  const selected = new Set(input.targets ?? all.map((target) => target.name));
  // A project is listed in its own region only (a target naming several regions is paired through IAM).
  const regionCache = new Map<string, Promise<string>>();
  const targetKeys = new Map<string, string[]>();
  // Pairing failures count as failed listings of the target (key `<service>/iam/<target>`): it deletes nothing.
  const pairingFailures = new Map<string, ListingFailure>();
  for (const target of all) {
    if (!selected.has(target.name)) continue;
    try {
      const { listings } = await pairProjectsWithRegions(deps.client, target, regionCache, deps.signal);
      targetKeys.set(
        target.name,
        listings.map((listing) => listingKey(target.service, listing.region, listing.projectId)),
      );
    } catch (error) {
      const code = errorCodeOf(error);
      if (deps.signal?.aborted || code === undefined) throw error;
      const key = `${target.service}/iam/${target.name}`;
      pairingFailures.set(key, { key, code, message: (error as Error).message.slice(0, 500) });
      targetKeys.set(target.name, [key]);
    }
  }
  const keysOf = (target: ResolvedTarget) => targetKeys.get(target.name) ?? combos(target);
  const keys = [...new Set([...targetKeys.values()].flat())].filter((key) => !pairingFailures.has(key));
  const { listings, failures } = await listAll(keys, deps);
  for (const [key, failure] of pairingFailures) failures.set(key, failure);

  // Every target is planned over what was listed (a resource's backups always come from one listing, so a
  // missing listing still gives exact decisions for the resources that were listed); its keeps veto other
  // targets' deletes. A target with a failed listing deletes nothing (see the module comment).
  const planned = all.map((target) => {
    const backups = keysOf(target).flatMap((key) => listings.get(key) ?? []);
    return {
      target,
      listed: backups.length,
      backups,
      failure: listingFailure(keysOf(target), failures),
      result: plan(backups, target, input.now, target.timezone),
    };
  });
  const keptAnywhere = new Set<string>();
  for (const { result } of planned) {
    for (const decision of result.decisions) {
      if (decision.action === 'keep') keptAnywhere.add(backupKey(decision.resource_key, decision.backup_id));
    }
  }

  const items: PlannedItem[] = [];
  const seen = new Set<string>();
  const targets: PlannedTarget[] = [];
  const refusals: Refusal[] = [];
  const listedIds = new Set<string>();
  for (const { target, listed, backups, failure, result } of planned) {
    if (!selected.has(target.name)) continue;
    if (input.collectListed === true) {
      for (const backup of backups) {
        listedIds.add(
          plannedDeletionId({
            service: backup.service,
            region: backup.region,
            projectId: backup.project_id,
            deleteId: backup.delete_id,
            itemId: backup.id,
          }),
        );
      }
    }
    // The copy the planner decided on when a listing repeats an id: the first in its newest-first order.
    const byKey = new Map<string, Backup>();
    for (const backup of backups) {
      const key = decisionKey(resourceKey(backup), backup.id);
      const other = byKey.get(key);
      if (other === undefined || compareNewestFirst(backup, other) < 0) byKey.set(key, backup);
    }
    let deletes = 0;
    let vetoed = 0;
    let bytes = 0;
    let candidates = 0;
    for (const decision of result.decisions as Decision[]) {
      const key = decisionKey(decision.resource_key, decision.backup_id);
      const backup = byKey.get(key);
      if (backup === undefined) continue;
      if (backup.state === 'finished' || backup.state === 'failed') candidates += 1;
      if (decision.action !== 'delete' || failure !== undefined) continue;
      if (keptAnywhere.has(backupKey(decision.resource_key, decision.backup_id))) {
        vetoed += 1;
        continue;
      }
      const ref = {
        service: backup.service,
        region: backup.region,
        projectId: backup.project_id,
        deleteId: backup.delete_id,
        itemId: backup.id,
      };
      const deletionId = plannedDeletionId(ref);
      if (seen.has(deletionId)) continue;
      seen.add(deletionId);
      deletes += 1;
      bytes += backup.size_bytes ?? 0;
      items.push({
        deletion_id: deletionId,
        service: backup.service,
        region: backup.region,
        project_id: backup.project_id,
        target: plannedTarget(ref),
        resource_id: backup.resource_id,
        backup_created_at: Math.max(0, backup.created_at),
        ...(backup.size_bytes === undefined ? {} : { size_bytes: backup.size_bytes }),
        reason: `${target.name}: ${decision.reasons.join(', ')}`,
      });
    }
    const { summary } = result;
    const limit = target.max_delete_share ?? input.defaultMaxDeleteShare ?? DEFAULT_MAX_DELETE_SHARE;
    const entry: PlannedTarget = {
      name: target.name,
      service: target.service,
      listed,
      inventory: summary.considered,
      kept: summary.kept + vetoed,
      planned: deletes,
      kept_by_other_target: vetoed,
      candidates,
      delete_share: summary.delete_share,
      max_delete_share: limit,
      planned_bytes: bytes,
      ...(failure === undefined ? {} : { failure }),
    };
    targets.push(entry);
    if (failure === undefined && summary.delete_share > limit) {
      refusals.push({
        target: target.name,
        delete_share: summary.delete_share,
        max_delete_share: limit,
        planned: summary.deleted,
        candidates,
      });
    }
  }
  return {
    summary: { version: 1, generated_at: input.now.toISOString(), targets },
    items,
    refusals,
    ...(input.collectListed === true ? { listed: listedIds } : {}),
  };
}
