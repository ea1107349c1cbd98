import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { closeHuaweiPools, type HuaweiClient } from '../../lib/huawei/client.ts';
import { createMemoryLedger } from '../../lib/ledger/index.ts';
import { planTargets, renderPlanTable } from '../../lib/retention/plan-targets.ts';
import { type Policy, PolicyError, parsePolicy } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { CSBS_MB } from '../../lib/services/csbs.ts';
import { adapters } from '../../lib/services/index.ts';
import { pairProjectsWithRegions } from '../../lib/services/projects.ts';
import { type Fleet, type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { simulatorClient } from '../../lib/sweep/demo-fleet.ts';
import { planSweep } from '../../lib/sweep/plan-sweep.ts';
import { runSweep } from '../../lib/sweep/sweep.ts';
import { call } from '../simulator/helpers.ts';
import { cbrBackup, csbsItem, ddsBackup, ddsInstance, emptyFleet, NOW } from './fixture-fleet.ts';

/**
 * The signals that decide deletability, read where each service keeps them — over loopback against the
 * simulator, whose request log shows which DELETEs were (not) sent.
 */

const P = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const Q = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';
const REGION = 'ap-southeast-1';
const OTHER = 'cn-north-4';

let sim: Simulator | undefined;
let client: HuaweiClient;

async function start(fleet: Fleet, regions = [REGION]): Promise<Simulator> {
  sim = await startSimulator({ fleet, deletion: { csbsMs: 20, cbrMs: 20, ddsMs: 20 } });
  client = simulatorClient(sim, regions);
  return sim;
}

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});
afterAll(async () => {
  await closeHuaweiPools();
});

function policy(target: Record<string, unknown>): Policy {
  return parsePolicy({
    version: 1,
    targets: [
      {
        name: 't',
        projects: [P],
        regions: [REGION],
        keep: { last: 1 },
        allow_delete_newest: false,
        ...target,
      },
    ],
  });
}

async function plan(p: Policy) {
  return planSweep({ policy: p, now: new Date(NOW) }, { client, adapters });
}

async function sweep(p: Policy) {
  return runSweep(
    { policy: p, dryRun: false, now: new Date(NOW) },
    {
      client,
      ledger: createMemoryLedger(),
      tracking: { baseMs: 10, capMs: 40, minDelayMs: 5 },
      retry: { busyDelayMs: 20, baseMs: 5, capMs: 20, maxAttempts: 10 },
    },
  );
}

const deletes = (s: Simulator) => s.inspect().requests.filter((request) => request.method === 'DELETE');
const ops = (s: Simulator, operation: string) =>
  s.inspect().requests.filter((request) => request.operation === operation);

async function listAll(service: Backup['service'], projectId = P, region = REGION): Promise<Backup[]> {
  const out: Backup[] = [];
  for await (const backup of adapters[service].listBackups(client, { region, projectId })) out.push(backup);
  return out;
}

