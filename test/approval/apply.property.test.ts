/**
 * The review loop's invariant, for random approved plans and random changes between plan and apply: an
 * approved run sends DELETEs only for approved ∩ fresh-plan — and, the simulator being fault-free, for
 * exactly those. Real sweeps (runSweep, approveSweep) against the simulator over loopback; the fresh plan is
 * computed independently with planSweep over the changed fleet; what was sent is the simulator's log.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { approveSweep } from '../../lib/approval/approve.ts';
import { canonicalPlan, planHash } from '../../lib/approval/plan-hash.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createMemoryLedger } from '../../lib/ledger/index.ts';
import type { PlannedItem } from '../../lib/ledger/schema.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import { adapters } from '../../lib/services/index.ts';
import { FleetSchema, startSimulator } from '../../lib/simulator/index.ts';
import { planSweep } from '../../lib/sweep/plan-sweep.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { fastDeps, sweepClient } from '../sweep/sweep-fixture.ts';
import { cbrFleet, cbrPolicyYaml } from './fleet.ts';

afterAll(() => closeHuaweiPools());

const backupIds = (items: readonly PlannedItem[]) =>
  new Set(items.map((item) => (item.target.kind === 'backup' ? item.target.backup_id : item.deletion_id)));

async function fleetSimulator(numbers: readonly number[], resourceOf: (n: number) => number) {
  return startSimulator({
    seed: 3,
    deletion: { csbsMs: 20, cbrMs: 20, ddsMs: 20 },
    fleet: FleetSchema.parse(cbrFleet(numbers, resourceOf)),
  });
}

const APPROVER = { kind: 'cli', principal: 'cli:property' } as const;

describe('applying an approval', () => {
  it('deletes only approved ∩ fresh plan, whatever changed between plan and apply', async () => {
    // How often the generated cases sent something and skipped something: a property that never does either
    // checks nothing.
    const seen = { sent: 0, skipped: 0, notApproved: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 2, maxLength: 10 }),
        fc.func(fc.integer({ min: 1, max: 2 })),
        fc.uniqueArray(fc.integer({ min: 13, max: 16 }), { maxLength: 3 }),
        fc.infiniteStream(fc.boolean()),
        async (keepLast, initial, resource, added, removeFlags) => {
          const resourceOf = (n: number) => resource(n);
          const policy = loadPolicy(cbrPolicyYaml('vaults', keepLast), 'policy.yaml');
          const now = new Date();
          const ledger = createMemoryLedger();
          // Plan (a dry run stores it with its hash).
          const before = await fleetSimulator(initial, resourceOf);
          const dry = await runSweep(
            { policy, dryRun: true, sweepId: 'plan', now, requestedBy: APPROVER },
            fastDeps(before, sweepClient(before), ledger),
          );
          await before.close();
          const approved = (await ledger.getSweep('plan'))?.items ?? [];
          // Meanwhile: some backups deleted by hand, some new ones made.
          const flags = removeFlags.take(initial.length);
          const removed = new Set(initial.filter(() => flags.next().value === true));
          const after = await fleetSimulator(
            [...initial.filter((n) => !removed.has(n)), ...added],
            resourceOf,
          );
          try {
            const client = sweepClient(after);
            const fresh = await planSweep({ policy, now }, { client, adapters });
            const report = await approveSweep(
              { sweepId: 'plan', planHash: dry.plan_hash as string, approvedBy: APPROVER, policy, now },
              fastDeps(after, client, ledger),
            );
            const sent = new Set(after.inspect().deleteAttempts().keys());
            const approvedIds = backupIds(approved);
            const freshIds = backupIds(fresh.items);
            const allowed = [...approvedIds].filter((id) => freshIds.has(id));
            for (const id of sent) {
              expect(approvedIds.has(id), `${id} was not approved`).toBe(true);
              expect(freshIds.has(id), `${id} is not in the fresh plan`).toBe(true);
            }
            expect([...sent].sort()).toEqual(allowed.sort());
            if (sent.size > 0) seen.sent += 1;
            if (allowed.length < approvedIds.size) seen.skipped += 1;
            if ([...freshIds].some((id) => !approvedIds.has(id))) seen.notApproved += 1;
            expect(report.approval).toMatchObject({ approved: approvedIds.size, executed: allowed.length });
            if (report.approval?.status === 'approved')
              expect(report.approval.skipped).toHaveLength(approvedIds.size - allowed.length);
          } finally {
            await after.close();
          }
        },
      ),
      { numRuns: 25 },
    );
    expect(seen.sent).toBeGreaterThan(0);
    expect(seen.skipped).toBeGreaterThan(0);
    expect(seen.notApproved).toBeGreaterThan(0);
  }, 120_000);
});

describe('plan_hash', () => {
  const policy = loadPolicy(cbrPolicyYaml('vaults', 2), 'policy.yaml');
  const item = (n: number, createdAt = n * 1000): PlannedItem => ({
    deletion_id: `del_${String(n).padStart(4, '0')}`,
    service: 'cbr',
    region: 'ap-southeast-1',
    project_id: 'p',
    target: { kind: 'backup', backup_id: `b${n}` },
    backup_created_at: createdAt,
    reason: 'vaults: not kept',
  });

  it('is the same for the same items in any order, and changes with any item or the policy', () => {
    fc.assert(
      fc.property(
        fc
          .uniqueArray(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 20 })
          .chain((numbers) =>
            fc.tuple(fc.constant(numbers), fc.shuffledSubarray(numbers, { minLength: numbers.length })),
          ),
        fc.nat(),
        ([numbers, shuffled], pick) => {
          const items = numbers.map((n) => item(n));
          const hash = planHash(policy, items);
          expect(
            planHash(
              policy,
              shuffled.map((n) => item(n)),
            ),
          ).toBe(hash);
          const changed = numbers[pick % numbers.length] as number;
          const moved = numbers.map((n) => (n === changed ? item(n, n * 1000 + 1) : item(n)));
          expect(planHash(policy, moved)).not.toBe(hash);
          expect(planHash(policy, items.slice(1))).not.toBe(hash);
          const other = loadPolicy(cbrPolicyYaml('vaults', 3), 'policy.yaml');
          expect(planHash(other, items)).not.toBe(hash);
        },
      ),
    );
  });

  it('reads the policy as a document: the same policy written differently hashes the same', () => {
    const spaced = loadPolicy(`${cbrPolicyYaml('vaults', 2)}    max_age: 720h\n`, 'a.yaml');
    const days = loadPolicy(`${cbrPolicyYaml('vaults', 2)}    max_age: 30d\n`, 'b.yaml');
    const same = loadPolicy(`${cbrPolicyYaml('vaults', 2)}    max_age: " 720h "\n`, 'c.yaml');
    expect(canonicalPlan(spaced, [item(1)])).toBe(canonicalPlan(same, [item(1)]));
    expect(planHash(spaced, [item(1)])).not.toBe(planHash(days, [item(1)]));
  });
});
