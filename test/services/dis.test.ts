import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { InvalidRequestError } from '../../lib/huawei/errors.ts';
import {
  type DeleteCheckpointInput,
  type DisApp,
  deleteCheckpoint,
  listApps,
  listConsumerStates,
} from '../../lib/services/dis.ts';
import { json, type Loopback, loopbackClient, startLoopback } from '../huawei/loopback.ts';

let server: Loopback;
let client: HuaweiClient;
beforeAll(async () => {
  server = await startLoopback();
  client = loopbackClient(server.baseUrl).client;
});
beforeEach(() => {
  server.seen.length = 0;
});
afterAll(async () => {
  await server.close();
  await closeHuaweiPools();
});

const base = { region: 'test-1', projectId: 'proj' };

describe('listApps', () => {
  const names = Array.from({ length: 7 }, (_, i) => `app-${String(i).padStart(2, '0')}`);

  it('follows start_app_name while has_more_app, without duplicates', async () => {
    server.respond = (request, res) => {
      const url = new URL(request.url, 'http://x');
      const limit = Number(url.searchParams.get('limit'));
      const start = url.searchParams.get('start_app_name');
      // This fake treats start_app_name as inclusive, the less convenient reading.
      const from = start ? names.indexOf(start) : 0;
      const page = names.slice(from, from + limit);
      json(200, {
        has_more_app: from + limit < names.length,
        apps: page.map((name, i) => ({
          app_name: name,
          app_id: `id-${name}`,
          create_time: 1_700_000_000_000 + i,
        })),
        total_number: names.length,
      })(request, res);
    };
    const seen: DisApp[] = [];
    for await (const app of listApps(client, { ...base, pageSize: 3, streamName: 'orders' })) seen.push(app);
    expect(seen.map((app) => app.app_name)).toEqual(names);
    const queries = server.seen.map((r) => new URL(r.url, 'http://x').searchParams);
    expect(queries.map((q) => q.get('start_app_name'))).toEqual([null, 'app-02', 'app-04']);
    expect(queries[0]?.get('stream_name')).toBe('orders');
    expect(server.seen[0]?.url.startsWith('/dis/v2/proj/apps?')).toBe(true);
  });
});

describe('deleteCheckpoint', () => {
  const valid: DeleteCheckpointInput = {
    ...base,
    streamName: 'orders',
    appName: 'billing_app-1',
    checkpointType: 'LAST_READ',
    partitionId: 'shardId-0000000003',
  };

  it('sends the query and is done synchronously on 204', async () => {
    server.respond = (_req, res) => {
      res.writeHead(204, { 'X-Request-Id': 'dis-rid' });
      res.end();
    };
    expect(await deleteCheckpoint(client, valid)).toEqual({ kind: 'done', requestId: 'dis-rid' });
    const url = new URL(server.seen[0]?.url ?? '', 'http://x');
    expect(server.seen[0]?.method).toBe('DELETE');
    expect(url.pathname).toBe('/dis/v2/proj/checkpoints');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      stream_name: 'orders',
      app_name: 'billing_app-1',
      checkpoint_type: 'LAST_READ',
      partition_id: 'shardId-0000000003',
    });
  });

  it.each([
    [{ partitionId: '0' }],
    [{ partitionId: '12' }],
    [{ partitionId: undefined }],
    [{ appName: 'a'.repeat(50) }],
  ])('accepts %j', async (change) => {
    server.respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    await expect(deleteCheckpoint(client, { ...valid, ...change })).resolves.toMatchObject({ kind: 'done' });
  });

  it.each([
    [{ appName: '' }, 'appName'],
    [{ appName: 'a'.repeat(51) }, 'appName'],
    [{ appName: 'bad name' }, 'appName'],
    [{ appName: 'x&checkpoint_type=ALL' }, 'appName'],
    [{ streamName: 'a/b' }, 'streamName'],
    [{ checkpointType: 'ALL' }, 'checkpointType'],
    [{ partitionId: 'shardId-3' }, 'partitionId'],
    [{ partitionId: '-1' }, 'partitionId'],
    [{ partitionId: '01' }, 'partitionId'],
  ])('rejects %j before sending anything', async (change, field) => {
    const error = await deleteCheckpoint(client, { ...valid, ...change } as DeleteCheckpointInput).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect((error as InvalidRequestError).field).toBe(field);
    expect(server.seen).toHaveLength(0);
  });
});

describe('listConsumerStates', () => {
  it('pages by start_partition_id while has_more', async () => {
    const ids = Array.from({ length: 5 }, (_, i) => `shardId-${String(i).padStart(10, '0')}`);
    server.respond = (request, res) => {
      const url = new URL(request.url, 'http://x');
      const limit = Number(url.searchParams.get('limit'));
      const start = url.searchParams.get('start_partition_id');
      const from = start ? ids.indexOf(start) + 1 : 0;
      json(200, {
        has_more: from + limit < ids.length,
        partition_consuming_states: ids
          .slice(from, from + limit)
          .map((id) => ({ partition_id: id, sequence_number: '-1', status: 'ACTIVE' })),
      })(request, res);
    };
    const seen: string[] = [];
    for await (const state of listConsumerStates(client, {
      ...base,
      appName: 'billing',
      streamName: 'orders',
      pageSize: 2,
    })) {
      seen.push(state.partition_id);
    }
    expect(seen).toEqual(ids);
    expect(server.seen).toHaveLength(3);
    const first = new URL(server.seen[0]?.url ?? '', 'http://x');
    expect(first.pathname).toBe('/dis/v2/proj/apps/billing/streams/orders');
    expect(first.searchParams.get('checkpoint_type')).toBe('LAST_READ');
  });

  it('rejects an app name that breaks the naming rule before sending', async () => {
    const iterate = async () => {
      for await (const _ of listConsumerStates(client, { ...base, appName: 'a b', streamName: 'orders' })) {
        // nothing
      }
    };
    await expect(iterate()).rejects.toBeInstanceOf(InvalidRequestError);
    expect(server.seen).toHaveLength(0);
  });
});
