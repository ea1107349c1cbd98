import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SweepHistoryEntry, TargetHistory } from '../../lib/ledger/schema.ts';
import {
  DEFAULT_MAX_DELETE_GROWTH,
  DEFAULT_MAX_INVENTORY_DROP,
  judgeTargetHistory,
  median,
} from '../../lib/sweep/history-breaker.ts';

const NOW = new Date(Date.UTC(2026, 11, 2, 2, 0, 0));
const DAY = 24 * 60 * 60 * 1000;
const limits = { maxInventoryDrop: DEFAULT_MAX_INVENTORY_DROP, maxDeleteGrowth: DEFAULT_MAX_DELETE_GROWTH };

/** Finished sweeps, newest first: one per given entry of `servers`, a day apart. */
function history(...entries: (Omit<TargetHistory, 'name' | 'listed'> | undefined)[]): SweepHistoryEntry[] {
  return entries.map((entry, index) => ({
    sweep_id: `sweep-${index + 1}`,
    finished_at: NOW.getTime() - (index + 1) * DAY,
    outcome: 'completed',
    targets: entry === undefined ? [] : [{ name: 'servers', listed: entry.inventory, ...entry }],
  }));
}

const today = (inventory: number, planned: number) => ({ name: 'servers', inventory, planned });

describe('median', () => {
  it('takes the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 10])).toBe(3.5);
    expect(median([7])).toBe(7);
  });

  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('judgeTargetHistory', () => {
  it('leaves a first sweep (no history) to the static share', () => {
    expect(judgeTargetHistory(today(10, 9), [], limits, NOW)).toEqual({ held: false, basis: 'no_history' });
    // A history of other targets only is no history of this one.
    expect(judgeTargetHistory(today(10, 9), history(undefined, undefined), limits, NOW)).toEqual({
      held: false,
      basis: 'no_history',
    });
  });

  it('holds a target whose inventory dropped 40% since the last sweep, with the numbers', () => {
    // The last sweep left 100 - 0 = 100 in scope; today 60 are listed.
    const verdict = judgeTargetHistory(today(60, 2), history({ inventory: 100, planned: 0 }), limits, NOW);
    expect(verdict.held).toBe(true);
    if (!verdict.held) return;
    expect(verdict.hold).toMatchObject({
      code: 'HISTORY_BREAKER',
      checks: ['inventory_drop'],
      planned: 2,
      inventory: 60,
      baseline_inventory: 100,
      inventory_drop: 0.4,
      max_inventory_drop: 0.3,
      compared_sweeps: ['sweep-1'],
    });
    expect(verdict.hold.reason).toBe(
      'inventory dropped 40% (100 → 60 backups in scope) since sweep sweep-1 1d ago, more than max_inventory_drop 30%; 2 planned deletions held for approval',
    );
  });

  it('counts the last sweep`s own deletions as no drop', () => {
    // 100 in scope, 40 planned and deleted: 60 left, 60 listed today.
    expect(judgeTargetHistory(today(60, 2), history({ inventory: 100, planned: 40 }), limits, NOW)).toEqual({
      held: false,
      basis: 'history',
    });
  });

  it('lets a drop of exactly the limit through and holds one just above it', () => {
    expect(judgeTargetHistory(today(70, 1), history({ inventory: 100, planned: 0 }), limits, NOW).held).toBe(
      false,
    );
    expect(judgeTargetHistory(today(69, 1), history({ inventory: 100, planned: 0 }), limits, NOW).held).toBe(
      true,
    );
  });

  it('does not compare inventories when the last sweep left nothing in scope (zero previous inventory)', () => {
    const verdict = judgeTargetHistory(today(5, 2), history({ inventory: 0, planned: 0 }), limits, NOW);
    expect(verdict).toEqual({ held: false, basis: 'history' });
    const emptied = judgeTargetHistory(today(5, 2), history({ inventory: 3, planned: 3 }), limits, NOW);
    expect(emptied).toEqual({ held: false, basis: 'history' });
  });

  it('holds a target planning more than 3 × the median of the last 5 sweeps', () => {
    const past = history(
      { inventory: 100, planned: 4 },
      { inventory: 100, planned: 5 },
      { inventory: 100, planned: 100 },
      { inventory: 100, planned: 3 },
      { inventory: 100, planned: 5 },
      // The sixth is outside the window.
      { inventory: 100, planned: 1 },
    );
    expect(judgeTargetHistory(today(100, 15), past, limits, NOW).held).toBe(false);
    const verdict = judgeTargetHistory(today(100, 16), past, limits, NOW);
    expect(verdict.held).toBe(true);
    if (!verdict.held) return;
    expect(verdict.hold).toMatchObject({
      checks: ['delete_growth'],
      median_planned: 5,
      compared_sweeps: ['sweep-1', 'sweep-2', 'sweep-3', 'sweep-4', 'sweep-5'],
    });
    expect(verdict.hold.reason).toBe(
      '16 planned deletions exceed max_delete_growth 3 × the median 5 of the last 5 sweeps (at most 15); 16 planned deletions held for approval',
    );
  });

  it('takes the median of fewer than 5 sweeps, and of an even count as the mean of the middle two', () => {
    const two = history({ inventory: 100, planned: 2 }, { inventory: 100, planned: 4 });
    // median 3 → at most 9.
    expect(judgeTargetHistory(today(100, 9), two, limits, NOW).held).toBe(false);
    const verdict = judgeTargetHistory(today(100, 10), two, limits, NOW);
    expect(verdict.held && verdict.hold.median_planned).toBe(3);
  });

  it('floors the median at 1, so a quiet target may start deleting a few', () => {
    const quiet = history(...Array.from({ length: 5 }, () => ({ inventory: 20, planned: 0 })));
    expect(judgeTargetHistory(today(21, 3), quiet, limits, NOW).held).toBe(false);
    expect(judgeTargetHistory(today(21, 4), quiet, limits, NOW).held).toBe(true);
  });

  it('names both checks when both trip', () => {
    const verdict = judgeTargetHistory(today(50, 40), history({ inventory: 100, planned: 2 }), limits, NOW);
    expect(verdict.held && verdict.hold.checks).toEqual(['inventory_drop', 'delete_growth']);
  });

  it('never holds a target that plans no deletion', () => {
    expect(judgeTargetHistory(today(0, 0), history({ inventory: 100, planned: 0 }), limits, NOW)).toEqual({
      held: false,
      basis: 'history',
    });
  });

  it('compares with the last sweep that carried the target out, not with one that held it', () => {
    const past = history(
      { inventory: 60, planned: 5, held: true },
      { inventory: 100, planned: 2 },
      { inventory: 100, planned: 2 },
    );
    const verdict = judgeTargetHistory(today(61, 5), past, limits, NOW);
    expect(verdict.held && verdict.hold).toMatchObject({
      baseline_inventory: 98,
      compared_sweeps: ['sweep-2', 'sweep-3'],
    });
    expect(verdict.held && verdict.hold.reason).toContain('since sweep sweep-2 2d ago');
  });

  it('keeps holding a target held in every sweep read, unless the drop check is switched off', () => {
    const past = history(
      { inventory: 60, planned: 5, held: true },
      { inventory: 60, planned: 5, held: true },
    );
    const verdict = judgeTargetHistory(today(60, 5), past, limits, NOW);
    expect(verdict.held && verdict.hold.checks).toEqual(['held_before']);
    expect(judgeTargetHistory(today(60, 5), past, { ...limits, maxInventoryDrop: 1 }, NOW).held).toBe(false);
  });

  it('a history like today never holds (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 50 }),
        fc.integer({ min: 1, max: 8 }),
        (inventory, planned, sweeps) => {
          // Each night lists the same inventory and deletes the same count (new backups replace them).
          const past = history(...Array.from({ length: sweeps }, () => ({ inventory, planned })));
          const verdict = judgeTargetHistory(
            today(Math.max(0, inventory - planned) + planned, planned),
            past,
            limits,
            NOW,
          );
          return verdict.held === false;
        },
      ),
    );
  });
});
