/**
 * Ledger write throughput: each deletion is begin → sent → accepted → done (4 conditional writes), run with
 * 50 concurrent callers, on the in-memory store, the journal file and DynamoDB Local. The sweep's 10,000
 * deletions need ~40,000 such writes; this shows what each store costs per deletion.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamoLedger, createMemoryLedger, type Ledger, openLocalLedger } from '../lib/ledger/index.ts';
import { startDynamoDbLocal } from '../test/helpers/dynamodb-local.ts';

const CONCURRENCY = 50;

async function lifecycle(ledger: Ledger, count: number, prefix = 'c'): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const { record, created } = await ledger.beginDeletion({
        service: 'csbs',
        region: 'eu-de',
        project_id: `project-${index % 4}`,
        target: { kind: 'checkpoint', provider_id: 'p', checkpoint_id: `${prefix}-${index}` },
        requested_by: { kind: 'sweep', principal: 'bench' },
        sweep_id: 'bench',
      });
      if (!created) throw new Error('duplicate begin');
      await ledger.transition(record.id, {
        from: ['requested'],
        to: 'sent',
        patch: { upstream_request_id: `u-${index}` },
      });
      await ledger.transition(record.id, { from: ['sent'], to: 'accepted' });
      await ledger.transition(record.id, { from: ['accepted'], to: 'done' });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - started;
}

function report(label: string, count: number, ms: number): void {
  console.log(
    `${label.padEnd(16)} ${String(count).padStart(6)} deletions  ${ms.toFixed(0).padStart(7)} ms  ` +
      `${((count * 4) / (ms / 1000)).toFixed(0).padStart(7)} writes/s  ${(ms / count).toFixed(3)} ms/deletion`,
  );
}

report('memory', 10_000, await lifecycle(createMemoryLedger(), 10_000));

const dir = await mkdtemp(join(tmpdir(), 'hwc-ledger-bench-'));
const local = await openLocalLedger(dir);
report('local file', 10_000, await lifecycle(local, 10_000));
await local.close();
await rm(dir, { recursive: true, force: true });

const dynamo = await startDynamoDbLocal();
try {
  const tableName = await dynamo.createLedgerTable();
  const ledger = createDynamoLedger({ tableName, client: dynamo.documentClient });
  await lifecycle(ledger, 200, 'warm'); // warm the JVM
  report('DynamoDB Local', 2_000, await lifecycle(ledger, 2_000));
  const listed = performance.now();
  const records = await ledger.listBySweep('bench');
  console.log(`listBySweep      ${records.length} records in ${(performance.now() - listed).toFixed(0)} ms`);
} finally {
  await dynamo.stop();
}
