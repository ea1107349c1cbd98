/**
 * At most once, as a property: over random interleavings of crash points, lost answers, answers that arrive
 * after the client gave up, 5xx before the service, and resumes at random times, against a simulated upstream
 * (in memory, CBR-like: DELETE 204 then a background deletion; show 404 once gone), no backup receives more than
 * one DELETE that reaches the service, and every record ends in a final state that matches upstream.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { executeDeletion, plannedDeletionId, plannedTarget } from '../../lib/deletions/execute.ts';
import type { HuaweiOperation, HuaweiResponse } from '../../lib/huawei/client.ts';
import { HuaweiApiError, HuaweiNetworkError } from '../../lib/huawei/errors.ts';
import { createMemoryLedger, type Ledger, type PlannedItem } from '../../lib/ledger/index.ts';
import { adapters, type HuaweiRequester } from '../../lib/services/index.ts';
import {
  pollPlannedDeletion,
  processPlannedDeletion,
  type StepDeps,
  type StepResult,
} from '../../lib/sweep/step.ts';

const HORIZON_MS = 10 * 60_000;
const DELETION_MS = 30_000;
const LATE_MS = 1_500;
const PROJECT = 'p'.repeat(32);
const REGION = 'ap-southeast-1';

type Fault = 'ok' | 'lost' | 'late' | 'unavailable' | 'crash';

class ProcessCrash extends Error {}

interface SimBackup {
  status: 'available' | 'deleting' | 'gone';
  goneAt?: number;
  landsAt?: number;
  reached: number;
}

/** The simulated upstream: one CBR-like service, its clock, and the faults each DELETE meets in turn. */
class Upstream implements HuaweiRequester {
  readonly backups = new Map<string, SimBackup>();
  now = 1_800_000_000_000;
  onCrash: () => void = () => undefined;
  constructor(readonly faults: Fault[]) {}

  tick(): void {
    for (const backup of this.backups.values()) {
      if (backup.landsAt !== undefined && backup.landsAt <= this.now) {
        backup.landsAt = undefined;
        this.apply(backup);
      }
      if (backup.status === 'deleting' && (backup.goneAt ?? 0) <= this.now) backup.status = 'gone';
    }
  }

  private apply(backup: SimBackup): void {
    backup.reached += 1;
    if (backup.status === 'available') {
      backup.status = 'deleting';
      backup.goneAt = this.now + DELETION_MS;
    }
  }

  async request<S extends z.ZodType>(op: HuaweiOperation, schema: S): Promise<HuaweiResponse<z.output<S>>> {
    this.tick();
    const id = op.pathSegments.at(-1) as string;
    const backup = this.backups.get(id);
    const context = { service: op.service, operation: op.operation };
    const notFound = () =>
      HuaweiApiError.fromResponse({ ...context, status: 404, errorCode: 'CSBS.3001', requestId: 'r' });
    if (op.method === 'GET') {
      if (backup === undefined || backup.status === 'gone') throw notFound();
      return respond(schema, { backup: backupBody(id, backup.status) });
    }
    const fault = this.faults.shift() ?? 'ok';
    if (fault === 'unavailable') {
      throw HuaweiApiError.fromResponse({ ...context, status: 503, errorCode: 'APIG.0203' });
    }
    if (fault === 'late') {
      // Reaches the service after the client gave up.
      if (backup !== undefined) backup.landsAt = this.now + LATE_MS;
      throw new HuaweiNetworkError(context, 'response headers timeout after 1 attempt(s)');
    }
    if (backup === undefined || backup.status === 'gone') {
      if (backup !== undefined) backup.reached += 1;
      throw notFound();
    }
    this.apply(backup);
    if (fault === 'lost')
      throw new HuaweiNetworkError(context, 'network error UND_ERR_SOCKET after 1 attempt(s)');
    if (fault === 'crash') this.onCrash();
    return respond(schema, undefined);
  }
}

function respond<S extends z.ZodType>(schema: S, body: unknown): HuaweiResponse<z.output<S>> {
  return { status: body === undefined ? 204 : 200, body: schema.parse(body), requestId: 'r', headers: {} };
}

function backupBody(id: string, status: string) {
  return {
    id,
    created_at: '2026-01-01T00:00:00Z',
    status,
    resource_id: 'vol-1',
  };
}

