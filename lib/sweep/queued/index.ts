/** Queued fan-out: SQS messages, the sender, the cross-invocation lane semaphore, the worker, the report. */
export * from './completion.ts';
export * from './enqueue.ts';
export * from './messages.ts';
export * from './report.ts';
export * from './semaphore.ts';
export * from './worker.ts';
