/**
 * Sweeps against the simulator with the notifier the scheduled sweep uses: exactly one message per outcome
 * worth a person (dry runs say nothing), each naming what happened.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { type SnsPublishInput, sweepNotifier } from '../../lib/notify/index.ts';
import { parsePolicy } from '../../lib/retention/policy.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import {
  fastDeps,
  projectsOf,
  REGION,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from '../sweep/sweep-fixture.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:hwc-retention-prod-alarms';
let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let published: SnsPublishInput[];

beforeEach(async () => {
  sim = await startSweepSimulator({ seed: 31, projects: 2 });
  client = sweepClient(sim);
  ledger = createMemoryLedger();
  published = [];
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

function deps() {
  return {
    ...fastDeps(sim, client, ledger),
    notifySweepOutcome: sweepNotifier({
      topicArn: TOPIC,
      publish: async (input) => {
        published.push(input);
      },
    }),
  };
}

describe('sweep outcome notices', () => {
  it('publishes one message per sweep: completed, then awaiting approval for a history hold, none for a dry run', async () => {
    const projects = projectsOf(sim);
    const generous = parsePolicy({
      version: 1,
      defaults: { keep: { last: 1000 }, max_delete_share: 0.95 },
      targets: [{ name: 'servers', service: 'csbs', projects, regions: [REGION] }],
    });
    const first = await runSweep({ policy: generous, sweepId: 'n1', dryRun: false, now: new Date() }, deps());
    expect(first.status).toBe('completed');
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: TOPIC,
      Subject: `hwc-retention: sweep completed, ${first.totals.deleted} deleted (n1)`,
    });

    const usual = parsePolicy({
      version: 1,
      defaults: { keep: { last: 3, monthly: 3 }, max_delete_share: 0.95 },
      targets: [{ name: 'servers', service: 'csbs', projects, regions: [REGION] }],
    });
    await runSweep({ policy: usual, sweepId: 'dry', dryRun: true, now: new Date() }, deps());
    expect(published).toHaveLength(1);

    const second = await runSweep({ policy: usual, sweepId: 'n2', dryRun: false, now: new Date() }, deps());
    expect(second.status).toBe('awaiting_approval');
    expect(published).toHaveLength(2);
    const approval = second.approval;
    if (approval?.status !== 'awaiting') throw new Error('n2 awaits no approval');
    const message = published[1];
    expect(message?.Subject).toBe('hwc-retention: history breaker held servers (n2)');
    expect(message?.Message).toContain(`plan hash: ${approval.plan_hash}`);
    expect(message?.Message).toContain(
      `POST /sweeps/${approval.sweep_id}/approve with {"plan_hash": "${approval.plan_hash}"}`,
    );
    expect(message?.Message).toMatch(
      /servers: HISTORY_BREAKER: \d+ planned deletions exceed max_delete_growth 3/,
    );
  });

  it('publishes the failures of a sweep whose listing failed, with their codes', async () => {
    sim.setFaults({
      seed: 3,
      services: { cbr: { operations: { listBackups: { serverErrorRate: 1, serverErrorStatuses: [500] } } } },
    });
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'failing', dryRun: false, now: new Date() },
      deps(),
    );
    expect(report.status).toBe('completed_with_failures');
    expect(published).toHaveLength(1);
    expect(published[0]?.Subject).toBe(
      'hwc-retention: sweep with failures: 0 failed, 0 skipped, 1 target failed (failing)',
    );
    expect(published[0]?.Message).toContain('vaults: LISTING UPSTREAM_UNAVAILABLE');
  });
});
