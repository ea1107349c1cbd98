/**
 * The queued worker's dependencies from the container runtime (lib/runtime.ts): the same Huawei client and
 * ledger as every function, the SQS sender for SWEEP_QUEUE_URL, the lane semaphore in the ledger's
 * DynamoDB table (in memory for the local ledger: one process only), and the sweep outcome notifier.
 */
import { SQSClient } from '../../aws-sdk.ts';
import type { Config } from '../../config.ts';
import { executeDeletion } from '../../deletions/execute.ts';
import { ConfigurationError } from '../../huawei/errors.ts';
import { logger } from '../../logger.ts';
import { notifierFor } from '../../notify/index.ts';
import { coordinationFor, type Runtime } from '../../runtime.ts';
import { adapters } from '../../services/index.ts';
import { credentialBreakersFor } from '../credential-breaker.ts';
import { ledgerPlanLookup } from '../step.ts';
import type { QueuedFanOut } from '../sweep.ts';
import { SWEEP_IDENTITY } from '../sweep.ts';
import { type MessageSender, queuedFanOut, sqsSender } from './enqueue.ts';
import type { LaneSemaphore } from './semaphore.ts';
import type { QueuedWorkerDeps } from './worker.ts';

const sqsClients = new Map<string, SQSClient>();

/** One SQS client per (endpoint, region), reused across invocations. */
export function sqsClientFor(cfg: Pick<Config, 'sqsEndpoint' | 'awsRegion'>): SQSClient {
  const key = `${cfg.sqsEndpoint ?? ''}|${cfg.awsRegion ?? ''}`;
  let client = sqsClients.get(key);
  if (client === undefined) {
    client = new SQSClient({
      ...(cfg.sqsEndpoint === undefined ? {} : { endpoint: cfg.sqsEndpoint }),
      ...(cfg.awsRegion === undefined ? {} : { region: cfg.awsRegion }),
    });
    sqsClients.set(key, client);
  }
  return client;
}

/** The sender for the sweep queue; ConfigurationError without SWEEP_QUEUE_URL. */
export function queueSenderFor(
  cfg: Pick<Config, 'sqsEndpoint' | 'awsRegion' | 'sweepQueueUrl'>,
): MessageSender {
  if (cfg.sweepQueueUrl === undefined)
    throw new ConfigurationError('SWEEP_QUEUE_URL is required for queued mode');
  return sqsSender({ client: sqsClientFor(cfg), queueUrl: cfg.sweepQueueUrl });
}

/** The lane semaphore for the configured ledger (lib/runtime.ts `coordinationFor`). */
export function laneSemaphoreFor(cfg: Config): LaneSemaphore {
  return coordinationFor(cfg).semaphore;
}

export function workerDepsFromRuntime(rt: Runtime): QueuedWorkerDeps {
  return {
    steps: {
      client: rt.client,
      ledger: rt.ledger,
      adapters,
      executeDeletion,
      now: Date.now,
      requestedBy: SWEEP_IDENTITY,
      credentialBreakers: credentialBreakersFor(rt.config),
    },
    planOf: ledgerPlanLookup(rt.ledger),
    semaphore: rt.laneSemaphore ?? laneSemaphoreFor(rt.config),
    completion: coordinationFor(rt.config).completion,
    sweepLock: rt.sweepLock,
    sender: queueSenderFor(rt.config),
    // The worker finishing a sweep's last item tells a person how it ended (SWEEP_NOTIFY_TOPIC_ARN).
    notifySweepOutcome: notifierFor(rt.config, { logger }),
  };
}

/**
 * The sweep's queue from configuration: none (inline) for SWEEP_MODE=inline or without SWEEP_QUEUE_URL;
 * lib/sweep/start.ts decides per plan under `auto`.
 */
export function sweepFanOutFor(cfg: Config): QueuedFanOut | undefined {
  return cfg.sweepQueueUrl === undefined || cfg.sweepMode === 'inline'
    ? undefined
    : queuedFanOut(queueSenderFor(cfg), coordinationFor(cfg).completion);
}
