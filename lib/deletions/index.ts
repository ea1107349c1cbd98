export * from './execute.ts';
export * from './upstream.ts';
