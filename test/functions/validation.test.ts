import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { handler as deleteCbr } from '../../functions/delete-cbr-backup.ts';
import { handler as deleteCsbs } from '../../functions/delete-csbs-checkpoint.ts';
import { handler as deleteDds } from '../../functions/delete-dds-backup.ts';
import { handler as deleteDis } from '../../functions/delete-dis-checkpoint.ts';
import { handler as getDeletion } from '../../functions/get-deletion.ts';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { createMemoryLedger, type Ledger } from '../../lib/ledger/index.ts';
import { setRuntimeForTests } from '../../lib/runtime.ts';
import type { Simulator } from '../../lib/simulator/index.ts';
import { Picker, startDeletionSimulator } from '../deletions/fleet.ts';
import { eventFor, invoke, type Reply, testClient, useRuntime } from './harness.ts';

/** Every request here is refused before anything is sent: the simulator must see no request at all. */

let sim: Simulator;
let projectId: string;
let ledger: Ledger;
let pick: Picker;

const CHECKPOINT = '2ed730f7-0741-fc17-fbf7-e701546862c1';
const ITEM = 'b87e2791-dd8b-71b4-1806-b89c4027e15b';
const UUID = '6cabc510-7a59-f2d1-60c7-e31a8bd9e3e3';

beforeAll(async () => {
  ({ sim, projectId } = await startDeletionSimulator());
  pick = new Picker(sim, projectId);
});
beforeEach(async () => {
  sim.resetInspection();
  ledger = createMemoryLedger();
  await useRuntime({ client: testClient(sim), ledger, allowlist: [projectId] });
});
afterAll(async () => {
  setRuntimeForTests(undefined);
  await sim.close();
  await closeHuaweiPools();
});

async function expectRefused(
  handler: Parameters<typeof invoke>[0],
  event: APIGatewayProxyEventV2,
  status: number,
  code: string,
): Promise<Reply> {
  const reply = await invoke(handler, event);
  expect(reply.status, JSON.stringify(reply.json)).toBe(status);
  expect(reply.json.error).toMatchObject({ code, request_id: 'JKJaXmPLvHcESHA=' });
  expect(reply.headers['x-request-id']).toBe('JKJaXmPLvHcESHA=');
  expect(sim.inspect().requests).toEqual([]);
  return reply;
}

/** Ids that try to leave their path segment, smuggle bytes, or are simply too long. */
const HOSTILE_IDS = [
  '..',
  '../../v3/other/backups/x',
  '..%2F..%2Fv3',
  `${UUID}%2F..`,
  `${UUID}/../x`,
  `${UUID}%00`,
  `${UUID}\u0000`,
  `${UUID}\r\nX-Injected: 1`,
  `${UUID}%0d%0a`,
  `${UUID}?checkpoint_items=all`,
  `${UUID}#x`,
  ' ',
  'a'.repeat(2048),
  `${UUID}${'0'.repeat(40)}`,
];