describe('tags where each service keeps them', () => {
  it('keeps a CBR backup in a vault tagged legal-hold=case-42 under protect.tags [legal-hold=*]', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.cbr_vaults.push(
      { id: 'vault-1', name: 'held', project_id: P, tags: [{ key: 'legal-hold', value: 'case-42' }] },
      { id: 'vault-2', name: 'plain', project_id: P, tags: [] },
    );
    for (let i = 0; i < 4; i++) {
      fleet.cbr.push(cbrBackup(P, `held-${i}`, 10 + i));
      fleet.cbr.push(cbrBackup(P, `plain-${i}`, 10 + i, { vault_id: 'vault-2', resource_id: 'server-2' }));
    }
    const s = await start(fleet);
    const report = await sweep(policy({ service: 'cbr', protect: { tags: ['legal-hold=*'] } }));
    expect(report.status).toBe('completed');
    const deleted = new Set(deletes(s).map((request) => request.path.split('/').at(-1)));
    // The plain vault loses all but its newest; the held vault keeps everything.
    expect([...deleted].sort()).toEqual(['plain-1', 'plain-2', 'plain-3']);
    // Vaults are listed once per project and region in a sweep, not once per backup or page.
    expect(ops(s, 'listVaults')).toHaveLength(1);
  });

  it('scopes CBR, DDS and CSBS backups by filters.tags from the vault, the instance and the item', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.cbr_vaults.push({
      id: 'vault-1',
      name: 'prod',
      project_id: P,
      tags: [{ key: 'env', value: 'prod' }],
    });
    fleet.cbr.push(cbrBackup(P, 'c-1', 3));
    fleet.dds.instances.push(ddsInstance(P, 'inst-1', { tags: [{ key: 'env', value: 'prod' }] }));
    fleet.dds.backups.push(ddsBackup(P, 'd-1', 3, 'Manual'), ddsBackup(P, 'd-2', 4, 'Manual'));
    fleet.csbs.push(
      csbsItem(P, 's-1', 3, { tags: [{ key: 'env', value: 'prod' }] }),
      csbsItem(P, 's-2', 4, { tags: [{ key: 'env', value: 'test' }] }),
    );
    const s = await start(fleet);
    const filters = { tags: ['env=prod'] };
    const result = await plan(
      parsePolicy({
        version: 1,
        defaults: { keep: { last: 5 }, filters },
        targets: ['cbr', 'dds', 'csbs'].map((service) => ({
          name: service,
          service,
          projects: [P],
          regions: [REGION],
        })),
      }),
    );
    expect(result.summary.targets.map((target) => [target.name, target.listed, target.kept])).toEqual([
      ['cbr', 1, 1],
      ['dds', 2, 2],
      ['csbs', 2, 1],
    ]);
    // One ListInstanceTags per instance, not per backup.
    expect(ops(s, 'listInstanceTags')).toHaveLength(1);
  });

  it('sends no tags on CBR and DDS backups, and CSBS items carry their own', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.cbr_vaults.push({ id: 'vault-1', name: 'v', project_id: P, tags: [{ key: 'k', value: 'v' }] });
    fleet.cbr.push(cbrBackup(P, 'c-1', 3));
    fleet.dds.instances.push(ddsInstance(P, 'inst-1', { tags: [{ key: 'k', value: 'v' }] }));
    fleet.dds.backups.push(ddsBackup(P, 'd-1', 3, 'Manual'));
    fleet.csbs.push(csbsItem(P, 's-1', 3, { tags: [{ key: 'k', value: 'v' }] }));
    const s = await start(fleet);
    const cbr = await call(s, 'GET', 'cbr', `/v3/${P}/backups`);
    const dds = await call(s, 'GET', 'dds', `/v3/${P}/backups`);
    const csbs = await call(s, 'GET', 'csbs', `/v1/${P}/checkpoint_items`);
    expect(cbr.json.backups[0]).not.toHaveProperty('tags');
    expect(dds.json.backups[0]).not.toHaveProperty('tags');
    expect(csbs.json.checkpoint_items[0].tags).toEqual([{ key: 'k', value: 'v' }]);
  });

  it('refuses a tag rule that no tag of the service can match', () => {
    const invalid = (service: string, tags: string[]) => () =>
      parsePolicy({
        version: 1,
        targets: [
          { name: 't', service, projects: [P], regions: [REGION], keep: { last: 1 }, protect: { tags } },
        ],
      });
    // CSBS tag values hold only letters, digits, "-" and "_"; no key is longer than 36 characters.
    expect(invalid('csbs', ['release=1.2'])).toThrow(PolicyError);
    expect(invalid('cbr', [`${'k'.repeat(37)}=*`])).toThrow(/at most 36 characters/);
    expect(invalid('dds', ['owner=a/b'])).toThrow(/can match nothing/);
    expect(invalid('cbr', ['release=1.2', 'legal-hold=*', 'legal-hold'])).not.toThrow();
  });
});

describe('upstream deletability', () => {
  it('never plans a DDS backup upstream marks not deletable, nor any of a restoring instance', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.dds.instances.push(ddsInstance(P, 'inst-1'), ddsInstance(P, 'inst-2', { restoring: true }));
    for (let i = 0; i < 3; i++) {
      fleet.dds.backups.push(ddsBackup(P, `locked-${i}`, 10 + i, 'Manual', { deletable: false }));
      fleet.dds.backups.push(
        ddsBackup(P, `restoring-${i}`, 10 + i, 'Manual', {
          instance_id: 'inst-2',
          instance_name: 'mongo-inst-2',
        }),
      );
      fleet.dds.backups.push(ddsBackup(P, `auto-${i}`, 10 + i, 'Auto'));
    }
    const s = await start(fleet);
    const p = policy({ service: 'dds', max_delete_share: 1 });
    const planned = await plan(p);
    expect(planned.items).toEqual([]);
    const listed = await listAll('dds');
    const table = renderPlanTable(await planTargets(p, () => listed, new Date(NOW)));
    expect(table).toMatch(/locked-1\s+not deletable upstream/);
    expect(table).toMatch(/restoring-2\s+instance restoring/);
    expect(table).toMatch(/auto-1\s+not deletable upstream/);
    await sweep(p);
    expect(deletes(s)).toEqual([]);
  });

  it('never plans a CSBS item whose copy is still being made', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.csbs.push(
      csbsItem(P, 'new', 1),
      csbsItem(P, 'copying', 20, { extend_info: { copy_status: 'copying' } as never }),
      csbsItem(P, 'waiting', 21, { extend_info: { copy_status: 'waiting_copy' } as never }),
      csbsItem(P, 'copied', 22, { extend_info: { copy_status: 'success' } as never }),
    );
    const s = await start(fleet);
    const p = policy({ service: 'csbs', max_delete_share: 1 });
    const planned = await plan(p);
    expect(planned.items.map((item) => item.target)).toEqual([
      expect.objectContaining({ checkpoint_items: ['copied'] }),
    ]);
    await sweep(p);
    expect(deletes(s).map((request) => request.path.split('/').at(-1))).toEqual(['cp-copied']);
  });
});

