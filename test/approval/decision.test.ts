/**
 * The approval hook a sweep offers (lib/approval/decision.ts): a check that names a target holds that
 * target's deletions for approval while the other targets proceed, and the outcome notice is sent once.
 * Real sweeps against the simulator over loopback; what was sent is the simulator's log.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveSweep } from '../../lib/approval/approve.ts';
import type { ApprovalCheck, SweepOutcomeNotice } from '../../lib/approval/decision.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import { FleetSchema, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { fastDeps, sweepClient } from '../sweep/sweep-fixture.ts';
import { backupId, cbrFleet, PROJECT, REGION } from './fleet.ts';

// Two resources: b1…b6 of resource 1 (target `first`), b11…b16 of resource 2 (target `second`).
const NUMBERS = [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16];
const resourceOf = (n: number) => (n > 10 ? 2 : 1);
const resource = (r: number) => `9c8d7e6f-0000-4000-8000-${String(r).padStart(12, '0')}`;
const policyText = (extra = '') => `version: 1
${extra}targets:
  - name: first
    service: cbr
    projects: [${PROJECT}]
    regions: [${REGION}]
    filters: { resource_ids: [${resource(1)}] }
    keep: { last: 2 }
    max_delete_share: 1
  - name: second
    service: cbr
    projects: [${PROJECT}]
    regions: [${REGION}]
    filters: { resource_ids: [${resource(2)}] }
    keep: { last: 2 }
    max_delete_share: 1
`;

let sim: Simulator;
let ledger: Ledger;
const sent = () => [...sim.inspect().deleteAttempts().keys()].sort();
const ids = (numbers: readonly number[]) => numbers.map(backupId).sort();
const who = { kind: 'cli', principal: 'cli:test' } as const;

beforeEach(async () => {
  sim = await startSimulator({
    seed: 5,
    deletion: { csbsMs: 20, cbrMs: 20, ddsMs: 20 },
    fleet: FleetSchema.parse(cbrFleet(NUMBERS, resourceOf)),
  });
  ledger = createMemoryLedger();
});
afterEach(() => sim.close());
afterAll(() => closeHuaweiPools());

const breaker: ApprovalCheck = () => [
  { target: 'first', code: 'HISTORY_BREAKER', reason: 'its inventory shrank by 40% since the last sweep' },
];

describe('a sweep with a check that holds one target for approval', () => {
  it('stores that target’s deletions awaiting approval, runs the other target, and notifies once', async () => {
    const policy = loadPolicy(policyText(), 'policy.yaml');
    const notices: SweepOutcomeNotice[] = [];
    const report = await runSweep(
      { policy, dryRun: false, sweepId: 'mixed', now: new Date(), requestedBy: who },
      {
        ...fastDeps(sim, sweepClient(sim), ledger),
        approvalChecks: [breaker],
        notifySweepOutcome: async (notice) => {
          notices.push(notice);
        },
      },
    );
    expect(sent()).toEqual(ids([11, 12, 13, 14]));
    expect(report.status).toBe('completed');
    expect(report.targets.find((target) => target.name === 'first')?.approval).toMatchObject({
      code: 'HISTORY_BREAKER',
    });
    expect(report.approval).toMatchObject({
      status: 'awaiting',
      sweep_id: 'mixed.approval',
      items: 4,
      targets: [{ target: 'first', code: 'HISTORY_BREAKER' }],
    });
    const held = await ledger.getSweep('mixed.approval');
    expect(held?.sweep.status).toBe('awaiting_approval');
    expect(held?.items).toHaveLength(4);
    expect(notices.map((notice) => notice.kind)).toEqual(['awaiting_approval']);

    // Approving the held part deletes exactly it.
    const hash = report.approval?.plan_hash as string;
    const applied = await approveSweep(
      { sweepId: 'mixed.approval', planHash: hash, approvedBy: who, policy, now: new Date() },
      { ...fastDeps(sim, sweepClient(sim), ledger), approvalChecks: [breaker] },
    );
    expect(applied.status).toBe('completed');
    expect(sent()).toEqual(ids([1, 2, 3, 4, 11, 12, 13, 14]));
  });

  it('with approval.required on the policy and a target that opts out, holds only the other target', async () => {
    const policy = loadPolicy(
      policyText('approval: { required: true, expires_after: 2d }\n').replace(
        '  - name: second\n',
        '  - name: second\n    approval: { required: false }\n',
      ),
      'policy.yaml',
    );
    const now = new Date('2026-12-01T00:00:00Z');
    const report = await runSweep(
      { policy, dryRun: false, sweepId: 'opt-out', now, requestedBy: who },
      fastDeps(sim, sweepClient(sim), ledger),
    );
    expect(sent()).toEqual(ids([11, 12, 13, 14]));
    expect(report.approval).toMatchObject({
      status: 'awaiting',
      sweep_id: 'opt-out.approval',
      expires_at: '2026-12-03T00:00:00.000Z',
      targets: [{ target: 'first', code: 'POLICY_REQUIRES_APPROVAL' }],
    });
  });

  it('ends awaiting_approval with nothing sent when every target is held', async () => {
    const policy = loadPolicy(policyText('approval: { required: true }\n'), 'policy.yaml');
    const notices: SweepOutcomeNotice[] = [];
    const report = await runSweep(
      { policy, dryRun: false, sweepId: 'all-held', now: new Date(), requestedBy: who },
      {
        ...fastDeps(sim, sweepClient(sim), ledger),
        notifySweepOutcome: async (notice) => {
          notices.push(notice);
        },
      },
    );
    expect(report.status).toBe('awaiting_approval');
    expect(report.approval).toMatchObject({ status: 'awaiting', sweep_id: 'all-held', items: 8 });
    expect(report.plan_hash).toBe(report.approval?.plan_hash);
    expect(sent()).toEqual([]);
    expect((await ledger.getSweep('all-held'))?.sweep.status).toBe('awaiting_approval');
    expect(notices.map((notice) => notice.kind)).toEqual(['awaiting_approval']);
  });

  it('a failing notifier does not fail the sweep', async () => {
    const policy = loadPolicy(policyText(), 'policy.yaml');
    const report = await runSweep(
      { policy, dryRun: false, sweepId: 'loud', now: new Date(), requestedBy: who },
      {
        ...fastDeps(sim, sweepClient(sim), ledger),
        notifySweepOutcome: async () => {
          throw new Error('SNS is down');
        },
      },
    );
    expect(report.status).toBe('completed');
    expect(sent()).toHaveLength(8);
  });
});