describe('path injection and id shapes', () => {
  it.each(HOSTILE_IDS)('refuses CBR backup id %j with 400 before any upstream call', async (id) => {
    const reply = await expectRefused(
      deleteCbr,
      eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: id } }),
      400,
      'VALIDATION',
    );
    expect(reply.json.error.details.issues[0].path).toBe('path.backup_id');
  });

  it.each(HOSTILE_IDS)('refuses DDS backup id %j', async (id) => {
    await expectRefused(
      deleteDds,
      eventFor('delete-dds-backup', { path: { project_id: projectId, backup_id: id } }),
      400,
      'VALIDATION',
    );
  });

  it.each(HOSTILE_IDS)('refuses CSBS checkpoint id %j', async (id) => {
    await expectRefused(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', { path: { project_id: projectId, checkpoint_id: id } }),
      400,
      'VALIDATION',
    );
  });

  it.each(HOSTILE_IDS)('refuses CSBS checkpoint item %j in the query', async (id) => {
    await expectRefused(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', {
        path: { project_id: projectId, checkpoint_id: CHECKPOINT },
        query: { checkpoint_items: [ITEM, id] },
      }),
      400,
      'VALIDATION',
    );
  });

  it.each(['..', 'a/b', '%2F', 'p\u0007', 'x'.repeat(65)])(
    'refuses project id %j on every route',
    async (bad) => {
      await expectRefused(
        deleteCbr,
        eventFor('delete-cbr-backup', { path: { project_id: bad } }),
        400,
        'VALIDATION',
      );
      await expectRefused(
        deleteDds,
        eventFor('delete-dds-backup', { path: { project_id: bad } }),
        400,
        'VALIDATION',
      );
      await expectRefused(
        deleteCsbs,
        eventFor('delete-csbs-checkpoint', { path: { project_id: bad } }),
        400,
        'VALIDATION',
      );
      await expectRefused(
        deleteDis,
        eventFor('delete-dis-checkpoint', { path: { project_id: bad } }),
        400,
        'VALIDATION',
      );
    },
  );

  it('refuses a DDS id in the CBR route and a CBR id in the DDS route', async () => {
    await expectRefused(
      deleteCbr,
      eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: `${'ab'.repeat(16)}br02` } }),
      400,
      'VALIDATION',
    );
    await expectRefused(
      deleteDds,
      eventFor('delete-dds-backup', { path: { project_id: projectId, backup_id: UUID } }),
      400,
      'VALIDATION',
    );
  });

  it('refuses a deletion id that is not ours', async () => {
    for (const id of ['..', 'del_short', `del_${'A'.repeat(31)}/`, `del_${'A'.repeat(33)}`]) {
      await expectRefused(
        getDeletion,
        eventFor('get-deletion', { path: { deletion_id: id } }),
        400,
        'VALIDATION',
      );
    }
  });
});

describe('CSBS request rules', () => {
  const csbs = (changes: Parameters<typeof eventFor>[1]) =>
    eventFor('delete-csbs-checkpoint', {
      ...changes,
      path: { project_id: projectId, checkpoint_id: CHECKPOINT, ...changes?.path },
    });

  it('refuses any provider_id but the fixed CSBS one', async () => {
    const reply = await expectRefused(
      deleteCsbs,
      csbs({ path: { provider_id: '00000000-0000-0000-0000-000000000000' } }),
      400,
      'VALIDATION',
    );
    expect(reply.json.error.details.issues[0]).toMatchObject({ path: 'path.provider_id' });
  });

  it('refuses checkpoint_items in both the query and the body', async () => {
    await expectRefused(
      deleteCsbs,
      csbs({ query: { checkpoint_items: ITEM }, body: JSON.stringify({ checkpoint_items: [ITEM] }) }),
      400,
      'VALIDATION',
    );
  });

  it('refuses a body with unknown fields, an empty item list, or too many items', async () => {
    for (const body of [
      { checkpoint_items: [ITEM], force: true },
      { checkpoint_items: [] },
      { checkpoint_items: Array.from({ length: 51 }, () => ITEM) },
      { checkpoint_items: ITEM },
      {},
    ]) {
      await expectRefused(deleteCsbs, csbs({ query: null, body: JSON.stringify(body) }), 400, 'VALIDATION');
    }
  });

  it('refuses malformed JSON with 400 and a non-JSON content type with 415', async () => {
    await expectRefused(
      deleteCsbs,
      csbs({ query: null, body: '{"checkpoint_items": [' }),
      400,
      'MALFORMED_JSON',
    );
    await expectRefused(
      deleteCsbs,
      csbs({ query: null, body: 'checkpoint_items=x', headers: { 'content-type': 'text/plain' } }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    );
  });

  it('refuses unknown and empty query parameters', async () => {
    await expectRefused(
      deleteCsbs,
      csbs({ query: { checkpoint_items: ITEM, all: 'true' } }),
      400,
      'VALIDATION',
    );
    await expectRefused(deleteCsbs, csbs({ query: { checkpoint_items: '' } }), 400, 'VALIDATION');
    await expectRefused(deleteCsbs, csbs({ query: { checkpoint_items: `${ITEM},,` } }), 400, 'VALIDATION');
  });
});

describe('DIS request rules', () => {
  const valid = {
    stream_name: 'dis-stream-0',
    app_name: 'app_0000',
    checkpoint_type: 'LAST_READ',
    partition_id: '0',
  };
  const dis = (query: Record<string, string>) =>
    eventFor('delete-dis-checkpoint', { path: { project_id: projectId }, query });

  it.each([
    ['stream_name missing', { app_name: 'a', checkpoint_type: 'LAST_READ' }],
    ['app_name missing', { stream_name: 's', checkpoint_type: 'LAST_READ' }],
    ['checkpoint_type missing', { stream_name: 's', app_name: 'a' }],
    ['checkpoint_type not LAST_READ', { ...valid, checkpoint_type: 'TRIM_HORIZON' }],
    ['app_name with a slash', { ...valid, app_name: 'a/../b' }],
    ['app_name too long', { ...valid, app_name: 'a'.repeat(51) }],
    ['stream_name with a space', { ...valid, stream_name: 'a b' }],
    ['stream_name too long', { ...valid, stream_name: 's'.repeat(65) }],
    ['partition_id malformed', { ...valid, partition_id: 'shardId-12' }],
    ['partition_id negative', { ...valid, partition_id: '-1' }],
    ['an unknown parameter', { ...valid, force: '1' }],
  ])('refuses %s', async (_label, query) => {
    await expectRefused(deleteDis, dis(query as Record<string, string>), 400, 'VALIDATION');
  });

  it('refuses a request without any query', async () => {
    await expectRefused(
      deleteDis,
      eventFor('delete-dis-checkpoint', { path: { project_id: projectId }, query: null }),
      400,
      'VALIDATION',
    );
  });
});

describe('unexpected query parameters', () => {
  it('refuses a query on the CBR, DDS and GET routes', async () => {
    await expectRefused(
      deleteCbr,
      eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: UUID }, query: { x: '1' } }),
      400,
      'VALIDATION',
    );
    await expectRefused(
      deleteDds,
      eventFor('delete-dds-backup', {
        path: { project_id: projectId, backup_id: `${'ab'.repeat(16)}br02` },
        query: { x: '1' },
      }),
      400,
      'VALIDATION',
    );
    await expectRefused(
      getDeletion,
      eventFor('get-deletion', { query: { refresh: 'no' } }),
      400,
      'VALIDATION',
    );
  });
});

