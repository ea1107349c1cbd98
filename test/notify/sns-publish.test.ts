/**
 * The SNS publisher behind the sweep outcome notices, checked with aws-sdk-client-mock on the SDK's own
 * SNSClient (lib/aws-sdk.ts constructs the real class, so the mock sees every Publish): one Publish per
 * outcome worth a person, to the configured topic, nothing for a dry run, no secret in it, and a Publish that
 * fails or hangs costs the notice only — never the sweep, never more than the bound.
 */
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BUDGETS } from '../../lib/budgets.ts';
import { loadConfig } from '../../lib/config.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { notifierFor, notifySweepOutcome, snsClientFor, snsPublisher } from '../../lib/notify/index.ts';
import { parsePolicy } from '../../lib/retention/policy.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { emptyCounts } from '../../lib/sweep/report.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { fastDeps, projectsOf, REGION, startSweepSimulator, sweepClient } from '../sweep/sweep-fixture.ts';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:hwc-retention-prod-alarms';
const FAKE = {
  ak: 'AKFAKEACCESSKEY0000',
  sk: 'skFAKEsecretKEYvalue1234567890',
  token: 'tokFAKEsecurityTOKEN987654321',
};
/** A deployed configuration holding fake credentials, with the notice topic. */
const cfg = loadConfig({
  HUAWEICLOUD_SDK_AK: FAKE.ak,
  HUAWEICLOUD_SDK_SK: FAKE.sk,
  HUAWEICLOUD_SDK_SECURITY_TOKEN: FAKE.token,
  POLICY_FILE: 'policies/prod.yaml',
  SWEEP_NOTIFY_TOPIC_ARN: TOPIC,
  AWS_REGION: 'eu-west-1',
});

const sns = mockClient(SNSClient);
const publishes = () =>
  sns.commandCalls(PublishCommand).map((call) => call.args[0].input as PublishCommandInput);

beforeEach(() => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
});
afterAll(() => {
  sns.restore();
});

function completedNotice() {
  const counts = { ...emptyCounts(), listed: 10, kept: 6, planned: 4, deleted: 4 };
  return {
    kind: 'completed' as const,
    report: {
      sweep_id: 'n1',
      status: 'completed' as const,
      dry_run: false,
      resumed: false,
      mode: 'inline' as const,
      started_at: '2026-12-01T02:00:00.000Z',
      finished_at: '2026-12-01T02:01:00.000Z',
      duration_ms: 60_000,
      totals: counts,
      targets: [],
    },
  };
}

describe('snsPublisher', () => {
  it('sends one Publish with the topic, subject and message through the SDK client', async () => {
    const result = await notifySweepOutcome(completedNotice(), { topicArn: TOPIC, region: 'eu-west-1' });
    expect(result.sent).toBe('sns');
    expect(publishes()).toEqual([
      {
        TopicArn: TOPIC,
        Subject: 'hwc-retention: sweep completed, 4 deleted (n1)',
        Message: expect.stringContaining('Sweep n1: completed (inline'),
      },
    ]);
  });

  it('bounds the client: few attempts, per-request timeouts that throw, one client per region', async () => {
    const client = snsClientFor({ region: 'eu-central-1' });
    expect(snsClientFor({ region: 'eu-central-1' })).toBe(client);
    expect(client).toBeInstanceOf(SNSClient);
    expect(await client.config.maxAttempts()).toBe(BUDGETS.notifyMaxAttempts);
    expect(BUDGETS.notifyMaxAttempts * BUDGETS.notifyRequestTimeoutMs).toBeLessThan(
      BUDGETS.notifyPublishMaxMs,
    );
  });

  it('reports a Publish that throws as failed, and throws nothing', async () => {
    sns.on(PublishCommand).rejects(Object.assign(new Error('Topic does not exist'), { name: 'NotFound' }));
    const warnings: string[] = [];
    const result = await notifySweepOutcome(completedNotice(), {
      topicArn: TOPIC,
      logger: { info: () => undefined, warn: (message) => warnings.push(String(message)) },
    });
    expect(result).toMatchObject({ sent: 'failed', error: 'NotFound: Topic does not exist' });
    expect(warnings).toEqual(['could not publish the sweep outcome notice']);
  });

  describe('a Publish that never answers', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    it('is abandoned after notifyPublishMaxMs, and its request aborted', async () => {
      sns.on(PublishCommand).callsFake(() => new Promise(() => undefined));
      // The SDK's send(command, options) receives the abort signal the bound fires.
      const send = vi.spyOn(SNSClient.prototype, 'send');
      let settled: Awaited<ReturnType<typeof notifySweepOutcome>> | undefined;
      const pending = notifySweepOutcome(completedNotice(), { topicArn: TOPIC }).then((result) => {
        settled = result;
      });
      await vi.advanceTimersByTimeAsync(BUDGETS.notifyPublishMaxMs - 1);
      expect(settled).toBeUndefined();
      const aborted = (send.mock.calls[0]?.[1] as { abortSignal?: AbortSignal } | undefined)?.abortSignal;
      expect(aborted?.aborted).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await pending;
      expect(settled).toMatchObject({
        sent: 'failed',
        error: `PublishTimeoutError: SNS Publish did not answer within ${BUDGETS.notifyPublishMaxMs} ms`,
      });
      expect(aborted?.aborted).toBe(true);
      expect(publishes()).toHaveLength(1);
      send.mockRestore();
    });
  });
});

