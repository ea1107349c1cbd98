/**
 * The review loop over HTTP, end to end: the middy handlers of POST /sweeps, the schedule, POST
 * /sweeps/{id}/approve and GET /sweeps/{id}, with the ledger and the policy lock on DynamoDB Local (as
 * deployed) and the simulator over loopback. What was sent is read from the simulator's own request log.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, EventBridgeEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { handler as approveHandler } from '../../functions/approve-sweep.ts';
import { handler as getSweepHandler } from '../../functions/get-sweep.ts';
import { handler as sweepHandler } from '../../functions/sweep.ts';
import { loadConfig } from '../../lib/config.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createDynamoLedger, type Ledger } from '../../lib/ledger/index.ts';
import { logger } from '../../lib/logger.ts';
import { SweepViewSchema } from '../../lib/report/stored-sweep.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import { FleetSchema, type Simulator } from '../../lib/simulator/index.ts';
import { simulatorClient, startDemoSimulator } from '../../lib/sweep/demo-fleet.ts';
import { SweepReportSchema } from '../../lib/sweep/report.ts';
import { startSweep } from '../../lib/sweep/start.ts';
import { DynamoSweepLock, policyLockKey } from '../../lib/sweep/sweep-lock.ts';
import { useDynamoDbLocal } from '../helpers/dynamodb-local.ts';
import { lambdaContext } from '../http/api-event.ts';
import { backupId, cbrFleet, cbrPolicyYaml, PROJECT, REGION } from './fleet.ts';

const dynamo = useDynamoDbLocal();
const APPROVER = 'arn:aws:iam::123456789012:user/backup-operator';
let dir: string;
let ledger: Ledger;
let tableName: string;
let sim: Simulator | undefined;

const sample = <T>(name: string): T =>
  structuredClone(JSON.parse(readFileSync(new URL(`../../events/${name}.json`, import.meta.url), 'utf8')));

function withBody(event: APIGatewayProxyEventV2, body: unknown): APIGatewayProxyEventV2 {
  event.body = JSON.stringify(body);
  event.headers['content-length'] = String(Buffer.byteLength(event.body));
  return event;
}

const postSweep = (body: unknown) => withBody(sample<APIGatewayProxyEventV2>('sweep-http'), body);

function approve(sweepId: string, planHash: string): APIGatewayProxyEventV2 {
  const event = withBody(sample<APIGatewayProxyEventV2>('approve-sweep'), { plan_hash: planHash });
  event.pathParameters = { sweep_id: sweepId };
  event.rawPath = `/sweeps/${encodeURIComponent(sweepId)}/approve`;
  event.requestContext.http.path = event.rawPath;
  return event;
}

function getSweep(sweepId: string): APIGatewayProxyEventV2 {
  const event = sample<APIGatewayProxyEventV2>('get-sweep');
  event.pathParameters = { sweep_id: sweepId };
  event.rawPath = `/sweeps/${encodeURIComponent(sweepId)}`;
  event.requestContext.http.path = event.rawPath;
  return event;
}

type Handler = (event: never, context: never) => Promise<unknown>;

/** The schedule's handler (silenced again after it: Powertools' injectLambdaContext restores the level). */
async function runSchedule(event: EventBridgeEvent<'Scheduled Event', unknown>) {
  const result = (await sweepHandler(event as never, lambdaContext() as never)) as {
    sweep_id: string;
    status: string;
  };
  logger.setLogLevel('SILENT');
  return result;
}

async function call(handler: Handler, event: unknown) {
  const raw = (await handler(event as never, lambdaContext() as never)) as APIGatewayProxyStructuredResultV2;
  // biome-ignore lint/suspicious/noExplicitAny: responses are inspected loosely in tests
  return { status: raw.statusCode ?? 0, json: JSON.parse(raw.body ?? 'null') as any };
}

/** Ids that received a DELETE (any outcome) since the simulator started. */
const deleted = () => [...(sim as Simulator).inspect().deleteAttempts().keys()].sort();
const ids = (numbers: readonly number[]) => numbers.map(backupId).sort();

