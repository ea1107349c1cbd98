/**
 * Queued mode's cost of waiting for a lane: 1,000 CSBS checkpoint items of one project, 5 minutes per upstream
 * deletion, 5 in flight at a time (the CSBS cap) — about 17 simulated hours of work, most items waiting for a
 * slot for hours. The real worker (processQueuedBatch) runs every message against the simulator over loopback;
 * the queue is a discrete-event one on a virtual clock (a message's DelaySeconds moves it along that clock), and
 * the simulator's clock is advanced with it, so the run takes seconds.
 *
 * Counted per deletion:
 *   - waiting: the messages and writes spent because the lane was full (joining the waiting list and leaving
 *     it, the woken message and its hop claim, the lane's safety checks; a hand-over costs the one write the
 *     release costs anyway, so it counts as the release). Target ≤ 5 each; a message
 *     that re-sent itself every 2–4 s while waiting cost ~10,000 of each here.
 *   - total: every message and every write (ledger records, claims, slots, waiting list), polls included.
 * Writes are counted as the DynamoDB implementations make them (the in-memory twins have the same operations:
 * each acquire that takes or renews a slot, release, hand-over, claim, waiting-list put/delete, watch arm, and
 * each ledger beginDeletion/transition/putSweepPlan/finishSweep, and the completion counter).
 */

import { executeDeletion } from '../lib/deletions/execute.ts';
import { closeHuaweiPools, createHuaweiClient } from '../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../lib/huawei/endpoints.ts';
import { createMemoryLedger, type Ledger } from '../lib/ledger/index.ts';
import { parsePolicy } from '../lib/retention/policy.ts';
import { adapters } from '../lib/services/index.ts';
import { startSimulator } from '../lib/simulator/index.ts';
import { MemorySweepCompletion } from '../lib/sweep/queued/completion.ts';
import { type MessageSender, queuedFanOut } from '../lib/sweep/queued/enqueue.ts';
import { encodeMessage } from '../lib/sweep/queued/messages.ts';
import { type LaneSemaphore, MemoryLaneSemaphore } from '../lib/sweep/queued/semaphore.ts';
import { processQueuedBatch, type QueuedWorkerDeps } from '../lib/sweep/queued/worker.ts';
import { ledgerPlanLookup } from '../lib/sweep/step.ts';
import { runSweep, SWEEP_IDENTITY } from '../lib/sweep/sweep.ts';
import { MemorySweepLock } from '../lib/sweep/sweep-lock.ts';

const ITEMS = 1_000;
const DELETION_MS = 5 * 60_000;
const TARGET_PER_DELETION = 5;
const REGION = 'ap-southeast-1';

let virtualNow = Date.now();
const now = () => virtualNow;

const sim = await startSimulator({
  seed: 5,
  deletion: { csbsMs: DELETION_MS },
  maxRecordedRequests: 10,
  generate: {
    seed: 5,
    projects: 1,
    regions: [REGION],
    services: ['csbs'],
    resourcesPerProject: 50,
    backupsPerResource: ITEMS / 50,
    manualShare: 0,
    failedShare: 0,
    inProgressShare: 0,
  },
});
const projectId = [...sim.state.projects.keys()][0] as string;
const overrides: Record<string, string> = { [overrideKey('csbs', REGION)]: sim.baseUrl('csbs', REGION) };
const client = createHuaweiClient({
  endpoints: createEndpointResolver({ overrides }),
  auth: createAkSkAuth(new StaticCredentials(sim.credentials.ak, sim.credentials.sk)),
});

// --- counting -------------------------------------------------------------------------------------------
const writes = { total: 0, waiting: 0 };
let messages = { total: 0, waiting: 0 };
const LEDGER_WRITES = new Set(['beginDeletion', 'transition', 'putSweepPlan', 'finishSweep']);
function counted<T extends object>(target: T, isWrite: (name: string, result: unknown) => number): T {
  return new Proxy(target, {
    get(object, name, receiver) {
      const value = Reflect.get(object, name, receiver);
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
        writes.total += isWrite(String(name), result);
        return result;
      };
    },
  });
}
const ledger = counted<Ledger>(createMemoryLedger({ now }), (name) => (LEDGER_WRITES.has(name) ? 1 : 0));
const WAITING_OPS = new Set(['wait', 'unwait', 'armWatch', 'wake']);
const memorySemaphore = new MemoryLaneSemaphore({ now });
const semaphore = new Proxy(memorySemaphore, {
  get(object, name, receiver) {
    const value = Reflect.get(object, name, receiver);
    if (typeof value !== 'function') return value;
    return async (...args: unknown[]) => {
      const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
      let n = 0;
      switch (String(name)) {
        case 'acquire':
          n = (result as { ok: boolean }).ok ? 1 : 0;
          break;
        case 'wait':
          // The waiter row, then the re-check (a write only when it takes a slot).
          n = 1 + ((result as { ok: boolean }).ok ? 2 : 0);
          break;
        case 'armWatch':
          n = 1;
          break;
        case 'wake':
          n = (result as { payloads: string[] }).payloads.length;
          break;
        case 'releaseTo':
        case 'release':
        case 'claim':
        case 'unwait':
        case 'pause':
          n = 1;
          break;
      }
      writes.total += n;
      if (WAITING_OPS.has(String(name))) writes.waiting += n;
      return result;
    };
  },
}) as LaneSemaphore;
const completion = new MemorySweepCompletion();
const completionCounted = counted(completion, (name) => (name === 'finished' ? 2 : name === 'open' ? 1 : 0));

