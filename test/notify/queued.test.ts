/**
 * A queued sweep's notice, written from the report the finishing worker stores and the sweep's stored plan:
 * its status maps to a kind as an inline run's does (completed → completed, completed_with_failures →
 * failed), a running or unknown sweep says nothing, and a target whose listing failed is named by its code.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryLedger } from '../../lib/ledger/index.ts';
import { sweepOutcomeMessage } from '../../lib/notify/index.ts';
import { queuedSweepNotice } from '../../lib/notify/queued.ts';
import type { QueuedSweepReport } from '../../lib/sweep/queued/report.ts';
import { emptyCounts } from '../../lib/sweep/report.ts';

const STARTED = Date.parse('2026-12-01T02:00:00.000Z');
const UPSTREAM_TEXT = 'connection reset while talking to cbr with sk skFAKEsecretKEYvalue1234567890';

async function storedSweep() {
  const ledger = createMemoryLedger({ now: () => STARTED });
  const target = (name: string, service: 'csbs' | 'cbr', planned: number) => ({
    name,
    service,
    listed: planned + 2,
    kept: 2,
    planned,
    kept_by_other_target: 0,
    candidates: planned + 2,
    delete_share: planned / (planned + 2),
    max_delete_share: 0.9,
    planned_bytes: 0,
  });
  await ledger.putSweepPlan({
    sweep_id: 'q1',
    dry_run: false,
    requested_by: { kind: 'sweep', principal: 'schedule:nightly' },
    summary: {
      version: 1,
      generated_at: new Date(STARTED).toISOString(),
      targets: [
        target('servers', 'csbs', 2),
        {
          ...target('vaults', 'cbr', 0),
          failure: {
            stage: 'LISTING',
            code: 'UPSTREAM_UNAVAILABLE',
            message: UPSTREAM_TEXT,
            listings: [{ key: 'cbr/eu-west-101/p1', code: 'UPSTREAM_UNAVAILABLE', message: UPSTREAM_TEXT }],
          },
        },
      ],
    },
    items: ['a', 'b'].map((id) => ({
      deletion_id: `csbs_${id}`,
      service: 'csbs' as const,
      region: 'eu-west-101',
      project_id: 'p1',
      target: { kind: 'checkpoint' as const, provider_id: 'csbs', checkpoint_id: `cp-${id}` },
      reason: 'servers: not kept',
    })),
  });
  return ledger;
}

function queuedReport(status: QueuedSweepReport['status'], failed: number): QueuedSweepReport {
  const servers = {
    ...emptyCounts(),
    name: 'servers',
    listed: 4,
    kept: 2,
    planned: 2,
    deleted: 2 - failed,
    failed,
    failure_codes: (failed > 0 ? { UPSTREAM_UNAVAILABLE: failed } : {}) as Record<string, number>,
  };
  const vaults = { ...emptyCounts(), name: 'vaults', listed: 2, kept: 2 };
  const { name: _s, ...a } = servers;
  const { name: _v, ...b } = vaults;
  return {
    sweep_id: 'q1',
    mode: 'queued',
    status,
    totals: { ...a, listed: a.listed + b.listed, kept: a.kept + b.kept },
    targets: [servers, vaults],
  };
}

describe('queuedSweepNotice', () => {
  it('maps completed_with_failures to a failures notice naming the failed listing by its code only', async () => {
    const ledger = await storedSweep();
    const notice = await queuedSweepNotice(
      ledger,
      queuedReport('completed_with_failures', 1),
      STARTED + 90_000,
    );
    expect(notice?.kind).toBe('failed');
    expect(notice?.report).toMatchObject({
      sweep_id: 'q1',
      mode: 'queued',
      dry_run: false,
      started_at: '2026-12-01T02:00:00.000Z',
      finished_at: '2026-12-01T02:01:30.000Z',
      duration_ms: 90_000,
    });
    if (notice === undefined) throw new Error('no notice');
    const message = sweepOutcomeMessage(notice);
    expect(message.subject).toBe(
      'hwc-retention: sweep with failures: 1 failed, 0 skipped, 1 target failed (q1)',
    );
    expect(message.text).toContain('Failed deletions: 1 (UPSTREAM_UNAVAILABLE 1)');
    expect(message.text).toContain('vaults: LISTING UPSTREAM_UNAVAILABLE, 1 listing(s) failed');
    expect(message.text).not.toContain(UPSTREAM_TEXT);
    expect(message.text).not.toContain('skFAKE');
  });

  it('maps completed to a completed notice', async () => {
    const ledger = await storedSweep();
    const notice = await queuedSweepNotice(ledger, queuedReport('completed', 0), STARTED + 1_000);
    expect(notice?.kind).toBe('completed');
    expect(notice?.report.totals.deleted).toBe(2);
  });

  it('says nothing while the sweep runs, or for a sweep the ledger does not hold', async () => {
    const ledger = await storedSweep();
    expect(await queuedSweepNotice(ledger, queuedReport('running', 0), STARTED)).toBeUndefined();
    expect(
      await queuedSweepNotice(ledger, { ...queuedReport('completed', 0), sweep_id: 'gone' }, STARTED),
    ).toBeUndefined();
  });
});