describe('DDS listing as upstream does it', () => {
  function ddsFleet(): Fleet {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.dds.instances.push(ddsInstance(P, 'inst-1'));
    fleet.dds.backups.push(
      ddsBackup(P, 'full-old', 30, 'Manual'),
      ddsBackup(P, 'full-base', 20, 'manual'),
      ddsBackup(P, 'inc-1', 19, 'Incremental'),
      ddsBackup(P, 'inc-2', 18, 'incremental'),
      ddsBackup(P, 'full-new', 2, 'Auto'),
    );
    return fleet;
  }

  it('answers full backups only without backup_type, and refuses Incremental without instance_id', async () => {
    const s = await start(ddsFleet());
    const full = await call(s, 'GET', 'dds', `/v3/${P}/backups`);
    expect(full.json.backups.map((b: { id: string }) => b.id)).toEqual(['full-new', 'full-base', 'full-old']);
    const refused = await call(s, 'GET', 'dds', `/v3/${P}/backups`, {
      query: { backup_type: 'Incremental' },
    });
    expect(refused.status).toBe(400);
    const incremental = await call(s, 'GET', 'dds', `/v3/${P}/backups`, {
      query: { backup_type: 'incremental', instance_id: 'inst-1' },
    });
    expect(incremental.json.backups.map((b: { id: string }) => b.id)).toEqual(['inc-2', 'inc-1']);
  });

  it('lists full and incremental backups, whatever case the type is written in', async () => {
    await start(ddsFleet());
    const listed = await listAll('dds');
    expect(listed.map((b) => [b.id, b.manual, b.incremental === true])).toEqual([
      ['full-new', false, false],
      ['full-base', true, false],
      ['full-old', true, false],
      ['inc-2', false, true],
      ['inc-1', false, true],
    ]);
  });

  it('never cuts an incremental chain below the full backup it depends on', async () => {
    const s = await start(ddsFleet());
    const p = policy({ service: 'dds', max_delete_share: 1 });
    const planned = await plan(p);
    // inc-1/inc-2 (automatic: not deletable) are kept, so full-base stays; full-old is free to go.
    expect(planned.items.map((item) => item.target)).toEqual([
      expect.objectContaining({ backup_id: 'full-old' }),
    ]);
    await sweep(p);
    expect(deletes(s).map((request) => request.path.split('/').at(-1))).toEqual(['full-old']);
  });
});

describe('CBR replicas and expiry', () => {
  function cbrFleet(): Fleet {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.cbr_vaults.push(
      { id: 'vault-1', name: 'v', project_id: P, tags: [] },
      { id: 'vault-r', name: 'replicas', project_id: P, tags: [] },
    );
    // Replicas land in a replication vault of the destination region.
    const replica = { image_type: 'replication', vault_id: 'vault-r' } as const;
    fleet.cbr.push(
      cbrBackup(P, 'b-new', 1),
      cbrBackup(P, 'b-old', 40, { expired_at: '2026-12-20T03:00:00.000000' }),
      cbrBackup(P, 'r-new', 1, replica),
      cbrBackup(P, 'r-old', 40, replica),
    );
    return fleet;
  }

  it('leaves replication copies alone unless the target asks for them', async () => {
    const s = await start(cbrFleet());
    const byDefault = await plan(policy({ service: 'cbr', max_delete_share: 1 }));
    expect(byDefault.items.map((item) => item.target)).toEqual([
      expect.objectContaining({ backup_id: 'b-old' }),
    ]);
    const withReplicas = await plan(
      policy({ service: 'cbr', max_delete_share: 1, filters: { image_types: ['backup', 'replication'] } }),
    );
    expect(withReplicas.items.map((item) => (item.target as { backup_id: string }).backup_id).sort()).toEqual(
      ['b-old', 'r-old'],
    );
    await sweep(policy({ service: 'cbr', max_delete_share: 1 }));
    expect(deletes(s).map((request) => request.path.split('/').at(-1))).toEqual(['b-old']);
  });

  it("keeps CBR's own expiry on the backup and shows it in the plan", async () => {
    await start(cbrFleet());
    const listed = await listAll('cbr');
    expect(listed.find((b) => b.id === 'b-old')?.expires_at).toBe(Date.parse('2026-12-20T03:00:00Z'));
    const p = policy({ service: 'cbr' });
    const table = renderPlanTable(await planTargets(p, () => listed, new Date(NOW)));
    expect(table).toMatch(/b-old\s+kept by no rule, expires upstream 2026-12-20/);
  });
});