// --- a discrete-event queue on the virtual clock ----------------------------------------------------------
interface Delivery {
  readonly at: number;
  readonly sentAt: number;
  readonly seq: number;
  readonly body: string;
}
const pending: Delivery[] = [];
let seq = 0;
function push(delivery: Delivery) {
  // Binary insert by (at, seq).
  let lo = 0;
  let hi = pending.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const other = pending[mid] as Delivery;
    if (other.at < delivery.at || (other.at === delivery.at && other.seq < delivery.seq)) lo = mid + 1;
    else hi = mid;
  }
  pending.splice(lo, 0, delivery);
}
const sender: MessageSender = {
  async send(outgoing) {
    for (const entry of outgoing) {
      messages.total += 1;
      const message = entry.message;
      // A lane check, or a waiter's message sent back by a hand-over (its hop claim is a write of waiting too).
      if (message.kind === 'wake') messages.waiting += 1;
      else if (message.waiting_since !== undefined) {
        messages.waiting += 1;
        writes.waiting += 1;
      }
      push({
        at: virtualNow + entry.delaySeconds * 1000,
        sentAt: virtualNow,
        seq: seq++,
        body: encodeMessage(message),
      });
    }
    return [];
  },
};

const deps: QueuedWorkerDeps = {
  steps: {
    client,
    ledger,
    adapters,
    executeDeletion,
    now,
    requestedBy: SWEEP_IDENTITY,
  },
  planOf: ledgerPlanLookup(ledger),
  semaphore,
  sender,
  completion: completionCounted,
  sweepLock: new MemorySweepLock({ now }),
  now,
};

// The sweep: list, plan every item for deletion, enqueue 1,000 messages.
const policy = parsePolicy({
  version: 1,
  defaults: { keep: {}, allow_empty_keep: true, max_delete_share: 1 },
  targets: [{ name: 'servers', service: 'csbs', projects: [projectId], regions: [REGION] }],
});
const started = performance.now();
const report = await runSweep(
  { policy, sweepId: 'bench-queued', dryRun: false, now: new Date(virtualNow) },
  {
    client,
    ledger,
    fanOut: queuedFanOut(sender, completionCounted),
    clock: { now, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as never) },
  },
);
// The generated fleet puts a few neighbours' items into shared checkpoints: a little over 1,000 items.
const planned = report.totals.planned;
if (planned < ITEMS) throw new Error(`planned ${planned}, expected at least ${ITEMS}`);
// The sweep's own 1,000 messages are the fan-out, not waiting.
messages = { total: messages.total, waiting: 0 };

// --- run every message to the end ------------------------------------------------------------------------
let batches = 0;
let maxInFlight = 0;
while (pending.length > 0) {
  const due = (pending[0] as Delivery).at;
  if (due > virtualNow) {
    sim.advance(due - virtualNow);
    virtualNow = due;
  }
  let size = 0;
  while (size < 10 && size < pending.length && (pending[size] as Delivery).at === due) size += 1;
  const batch = pending.splice(0, size);
  batches += 1;
  const records = batch.map((delivery) => ({
    messageId: `m${delivery.seq}`,
    body: delivery.body,
    attributes: { SentTimestamp: String(delivery.sentAt) },
  }));
  const response = await processQueuedBatch(records, deps);
  if (response.batchItemFailures.length > 0) {
    // Redelivered after a 30 s visibility timeout, like SQS.
    for (const failure of response.batchItemFailures) {
      const delivery = batch.find((d) => `m${d.seq}` === failure.itemIdentifier) as Delivery;
      push({ ...delivery, at: virtualNow + 30_000, seq: seq++ });
    }
  }
  maxInFlight = Math.max(maxInFlight, memorySemaphore.holders(`csbs/${projectId}`).length);
}
const elapsed = performance.now() - started;

const stored = await ledger.getSweep('bench-queued');
const inspection = sim.inspect();
await sim.close();
await closeHuaweiPools();

const simulatedHours = (virtualNow - (stored?.sweep.created_at ?? virtualNow)) / 3_600_000;
const perDeletion = (n: number) => n / planned;
console.log(
  `queued, ${planned} CSBS items of one project, ${DELETION_MS / 60_000} min per deletion: ` +
    `${simulatedHours.toFixed(1)} simulated h in ${(elapsed / 1000).toFixed(1)} s (${batches} batches)`,
);
console.log(
  `  waiting per deletion: ${perDeletion(messages.waiting).toFixed(2)} messages, ` +
    `${perDeletion(writes.waiting).toFixed(2)} writes (target ≤ ${TARGET_PER_DELETION} each)`,
);
console.log(
  `  total per deletion:   ${perDeletion(messages.total + planned).toFixed(2)} messages, ` +
    `${perDeletion(writes.total).toFixed(2)} writes (fan-out, polls and ledger records included)`,
);
console.log(
  `  max CSBS deletions in flight upstream: ${inspection.maxConcurrentDeletionsByService.csbs[projectId] ?? 0}; ` +
    `report stored by the last worker: ${stored?.sweep.status === 'finished' ? 'yes' : 'NO'}`,
);

const failures: string[] = [];
if (perDeletion(messages.waiting) > TARGET_PER_DELETION) failures.push('waiting messages per deletion');
if (perDeletion(writes.waiting) > TARGET_PER_DELETION) failures.push('waiting writes per deletion');
if (stored?.sweep.status !== 'finished') failures.push('the sweep report was not stored');
if ((stored?.sweep.report as { totals?: { deleted?: number } } | undefined)?.totals?.deleted !== planned)
  failures.push('not every item was deleted');
if ((inspection.maxConcurrentDeletionsByService.csbs[projectId] ?? 0) > 5) failures.push('CSBS cap exceeded');
if (failures.length > 0) {
  console.error(`FAIL: ${failures.join('; ')}`);
  process.exit(1);
}
