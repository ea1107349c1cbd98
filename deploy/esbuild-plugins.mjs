/**
 * esbuild plugins of the function bundles (serverless.yml `custom.esbuild.plugins`; the cold-start bench and
 * test/deploy/lazy-sdk.test.ts build with them too).
 *
 * `lazyPowertoolsParameters`: Powertools Parameters' providers are loaded with `await import(...)` on their
 * first read (lib/huawei/credentials.ts, lib/sweep/policy-source.ts) so that a cold start does not load the
 * AWS SDK client behind them. Bundled as ES modules that would not hold: esbuild inlines the provider, and an
 * ES module's import of an external package (the SDK, which the Lambda runtime provides) can only be a
 * top-level import of the bundle, evaluated at cold start. The package's CommonJS build keeps it lazy: esbuild
 * wraps a CommonJS module in a function run on the first `import()`, and its `require()` of the SDK stays a
 * call made then. Only dynamic imports of these entry points are redirected; a static import keeps the
 * default (and the lazy-sdk test fails).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

const LAZY = /^@aws-lambda-powertools\/parameters\/(secrets|ssm)$/;

export const lazyPowertoolsParameters = {
  name: 'lazy-powertools-parameters',
  setup(build) {
    build.onResolve({ filter: LAZY }, (args) => {
      if (args.kind !== 'dynamic-import') return undefined;
      // Resolved as `require` resolves it: the package's `exports` "require" condition, its CommonJS build.
      return { path: createRequire(join(args.resolveDir, 'index.js')).resolve(args.path) };
    });
  },
};

export default [lazyPowertoolsParameters];
