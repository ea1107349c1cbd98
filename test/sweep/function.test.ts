import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../functions/sweep.ts';
import { loadConfig } from '../../lib/config.ts';
import { ErrorBodySchema } from '../../lib/http/error-response.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../../lib/sweep/demo-fleet.ts';
import { SweepReportSchema } from '../../lib/sweep/report.ts';
import { MemorySweepLock, policyLockKey } from '../../lib/sweep/sweep-lock.ts';
import { lambdaContext } from '../http/api-event.ts';
import { aliasBomb } from '../retention/factories.ts';

let sim: Simulator;
let ledger: Ledger;
let sweepLock: MemorySweepLock;
const deleteRequests = () => sim.inspect().requests.filter((request) => request.method === 'DELETE').length;

function sample<T>(name: string): T {
  return structuredClone(
    JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')),
  );
}

function post(body: unknown): APIGatewayProxyEventV2 {
  const event = sample<APIGatewayProxyEventV2>('sweep-http');
  event.body = typeof body === 'string' ? body : JSON.stringify(body);
  event.headers['content-length'] = String(Buffer.byteLength(event.body));
  return event;
}

async function invoke(event: unknown): Promise<APIGatewayProxyStructuredResultV2> {
  return (await handler(
    event as APIGatewayProxyEventV2,
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
}

function errorOf(response: APIGatewayProxyStructuredResultV2) {
  return ErrorBodySchema.parse(JSON.parse(response.body ?? '')).error;
}

const policyFile = new URL('../../policies/demo.yaml', import.meta.url).pathname;

beforeAll(async () => {
  sim = await startDemoSimulator();
  // Backups being created finish at once, so no CBR deletion waits on a busy resource.
  sim.advance(5_000);
});
beforeEach(() => {
  ledger = createMemoryLedger();
  sweepLock = new MemorySweepLock();
  const projects = [...sim.state.projects.keys()];
  const config = loadConfig({
    HWC_REGION: 'ap-southeast-1',
    HWC_PROJECT_ALLOWLIST: projects.join(','),
    LEDGER: 'local',
    POLICY_FILE: policyFile,
  });
  setRuntimeForTests({
    config,
    region: 'ap-southeast-1',
    allowlist: new Set(projects),
    client: simulatorClient(sim),
    ledger,
    sweepLock,
  });
  sim.resetInspection();
});
afterAll(async () => {
  setRuntimeForTests(undefined);
  await sim.close();
  await closeHuaweiPools();
});

describe('functions/sweep POST /sweeps', () => {
  it('answers the sample dry run with the report and sends no DELETE', async () => {
    const response = await invoke(sample('sweep-http'));
    expect(response.statusCode).toBe(200);
    expect(response.headers?.['X-Request-Id']).toBeDefined();
    const report = SweepReportSchema.parse(JSON.parse(response.body ?? ''));
    expect(report).toMatchObject({ dry_run: true, status: 'completed' });
    expect(report.targets.map((target) => target.name)).toEqual(['servers-ap-southeast-1']);
    expect(report.totals.planned).toBeGreaterThan(0);
    expect(deleteRequests()).toBe(0);
  });

  it('runs a real sweep of one target, and a rerun with the same sweep id resumes without sending again', async () => {
    const first = await invoke(
      post({ dry_run: false, targets: ['vaults-ap-southeast-1'], sweep_id: 'manual-1' }),
    );
    expect(first.statusCode).toBe(200);
    const report = SweepReportSchema.parse(JSON.parse(first.body ?? ''));
    expect(report.status).toBe('completed');
    expect(report.totals.deleted).toBe(report.totals.planned);
    expect(report.targets[0]?.bytes_reclaimed).toBe(0); // CBR lists no backup sizes: nothing is claimed
    const sent = deleteRequests();
    expect(sent).toBe(report.totals.planned);
    expect((await ledger.getSweep('manual-1'))?.sweep.status).toBe('finished');

    const again = await invoke(
      post({ dry_run: false, targets: ['vaults-ap-southeast-1'], sweep_id: 'manual-1' }),
    );
    const rerun = SweepReportSchema.parse(JSON.parse(again.body ?? ''));
    expect(rerun).toMatchObject({ resumed: true, status: 'completed' });
    expect(rerun.totals.deleted).toBe(report.totals.planned);
    expect(deleteRequests()).toBe(sent);
  });

  it('rejects unknown fields with 400 in the one error shape', async () => {
    const response = await invoke(post({ dry_run: true, dryrun: true }));
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error.code).toBe('VALIDATION');
    expect(JSON.stringify(error.details)).toContain('dryrun');
    expect(deleteRequests()).toBe(0);
  });

  it('rejects a malformed JSON body with a clean 4xx', async () => {
    const response = await invoke(post('{"dry_run": tru'));
    expect(response.statusCode).toBeGreaterThanOrEqual(400);
    expect(response.statusCode).toBeLessThan(500);
    expect(errorOf(response).code).toBeTypeOf('string');
  });

  it('validates a policy override with the policy schema and names the field', async () => {
    const projects = [...sim.state.projects.keys()];
    const response = await invoke(
      post({
        dry_run: true,
        policy: {
          version: 1,
          targets: [{ name: 'x', service: 'cbr', projects, regions: ['ap-southeast-1'], keep: { dialy: 3 } }],
        },
      }),
    );
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(JSON.stringify(error.details)).toContain('body.policy.targets[0].keep.dialy');
  });

  it('rejects an unknown target name with 400', async () => {
    const response = await invoke(post({ dry_run: true, targets: ['nope'] }));
    expect(response.statusCode).toBe(400);
    expect(errorOf(response).details).toMatchObject({
      issues: [{ path: 'body.targets', message: 'unknown target "nope"' }],
    });
  });

  it('refuses a policy naming a project outside the allowlist with 403, before listing', async () => {
    const response = await invoke(
      post({
        dry_run: true,
        policy: {
          version: 1,
          targets: [
            {
              name: 'x',
              service: 'cbr',
              projects: ['f'.repeat(32)],
              regions: ['ap-southeast-1'],
              keep: { last: 1 },
            },
          ],
        },
      }),
    );
    expect(response.statusCode).toBe(403);
    expect(errorOf(response).code).toBe('PROJECT_NOT_ALLOWED');
    expect(sim.inspect().requests).toEqual([]);
  });

  it('answers 409 CIRCUIT_BREAKER when a target would delete more than its share', async () => {
    const projects = [...sim.state.projects.keys()].slice(0, 2);
    const response = await invoke(
      post({
        policy: {
          version: 1,
          targets: [
            {
              name: 'tight',
              service: 'cbr',
              projects,
              regions: ['ap-southeast-1'],
              keep: { last: 1 },
              max_delete_share: 0.1,
            },
          ],
        },
      }),
    );
    expect(response.statusCode).toBe(409);
    const error = errorOf(response);
    expect(error.code).toBe('CIRCUIT_BREAKER');
    expect(JSON.stringify(error.details)).toContain('"target":"tight"');
    expect(deleteRequests()).toBe(0);
  });

  it('answers 409 when a dry run sweep id is reused for a real run', async () => {
    expect((await invoke(post({ dry_run: true, sweep_id: 'reuse-1' }))).statusCode).toBe(200);
    const response = await invoke(
      post({ dry_run: false, sweep_id: 'reuse-1', targets: ['mongo-ap-southeast-1'] }),
    );
    expect(response.statusCode).toBe(409);
    expect(errorOf(response).code).toBe('SWEEP_CONFLICT');
    expect(deleteRequests()).toBe(0);
  });
});

describe('functions/sweep POST /sweeps is safe by default', () => {
  function withoutBody(body: string | undefined): APIGatewayProxyEventV2 {
    const event = sample<APIGatewayProxyEventV2>('sweep-http');
    if (body === undefined) Reflect.deleteProperty(event, 'body');
    else event.body = body;
    event.headers['content-length'] = String(Buffer.byteLength(event.body ?? ''));
    return event;
  }

  it.each([
    ['no body', undefined],
    ['an empty body', ''],
    ['null', 'null'],
    ['{}', '{}'],
  ])('runs a dry run for %s and sends no DELETE', async (_, body) => {
    const response = await invoke(withoutBody(body));
    expect(response.statusCode).toBe(200);
    const report = SweepReportSchema.parse(JSON.parse(response.body ?? ''));
    expect(report).toMatchObject({ dry_run: true, status: 'completed' });
    expect(report.totals.planned).toBeGreaterThan(0);
    expect(deleteRequests()).toBe(0);
  });

  it('refuses an inline policy without a dry run with 400, before anything is listed', async () => {
    const projects = [...sim.state.projects.keys()];
    const response = await invoke(
      post({
        dry_run: false,
        policy: {
          version: 1,
          targets: [
            { name: 'all', service: 'cbr', projects, regions: ['ap-southeast-1'], keep: { last: 1 } },
          ],
        },
      }),
    );
    expect(response.statusCode).toBe(400);
    const error = errorOf(response);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toContain('an inline policy is accepted only with a dry run');
    expect(error.details).toMatchObject({ issues: [{ path: 'body.policy' }] });
    expect(sim.inspect().requests).toEqual([]);
  });

  it.each([
    ['no requestContext', (event: APIGatewayProxyEventV2) => Reflect.deleteProperty(event, 'requestContext')],
    [
      'no authorizer identity',
      (event: APIGatewayProxyEventV2) => Reflect.deleteProperty(event.requestContext, 'authorizer'),
    ],
  ])('refuses a request with %s (401), lists and records nothing', async (_, strip) => {
    const event = post({ dry_run: false, sweep_id: 'anonymous-1' });
    strip(event);
    const response = await invoke(event);
    expect(response.statusCode).toBe(401);
    expect(errorOf(response).code).toBe('UNAUTHENTICATED');
    expect(sim.inspect().requests).toEqual([]);
    expect(await ledger.getSweep('anonymous-1')).toBeUndefined();
  });

  it('answers a 5 MB policy with 100,000 invalid targets with a small 400 listing 50 issues and a count', async () => {
    const target = { name: 'x', service: 'nope', projects: ['p'], regions: ['r'] };
    const policy = { version: 1, targets: Array.from({ length: 100_000 }, () => target) };
    const body = JSON.stringify({ dry_run: true, policy });
    expect(body.length).toBeGreaterThan(5_000_000);
    const response = await invoke(post(body));
    expect(response.statusCode).toBe(400);
    expect(Buffer.byteLength(response.body ?? '')).toBeLessThan(10_000);
    const error = errorOf(response);
    expect(error.code).toBe('VALIDATION');
    expect(error.message).toMatch(/at most 1048576 bytes/);
    expect(sim.inspect().requests).toEqual([]);
  });

  it('answers a policy under the size cap with 2,000 broken targets with 50 issues and the count of the rest', async () => {
    const projects = [...sim.state.projects.keys()];
    const targets = Array.from({ length: 900 }, (_, index) => ({
      name: `t${index}`,
      service: 'cbr',
      projects,
      regions: ['ap-southeast-1'],
      keep: { dialy: 1, wekly: 2 },
    }));
    const response = await invoke(post({ dry_run: true, policy: { version: 1, targets } }));
    expect(response.statusCode).toBe(400);
    const details = errorOf(response).details as { issues: unknown[]; omitted_issues: number };
    expect(details.issues).toHaveLength(50);
    // Each target has an unknown key and keeps nothing: two issues each.
    expect(details.issues.length + details.omitted_issues).toBe(1_800);
  });

  it('answers 400 POLICY_INVALID when the configured policy file is invalid, even a YAML alias bomb', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bomb-'));
    const file = join(dir, 'bomb.yaml');
    writeFileSync(file, aliasBomb());
    const projects = [...sim.state.projects.keys()];
    setRuntimeForTests({
      config: loadConfig({
        HWC_REGION: 'ap-southeast-1',
        HWC_PROJECT_ALLOWLIST: projects.join(','),
        LEDGER: 'local',
        POLICY_FILE: file,
      }),
      region: 'ap-southeast-1',
      allowlist: new Set(projects),
      client: simulatorClient(sim),
      ledger,
    });
    try {
      const response = await invoke(post({ dry_run: true }));
      expect(response.statusCode).toBe(400);
      const error = errorOf(response);
      expect(error.code).toBe('POLICY_INVALID');
      expect(JSON.stringify(error.details)).toMatch(/alias/i);
      expect(sim.inspect().requests).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('functions/sweep EventBridge schedule', () => {
  it('runs the configured policy under a sweep id derived from the event, so a retry resumes it', async () => {
    const event = sample<{ id: string; detail: Record<string, unknown> }>('sweep-schedule');
    event.detail = { dry_run: true };
    const result = (await handler(event as never, lambdaContext())) as { sweep_id: string; status: string };
    expect(result).toMatchObject({ sweep_id: `scheduled-${event.id}`, status: 'completed' });
    const stored = await ledger.getSweep(`scheduled-${event.id}`);
    expect(stored?.sweep.dry_run).toBe(true);
    expect(stored?.sweep.summary).toMatchObject({ version: 1 });
    expect(deleteRequests()).toBe(0);
  });

  it('returns status skipped (and deletes nothing) while another sweep of the policy holds its lock', async () => {
    const policy = loadPolicy(readFileSync(policyFile, 'utf8'), policyFile);
    await sweepLock.acquire(policyLockKey(policy), 'sweep-elsewhere', 60_000);
    const event = sample<{ id: string; detail: Record<string, unknown> }>('sweep-schedule');
    event.detail = { dry_run: false };
    const result = await handler(event as never, lambdaContext());
    expect(result).toEqual({ status: 'skipped', code: 'SWEEP_RUNNING', running_sweep_id: 'sweep-elsewhere' });
    expect(deleteRequests()).toBe(0);
    // The same over HTTP: 409 naming the running sweep.
    const response = await invoke(post({ dry_run: false, targets: ['mongo-ap-southeast-1'] }));
    expect(response.statusCode).toBe(409);
    expect(errorOf(response)).toMatchObject({
      code: 'SWEEP_RUNNING',
      details: { running_sweep_id: 'sweep-elsewhere' },
    });
    expect(deleteRequests()).toBe(0);
  });
});
