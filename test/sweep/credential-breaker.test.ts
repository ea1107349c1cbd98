import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import {
  closeHuaweiPools,
  createHuaweiClient,
  type HuaweiClient,
  type HuaweiOperation,
  type HuaweiResponse,
} from '../../lib/huawei/client.ts';
import { createAkSkAuth, StaticCredentials } from '../../lib/huawei/credentials.ts';
import { createEndpointResolver, overrideKey } from '../../lib/huawei/endpoints.ts';
import { HuaweiAuthError, HuaweiNotFoundError } from '../../lib/huawei/errors.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import type { HuaweiRequester } from '../../lib/services/index.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import {
  CREDENTIALS_REJECTED,
  CredentialBreakers,
  CredentialsRejectedError,
  MemoryCredentialTripStore,
} from '../../lib/sweep/credential-breaker.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { fastDeps, REGION, startSweepSimulator, sweepPolicy } from './sweep-fixture.ts';

let sim: Simulator;
let ledger: Ledger;

beforeEach(async () => {
  sim = await startSweepSimulator();
  ledger = createMemoryLedger();
});
afterEach(async () => {
  await sim.close();
});
afterAll(async () => {
  await closeHuaweiPools();
});

/** The sweep's client against the simulator, signing with whatever secret key `secret()` says now. */
function clientSigningWith(secret: () => string): HuaweiClient {
  const overrides: Record<string, string> = {};
  for (const service of ['csbs', 'cbr', 'dds', 'dis', 'iam'] as const) {
    overrides[overrideKey(service, REGION)] = sim.baseUrl(service, REGION);
  }
  return createHuaweiClient({
    endpoints: createEndpointResolver({ overrides }),
    auth: createAkSkAuth({ get: async () => new StaticCredentials(sim.credentials.ak, secret()) }),
    retry: { maxAttempts: 5, baseDelayMs: 5, maxDelayMs: 40, maxTotalMs: 5_000 },
    timeouts: { connectMs: 2_000, headersMs: 5_000, bodyMs: 5_000 },
  });
}

const rejectedAtSimulator = () => sim.inspect().requests.filter((request) => request.status === 401);

describe('the auth breaker in a sweep (simulator over loopback)', () => {
  it('lets exactly one rejected request reach the simulator when the signatures go bad after the plan is stored', async () => {
    let secret = sim.credentials.sk;
    const client = clientSigningWith(() => secret);
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'auth-1', dryRun: false, now: new Date() },
      {
        ...fastDeps(sim, client, ledger),
        onProgress: (progress) => {
          if (progress.type === 'planned') secret = 'x'.repeat(40);
        },
      },
    );
    expect(report.totals.planned).toBeGreaterThan(50);
    expect(rejectedAtSimulator()).toHaveLength(1);
    expect(sim.inspect().requests.filter((request) => request.method === 'DELETE')).toHaveLength(1);
    expect(sim.isLocked(sim.credentials.ak)).toBe(false);
    expect(report.status).toBe('completed_with_failures');
    expect(report.totals.failure_codes).toEqual({ UPSTREAM_AUTH: 1 });
    expect(report.totals.skip_codes).toEqual({ [CREDENTIALS_REJECTED]: report.totals.planned - 1 });
    const records = await ledger.listBySweep('auth-1');
    expect(records.filter((record) => record.attempts > 0)).toHaveLength(1);
  });

  it('sends one DELETE when upstream answers every DELETE 403 (the key may list but not delete)', async () => {
    const real = clientSigningWith(() => sim.credentials.sk);
    let deletesSent = 0;
    // The simulator has no permission model: refuse DELETEs here, after counting them, as API Gateway does
    // (403 APIG.1005 "No permissions to request this method", per Huawei's APIG error reference).
    const listOnly: HuaweiRequester = {
      request: (<T extends z.ZodType>(operation: HuaweiOperation, schema: T, options?: never) => {
        if (operation.method !== 'DELETE') return real.request(operation, schema, options);
        deletesSent += 1;
        return Promise.reject(
          new HuaweiAuthError({
            service: operation.service,
            operation: operation.operation,
            status: 403,
            errorCode: 'APIG.1005',
            errorMessage: 'No permissions to request this method',
          }),
        ) as Promise<HuaweiResponse<z.output<T>>>;
      }) as HuaweiRequester['request'],
    };
    const report = await runSweep(
      { policy: sweepPolicy(sim), sweepId: 'auth-403', dryRun: false, now: new Date() },
      { ...fastDeps(sim, real, ledger), client: listOnly },
    );
    expect(deletesSent).toBe(1);
    expect(report.totals.skipped).toBe(report.totals.planned - 1);
    const skipped = report.totals.skip_codes[CREDENTIALS_REJECTED];
    expect(skipped).toBe(report.totals.planned - 1);
  });
});

/** A requester whose answers the test releases one by one; records what was sent. */
function manualRequester() {
  const sent: { method: string; resolve: () => void; reject: (error: unknown) => void }[] = [];
  const requester: HuaweiRequester = {
    request: ((operation: HuaweiOperation) =>
      new Promise<HuaweiResponse<unknown>>((resolve, reject) => {
        sent.push({
          method: operation.method,
          resolve: () => resolve({ status: 200, body: undefined, requestId: undefined, headers: {} }),
          reject,
        });
      })) as unknown as HuaweiRequester['request'],
  };
  return { sent, requester };
}

