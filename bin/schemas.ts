/**
 * `npm run schemas [-- --check]`: writes the policy's JSON Schema and the HTTP API's OpenAPI document to
 * schemas/, generated from the zod schemas (lib/contracts/documents.ts). `--check` writes nothing and exits
 * 1 when a committed file differs from what the schemas generate (CI runs it through the tests).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { defineCommand } from '../lib/cli/args.ts';
import { CheckFailedError } from '../lib/cli/exit.ts';
import { createOutput } from '../lib/cli/output.ts';
import { runCommandAndExit } from '../lib/cli/run.ts';
import { contractFiles } from '../lib/contracts/documents.ts';

const schemasCommand = defineCommand({
  name: 'schemas',
  summary: 'Generates schemas/policy.schema.json and schemas/openapi.json from the zod schemas.',
  synopsis: '[--check] [--json]',
  options: {
    check: { type: 'boolean', description: 'write nothing; exit 1 when a committed file is stale' },
    json: { type: 'boolean', description: 'print {"files": [{path, current}]} on stdout' },
  },
  notes: ['exit codes: 0 written (or current); 1 stale with --check; 2 invalid arguments'],
});

runCommandAndExit(schemasCommand, async ({ values }) => {
  const out = createOutput(values.json);
  const root = new URL('../', import.meta.url);
  const version = (JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string })
    .version;
  const files = Object.entries(contractFiles(version)).map(([path, text]) => {
    let committed: string | undefined;
    try {
      committed = readFileSync(new URL(path, root), 'utf8');
    } catch {
      committed = undefined;
    }
    return { path, text, current: committed === text };
  });
  if (!values.check)
    for (const file of files) if (!file.current) writeFileSync(new URL(file.path, root), file.text);
  if (values.json) out.result({ files: files.map(({ path, current }) => ({ path, current })) });
  for (const file of files)
    out.say(`${file.path}: ${file.current ? 'current' : values.check ? 'STALE' : 'written'}`);
  const stale = files.filter((file) => !file.current);
  if (values.check && stale.length > 0)
    throw new CheckFailedError(
      `${stale.map((file) => file.path).join(', ')} stale: run npm run schemas and commit`,
    );
  return 0;
});
