import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import {
  HuaweiBadRequestError,
  HuaweiNotFoundError,
  HuaweiResponseShapeError,
} from '../../lib/huawei/errors.ts';
import { type Backup, BackupSchema } from '../../lib/services/backup.ts';
import { CbrListResponseSchema } from '../../lib/services/cbr.ts';
import { CSBS_PROVIDER_ID } from '../../lib/services/csbs.ts';
import { adapters, cbrAdapter, csbsAdapter, ddsAdapter, pollDeletion } from '../../lib/services/index.ts';
import { type Loopback, loopbackClient, type SeenRequest, startLoopback } from '../huawei/loopback.ts';

/**
 * A small fake of the three list/delete/poll APIs over real loopback HTTP, paginating each service's way,
 * so the adapters are exercised across page boundaries. (The full simulator lives in lib/simulator/.)
 */

type Route = (
  url: URL,
  request: SeenRequest,
) => { status: number; body?: unknown; headers?: Record<string, string> };

let server: Loopback;
let client: HuaweiClient;
let route: Route;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Request-Id': 'rid-fake', ...headers });
  res.end(body === undefined ? '' : JSON.stringify(body));
}

beforeAll(async () => {
  server = await startLoopback((request, res) => {
    const url = new URL(request.url, 'http://fake');
    const out = route(url, request);
    send(res, out.status, out.body, out.headers);
  });
  client = loopbackClient(server.baseUrl).client;
});
beforeEach(() => {
  server.seen.length = 0;
});
afterAll(async () => {
  await server.close();
  await closeHuaweiPools();
});

async function collect(iterable: AsyncIterable<Backup>): Promise<Backup[]> {
  const out: Backup[] = [];
  for await (const backup of iterable) out.push(backup);
  return out;
}

const target = { region: 'test-1', projectId: 'proj' };

