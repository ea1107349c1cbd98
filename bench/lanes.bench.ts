/**
 * Lanes: how close the scheduler gets to the limit its caps allow, and what it costs per task.
 *
 * 1. Cap-bound throughput: 2,000 deletions across 4 CSBS projects (5 in flight each) with 100 ms latency
 *    on real timers. The caps allow 20 at a time, so the floor is 2,000 / 20 × 100 ms = 10 s; target ≤ 1.15×
 *    (issue 6's sweep target, here for the primitive alone, without HTTP).
 * 2. Overhead: 200,000 instant tasks across 4 lanes, and across 1,000 lanes under a global limit of 50
 *    (the round-robin scan), in tasks per second.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as wait } from 'node:timers/promises';
import { laneKey, limitOfLanes, runInLanes } from '../lib/sweep/lanes.ts';

const TARGET_RATIO = 1.15;

async function capBound(): Promise<number> {
  const projects = ['p1', 'p2', 'p3', 'p4'];
  const items = Array.from({ length: 2_000 }, (_, i) => laneKey('csbs', projects[i % projects.length]!));
  const latencyMs = 100;
  const floorMs = (items.length / (projects.length * 5)) * latencyMs;
  const started = performance.now();
  const results = await runInLanes(items, { laneOf: (lane) => lane, limitOf: limitOfLanes() }, () =>
    wait(latencyMs),
  );
  const elapsedMs = performance.now() - started;
  if (results.some((result) => result.status !== 'fulfilled')) throw new Error('a task failed');
  const ratio = elapsedMs / floorMs;
  console.log(
    `cap-bound: 2,000 tasks, 4 lanes × 5, 100 ms each: ${(elapsedMs / 1000).toFixed(2)} s ` +
      `(floor ${(floorMs / 1000).toFixed(2)} s) ratio ${ratio.toFixed(3)} (target ≤ ${TARGET_RATIO})`,
  );
  return ratio;
}

async function overhead(label: string, count: number, lanes: number, globalLimit?: number): Promise<void> {
  const items = Array.from({ length: count }, (_, i) => `lane-${i % lanes}`);
  const started = performance.now();
  await runInLanes(items, { laneOf: (lane) => lane, limitOf: () => 5, globalLimit }, async () => undefined);
  const elapsedMs = performance.now() - started;
  console.log(
    `overhead ${label}: ${count.toLocaleString('en')} instant tasks in ${elapsedMs.toFixed(0)} ms ` +
      `= ${Math.round(count / (elapsedMs / 1000)).toLocaleString('en')} tasks/s`,
  );
}

await overhead('warm-up', 50_000, 4);
await overhead('4 lanes', 200_000, 4);
await overhead('1,000 lanes, global 50', 200_000, 1_000, 50);
const ratio = await capBound();
if (ratio > TARGET_RATIO) {
  console.error(`FAIL: cap-bound ratio ${ratio.toFixed(3)} > ${TARGET_RATIO}`);
  process.exit(1);
}
