export * from './execute.ts';
export * from './requests.ts';
export * from './responses.ts';
export * from './schemas.ts';
export * from './upstream.ts';
export * from './view.ts';
