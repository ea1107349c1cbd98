/** The retention sweep: planning, the per-item steps both fan-out modes run, inline mode, the report. */
export * from './backoff.ts';
export * from './inline.ts';
export * from './lanes.ts';
export * from './plan-sweep.ts';
export * from './report.ts';
export * from './request.ts';
export * from './step.ts';
export * from './sweep.ts';
export * from './tracker.ts';
