import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handler as getSweep } from '../../functions/get-sweep.ts';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import type { SweepReport } from '../../lib/sweep/report.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { lambdaContext } from '../http/api-event.ts';
import {
  fastDeps,
  projectsOf,
  startSweepSimulator,
  sweepClient,
  sweepPolicy,
} from '../sweep/sweep-fixture.ts';
import { eventFor, invoke, useRuntime } from './harness.ts';

let sim: Simulator;
let client: HuaweiClient;
let ledger: Ledger;
let report: SweepReport;

beforeAll(async () => {
  sim = await startSweepSimulator();
  client = sweepClient(sim);
  ledger = createMemoryLedger();
  report = await runSweep(
    { policy: sweepPolicy(sim), sweepId: 'sweep-report-1', dryRun: false, now: new Date() },
    fastDeps(sim, client, ledger),
  );
  await useRuntime({ client, ledger, allowlist: projectsOf(sim) });
});
afterAll(async () => {
  setRuntimeForTests(undefined);
  await sim.close();
  await closeHuaweiPools();
});

const viewEvent = (sweepId: string) => eventFor('get-sweep', { path: { sweep_id: sweepId } });
const reportEvent = (sweepId: string, accept: string) =>
  eventFor('get-sweep-report', { path: { sweep_id: sweepId }, headers: { accept } });

describe('GET /sweeps/{sweep_id}', () => {
  it('answers the status, totals and per-target counts of a stored sweep', async () => {
    const reply = await invoke(getSweep, viewEvent('sweep-report-1'));
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({
      sweep_id: 'sweep-report-1',
      status: 'finished',
      outcome: 'completed',
      dry_run: false,
      totals: { planned: report.totals.planned, deleted: report.totals.deleted, failed: 0, pending: 0 },
    });
    expect(
      reply.json.targets.map((t: { name: string; planned: number; deleted: number }) => [
        t.name,
        t.planned,
        t.deleted,
      ]),
    ).toEqual(report.targets.map((t) => [t.name, t.planned, t.deleted]));
  });

  it('returns 404 NOT_FOUND for a sweep the ledger does not hold', async () => {
    const reply = await invoke(getSweep, viewEvent('no-such-sweep'));
    expect(reply.status).toBe(404);
    expect(reply.json.error.code).toBe('NOT_FOUND');
  });

  it('returns 400 VALIDATION for a malformed sweep id, before reading the ledger', async () => {
    const reply = await invoke(getSweep, viewEvent('../etc'));
    expect(reply.status).toBe(400);
    expect(reply.json.error.code).toBe('VALIDATION');
  });
});

describe('GET /sweeps/{sweep_id}/report', () => {
  it('renders the report page for Accept: text/html, one mark per planned deletion', async () => {
    // Not through `invoke`, which reads every body as JSON.
    const reply = (await getSweep(
      reportEvent('sweep-report-1', 'text/html,application/xhtml+xml;q=0.9'),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(reply.statusCode).toBe(200);
    expect(reply.headers?.['Content-Type']).toBe('text/html; charset=utf-8');
    expect(reply.headers?.['X-Request-Id']).toBe('JKJaXmPLvHcESHA=');
    const html = String(reply.body);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>Sweep sweep-report-1</title>');
    const json = /id="report-data">([^<]*)<\/script>/.exec(html)?.[1] ?? '';
    const model = JSON.parse(json);
    const marks = model.targets.flatMap((t: { resources: { c: number[] }[] }) =>
      t.resources.flatMap((r) => r.c),
    );
    expect(marks).toHaveLength(report.totals.planned);
    const deletedClass = model.classes.findIndex((c: { id: string }) => c.id === 'deleted');
    expect(marks.every((c: number) => c === deletedClass)).toBe(true);
  });

  it('answers the report model as JSON otherwise', async () => {
    const reply = await invoke(getSweep, reportEvent('sweep-report-1', 'application/json'));
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json');
    expect(reply.json).toMatchObject({ version: 1, kind: 'sweep', title: 'Sweep sweep-report-1' });
  });
});