describe('CSBS sizes', () => {
  it('reports bytes from extend_info.size or the volume backups (MB), and unknown sizes as unknown', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.csbs.push(
      csbsItem(P, 'new', 1, { extend_info: { size: 10 } as never }),
      csbsItem(P, 'sized', 30, { extend_info: { size: 1024 } as never }),
      csbsItem(P, 'volumes', 31, {
        extend_info: {
          volume_backups: [
            { id: 'v1', size: 512 },
            { id: 'v2', size: 512 },
          ],
        } as never,
      }),
    );
    await start(fleet);
    const listed = await listAll('csbs');
    expect(listed.map((b) => b.size_bytes)).toEqual([10 * CSBS_MB, 1024 * CSBS_MB, 1024 * CSBS_MB]);
    const p = policy({ service: 'csbs', max_delete_share: 1 });
    const known = renderPlanTable(await planTargets(p, () => listed, new Date(NOW)));
    expect(known).toMatch(/delete 2 \(2\.0 GiB\)/);
    const unknown = renderPlanTable(
      await planTargets(p, () => listed.map(({ size_bytes: _size, ...backup }) => backup), new Date(NOW)),
    );
    expect(unknown).toMatch(/delete 2 \(unknown\)/); // the one way every command prints an unknown size
    expect(unknown).not.toMatch(/0 B/);
  });

  it('lists an item as deleted once its deletion is done, before it is gone', async () => {
    const fleet = emptyFleet([{ id: P, region: REGION }]);
    fleet.csbs.push(csbsItem(P, 'new', 1), csbsItem(P, 'old', 30));
    const s = await start(fleet);
    await sweep(policy({ service: 'csbs', max_delete_share: 1 }));
    const statuses = s.state.csbsItem('old')?.status;
    expect(statuses === 'deleted' || statuses === undefined).toBe(true);
    expect(deletes(s)).toHaveLength(1);
  });
});

describe('a project belongs to one region', () => {
  function twoRegionFleet(): Fleet {
    const fleet = emptyFleet([
      { id: P, region: REGION },
      { id: Q, region: OTHER },
    ]);
    fleet.cbr_vaults.push({ id: 'vault-1', name: 'v', project_id: P, tags: [] });
    for (let i = 0; i < 6; i++) fleet.cbr.push(cbrBackup(P, `p-${i}`, i * 10));
    return fleet;
  }

  it('answers a project in a foreign region with 403 and names its region', async () => {
    const s = await start(twoRegionFleet(), [REGION, OTHER]);
    const url = new URL(`${s.baseUrl('cbr', OTHER)}/v3/${P}/backups`);
    const { request } = await import('undici');
    const { sign } = await import('../../lib/huawei/signer.ts');
    const headers = sign({ method: 'GET', url, headers: {} }, s.credentials, new Date());
    const response = await request(url, { headers: { ...headers } });
    expect(response.statusCode).toBe(403);
    expect(((await response.body.json()) as { error_msg: string }).error_msg).toMatch(
      /belongs to region ap-southeast-1/,
    );
  });

  it('lists a project of a two-region target once, in its own region', async () => {
    const s = await start(twoRegionFleet(), [REGION, OTHER]);
    const p = parsePolicy({
      version: 1,
      targets: [{ name: 't', service: 'cbr', projects: [P], regions: [REGION, OTHER], keep: { last: 2 } }],
    });
    const planned = await plan(p);
    // Listed in both regions (today's mistake) it would be 12 listed and 8 planned, half of them twice.
    expect(planned.summary.targets[0]).toMatchObject({ listed: 6, planned: 4 });
    expect(new Set(planned.items.map((item) => item.deletion_id)).size).toBe(4);
    expect(ops(s, 'listBackups').map((request) => request.region)).toEqual([REGION]);
    expect(ops(s, 'showProject')).toHaveLength(1);
  });

  it('reports a project whose region the target does not name', async () => {
    await start(twoRegionFleet(), [REGION, OTHER]);
    const paired = await pairProjectsWithRegions(client, {
      projects: [P, Q],
      regions: [OTHER, 'eu-west-101'],
    });
    expect(paired.listings).toEqual([{ region: OTHER, projectId: Q }]);
    expect(paired.mismatches).toEqual([
      { projectId: P, region: REGION, targetRegions: [OTHER, 'eu-west-101'] },
    ]);
  });
});