describe('a Publish at the invocation deadline', () => {
  it('is abandoned when the call deadline fires first, and its request aborted', async () => {
    sns.on(PublishCommand).callsFake(() => new Promise(() => undefined));
    const send = vi.spyOn(SNSClient.prototype, 'send');
    try {
      const deadline = new AbortController();
      const pending = notifySweepOutcome(completedNotice(), { topicArn: TOPIC, signal: deadline.signal });
      await vi.waitFor(() => expect(publishes()).toHaveLength(1));
      deadline.abort();
      expect(await pending).toMatchObject({
        sent: 'failed',
        error: 'PublishTimeoutError: the invocation reached its deadline during the Publish',
      });
      const options = send.mock.calls[0]?.[1] as { abortSignal?: AbortSignal } | undefined;
      expect(options?.abortSignal?.aborted).toBe(true);
    } finally {
      send.mockRestore();
    }
  });

  it('is not sent when the deadline has passed already', async () => {
    const result = await notifySweepOutcome(completedNotice(), {
      topicArn: TOPIC,
      signal: AbortSignal.abort(),
    });
    expect(result).toMatchObject({
      sent: 'failed',
      error: 'PublishTimeoutError: the invocation reached its deadline before the Publish',
    });
    expect(publishes()).toEqual([]);
  });
});

describe('sweeps publishing their outcome to SNS', () => {
  let sim: Simulator;
  let client: HuaweiClient;
  let ledger: Ledger;

  beforeEach(async () => {
    sim = await startSweepSimulator({ seed: 31, projects: 2 });
    client = sweepClient(sim);
    ledger = createMemoryLedger();
  });
  afterEach(async () => {
    await sim.close();
  });
  afterAll(async () => {
    await closeHuaweiPools();
  });

  const policy = (keep: Record<string, number>) =>
    parsePolicy({
      version: 1,
      defaults: { keep, max_delete_share: 0.95 },
      targets: [{ name: 'servers', service: 'csbs', projects: projectsOf(sim), regions: [REGION] }],
    });

  it('publishes completed, nothing for a dry run, then awaiting approval with the hash and how to approve', async () => {
    const deps = { ...fastDeps(sim, client, ledger), notifySweepOutcome: notifierFor(cfg) };
    const first = await runSweep(
      { policy: policy({ last: 1000 }), sweepId: 'n1', dryRun: false, now: new Date() },
      deps,
    );
    expect(first.status).toBe('completed');
    expect(publishes()).toEqual([
      {
        TopicArn: TOPIC,
        Subject: `hwc-retention: sweep completed, ${first.totals.deleted} deleted (n1)`,
        Message: expect.stringContaining(`Sweep n1: completed`),
      },
    ]);

    const usual = policy({ last: 3, monthly: 3 });
    const dry = await runSweep({ policy: usual, sweepId: 'dry', dryRun: true, now: new Date() }, deps);
    expect(dry.totals.planned).toBeGreaterThan(0);
    expect(publishes()).toHaveLength(1);

    const second = await runSweep({ policy: usual, sweepId: 'n2', dryRun: false, now: new Date() }, deps);
    expect(second.status).toBe('awaiting_approval');
    const approval = second.approval;
    if (approval?.status !== 'awaiting') throw new Error('n2 awaits no approval');
    expect(publishes()).toHaveLength(2);
    const awaiting = publishes()[1];
    expect(awaiting?.TopicArn).toBe(TOPIC);
    expect(awaiting?.Subject).toBe('hwc-retention: history breaker held servers (n2)');
    expect(awaiting?.Message).toContain(`plan hash: ${approval.plan_hash}`);
    expect(awaiting?.Message).toContain(
      `POST /sweeps/${approval.sweep_id}/approve with {"plan_hash": "${approval.plan_hash}"}`,
    );
    expect(awaiting?.Message).toContain(
      `npm run sweep -- --sweep ${approval.sweep_id} --approve ${approval.plan_hash} --policy policies/prod.yaml`,
    );
    const sent = JSON.stringify(publishes());
    for (const value of Object.values(FAKE)) expect(sent).not.toContain(value);
  });

  it('finishes the sweep when the Publish throws', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError: not authorized to perform SNS:Publish'));
    const report = await runSweep(
      { policy: policy({ last: 1000 }), sweepId: 'denied', dryRun: false, now: new Date() },
      { ...fastDeps(sim, client, ledger), notifySweepOutcome: notifierFor(cfg) },
    );
    expect(report.status).toBe('completed');
    expect(publishes()).toHaveLength(1);
    expect((await ledger.getSweep('denied'))?.sweep.status).toBe('finished');
  });

  it('finishes the sweep when the Publish hangs, the notice abandoned at its bound', async () => {
    sns.on(PublishCommand).callsFake(() => new Promise(() => undefined));
    const results: string[] = [];
    const report = await runSweep(
      { policy: policy({ last: 1000 }), sweepId: 'hanging', dryRun: false, now: new Date() },
      {
        ...fastDeps(sim, client, ledger),
        notifySweepOutcome: async (notice) => {
          const result = await notifySweepOutcome(notice, {
            topicArn: TOPIC,
            // The bound shortened so the test need not wait 2 s; the default's firing is shown above.
            publish: snsPublisher({ publishMaxMs: 20 }),
          });
          results.push(result.sent);
        },
      },
    );
    expect(report.status).toBe('completed');
    expect(results).toEqual(['failed']);
    expect(publishes()).toHaveLength(1);
  });
});
