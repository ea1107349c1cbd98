/**
 * The queued sweep's delete-worker: an SQS event source (ReportBatchItemFailures) running one step per message
 * (lib/sweep/queued/worker.ts). Returns `{ batchItemFailures }`: only the messages listed there come back.
 */
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy from '@middy/core';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logger } from '../lib/logger.ts';
import { runtime } from '../lib/runtime.ts';
import { workerDepsFromRuntime } from '../lib/sweep/queued/runtime.ts';
import { processQueuedBatch, type QueuedWorkerDeps } from '../lib/sweep/queued/worker.ts';

/** The handler over given dependencies (tests inject a local queue, ledger and simulator client). */
export function createDeleteWorkerHandler(load: () => Promise<QueuedWorkerDeps>) {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .handler(async (event) => {
      const deps = await load();
      const response = await processQueuedBatch(event.Records, deps);
      if (response.batchItemFailures.length > 0) {
        logger.info('delete-worker batch', {
          received: event.Records.length,
          redeliver: response.batchItemFailures.length,
        });
      }
      return response;
    });
}

let shared: QueuedWorkerDeps | undefined;

export const handler = createDeleteWorkerHandler(async () => {
  if (shared === undefined) shared = { ...workerDepsFromRuntime(await runtime()), logger };
  return shared;
});
