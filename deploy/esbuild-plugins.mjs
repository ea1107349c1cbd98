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
 *
 * `zodEnglishOnly`: zod's `z` namespace carries every locale it ships (`z.locales`, ~50 of them, ~250 KB
 * minified: a quarter of each bundle, and some 2.5 MiB of RSS at cold start, measured with
 * `npm run bench -- coldstart`). The functions never switch locale (zod's default, English, is what their
 * error messages are in), so the bundles keep English only: `z.locales.en` is the one left.
 *
 * `lazyYaml`: yaml parses a regions file (HWC_REGIONS_FILE) and the sweep's policy, both on first use at most,
 * yet an ES module import of it is evaluated at cold start (~10 ms, ~1.2 MiB). Our imports of `yaml` get a
 * stand-in whose functions and class load yaml (its CommonJS build, wrapped by esbuild in a function run on the
 * first `require`) when first called. The stand-in has the names lib/ uses; importing another fails the build.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

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

export const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(build) {
    build.onLoad({ filter: /[\\/]zod[\\/]v4[\\/]locales[\\/]index\.js$/ }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

const YAML_STAND_IN = `
const yaml = () => require('yaml');
export const parse = (...args) => yaml().parse(...args);
export const parseDocument = (...args) => yaml().parseDocument(...args);
export const isMap = (node) => yaml().isMap(node);
export const isScalar = (node) => yaml().isScalar(node);
export const LineCounter = new Proxy(function LineCounter() {}, {
  construct: (_target, args) => Reflect.construct(yaml().LineCounter, args),
  get: (_target, key) => Reflect.get(yaml().LineCounter, key),
});
`;

export const lazyYaml = {
  name: 'lazy-yaml',
  setup(build) {
    build.onResolve({ filter: /^yaml$/ }, (args) =>
      args.kind === 'import-statement'
        ? { path: 'yaml', namespace: 'lazy-yaml', pluginData: { resolveDir: args.resolveDir } }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'lazy-yaml' }, (args) => ({
      contents: YAML_STAND_IN,
      resolveDir: args.pluginData.resolveDir,
      loader: 'js',
    }));
  },
};

export default [lazyPowertoolsParameters, zodEnglishOnly, lazyYaml];