const op = (method: HuaweiOperation['method']): HuaweiOperation => ({
  service: 'cbr',
  operation: `cbr.${method.toLowerCase()}`,
  region: REGION,
  method,
  pathSegments: ['v3', 'p', 'backups'],
});
const anySchema = {} as z.ZodType;
const auth401 = () =>
  new HuaweiAuthError({ service: 'cbr', operation: 'cbr.delete', status: 401, errorCode: 'APIG.0301' });
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('SweepCredentialBreaker', () => {
  it('sends the first GET alone and the rest once it got past authentication', async () => {
    const { sent, requester } = manualRequester();
    const guarded = new CredentialBreakers().forSweep('s1').guard(requester);
    const gets = [1, 2, 3].map(() => guarded.request(op('GET'), anySchema));
    await tick();
    expect(sent).toHaveLength(1);
    sent[0]?.resolve();
    await tick();
    expect(sent).toHaveLength(3);
    for (const request of sent.slice(1)) request.resolve();
    await Promise.all(gets);
  });

  it('admits one deletion at a time until a DELETE got past authentication, then every one', async () => {
    const breaker = new CredentialBreakers().forSweep('s1');
    const { sent, requester } = manualRequester();
    const first = await breaker.admit();
    let secondAdmitted = false;
    const second = breaker.admit().then((admission) => {
      secondAdmitted = true;
      return admission;
    });
    await tick();
    expect(secondAdmitted).toBe(false);
    const request = breaker.guard(requester).request(op('DELETE'), anySchema);
    await tick();
    sent[0]?.resolve();
    await request;
    first.done();
    const admitted = await second;
    expect(admitted.trip).toBeUndefined();
    admitted.done();
    const both = await Promise.all([breaker.admit(), breaker.admit()]);
    expect(both.map((admission) => admission.trip)).toEqual([undefined, undefined]);
  });

  it('answers every waiting admission with the trip once the probe DELETE is rejected', async () => {
    const breaker = new CredentialBreakers().forSweep('s1');
    const { sent, requester } = manualRequester();
    const probe = await breaker.admit();
    const waiting = [breaker.admit(), breaker.admit()];
    const request = breaker.guard(requester).request(op('DELETE'), anySchema);
    await tick();
    sent[0]?.reject(auth401());
    await expect(request).rejects.toBeInstanceOf(HuaweiAuthError);
    probe.done();
    for (const admission of await Promise.all(waiting)) expect(admission.trip?.status).toBe(401);
    expect(sent).toHaveLength(1);
  });

  it('counts a 404 as authenticated, and sends nothing more once a request is rejected', async () => {
    const { sent, requester } = manualRequester();
    const breakers = new CredentialBreakers();
    const guarded = breakers.forSweep('s1').guard(requester);
    const probe = guarded.request(op('GET'), anySchema);
    const waiting = [guarded.request(op('GET'), anySchema), guarded.request(op('GET'), anySchema)];
    await tick();
    sent[0]?.reject(auth401());
    await expect(probe).rejects.toBeInstanceOf(HuaweiAuthError);
    for (const request of waiting) await expect(request).rejects.toBeInstanceOf(CredentialsRejectedError);
    await expect(guarded.request(op('DELETE'), anySchema)).rejects.toMatchObject({
      code: CREDENTIALS_REJECTED,
    });
    expect(sent).toHaveLength(1);
    expect(await breakers.forSweep('s1').tripped()).toMatchObject({
      status: 401,
      upstream_code: 'APIG.0301',
    });
    // Another sweep starts clean; a 404 got past authentication, so the GETs after it go together.
    const other = breakers.forSweep('s2').guard(requester);
    const next = other.request(op('GET'), anySchema);
    await tick();
    sent[1]?.reject(
      new HuaweiNotFoundError({ service: 'cbr', operation: 'cbr.get', status: 404, errorCode: 'CBR.0404' }),
    );
    await expect(next).rejects.toBeInstanceOf(HuaweiNotFoundError);
    const after = [other.request(op('GET'), anySchema), other.request(op('GET'), anySchema)];
    await tick();
    expect(sent).toHaveLength(4);
    sent[2]?.resolve();
    sent[3]?.resolve();
    await Promise.all(after);
  });

  it('shares a trip through the store: another worker of the sweep sends nothing after it', async () => {
    const store = new MemoryCredentialTripStore();
    const workerA = manualRequester();
    const workerB = manualRequester();
    const a = new CredentialBreakers({ store }).forSweep('queued-1').guard(workerA.requester);
    const b = new CredentialBreakers({ store }).forSweep('queued-1').guard(workerB.requester);
    const first = a.request(op('DELETE'), anySchema);
    await tick();
    workerA.sent[0]?.reject(auth401());
    await expect(first).rejects.toBeInstanceOf(HuaweiAuthError);
    await expect(b.request(op('DELETE'), anySchema)).rejects.toBeInstanceOf(CredentialsRejectedError);
    expect(workerB.sent).toHaveLength(0);
  });
});
