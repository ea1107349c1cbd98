/**
 * The committed contracts are what the zod schemas generate (a stale file fails here, and so in CI), and the
 * policy's JSON Schema says what PolicySchema says: the demo policy passes, a typo'd key fails — checked with
 * a real JSON Schema validator (Ajv, draft 2020-12, already installed with the Serverless Framework).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseDocument, parse as parseYaml } from 'yaml';
import { contractFiles, OPENAPI_FILE, POLICY_SCHEMA_FILE } from '../../lib/contracts/documents.ts';
import { loadPolicy, PolicyError } from '../../lib/retention/policy.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const version = (JSON.parse(read('package.json')) as { version: string }).version;
const generated = contractFiles(version);

function policyValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  return ajv.compile(JSON.parse(read(POLICY_SCHEMA_FILE)));
}

const demo = read('policies/demo.yaml');
const typo = demo.replace('    daily: 7', '    dialy: 7');

describe('committed contracts', () => {
  it.each([POLICY_SCHEMA_FILE, OPENAPI_FILE])('%s is current (npm run schemas regenerates it)', (path) => {
    expect(read(path), `${path} is stale: run npm run schemas and commit`).toBe(generated[path]);
  });

  it('every policy in policies/ points editors at the schema', () => {
    for (const file of readdirSync(new URL('policies/', root)).filter((name) => /\.ya?ml$/.test(name))) {
      expect(read(`policies/${file}`).split('\n')[0], file).toBe(
        '# yaml-language-server: $schema=../schemas/policy.schema.json',
      );
    }
  });
});

describe('the policy JSON Schema', () => {
  it('accepts policies/demo.yaml', () => {
    const validate = policyValidator();
    expect(validate(parseYaml(demo)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects a typo in a keep rule, naming the key, as PolicySchema does', () => {
    const validate = policyValidator();
    expect(validate(parseYaml(typo))).toBe(false);
    expect(validate.errors).toContainEqual(
      expect.objectContaining({
        instancePath: '/defaults/keep',
        keyword: 'additionalProperties',
        params: { additionalProperty: 'dialy' },
      }),
    );
    expect(() => loadPolicy(typo, 'demo.yaml')).toThrow(PolicyError);
  });

  it('closes every object of the policy (additionalProperties false on keep, filters, protect, targets)', () => {
    const schema = JSON.parse(read(POLICY_SCHEMA_FILE));
    const target = schema.properties.targets.items;
    expect(schema.additionalProperties).toBe(false);
    expect(target.additionalProperties).toBe(false);
    for (const key of ['keep', 'filters', 'protect']) {
      expect(target.properties[key].additionalProperties, key).toBe(false);
      expect(schema.properties.defaults.properties[key].additionalProperties, key).toBe(false);
    }
    expect(schema.required).toEqual(['version', 'targets']);
  });
});

describe('the OpenAPI document', () => {
  const openapi = JSON.parse(read(OPENAPI_FILE));

  it('describes exactly the HTTP routes serverless.yml deploys', () => {
    const functions = parseDocument(read('serverless.yml'), { logLevel: 'silent' }).toJS()
      .functions as Record<string, { events?: { httpApi?: { method: string; path: string } }[] }>;
    const deployed = Object.values(functions)
      .flatMap((fn) => fn.events ?? [])
      .flatMap((event) =>
        event.httpApi ? [`${event.httpApi.method.toLowerCase()} ${event.httpApi.path}`] : [],
      )
      .sort();
    const documented = Object.entries(openapi.paths as Record<string, object>)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method} ${path}`))
      .sort();
    expect(documented).toEqual(deployed);
  });

  it('lists the error outcomes callers must handle, with the one error shape', () => {
    const sweeps = openapi.paths['/sweeps'].post.responses;
    expect(sweeps['409'].description).toContain('CIRCUIT_BREAKER');
    expect(sweeps['409'].description).toContain('SWEEP_CONFLICT');
    expect(sweeps['503'].description).toContain('LEDGER_UNAVAILABLE');
    const cbr = openapi.paths['/cbr/v3/{project_id}/backups/{backup_id}'].delete.responses;
    expect(cbr['422'].description).toContain('UPSTREAM_REJECTED');
    expect(Object.keys(cbr)).toEqual(
      expect.arrayContaining(['202', '204', '400', '403', '404', '409', '429', '502', '503']),
    );
    expect(openapi.components.schemas.Error.properties.error.required).toEqual([
      'code',
      'message',
      'request_id',
    ]);
  });

  it('has component schemas a validator compiles', () => {
    const ajv = new Ajv2020({ strict: false });
    // The document's own components as one schema, so `#/components/schemas/...` references resolve.
    const validate = ajv.compile({
      $id: 'openapi.json',
      components: openapi.components,
      $ref: '#/components/schemas/SweepRequest',
    });
    expect(validate({ dry_run: true, targets: ['servers-ap-southeast-1'] })).toBe(true);
    expect(validate({ dry_run: true, dryrun: true })).toBe(false);
  });
});