/** A simulator with backups b1…b8 (keep last 3: b1…b5 planned) and the runtime over it with `policyYaml`. */
async function setUp(
  policyYaml: string,
  options: { numbers?: readonly number[]; keepLedger?: boolean } = {},
) {
  const numbers = options.numbers ?? [1, 2, 3, 4, 5, 6, 7, 8];
  await sim?.close();
  sim = await startDemoSimulator(undefined, FleetSchema.parse(cbrFleet(numbers)));
  const policyFile = join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(policyFile, policyYaml);
  const config = loadConfig({
    HWC_REGION: REGION,
    HWC_PROJECT_ALLOWLIST: PROJECT,
    LEDGER: 'local',
    POLICY_FILE: policyFile,
  });
  const local = dynamo();
  // A table of its own: the deletion ids are the same in every test (the same fleet).
  if (!options.keepLedger) {
    tableName = await local.createLedgerTable();
    ledger = createDynamoLedger({ tableName, client: local.documentClient });
  }
  setRuntimeForTests({
    config,
    region: REGION,
    allowlist: new Set([PROJECT]),
    client: simulatorClient(sim, [REGION]),
    ledger,
    sweepLock: new DynamoSweepLock({ client: local.documentClient, tableName }),
  });
  return { policyFile, policy: loadPolicy(policyYaml, policyFile) };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'approval-http-'));
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(async () => {
  setRuntimeForTests(undefined);
  await closeHuaweiPools();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST /sweeps (dry run) → POST /sweeps/{id}/approve', () => {
  it('deletes exactly the planned backups once approved, records the approver, and runs once', async () => {
    await setUp(cbrPolicyYaml('vaults-http', 3));
    const dry = await call(sweepHandler, postSweep({ dry_run: true, sweep_id: 'dry-http-1' }));
    expect(dry.status).toBe(200);
    const plan = SweepReportSchema.parse(dry.json);
    expect(plan).toMatchObject({ dry_run: true, plan_id: 'dry-http-1' });
    expect(plan.plan_hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(plan.totals.planned).toBe(5);
    expect((await ledger.getSweep('dry-http-1'))?.sweep.plan_hash).toBe(plan.plan_hash);

    const wrong = await call(approveHandler, approve('dry-http-1', `sha256:${'f'.repeat(64)}`));
    expect(wrong.status).toBe(409);
    expect(wrong.json.error.code).toBe('PLAN_HASH_MISMATCH');
    expect(deleted()).toEqual([]);

    const applied = await call(approveHandler, approve('dry-http-1', plan.plan_hash as string));
    expect(applied.status).toBe(200);
    const report = SweepReportSchema.parse(applied.json);
    expect(report).toMatchObject({ sweep_id: 'dry-http-1.apply', status: 'completed', dry_run: false });
    expect(report.totals.deleted).toBe(5);
    expect(report.approval).toMatchObject({
      status: 'approved',
      sweep_id: 'dry-http-1',
      plan_hash: plan.plan_hash,
      approved_by: { kind: 'iam', principal: APPROVER },
      approved: 5,
      executed: 5,
      skipped: [],
    });
    expect(deleted()).toEqual(ids([1, 2, 3, 4, 5]));
    const run = await ledger.getSweep('dry-http-1.apply');
    expect(run?.sweep.requested_by.principal).toBe(APPROVER);
    expect(run?.sweep.status).toBe('finished');

    const view = SweepViewSchema.parse((await call(getSweepHandler, getSweep('dry-http-1'))).json);
    expect(view.plan_hash).toBe(plan.plan_hash);
    expect(view.approved).toMatchObject({
      run_sweep_id: 'dry-http-1.apply',
      run_status: 'completed',
      approved_by: { principal: APPROVER },
    });

    const again = await call(approveHandler, approve('dry-http-1', plan.plan_hash as string));
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('ALREADY_APPROVED');
    expect(deleted()).toEqual(ids([1, 2, 3, 4, 5]));
  }, 60_000);

  it('answers 410 APPROVAL_EXPIRED for a plan older than approval.expires_after, sending nothing', async () => {
    const { policy } = await setUp(
      cbrPolicyYaml('vaults-expiring', 3, 'approval: { required: false, expires_after: 2h }\n'),
    );
    const config = loadConfig({ HWC_REGION: REGION, HWC_PROJECT_ALLOWLIST: PROJECT, LEDGER: 'local' });
    // The dry run made three hours ago (the planner's clock injected), approved now.
    const planned = await startSweep(
      { dry_run: true, sweep_id: 'dry-http-old' },
      { kind: 'iam', principal: APPROVER },
      {
        runtime: {
          config,
          client: simulatorClient(sim as Simulator, [REGION]),
          ledger,
          allowlist: new Set([PROJECT]),
        },
        loadPolicy: async () => policy,
        now: () => new Date(Date.now() - 3 * 3_600_000),
      },
    );
    const expired = await call(approveHandler, approve('dry-http-old', planned.plan_hash as string));
    expect(expired.status).toBe(410);
    expect(expired.json.error.code).toBe('APPROVAL_EXPIRED');
    expect(deleted()).toEqual([]);
  }, 60_000);

  it('answers 409 POLICY_CHANGED when the configured policy is not the one the plan was made with', async () => {
    await setUp(cbrPolicyYaml('vaults-changed', 3));
    const dry = await call(sweepHandler, postSweep({ dry_run: true, sweep_id: 'dry-http-changed' }));
    await setUp(cbrPolicyYaml('vaults-changed', 2), { keepLedger: true });
    const changed = await call(approveHandler, approve('dry-http-changed', dry.json.plan_hash));
    expect(changed.status).toBe(409);
    expect(changed.json.error.code).toBe('POLICY_CHANGED');
    expect(deleted()).toEqual([]);
  }, 60_000);
});

describe('a scheduled sweep with approval.required', () => {
  it('ends awaiting_approval sending nothing; two racing approvals run it once', async () => {
    const { policy } = await setUp(cbrPolicyYaml('vaults-scheduled', 3, 'approval: { required: true }\n'));
    const event = sample<EventBridgeEvent<'Scheduled Event', unknown>>('sweep-schedule');
    const scheduled = await runSchedule(event);
    expect(scheduled.status).toBe('awaiting_approval');
    expect(deleted()).toEqual([]);

    const view = SweepViewSchema.parse((await call(getSweepHandler, getSweep(scheduled.sweep_id))).json);
    expect(view.status).toBe('awaiting_approval');
    expect(view.totals.planned).toBe(5);
    expect(view.targets.map((target) => [target.name, target.planned])).toEqual([['vaults-scheduled', 5]]);
    expect(view.approval).toMatchObject({
      status: 'awaiting',
      sweep_id: scheduled.sweep_id,
      items: 5,
      targets: [{ target: 'vaults-scheduled', code: 'POLICY_REQUIRES_APPROVAL' }],
    });
    const hash = view.plan_hash as string;
    expect(hash).toMatch(/^sha256:/);

    // Rerunning its id does not bypass the approval.
    const rerun = await call(sweepHandler, postSweep({ dry_run: false, sweep_id: scheduled.sweep_id }));
    expect(rerun.status).toBe(409);
    expect(rerun.json.error.code).toBe('APPROVAL_REQUIRED');
    expect(deleted()).toEqual([]);

    const [first, second] = await Promise.all([
      call(approveHandler, approve(scheduled.sweep_id, hash)),
      call(approveHandler, approve(scheduled.sweep_id, hash)),
    ]);
    const statuses = [first.status, second.status].sort();
    expect(statuses).toEqual([200, 409]);
    const loser = first.status === 409 ? first : second;
    expect(loser.json.error.code).toBe('ALREADY_APPROVED');
    // Every approved backup got exactly one DELETE.
    const attempts = (sim as Simulator).inspect().deleteAttempts();
    expect([...attempts.keys()].sort()).toEqual(ids([1, 2, 3, 4, 5]));
    expect([...attempts.values()]).toEqual([1, 1, 1, 1, 1]);

    const after = SweepViewSchema.parse((await call(getSweepHandler, getSweep(scheduled.sweep_id))).json);
    expect(after.approved?.run_sweep_id).toBe(`${scheduled.sweep_id}.apply`);
    // The policy lock is free again (neither approval left a lease behind), naming the run that held it.
    const lock = await new DynamoSweepLock({ client: dynamo().documentClient, tableName }).current(
      policyLockKey(policy),
    );
    expect(lock).toEqual({ sweepId: `${scheduled.sweep_id}.apply`, leaseUntil: 0 });
  }, 90_000);
});