describe('CSBS adapter', () => {
  const items = Array.from({ length: 5 }, (_, i) => ({
    id: `item-${i}`,
    checkpoint_id: `cp-${i}`,
    created_at: `2026-11-0${i + 1}T03:04:05.123456`,
    status: ['available', 'error', 'protecting', 'deleting', 'available'][i],
    resource_id: i < 3 ? 'server-a' : 'server-b',
    resource_type: 'OS::Nova::Server',
    name: `backup-${i}`,
    extend_info: { auto_trigger: i % 2 === 0, resource_name: 'web', unknown_field: 1 },
  }));

  function csbsList(url: URL) {
    const limit = Number(url.searchParams.get('limit'));
    const marker = url.searchParams.get('marker');
    const resourceId = url.searchParams.get('resource_id');
    const matching = items.filter((item) => !resourceId || item.resource_id === resourceId);
    const start = marker ? matching.findIndex((item) => item.id === marker) + 1 : 0;
    const page = matching.slice(start, start + limit);
    const last = page.at(-1);
    const more = start + limit < matching.length;
    return {
      status: 200,
      body: {
        checkpoint_items: page,
        checkpoint_items_links:
          more && last
            ? [
                {
                  href: `https://csbs.example/v1/proj/checkpoint_items?limit=${limit}&marker=${last.id}`,
                  rel: 'next',
                },
              ]
            : [],
      },
    };
  }

  it('lists every item across marker pages and maps it to the neutral shape', async () => {
    route = csbsList;
    const backups = await collect(csbsAdapter.listBackups(client, { ...target, pageSize: 2 }));
    expect(backups.map((b) => b.id)).toEqual(['item-0', 'item-1', 'item-2', 'item-3', 'item-4']);
    expect(server.seen.map((r) => new URL(r.url, 'http://x').searchParams.get('marker'))).toEqual([
      null,
      'item-1',
      'item-3',
    ]);
    expect(server.seen[0]?.url.startsWith('/csbs/v1/proj/checkpoint_items?')).toBe(true);
    expect(backups[0]).toEqual({
      service: 'csbs',
      region: 'test-1',
      project_id: 'proj',
      id: 'item-0',
      delete_id: 'cp-0',
      resource_id: 'server-a',
      resource_name: 'web',
      name: 'backup-0',
      created_at: Date.parse('2026-11-01T03:04:05.123Z'),
      status: 'available',
      state: 'finished',
      manual: false,
      tags: [],
      image_type: 'backup',
    });
    expect(backups.map((b) => b.state)).toEqual([
      'finished',
      'failed',
      'in_progress',
      'deleting',
      'finished',
    ]);
    expect(backups.map((b) => b.manual)).toEqual([false, true, false, true, false]);
    for (const backup of backups) expect(BackupSchema.parse(backup)).toEqual(backup);
  });

  it('makes one pass per resource id filter', async () => {
    route = csbsList;
    const backups = await collect(
      csbsAdapter.listBackups(client, { ...target, filters: { resourceIds: ['server-b', 'server-a'] } }),
    );
    expect(backups.map((b) => b.id)).toEqual(['item-3', 'item-4', 'item-0', 'item-1', 'item-2']);
    expect(server.seen).toHaveLength(2);
  });

  it('stops on a next link whose marker repeats instead of looping forever', async () => {
    route = () => ({
      status: 200,
      body: {
        checkpoint_items: [items[0]],
        checkpoint_items_links: [{ href: '/v1/proj/checkpoint_items?marker=item-0', rel: 'next' }],
      },
    });
    await expect(collect(csbsAdapter.listBackups(client, target))).rejects.toBeInstanceOf(
      HuaweiResponseShapeError,
    );
    expect(server.seen).toHaveLength(2);
  });

  it('deletes only the one item of the checkpoint and returns a poll reference', async () => {
    route = () => ({ status: 200, body: {} });
    const start = await csbsAdapter.deleteBackup(client, { ...target, deleteId: 'cp-1', itemId: 'item-1' });
    expect(server.seen[0]?.method).toBe('DELETE');
    expect(server.seen[0]?.url).toBe(
      `/csbs/v1/proj/providers/${CSBS_PROVIDER_ID}/checkpoints/cp-1?checkpoint_items=item-1`,
    );
    expect(start).toEqual({
      kind: 'accepted',
      poll: { service: 'csbs', region: 'test-1', projectId: 'proj', itemId: 'item-1' },
      requestId: 'rid-fake',
    });
  });

  it('polls the item: running while deleting, done when deleted or gone', async () => {
    const poll = { service: 'csbs' as const, ...target, itemId: 'item-1' };
    route = () => ({ status: 200, body: { checkpoint_item: { ...items[1], status: 'deleting' } } });
    expect(await pollDeletion(client, poll)).toMatchObject({ state: 'running', reason: 'status deleting' });
    expect(server.seen[0]?.url).toBe('/csbs/v1/proj/checkpoint_items/item-1');
    route = () => ({ status: 200, body: { checkpoint_item: { ...items[1], status: 'deleted' } } });
    expect((await pollDeletion(client, poll)).state).toBe('done');
    route = () => ({ status: 400, body: { error_code: 'CSBS.3001', error_msg: 'not exist' } });
    expect(await pollDeletion(client, poll)).toEqual({
      state: 'done',
      upstream: 'gone',
      requestId: 'rid-fake',
    });
  });
});