describe('project allowlist', () => {
  const stranger = 'f'.repeat(32);

  it('answers 403 PROJECT_NOT_ALLOWED on every delete route and never calls Huawei', async () => {
    await expectRefused(
      deleteCbr,
      eventFor('delete-cbr-backup', { path: { project_id: stranger, backup_id: UUID } }),
      403,
      'PROJECT_NOT_ALLOWED',
    );
    await expectRefused(
      deleteDds,
      eventFor('delete-dds-backup', { path: { project_id: stranger, backup_id: `${'ab'.repeat(16)}br02` } }),
      403,
      'PROJECT_NOT_ALLOWED',
    );
    await expectRefused(
      deleteCsbs,
      eventFor('delete-csbs-checkpoint', { path: { project_id: stranger, checkpoint_id: CHECKPOINT } }),
      403,
      'PROJECT_NOT_ALLOWED',
    );
    await expectRefused(
      deleteDis,
      eventFor('delete-dis-checkpoint', { path: { project_id: stranger } }),
      403,
      'PROJECT_NOT_ALLOWED',
    );
  });

  it('answers 404 for a deletion of a project no longer allowed', async () => {
    const backup = pick.cbrBackup();
    const made = await invoke(
      deleteCbr,
      eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: backup.id } }),
    );
    expect(made.status).toBe(202);
    await useRuntime({ client: testClient(sim), ledger, allowlist: ['someoneelse'] });
    sim.resetInspection();
    await expectRefused(
      getDeletion,
      eventFor('get-deletion', { path: { deletion_id: made.json.deletion_id } }),
      404,
      'NOT_FOUND',
    );
  });
});

describe('caller identity', () => {
  it('records the JWT subject when the authorizer is a JWT one', async () => {
    const backup = pick.cbrBackup();
    const event = eventFor('delete-cbr-backup', { path: { project_id: projectId, backup_id: backup.id } });
    const context = event.requestContext as unknown as { authorizer: unknown };
    context.authorizer = { jwt: { claims: { sub: 'user-42', iss: 'https://issuer.example' }, scopes: null } };
    const reply = await invoke(deleteCbr, event);
    expect(reply.status).toBe(202);
    expect((await ledger.get(reply.json.deletion_id))?.requested_by).toMatchObject({
      kind: 'jwt',
      principal: 'user-42',
      issuer: 'https://issuer.example',
    });
  });
});
