import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Decision, type PlanTarget, plan } from '../../lib/retention/planner.ts';
import { parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { adapters, type BackupServiceAdapter } from '../../lib/services/index.ts';
import { planSweep } from '../../lib/sweep/plan-sweep.ts';
import { plannedBackupId } from '../../lib/sweep/verify.ts';

/**
 * Listings that repeat ids — identical copies, copies at other times, copies that disagree on state, tags or
 * name — against the invariants: the plan does not depend on the listing's order, it decides each distinct
 * backup once, min_keep counts distinct backups, a conflicting id is kept, and the sweep's plan deletes exactly
 * what the planner says, item by item.
 */

const NOW = Date.parse('2026-11-27T00:00:00Z');
const HOUR = 3_600_000;
const REGION = 'r1';

const baseArbitrary = fc.array(
  fc.record({
    resource: fc.constantFrom('res-1', 'res-2'),
    hoursAgo: fc.integer({ min: 1, max: 24 * 90 }),
    state: fc.constantFrom('finished', 'finished', 'finished', 'failed', 'in_progress'),
    tags: fc.subarray(['a', 'hold=1']),
  }),
  { minLength: 1, maxLength: 25 },
);

/** How a copy differs from the backup it repeats. */
const copyArbitrary = fc.record({
  of: fc.nat(),
  change: fc.constantFrom('identical', 'identical', 'time', 'state', 'tags', 'name'),
  hoursAgo: fc.integer({ min: 1, max: 24 * 90 }),
});

const listingArbitrary = fc
  .tuple(baseArbitrary, fc.array(copyArbitrary, { maxLength: 12 }))
  .chain(([rows, copies]) => {
    const base = rows.map(
      (row, index): Backup => ({
        service: 'cbr',
        region: REGION,
        project_id: 'p1',
        id: `b${index}`,
        delete_id: `b${index}`,
        resource_id: row.resource,
        vault_id: 'vault-1',
        name: 'autobk',
        created_at: NOW - row.hoursAgo * HOUR,
        status: row.state,
        state: row.state as Backup['state'],
        manual: false,
        tags: row.tags,
      }),
    );
    const repeats = copies.map((copy): Backup => {
      const original = base[copy.of % base.length] as Backup;
      switch (copy.change) {
        case 'time':
          return { ...original, created_at: NOW - copy.hoursAgo * HOUR };
        case 'state':
          return { ...original, state: 'in_progress', status: 'protecting' };
        case 'tags':
          return { ...original, tags: [...original.tags, 'legal'] };
        case 'name':
          return { ...original, name: 'manual_keep' };
        default:
          return { ...original, tags: [...original.tags] };
      }
    });
    return fc.shuffledSubarray([...base, ...repeats], {
      minLength: base.length + repeats.length,
      maxLength: base.length + repeats.length,
    });
  });

const settingsArbitrary = fc.record({
  last: fc.integer({ min: 0, max: 4 }),
  daily: fc.integer({ min: 0, max: 5 }),
  min_keep: fc.integer({ min: 0, max: 6 }),
  max_age: fc.constantFrom(undefined, '10d', '30d'),
  failed_max_age: fc.constantFrom(undefined, '3d'),
});
type Settings = typeof settingsArbitrary extends fc.Arbitrary<infer T> ? T : never;

function policyOf(settings: Settings) {
  return parsePolicy({
    version: 1,
    defaults: {
      keep: { last: settings.last, daily: settings.daily, tags: [['legal']] },
      min_keep: settings.min_keep,
      protect: { tags: ['hold=*'], name_patterns: ['manual_*'] },
      allow_empty_keep: true,
      max_delete_share: 1,
      ...(settings.max_age === undefined ? {} : { max_age: settings.max_age }),
      ...(settings.failed_max_age === undefined ? {} : { failed_max_age: settings.failed_max_age }),
    },
    targets: [{ name: 't', service: 'cbr', projects: ['p1'], regions: [REGION] }],
  });
}

const targetOf = (settings: Settings) => resolveTargets(policyOf(settings))[0] as PlanTarget;
const describeDecisions = (decisions: readonly Decision[]) =>
  decisions.map((d) => `${d.resource_key} ${d.backup_id} ${d.action} ${d.reasons.join('|')}`).sort();
const identity = (backup: Backup) => backup.id;

/** Ids whose copies in the listing disagree on anything but the creation time. */
function conflicting(listing: readonly Backup[]): Set<string> {
  const first = new Map<string, Backup>();
  const out = new Set<string>();
  for (const backup of listing) {
    const seen = first.get(identity(backup));
    if (seen === undefined) first.set(identity(backup), backup);
    else if (
      seen.state !== backup.state ||
      seen.name !== backup.name ||
      [...seen.tags].sort().join() !== [...backup.tags].sort().join()
    ) {
      out.add(identity(backup));
    }
  }
  return out;
}

describe('plans over listings with repeats (fast-check)', () => {
  it('never depend on the order of the listing', () => {
    fc.assert(
      fc.property(listingArbitrary, settingsArbitrary, fc.context(), (listing, settings, ctx) => {
        const target = targetOf(settings);
        const forward = plan(listing, target, new Date(NOW));
        const backward = plan(listing.slice().reverse(), target, new Date(NOW));
        ctx.log(JSON.stringify(listing.map((b) => [b.id, b.created_at, b.state, b.tags, b.name])));
        expect(describeDecisions(backward.decisions)).toEqual(describeDecisions(forward.decisions));
        expect(backward.summary).toEqual(forward.summary);
      }),
      { numRuns: 700 },
    );
  });

  it('decide each distinct backup once, keep every conflicting id, and let min_keep count distinct backups', () => {
    fc.assert(
      fc.property(listingArbitrary, settingsArbitrary, (listing, settings) => {
        const { decisions, summary } = plan(listing, targetOf(settings), new Date(NOW));
        const distinct = new Set(listing.map(identity));
        expect(decisions.map((d) => d.backup_id).sort()).toEqual([...distinct].sort());
        expect(summary.considered).toBe(distinct.size);
        const byId = new Map(decisions.map((d) => [d.backup_id, d]));
        for (const id of conflicting(listing)) expect(byId.get(id)?.action).toBe('keep');
        // min_keep: per resource, at least min(min_keep, finished distinct) finished backups are kept.
        const finishedByResource = new Map<string, Set<string>>();
        for (const backup of listing) {
          if (backup.state !== 'finished') continue;
          const ids = finishedByResource.get(backup.resource_id) ?? new Set();
          ids.add(backup.id);
          finishedByResource.set(backup.resource_id, ids);
        }
        for (const ids of finishedByResource.values()) {
          const kept = [...ids].filter((id) => byId.get(id)?.action === 'keep').length;
          expect(kept).toBeGreaterThanOrEqual(Math.min(settings.min_keep, ids.size));
        }
      }),
      { numRuns: 700 },
    );
  });

  it('agree with the sweep item by item: the sweep plans exactly the deletions the planner decided', async () => {
    await fc.assert(
      fc.asyncProperty(listingArbitrary, settingsArbitrary, async (listing, settings) => {
        const policy = policyOf(settings);
        const fixed: BackupServiceAdapter = {
          ...adapters.cbr,
          async *listBackups() {
            yield* listing;
          },
        };
        const swept = await planSweep(
          { policy, now: new Date(NOW) },
          {
            client: { request: () => Promise.reject(new Error('no upstream call expected')) },
            adapters: { ...adapters, cbr: fixed },
          },
        );
        const planned = plan(listing, targetOf(settings), new Date(NOW));
        const deletes = planned.decisions.filter((d) => d.action === 'delete').map((d) => d.backup_id);
        expect(swept.items.map((item) => plannedBackupId(item)).sort()).toEqual(deletes.sort());
        expect(swept.summary.targets[0]).toMatchObject({
          planned: deletes.length,
          delete_share: planned.summary.delete_share,
        });
        expect(swept.refusals).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
