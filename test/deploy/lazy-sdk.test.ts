/**
 * The AWS SDK stays out of every function's cold start: each handler bundled with serverless.yml's esbuild
 * options has no top-level import of an `@aws-sdk/*` package (only `require` calls made on first use), and
 * importing the bundle in a fresh Node process, with the SDK resolvable as on Lambda, loads none of it. A static
 * SDK import anywhere in a function's code (instead of lib/aws-sdk.ts), or a Powertools provider imported
 * statically, fails here. The time and memory budgets themselves are in `npm run bench -- coldstart`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../../', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'hwc-lazy-sdk-'));
symlinkSync(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface EsbuildSection {
  readonly exclude: readonly string[];
  readonly plugins: string;
  readonly define: Record<string, string>;
  readonly banner: Record<string, string>;
  readonly [option: string]: unknown;
}

/** serverless.yml's handlers (one entry file each) and its `custom.esbuild` as esbuild build options. */
function deployedBuild(): { handlers: string[]; options: Omit<BuildOptions, 'plugins'>; plugins: string } {
  const yml = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    custom: { esbuild: EsbuildSection };
    functions: Record<string, { handler: string }>;
  };
  const { exclude, plugins, define, banner, bundle, minify, keepNames, sourcemap, format, platform, target } =
    yml.custom.esbuild;
  const handlers = [
    ...new Set(Object.values(yml.functions).map((fn) => fn.handler.replace(/\.[^.]+$/, '.ts'))),
  ];
  return {
    handlers,
    plugins,
    options: {
      bundle: bundle as boolean,
      minify: minify as boolean,
      keepNames: keepNames as boolean,
      sourcemap: sourcemap as boolean,
      format: format as 'esm',
      platform: platform as 'node',
      target: target as string,
      external: [...exclude],
      define,
      banner,
    },
  };
}

/**
 * In a fresh process: imports `modulePath` as `exported`, counts the loaded files of `@aws-sdk/<sdkPackage>`,
 * runs `call` (an expression over `exported`), counts again.
 */
function loadedAround(
  modulePath: string,
  call: string,
  sdkPackage: string,
): { before: number; after: number } {
  const script = `
    import { createRequire } from 'node:module';
    const exported = await import(${JSON.stringify(pathToFileURL(join(root, modulePath)).href)});
    const require = createRequire(import.meta.url);
    const marker = ${JSON.stringify(`/@aws-sdk/${sdkPackage}/`)};
    const count = () => Object.keys(require.cache).filter((path) => path.includes(marker)).length;
    const before = count();
    ${call};
    console.log(JSON.stringify({ before, after: count() }));
  `;
  const result = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: root,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
  });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout.trim()) as { before: number; after: number };
}

const deployed = deployedBuild();
const bundles = new Map<string, { file: string; metafile: Metafile }>();

beforeAll(async () => {
  const plugins = ((await import(pathToFileURL(join(root, deployed.plugins)).href)) as { default: Plugin[] })
    .default;
  for (const handler of deployed.handlers) {
    const file = join(work, handler.replace(/\.ts$/, '.mjs'));
    const result = await build({
      ...deployed.options,
      plugins,
      entryPoints: [join(root, handler)],
      outfile: file,
      metafile: true,
      absWorkingDir: root,
      logLevel: 'error',
    });
    bundles.set(handler, { file, metafile: result.metafile });
  }
}, 120_000);

describe('the AWS SDK in the deployed bundles', () => {
  it('bundles every handler of serverless.yml', () => {
    expect(deployed.handlers).toEqual(
      expect.arrayContaining([
        'functions/delete-cbr-backup.ts',
        'functions/delete-worker.ts',
        'functions/sweep.ts',
      ]),
    );
    expect(deployed.options.external).toContain('@aws-sdk/*');
  });

  it('has no top-level import of an @aws-sdk package in any bundle', () => {
    for (const [handler, { metafile }] of bundles) {
      const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
      const eager = imports
        .filter(
          (entry) => entry.external && entry.path.startsWith('@aws-sdk/') && entry.kind !== 'require-call',
        )
        .map((entry) => `${entry.path} (${entry.kind})`);
      expect({ handler, eager }).toEqual({ handler, eager: [] });
    }
  });

  it('keeps the Secrets Manager and SSM clients behind the providers as calls made on first read', () => {
    const lazy = (handler: string) =>
      Object.values(bundles.get(handler)?.metafile.outputs ?? {})
        .flatMap((output) => output.imports)
        .filter((entry) => entry.external && entry.kind === 'require-call')
        .map((entry) => entry.path);
    expect(lazy('functions/delete-cbr-backup.ts')).toContain('@aws-sdk/client-secrets-manager');
    expect(lazy('functions/sweep.ts')).toEqual(
      expect.arrayContaining(['@aws-sdk/client-secrets-manager', '@aws-sdk/client-ssm']),
    );
  });

  it('loads no @aws-sdk module when a bundle is imported, as the Lambda runtime imports it', () => {
    for (const [handler, { file }] of bundles) {
      const script = `
        import { createRequire } from 'node:module';
        await import(${JSON.stringify(pathToFileURL(file).href)});
        const loaded = Object.keys(createRequire(import.meta.url).cache).filter((path) => path.includes('/@aws-sdk/'));
        console.log(JSON.stringify(loaded));
      `;
      const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: work,
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'eu-west-1' },
      });
      expect(result.stderr).toBe('');
      expect({ handler, loaded: JSON.parse(result.stdout.trim()) as string[] }).toEqual({
        handler,
        loaded: [],
      });
    }
  }, 60_000);

  it('does load the DynamoDB SDK once lib/aws-sdk.ts constructs a client', () => {
    // The check above would pass for a bundle that cannot load the SDK at all: this one constructs a client.
    expect(
      loadedAround(
        'lib/ledger/dynamodb.ts',
        "exported.documentClient('http://127.0.0.1:9', 'eu-west-1')",
        'lib-dynamodb',
      ),
    ).toEqual({ before: 0, after: 1 });
  });

  it('loads the SNS SDK of the outcome notices on their first Publish client, not with the notifier', () => {
    expect(
      loadedAround('lib/notify/index.ts', "exported.snsClientFor({ region: 'eu-west-1' })", 'client-sns'),
    ).toEqual({
      before: 0,
      after: 1,
    });
  });
});
