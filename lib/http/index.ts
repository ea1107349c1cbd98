export * from './error-response.ts';
export * from './errors.ts';
export * from './middleware.ts';
export * from './project-allowlist.ts';
export * from './request-context.ts';
export * from './responses.ts';
export * from './validation.ts';
