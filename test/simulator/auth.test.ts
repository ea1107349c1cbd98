import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { TokenAuth } from '../../lib/huawei/credentials.ts';
import * as cbr from '../../lib/services/cbr.ts';
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { call, collect, firstProject, REGION, simulatorClient } from './helpers.ts';

let sim: Simulator;

afterEach(async () => {
  await sim?.close();
});

async function start(options: Parameters<typeof startSimulator>[0] = {}) {
  sim = await startSimulator({
    generate: { projects: 1, regions: [REGION], resourcesPerProject: 1, backupsPerResource: 2 },
    ...options,
  });
  return firstProject(sim);
}

const MINUTE = 60_000;

describe('AK/SK signature verification', () => {
  it('accepts a request signed over the full received path, prefix included', async () => {
    const projectId = await start();
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`);
    expect(response.status).toBe(200);
  });

  it('rejects a wrong secret with 401 APIG.0301 and the APIG error body', async () => {
    const projectId = await start();
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      credentials: { ak: sim.credentials.ak, sk: 'wrong-secret' },
    });
    expect(response.status).toBe(401);
    expect(response.json).toEqual({
      error_code: 'APIG.0301',
      error_msg: expect.stringContaining('signature'),
      request_id: response.headers['x-request-id'],
    });
  });

  it('rejects a signature computed without the service prefix', async () => {
    const projectId = await start();
    // Sign /v3/... as if the endpoint had no path, then send it to /cbr/{region}/v3/...
    const { sign } = await import('../../lib/huawei/signer.ts');
    const signedUrl = new URL(`${sim.url}/v3/${projectId}/backups`);
    const headers = sign({ method: 'GET', url: signedUrl, headers: {} }, sim.credentials, new Date());
    const response = await request(`${sim.baseUrl('cbr', REGION)}/v3/${projectId}/backups`, {
      headers: { ...headers },
    });
    await response.body.dump();
    expect(response.statusCode).toBe(401);
  });

  it('rejects a tampered query string and an unknown AK', async () => {
    const projectId = await start();
    const { sign } = await import('../../lib/huawei/signer.ts');
    const url = new URL(`${sim.baseUrl('cbr', REGION)}/v3/${projectId}/backups?limit=1`);
    const headers = sign({ method: 'GET', url, headers: {} }, sim.credentials, new Date());
    const tampered = await request(`${sim.baseUrl('cbr', REGION)}/v3/${projectId}/backups?limit=2`, {
      headers: { ...headers },
    });
    await tampered.body.dump();
    expect(tampered.statusCode).toBe(401);
    const unknown = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      credentials: { ak: 'NOSUCHAK', sk: 'x' },
    });
    expect(unknown.json.error_code).toBe('APIG.0301');
  });

  it('rejects an unsigned request', async () => {
    const projectId = await start();
    const response = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, { unsigned: true });
    expect(response.status).toBe(401);
    expect(response.json.error_code).toBe('APIG.0301');
  });

  it('accepts X-Sdk-Date 14 minutes off and rejects 16 minutes off, either way', async () => {
    const fixedWall = Date.UTC(2026, 10, 27, 12, 0, 0);
    const projectId = await start({ wallClock: () => fixedWall });
    const at = (minutes: number) => new Date(fixedWall + minutes * MINUTE);
    const path = `/v3/${projectId}/backups`;
    expect((await call(sim, 'GET', 'cbr', path, { date: at(-14) })).status).toBe(200);
    expect((await call(sim, 'GET', 'cbr', path, { date: at(14) })).status).toBe(200);
    const late = await call(sim, 'GET', 'cbr', path, { date: at(-16) });
    expect(late.status).toBe(401);
    expect(late.json.error_code).toBe('APIG.0301');
    expect((await call(sim, 'GET', 'cbr', path, { date: at(16) })).status).toBe(401);
  });
});

describe('AK lock-out', () => {
  it('locks an AK after 5 consecutive failures, rejects even good signatures, and unlocks after the lock time', async () => {
    const projectId = await start({ lockMs: 5 * MINUTE });
    const path = `/v3/${projectId}/backups`;
    const bad = { credentials: { ak: sim.credentials.ak, sk: 'wrong' } };
    for (let i = 0; i < 4; i++) expect((await call(sim, 'GET', 'cbr', path, bad)).status).toBe(401);
    expect(sim.isLocked(sim.credentials.ak)).toBe(false);
    expect((await call(sim, 'GET', 'cbr', path, bad)).status).toBe(401);
    expect(sim.isLocked(sim.credentials.ak)).toBe(true);
    const good = await call(sim, 'GET', 'cbr', path);
    expect(good.status).toBe(401);
    expect(good.json.error_msg).toContain('locked');
    sim.advance(5 * MINUTE);
    expect((await call(sim, 'GET', 'cbr', path)).status).toBe(200);
  });

  it('resets the failure count on success, so non-consecutive failures never lock', async () => {
    const projectId = await start();
    const path = `/v3/${projectId}/backups`;
    const bad = { credentials: { ak: sim.credentials.ak, sk: 'wrong' } };
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 4; i++) await call(sim, 'GET', 'cbr', path, bad);
      expect((await call(sim, 'GET', 'cbr', path)).status).toBe(200);
    }
    expect(sim.isLocked(sim.credentials.ak)).toBe(false);
  });

  it('locks one AK without touching another user', async () => {
    const projectId = await start();
    const other = sim.addUser();
    const path = `/v3/${projectId}/backups`;
    for (let i = 0; i < 5; i++)
      await call(sim, 'GET', 'cbr', path, { credentials: { ak: sim.credentials.ak, sk: 'bad' } });
    expect((await call(sim, 'GET', 'cbr', path, { credentials: other })).status).toBe(200);
  });

  it('unlocks in real time with a fast time scale', async () => {
    const projectId = await start({ timeScale: 60_000, lockMs: 5 * MINUTE }); // 5 simulated minutes = 5 wall ms
    const path = `/v3/${projectId}/backups`;
    for (let i = 0; i < 5; i++)
      await call(sim, 'GET', 'cbr', path, { credentials: { ak: sim.credentials.ak, sk: 'bad' } });
    let status = 401;
    for (let i = 0; i < 200 && status !== 200; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      status = (await call(sim, 'GET', 'cbr', path)).status;
    }
    expect(status).toBe(200);
  });
});

describe('IAM tokens', () => {
  it('issues a token for a password login and accepts it as X-Auth-Token', async () => {
    const projectId = await start();
    const body = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: {
            user: { name: sim.user.name, password: sim.user.password, domain: { name: sim.user.domain } },
          },
        },
        scope: { project: { id: projectId } },
      },
    });
    const issued = await call(sim, 'POST', 'iam', '/v3/auth/tokens', { body, unsigned: true });
    expect(issued.status).toBe(201);
    const token = issued.headers['x-subject-token'] as string;
    expect(token.length).toBeGreaterThan(20);
    expect(Date.parse(issued.json.token.expires_at)).toBeGreaterThan(Date.now() + 23 * 60 * MINUTE);
    expect(issued.json.token.project.id).toBe(projectId);
    const listed = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      unsigned: true,
      headers: { 'X-Auth-Token': token },
    });
    expect(listed.status).toBe(200);
  });

  it('rejects a wrong password, and an unknown or expired token', async () => {
    const projectId = await start();
    const body = JSON.stringify({
      auth: {
        identity: { methods: ['password'], password: { user: { name: sim.user.name, password: 'nope' } } },
      },
    });
    expect((await call(sim, 'POST', 'iam', '/v3/auth/tokens', { body, unsigned: true })).status).toBe(401);
    const unknown = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      unsigned: true,
      headers: { 'X-Auth-Token': 'forged' },
    });
    expect(unknown.status).toBe(401);
    const good = JSON.stringify({
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: sim.user.name, password: sim.user.password } },
        },
      },
    });
    const token = (await call(sim, 'POST', 'iam', '/v3/auth/tokens', { body: good, unsigned: true })).headers[
      'x-subject-token'
    ] as string;
    sim.advance(24 * 60 * MINUTE);
    const expired = await call(sim, 'GET', 'cbr', `/v3/${projectId}/backups`, {
      unsigned: true,
      headers: { 'X-Auth-Token': token },
    });
    expect(expired.status).toBe(401);
  });

  it('serves the project TokenAuth provider: one token fetch, then token-authenticated listing', async () => {
    const projectId = await start();
    const tokenAuth = new TokenAuth({
      client: simulatorClient(sim),
      region: REGION,
      identity: { userName: sim.user.name, password: sim.user.password, domainName: sim.user.domain },
      projectId,
    });
    const client = simulatorClient(sim, tokenAuth);
    const listed = await collect(cbr.listBackups(client, { region: REGION, projectId }));
    expect(listed).toHaveLength(2);
    expect(tokenAuth.fetchCount).toBe(1);
    const tokenCalls = sim.inspect().requests.filter((r) => r.operation === 'createToken');
    expect(tokenCalls.map((r) => r.status)).toEqual([201]);
    await closeHuaweiPools();
  });
});
