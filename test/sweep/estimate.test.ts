import { describe, expect, it } from 'vitest';
import type { PlannedItem } from '../../lib/ledger/schema.ts';
import { chooseFanOut, DEFAULT_TASK_TIMES, estimateSweepMs } from '../../lib/sweep/estimate.ts';

function items(service: PlannedItem['service'], projectId: string, n: number): PlannedItem[] {
  return Array.from({ length: n }, (_, i) => ({
    deletion_id: `del_${service}_${projectId}_${i}`,
    service,
    region: 'ap-southeast-1',
    project_id: projectId,
    target: { kind: 'backup', backup_id: `b${i}` },
  }));
}

describe('estimateSweepMs', () => {
  it('is 0 for an empty plan', () => {
    expect(estimateSweepMs([])).toBe(0);
  });

  it('runs a CSBS lane in rounds of 5 slots, each a whole deletion', () => {
    // 12 items of one project: ceil(12 / 5) = 3 rounds of 300 s.
    expect(estimateSweepMs(items('csbs', 'p1', 12))).toBe(3 * DEFAULT_TASK_TIMES.csbs.slotMs);
  });

  it('adds the tracking tail once for services tracked outside their slot', () => {
    // 25 CBR items, lane limit 10: 3 rounds of 2 s, then the last deletion's 60 s of tracking.
    expect(estimateSweepMs(items('cbr', 'p1', 25))).toBe(3 * 2_000 + 60_000);
  });

  it('takes the longest lane, lanes running side by side', () => {
    const plan = [...items('csbs', 'p1', 5), ...items('csbs', 'p2', 10), ...items('dds', 'p1', 3)];
    expect(estimateSweepMs(plan)).toBe(2 * 300_000);
  });

  it('never beats the total slot time spread over a global limit', () => {
    const plan = [...items('csbs', 'p1', 5), ...items('csbs', 'p2', 5)];
    expect(estimateSweepMs(plan)).toBe(300_000);
    expect(estimateSweepMs(plan, { globalLimit: 5 })).toBe(600_000);
  });

  it('uses the lane limits and task times it is given', () => {
    expect(
      estimateSweepMs(items('csbs', 'p1', 4), {
        laneLimits: { default: 10, byService: { csbs: 2 } },
        taskTimes: { csbs: { slotMs: 1_000, tailMs: 0 } },
      }),
    ).toBe(2_000);
  });
});

describe('chooseFanOut', () => {
  it('runs inline under auto when the estimate fits the time left', () => {
    expect(chooseFanOut('auto', 60_000, 870_000)).toEqual({
      requested: 'auto',
      chosen: 'inline',
      estimated_ms: 60_000,
      budget_ms: 870_000,
      reason: 'estimated 60 s fits the 15 min left',
    });
  });

  it('queues under auto when the estimate exceeds the time left, even by a little', () => {
    const decision = chooseFanOut('auto', 870_001, 870_000);
    expect(decision.chosen).toBe('queued');
    expect(decision.reason).toBe('estimated 15 min exceeds the 15 min left');
  });

  it('runs inline under auto when the invocation has no deadline', () => {
    expect(chooseFanOut('auto', 10 ** 9, undefined)).toMatchObject({ chosen: 'inline', budget_ms: null });
  });

  it('does as told under inline and queued, whatever the estimate', () => {
    expect(chooseFanOut('queued', 0, 900_000).chosen).toBe('queued');
    expect(chooseFanOut('inline', 10 ** 9, 1_000).chosen).toBe('inline');
  });
});