describe('CBR adapter', () => {
  const backups = Array.from({ length: 5 }, (_, i) => ({
    id: `b-${i}`,
    checkpoint_id: `cp-${i}`,
    created_at: `2026-11-1${i}T00:00:00.000000`,
    expired_at: null,
    status: ['available', 'error', 'waiting_protect', 'waiting_delete', 'available'][i],
    vault_id: 'vault-1',
    resource_id: 'vol-1',
    resource_type: 'OS::Cinder::Volume',
    resource_name: 'data',
    resource_size: 40,
    image_type: 'backup',
    extend_info: { auto_trigger: i < 2 },
    provider_id: 'kept-unknown',
  }));

  const vaults = { vaults: [{ id: 'vault-1', tags: [{ key: 'legal-hold', value: 'case-42' }] }], count: 1 };

  function cbrList(url: URL) {
    if (url.pathname.endsWith('/vaults')) return { status: 200, body: vaults };
    const limit = Number(url.searchParams.get('limit'));
    const offset = Number(url.searchParams.get('offset'));
    return {
      status: 200,
      body: { backups: backups.slice(offset, offset + limit), count: backups.length, offset, limit },
    };
  }

  /** The backup listing requests (the vault listing comes first, once). */
  const backupRequests = () => server.seen.filter((r) => r.url.includes('/backups'));

  it('lists every backup across offset pages, with sizes in bytes', async () => {
    route = cbrList;
    const listed = await collect(
      cbrAdapter.listBackups(client, { ...target, pageSize: 2, filters: { vaultId: 'vault-1' } }),
    );
    expect(listed.map((b) => b.id)).toEqual(['b-0', 'b-1', 'b-2', 'b-3', 'b-4']);
    expect(server.seen[0]?.url).toMatch(/^\/cbr\/v3\/proj\/vaults\?/);
    expect(backupRequests().map((r) => new URL(r.url, 'http://x').searchParams.get('offset'))).toEqual([
      '0',
      '2',
      '4',
    ]);
    expect(new URL(backupRequests()[0]?.url ?? '', 'http://x').searchParams.get('vault_id')).toBe('vault-1');
    // CBR backups carry no tags: they come from the vault.
    expect(listed[0]?.tags).toEqual(['legal-hold=case-42']);
    expect(listed[0]).toMatchObject({
      service: 'cbr',
      delete_id: 'b-0',
      vault_id: 'vault-1',
      resource_id: 'vol-1',
      manual: false,
      state: 'finished',
      created_at: Date.parse('2026-11-10T00:00:00Z'),
    });
    expect(listed.map((b) => b.state)).toEqual(['finished', 'failed', 'in_progress', 'deleting', 'finished']);
    // resource_size is the protected disk's size, not the backup's: never counted as reclaimable.
    expect(listed[0]?.size_bytes).toBeUndefined();
  });

  it('stops when a page comes back empty even if count says more', async () => {
    route = (url) =>
      url.pathname.endsWith('/vaults')
        ? { status: 200, body: vaults }
        : { status: 200, body: { backups: [], count: 99 } };
    expect(await collect(cbrAdapter.listBackups(client, target))).toEqual([]);
    expect(backupRequests()).toHaveLength(1);
  });

  it('keeps unknown fields and names the violating field', async () => {
    expect(
      CbrListResponseSchema.parse({ backups: backups.slice(0, 1), count: 1, extra: true }),
    ).toMatchObject({
      extra: true,
      backups: [{ provider_id: 'kept-unknown' }],
    });
    route = (url) =>
      url.pathname.endsWith('/vaults')
        ? { status: 200, body: vaults }
        : {
            status: 200,
            body: { backups: [backups[0], { ...backups[1], created_at: 'yesterday' }], count: 2 },
          };
    await expect(collect(cbrAdapter.listBackups(client, target))).rejects.toThrow(/backups\.1\.created_at/);
  });

  it('deletes with 204 as accepted and polls the backup until it is gone', async () => {
    route = () => ({ status: 204 });
    const start = await cbrAdapter.deleteBackup(client, { ...target, deleteId: 'b-0', itemId: 'b-0' });
    expect(server.seen[0]).toMatchObject({ method: 'DELETE', url: '/cbr/v3/proj/backups/b-0' });
    expect(start).toMatchObject({ kind: 'accepted', poll: { service: 'cbr', backupId: 'b-0' } });
    if (start.kind !== 'accepted') throw new Error('unreachable');
    route = () => ({ status: 200, body: { backup: { ...backups[0], status: 'deleting' } } });
    expect((await pollDeletion(client, start.poll)).state).toBe('running');
    route = () => ({ status: 404, body: { error_code: 'CSBS.3001', error_msg: 'not found' } });
    expect((await pollDeletion(client, start.poll)).state).toBe('done');
  });

  it('passes a refusal through as a typed error', async () => {
    route = () => ({ status: 400, body: { error_code: '6201', error_msg: 'cannot be deleted' } });
    const error = await cbrAdapter
      .deleteBackup(client, { ...target, deleteId: 'b-0', itemId: 'b-0' })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HuaweiBadRequestError);
    route = () => ({ status: 404, body: { error_code: 'CSBS.3001', error_msg: 'not found' } });
    await expect(
      cbrAdapter.deleteBackup(client, { ...target, deleteId: 'b-0', itemId: 'b-0' }),
    ).rejects.toBeInstanceOf(HuaweiNotFoundError);
  });
});