/** A ledger that dies with its process: after a crash every write throws. */
function mortal(ledger: Ledger): { ledger: Ledger; kill: () => void } {
  let dead = false;
  const guard = <T>(run: () => Promise<T>): Promise<T> =>
    dead ? Promise.reject(new ProcessCrash('the process died')) : run();
  return {
    kill: () => {
      dead = true;
    },
    ledger: {
      beginDeletion: (input) => guard(() => ledger.beginDeletion(input)),
      transition: (id, request) => guard(() => ledger.transition(id, request)),
      get: (id) => guard(() => ledger.get(id)),
      listBySweep: (id) => ledger.listBySweep(id),
      putSweepPlan: (plan) => ledger.putSweepPlan(plan),
      getSweep: (id) => ledger.getSweep(id),
      finishSweep: (id, report) => ledger.finishSweep(id, report),
      recentSweeps: (key, limit) => ledger.recentSweeps(key, limit),
    },
  };
}

function plannedItem(backupId: string): PlannedItem {
  const ref = {
    service: 'cbr' as const,
    region: REGION,
    projectId: PROJECT,
    deleteId: backupId,
    itemId: backupId,
  };
  return {
    deletion_id: plannedDeletionId(ref),
    service: 'cbr',
    region: REGION,
    project_id: PROJECT,
    target: plannedTarget(ref),
  };
}

/** One run of the sweep's steps over every unfinished item, in the given order, until it ends or crashes. */
async function run(
  items: readonly PlannedItem[],
  order: readonly number[],
  upstream: Upstream,
  store: Ledger,
  finished: Set<string>,
): Promise<void> {
  const process = mortal(store);
  upstream.onCrash = process.kill;
  const deps: StepDeps = {
    client: upstream,
    ledger: process.ledger,
    adapters,
    executeDeletion,
    now: () => upstream.now,
    requestedBy: { kind: 'sweep', principal: 'sweep:property' },
    staleAfterMs: HORIZON_MS,
    tracking: { baseMs: 1_000, capMs: 10_000, minDelayMs: 500, random: () => 0.5 },
    retry: { maxAttempts: 50, baseMs: 1_000, capMs: 10_000, busyDelayMs: 1_000, random: () => 0.5 },
  };
  const byId = new Map(items.map((item) => [item.deletion_id, item]));
  try {
    for (const index of order) {
      const item = items[index % items.length] as PlannedItem;
      if (finished.has(item.deletion_id)) continue;
      let result: StepResult = await processPlannedDeletion(
        { sweep_id: 'prop', deletion_id: item.deletion_id },
        (id) => byId.get(id),
        deps,
      );
      for (let steps = 0; steps < 40 && result.kind !== 'finished'; steps++) {
        if (result.kind === 'throttled') throw new Error('nothing throttles here');
        upstream.now += result.delayMs;
        upstream.tick();
        result =
          result.kind === 'track'
            ? await pollPlannedDeletion(
                { sweep_id: 'prop', deletion_id: item.deletion_id, tracking: result.tracking },
                (id) => byId.get(id),
                deps,
              )
            : await processPlannedDeletion(
                { sweep_id: 'prop', deletion_id: item.deletion_id, attempt: result.attempt },
                (id) => byId.get(id),
                deps,
              );
      }
      if (result.kind === 'finished' && result.outcome.status !== 'pending') finished.add(item.deletion_id);
    }
  } catch (error) {
    if (!(error instanceof ProcessCrash)) throw error;
  }
}

describe('the deletion lifecycle (property)', () => {
  it('sends at most one DELETE that reaches upstream per backup, and ends every record final and true', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.constantFrom<Fault>('ok', 'lost', 'late', 'unavailable', 'crash'), { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 2 * HORIZON_MS }), { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(7), { minLength: 1, maxLength: 8 }),
        async (count, faults, pauses, order) => {
          const upstream = new Upstream([...faults]);
          const ids = Array.from(
            { length: count },
            (_, index) => `0000000${index}-0000-4000-8000-000000000000`,
          );
          for (const id of ids) upstream.backups.set(id, { status: 'available', reached: 0 });
          const items = ids.map(plannedItem);
          const store = createMemoryLedger({ now: () => upstream.now });
          const finished = new Set<string>();
          // Resumes at random times with the faults in play, then quiet resumes past the horizon.
          const everyItem = items.map((_, index) => index);
          for (const pause of pauses) {
            await run(items, [...order, ...everyItem], upstream, store, finished);
            upstream.now += pause;
            upstream.tick();
          }
          upstream.faults.length = 0;
          for (let quiet = 0; quiet < 4 && finished.size < items.length; quiet++) {
            upstream.now += HORIZON_MS + 1;
            upstream.tick();
            await run(items, everyItem, upstream, store, finished);
          }
          upstream.now += DELETION_MS;
          upstream.tick();
          for (const id of ids) expect(upstream.backups.get(id)?.reached ?? 0).toBeLessThanOrEqual(1);
          for (const item of items) {
            const record = await store.get(item.deletion_id);
            const backup = upstream.backups.get(item.target.kind === 'backup' ? item.target.backup_id : '');
            expect(record?.status).toBe('done');
            expect(backup?.status).toBe('gone');
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
