/**
 * A queued sweep ends by itself: the worker that finishes the last item stores the report and publishes the
 * outcome notice (SNS, through aws-sdk-client-mock), exactly once each, even with three workers at once and
 * every message delivered twice. Real worker and steps against the simulator;
 * the queue is an in-memory one drained in rounds (a round delivers every queued message, each to two of
 * three concurrent batches; then the simulator's clock moves on a second).
 */
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.ts';
import { executeDeletion } from '../../../lib/deletions/execute.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../../lib/ledger/index.ts';
import { notifierFor } from '../../../lib/notify/index.ts';
import { adapters } from '../../../lib/services/index.ts';
import type { Simulator } from '../../../lib/simulator/index.ts';
import { MemorySweepCompletion } from '../../../lib/sweep/queued/completion.ts';
import { type MessageSender, queuedFanOut } from '../../../lib/sweep/queued/enqueue.ts';
import { encodeMessage } from '../../../lib/sweep/queued/messages.ts';
import { MemoryLaneSemaphore } from '../../../lib/sweep/queued/semaphore.ts';
import { processQueuedBatch, type QueuedWorkerDeps } from '../../../lib/sweep/queued/worker.ts';
import { ledgerPlanLookup } from '../../../lib/sweep/step.ts';
import { runSweep, SWEEP_IDENTITY } from '../../../lib/sweep/sweep.ts';
import { MemorySweepLock, policyLockKey } from '../../../lib/sweep/sweep-lock.ts';
import { fastDeps, startSweepSimulator, sweepClient, sweepPolicy } from '../sweep-fixture.ts';

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let finishCalls: number;
const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:hwc-retention-prod-alarms';
const sns = mockClient(SNSClient);

beforeEach(async () => {
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  sim = await startSweepSimulator({ seed: 37, projects: 1 });
  sim.advance(1_000);
  client = sweepClient(sim);
  const inner = createMemoryLedger();
  finishCalls = 0;
  ledger = new Proxy(inner, {
    get(target, name) {
      const value = Reflect.get(target, name, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (name === 'finishSweep') finishCalls += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  sns.restore();
  await closeHuaweiPools();
});

describe('a queued sweep ends by itself', () => {
  it('stores its report and publishes its notice once, from the worker that finished the last item, and ends the policy lock', async () => {
    let queue: { id: string; body: string; sentAt: number }[] = [];
    let sent = 0;
    const sender: MessageSender = {
      async send(messages) {
        for (const entry of messages)
          queue.push({ id: `m${sent++}`, body: encodeMessage(entry.message), sentAt: Date.now() });
        return [];
      },
    };
    const completion = new MemorySweepCompletion();
    const sweepLock = new MemorySweepLock();
    const policy = sweepPolicy(sim);
    const report = await runSweep(
      { policy, sweepId: 'q-finish', dryRun: false, now: new Date() },
      { ...fastDeps(sim, client, ledger), fanOut: queuedFanOut(sender, completion), sweepLock },
    );
    expect(report.status).toBe('queued');
    expect((await sweepLock.current(policyLockKey(policy)))?.leaseUntil).toBeGreaterThan(Date.now());
    const finishedBy: string[] = [];
    const deps: QueuedWorkerDeps = {
      steps: {
        client,
        ledger,
        adapters,
        executeDeletion,
        now: Date.now,
        requestedBy: SWEEP_IDENTITY,
        tracking: { baseMs: 10, capMs: 60, minDelayMs: 5 },
        retry: { busyDelayMs: 60, baseMs: 5, capMs: 50, maxAttempts: 40 },
      },
      planOf: ledgerPlanLookup(ledger),
      semaphore: new MemoryLaneSemaphore(),
      sender,
      completion,
      sweepLock,
      // As deployed (lib/sweep/queued/runtime.ts): the notifier of the configuration's topic.
      notifySweepOutcome: notifierFor(loadConfig({ SWEEP_NOTIFY_TOPIC_ARN: TOPIC, AWS_REGION: 'eu-west-1' })),
      onStep: (message, result) => {
        if (result.kind === 'sweep-finished') finishedBy.push(message.deletion_id);
      },
    };
    for (let round = 0; queue.length > 0; round++) {
      expect(round).toBeLessThan(400);
      const batch = queue;
      queue = [];
      const records = batch.map((message) => ({
        messageId: message.id,
        body: message.body,
        attributes: { SentTimestamp: String(message.sentAt) },
      }));
      // Three workers; every message goes to two of them.
      const lanes: (typeof records)[] = [[], [], []];
      records.forEach((record, index) => {
        lanes[index % 3]?.push(record);
        lanes[(index + 1) % 3]?.push(record);
      });
      const responses = await Promise.all(lanes.map((records) => processQueuedBatch(records, deps)));
      const failed = new Set(
        responses.flatMap((response) => response.batchItemFailures.map((f) => f.itemIdentifier)),
      );
      for (const message of batch) if (failed.has(message.id)) queue.push(message);
      sim.advance(1_000);
    }
    const stored = await ledger.getSweep('q-finish');
    expect(stored?.sweep.status).toBe('finished');
    expect(finishedBy).toHaveLength(1);
    expect(finishCalls).toBe(1);
    expect(stored?.sweep.report).toMatchObject({ status: 'completed', totals: { pending: 0 } });
    expect(stored?.sweep.report?.totals).toMatchObject({ deleted: report.totals.planned });
    expect(await sweepLock.current(policyLockKey(policy))).toEqual({ sweepId: 'q-finish', leaseUntil: 0 });
    // The sweep function's hand-over said nothing; the finisher's notice is the one message of the sweep.
    const published = sns
      .commandCalls(PublishCommand)
      .map((call) => call.args[0].input as PublishCommandInput);
    expect(published).toEqual([
      {
        TopicArn: TOPIC,
        Subject: `hwc-retention: sweep completed, ${report.totals.planned} deleted (q-finish)`,
        Message: expect.stringContaining('Sweep q-finish: completed (queued, '),
      },
    ]);
  }, 60_000);
});