describe('DDS adapter', () => {
  const records = Array.from({ length: 230 }, (_, i) => ({
    id: `dds-${i}`,
    name: `bk-${i}`,
    instance_id: 'inst-1',
    instance_name: 'mongo',
    datastore: { type: 'DDS-Community', version: '4.0' },
    type: i % 3 === 0 ? 'Manual' : 'Auto',
    begin_time: '2026-11-20 01:02:03',
    end_time: '2026-11-20 01:12:03',
    status: i === 1 ? 'DISABLED' : 'COMPLETED',
    size: 2048.5,
    description: '',
  }));

  it('lists across offset pages with limit clamped to 100 and maps type, time and size', async () => {
    route = (url) => {
      const offset = Number(url.searchParams.get('offset'));
      const limit = Number(url.searchParams.get('limit'));
      return {
        status: 200,
        body: { backups: records.slice(offset, offset + limit), total_count: records.length },
      };
    };
    const listed = await collect(
      ddsAdapter.listBackups(client, {
        ...target,
        pageSize: 500,
        filters: { instanceId: 'inst-1', backupType: 'Manual' },
      }),
    );
    expect(listed).toHaveLength(230);
    expect(new Set(listed.map((b) => b.id)).size).toBe(230);
    const queries = server.seen
      .filter((r) => r.url.includes('/backups'))
      .map((r) => new URL(r.url, 'http://x').searchParams);
    expect(queries.map((q) => [q.get('offset'), q.get('limit')])).toEqual([
      ['0', '100'],
      ['100', '100'],
      ['200', '100'],
    ]);
    expect(queries[0]?.get('instance_id')).toBe('inst-1');
    expect(queries[0]?.get('backup_type')).toBe('Manual');
    expect(listed[0]).toMatchObject({
      service: 'dds',
      delete_id: 'dds-0',
      resource_id: 'inst-1',
      resource_name: 'mongo',
      manual: true,
      state: 'finished',
      size_bytes: 2048.5 * 1024,
      created_at: Date.parse('2026-11-20T01:02:03Z'),
    });
    expect(listed[1]).toMatchObject({ manual: false, state: 'deleting', status: 'DISABLED' });
  });

  it('deletes into a job and reads the job state', async () => {
    route = () => ({ status: 202, body: { job_id: 'job-9' } });
    const start = await ddsAdapter.deleteBackup(client, { ...target, deleteId: 'dds-0', itemId: 'dds-0' });
    expect(server.seen[0]).toMatchObject({ method: 'DELETE', url: '/dds/v3/proj/backups/dds-0' });
    expect(start).toEqual({
      kind: 'accepted',
      poll: { service: 'dds', region: 'test-1', projectId: 'proj', jobId: 'job-9' },
      requestId: 'rid-fake',
    });
    if (start.kind !== 'accepted') throw new Error('unreachable');
    const job =
      (status: string, extra = {}) =>
      () => ({ status: 200, body: { job: { id: 'job-9', status, ...extra } } });
    route = job('Running');
    expect((await pollDeletion(client, start.poll)).state).toBe('running');
    expect(server.seen.at(-1)?.url).toBe('/dds/v3/proj/jobs?id=job-9');
    route = job('Completed');
    expect((await pollDeletion(client, start.poll)).state).toBe('done');
    route = job('Failed', { fail_reason: 'backup in use' });
    expect(await pollDeletion(client, start.poll)).toMatchObject({
      state: 'failed',
      reason: 'backup in use',
    });
  });

  it('refuses a delete answer without job_id as a shape error', async () => {
    route = () => ({ status: 200, body: {} });
    await expect(
      ddsAdapter.deleteBackup(client, { ...target, deleteId: 'dds-0', itemId: 'dds-0' }),
    ).rejects.toThrow(/job_id/);
  });
});

describe('adapters', () => {
  it('has one adapter per backup service and refuses ids that would change the path', async () => {
    expect(Object.keys(adapters).sort()).toEqual(['cbr', 'csbs', 'dds']);
    for (const adapter of Object.values(adapters)) {
      await expect(
        adapter.deleteBackup(client, { ...target, deleteId: '../other', itemId: 'x' }),
      ).rejects.toMatchObject({ code: 'INVALID_REQUEST' });
    }
    expect(server.seen).toHaveLength(0);
  });

  it('refuses a poll reference of another service', async () => {
    await expect(cbrAdapter.pollDeletion(client, { service: 'dds', ...target, jobId: 'j' })).rejects.toThrow(
      /dds poll reference/,
    );
  });
});
