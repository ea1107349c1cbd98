import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import type { BackupService } from '../../lib/services/backup.ts';
import { adapters } from '../../lib/services/index.ts';
import { json, type Loopback, loopbackClient, type Responder, startLoopback } from '../huawei/loopback.ts';

/**
 * For any number of records and any page size, each adapter yields every record exactly once, in order,
 * in ceil(n / pageSize) requests (one when empty) — over real loopback HTTP, each service paginating its own way.
 */

let server: Loopback;
let client: HuaweiClient;
beforeAll(async () => {
  server = await startLoopback();
  client = loopbackClient(server.baseUrl).client;
});
afterAll(async () => {
  await server.close();
  await closeHuaweiPools();
});

function record(service: BackupService, i: number): Record<string, unknown> {
  const id = `r-${i}`;
  if (service === 'csbs') {
    return {
      id,
      checkpoint_id: `cp-${i}`,
      created_at: '2026-01-01T00:00:00',
      status: 'available',
      resource_id: 's',
    };
  }
  if (service === 'cbr')
    return { id, created_at: '2026-01-01T00:00:00', status: 'available', resource_id: 'v' };
  return { id, instance_id: 'i', type: 'Manual', begin_time: '2026-01-01 00:00:00', status: 'COMPLETED' };
}

function fake(service: BackupService, total: number): Responder {
  const records = Array.from({ length: total }, (_, i) => record(service, i));
  return (request, res) => {
    const url = new URL(request.url, 'http://x');
    const query = url.searchParams;
    const limit = Number(query.get('limit'));
    // Tags come from elsewhere (CBR vaults, DDS instance tags); incremental DDS backups in a pass of their own.
    if (url.pathname.endsWith('/vaults')) return json(200, { vaults: [], count: 0 })(request, res);
    if (url.pathname.endsWith('/tags')) return json(200, { tags: [] })(request, res);
    if (query.get('backup_type') === 'Incremental')
      return json(200, { backups: [], total_count: 0 })(request, res);
    if (service === 'csbs') {
      const marker = query.get('marker');
      const start = marker ? Number(marker.slice(2)) + 1 : 0;
      const page = records.slice(start, start + limit);
      const links =
        start + limit < total
          ? [{ rel: 'next', href: `/v1/p/checkpoint_items?marker=r-${start + limit - 1}` }]
          : [];
      return json(200, { checkpoint_items: page, checkpoint_items_links: links })(request, res);
    }
    const offset = Number(query.get('offset'));
    const page = records.slice(offset, offset + limit);
    return json(
      200,
      service === 'cbr' ? { backups: page, count: total } : { backups: page, total_count: total },
    )(request, res);
  };
}

describe.each(['csbs', 'cbr', 'dds'] as const)('%s listBackups', (service) => {
  it('yields every record once, in order, in the minimum number of pages', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: 1, max: 25 }),
        async (total, pageSize) => {
          server.seen.length = 0;
          server.respond = fake(service, total);
          const ids: string[] = [];
          for await (const backup of adapters[service].listBackups(client, {
            region: 'test-1',
            projectId: 'p',
            pageSize,
          })) {
            ids.push(backup.id);
          }
          expect(ids).toEqual(Array.from({ length: total }, (_, i) => `r-${i}`));
          const pages = server.seen.filter((seen) => {
            const url = new URL(seen.url, 'http://x');
            return /\/(backups|checkpoint_items)$/.test(url.pathname) && !url.searchParams.has('backup_type');
          });
          expect(pages).toHaveLength(Math.max(1, Math.ceil(total / pageSize)));
        },
      ),
      { numRuns: 40 },
    );
  });
});
