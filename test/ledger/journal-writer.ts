/**
 * A second process for the journal-lock specs: opens the local ledger in WRITER_JOB's dir, says `locked` (open),
 * waits for `go` on stdin, then deletes every CBR backup in WRITER_JOB through the simulator (executeDeletion),
 * prints `done <DELETEs sent>` and exits 0. A LedgerLockedError prints `refused <message>` and exits 3.
 */
import { createInterface } from 'node:readline';
import { executeDeletion } from '../../lib/deletions/execute.ts';
import { closeHuaweiPools, createHuaweiClient } from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { LedgerLockedError } from '../../lib/ledger/errors.ts';
import { openLocalLedger } from '../../lib/ledger/local.ts';
import { SWEEP_IDENTITY } from '../../lib/sweep/sweep.ts';

interface Job {
  readonly dir: string;
  readonly region: string;
  readonly projectId: string;
  readonly cbrUrl: string;
  readonly ak: string;
  readonly sk: string;
  readonly backupIds: readonly string[];
}

const job = JSON.parse(process.env.WRITER_JOB ?? '{}') as Job;

process.on('unhandledRejection', (error) => {
  process.stderr.write(`${error instanceof LedgerLockedError ? 'refused' : 'error'} ${String(error)}\n`);
  process.exit(3);
});
const ledger = await openLocalLedger(job.dir);
process.stdout.write('locked\n');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) if (line.trim() === 'go') break;

const client = createHuaweiClient({
  endpoints: createEndpointResolver({ overrides: { [overrideKey('cbr', job.region)]: job.cbrUrl } }),
  auth: createAkSkAuth(new StaticCredentials(job.ak, job.sk)),
});
let sent = 0;
for (const id of job.backupIds) {
  const outcome = await executeDeletion(
    {
      service: 'cbr',
      region: job.region,
      projectId: job.projectId,
      deleteId: id,
      itemId: id,
      requestedBy: SWEEP_IDENTITY,
    },
    { client, ledger },
  );
  if (outcome.kind !== 'skipped') sent++;
}
await ledger.close();
await closeHuaweiPools();
process.stdout.write(`done ${sent}\n`);
process.exit(0);
