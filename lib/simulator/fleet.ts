import { z } from 'zod';
import { CBR_BACKUP_STATUSES, CSBS_ITEM_STATUSES } from '../services/wire-contract.ts';

/**
 * The simulator's seed data, in the services' own wire shapes (what the list calls return), plus the
 * project each record belongs to. Loaded from a JSON fixture (validated by `FleetSchema`) or produced by
 * the deterministic `generateFleet`, which is fast enough for 100,000+ backups.
 */

export const CSBS_PROVIDER_ID = 'fc4d5750-22e7-4798-8a46-f48f62c4c1da';

export const SimServiceSchema = z.enum(['csbs', 'cbr', 'dds', 'dis']);
export type SimService = z.infer<typeof SimServiceSchema>;

export const ProjectSchema = z.object({ id: z.string().min(1), region: z.string().min(1), name: z.string() });
export type Project = z.infer<typeof ProjectSchema>;

export const CsbsItemStatusSchema = z.enum(CSBS_ITEM_STATUSES);

/** `{key, value}` as every service writes tags. */
export const SimTagSchema = z.object({ key: z.string().min(1), value: z.string() });
export type SimTag = z.infer<typeof SimTagSchema>;

/**
 * A CSBS checkpoint item as `GET /v1/{project_id}/checkpoint_items` returns it, plus `project_id` (the
 * simulator's own bookkeeping: it is not sent). `tags` live on the item; `extend_info.copy_status`
 * (na, waiting_copy, copying, success, fail) and `extend_info.size` / `volume_backups[].size` (MB) as upstream.
 */
export const CsbsItemSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  checkpoint_id: z.string(),
  project_id: z.string(),
  tags: z.array(SimTagSchema).optional(),
  created_at: z.string(),
  updated_at: z.string(),
  status: CsbsItemStatusSchema,
  resource_id: z.string(),
  resource_type: z.string(),
  extend_info: z.looseObject({
    auto_trigger: z.boolean(),
    image_type: z.string(),
    fail_reason: z.string(),
    resource_name: z.string(),
    size: z.number().optional(),
    copy_status: z.enum(['na', 'waiting_copy', 'copying', 'success', 'fail']).optional(),
    copy_from: z.string().optional(),
    volume_backups: z.array(z.looseObject({ id: z.string(), size: z.number() })).optional(),
  }),
});
export type CsbsItem = z.infer<typeof CsbsItemSchema>;

export const CbrBackupStatusSchema = z.enum(CBR_BACKUP_STATUSES);

/**
 * A CBR backup as `GET /v3/{project_id}/backups` returns it. CBR backups carry no tags: the vault does
 * (`CbrVaultSchema`). Fields the fixture leaves out are sent with neutral values (see the CBR routes).
 */
export const CbrBackupSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  checkpoint_id: z.string(),
  project_id: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
  expired_at: z.string().nullable(),
  status: CbrBackupStatusSchema,
  vault_id: z.string(),
  resource_id: z.string(),
  resource_type: z.string(),
  resource_name: z.string(),
  resource_size: z.number(),
  image_type: z.enum(['backup', 'replication']),
  provider_id: z.string(),
  extend_info: z.looseObject({ auto_trigger: z.boolean() }),
});
export type CbrBackup = z.infer<typeof CbrBackupSchema>;

/** A CBR vault: what ListVaults returns is built from this (the vault's tags are the backups' tags). */
export const CbrVaultSchema = z.object({
  id: z.string(),
  name: z.string(),
  project_id: z.string(),
  tags: z.array(SimTagSchema).default([]),
});
export type CbrVault = z.infer<typeof CbrVaultSchema>;

/** A DDS instance: its tags (ListInstanceTags) and whether it is being restored (`is_instance_restoring`). */
export const DdsInstanceSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  project_id: z.string(),
  status: z.string(),
  tags: z.array(SimTagSchema).optional(),
  restoring: z.boolean().optional(),
});
export type DdsInstance = z.infer<typeof DdsInstanceSchema>;

export const DdsBackupSchema = z.looseObject({
  id: z.string(),
  name: z.string(),
  project_id: z.string(),
  instance_id: z.string(),
  instance_name: z.string(),
  /** Auto, Manual, Incremental, Fragment, in any case (the API reference and the Go enum differ). */
  type: z
    .string()
    .refine((type) => ['auto', 'manual', 'incremental', 'fragment'].includes(type.toLowerCase()), {
      message: 'one of Auto, Manual, Incremental, Fragment',
    }),
  begin_time: z.string(),
  end_time: z.string(),
  status: z.enum(['BUILDING', 'COMPLETED', 'FAILED', 'DISABLED', 'DELETING']),
  /** KB. */
  size: z.number(),
  description: z.string(),
  /** Default: manual backups are deletable, automatic ones are not (a full-backup policy exists). */
  deletable: z.boolean().optional(),
});
export type DdsBackup = z.infer<typeof DdsBackupSchema>;

export const DisStreamSchema = z.object({
  project_id: z.string(),
  stream_name: z.string(),
  partition_count: z.number().int().positive(),
});
export type DisStream = z.infer<typeof DisStreamSchema>;

export const DisAppSchema = z.object({
  project_id: z.string(),
  app_name: z.string(),
  app_id: z.string(),
  create_time: z.number(),
  commit_checkpoint_stream_names: z.array(z.string()),
});
export type DisApp = z.infer<typeof DisAppSchema>;

export const DisCheckpointSchema = z.object({
  project_id: z.string(),
  app_name: z.string(),
  stream_name: z.string(),
  partition: z.number().int().nonnegative(),
  sequence_number: z.string(),
  metadata: z.string(),
});
export type DisCheckpoint = z.infer<typeof DisCheckpointSchema>;

export const FleetSchema = z.object({
  projects: z.array(ProjectSchema),
  csbs: z.array(CsbsItemSchema).default([]),
  cbr: z.array(CbrBackupSchema).default([]),
  cbr_vaults: z.array(CbrVaultSchema).default([]),
  dds: z
    .object({ instances: z.array(DdsInstanceSchema), backups: z.array(DdsBackupSchema) })
    .default({ instances: [], backups: [] }),
  dis: z
    .object({
      streams: z.array(DisStreamSchema),
      apps: z.array(DisAppSchema),
      checkpoints: z.array(DisCheckpointSchema),
    })
    .default({ streams: [], apps: [], checkpoints: [] }),
});
export type Fleet = z.infer<typeof FleetSchema>;

export const FleetOptionsSchema = z.object({
  seed: z.number().int().default(1),
  projects: z.number().int().min(1).default(2),
  regions: z.array(z.string().min(1)).min(1).default(['ap-southeast-1']),
  services: z.array(SimServiceSchema).default(['csbs', 'cbr', 'dds', 'dis']),
  resourcesPerProject: z.number().int().min(0).default(3),
  backupsPerResource: z.number().int().min(0).default(10),
  ageSpreadDays: z.number().positive().default(400),
  manualShare: z.number().min(0).max(1).default(0.2),
  failedShare: z.number().min(0).max(1).default(0.05),
  /** Share of resources whose newest backup is still being created (protecting / BUILDING). */
  inProgressShare: z.number().min(0).max(1).default(0.05),
  /** Share of CSBS checkpoints that also hold an item of the neighbouring server. */
  multiItemShare: z.number().min(0).max(1).default(0.1),
  /** Epoch ms the ages are measured from. */
  now: z.number().default(Date.UTC(2026, 10, 27)),
});
export type FleetOptions = z.input<typeof FleetOptionsSchema>;

/** mulberry32: small, fast, deterministic. Returns floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BYTE_HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function hex8(random: () => number): string {
  const n = (random() * 4294967296) >>> 0;
  return `${BYTE_HEX[n >>> 24]}${BYTE_HEX[(n >>> 16) & 255]}${BYTE_HEX[(n >>> 8) & 255]}${BYTE_HEX[n & 255]}`;
}

/** A UUID-shaped id drawn from `random` (deterministic for a seed). */
export function randomUuid(random: () => number): string {
  const a = hex8(random);
  const b = hex8(random);
  const c = hex8(random);
  return `${a}-${b.slice(0, 4)}-${b.slice(4)}-${c.slice(0, 4)}-${c.slice(4)}${hex8(random)}`;
}

/** A 32-hex-digit id, the shape of Huawei project ids. */
export function randomHexId(random: () => number): string {
  return `${hex8(random)}${hex8(random)}${hex8(random)}${hex8(random)}`;
}

/** `2026-11-27T00:00:00.000000`: CSBS and CBR timestamps are UTC without a zone suffix. */
export function formatCloudTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 23)}000`;
}

/** `2026-11-27 00:00:00`: the DDS time format (UTC). */
export function formatDdsTime(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}`;
}

/** `2026-11-27T00:00:00+0000`: DDS job times, `yyyy-mm-ddThh:mm:ssZ` with a zone offset (model_job_detail.go). */
export function formatDdsJobTime(epochMs: number): string {
  return `${new Date(epochMs).toISOString().slice(0, 19)}+0000`;
}

const DAY_MS = 86_400_000;

interface BackupSlot {
  createdAt: number;
  manual: boolean;
  failed: boolean;
  inProgress: boolean;
}

/** Times (newest last) and flags of one resource's backups. */
function backupSlots(random: () => number, options: Required<z.infer<typeof FleetOptionsSchema>>) {
  const count = options.backupsPerResource;
  const slots: BackupSlot[] = new Array(count);
  const spread = options.ageSpreadDays * DAY_MS;
  const times: number[] = new Array(count);
  for (let i = 0; i < count; i++) times[i] = options.now - Math.floor(random() * spread) - 60_000;
  times.sort((a, b) => a - b);
  const newestInProgress = count > 0 && random() < options.inProgressShare;
  for (let i = 0; i < count; i++) {
    const inProgress = newestInProgress && i === count - 1;
    slots[i] = {
      createdAt: inProgress ? options.now - 120_000 : (times[i] as number),
      manual: random() < options.manualShare,
      failed: !inProgress && random() < options.failedShare,
      inProgress,
    };
  }
  return slots;
}

/** A fleet with nothing in it. */
export function emptyFleet(): Fleet {
  return {
    projects: [],
    csbs: [],
    cbr: [],
    cbr_vaults: [],
    dds: { instances: [], backups: [] },
    dis: { streams: [], apps: [], checkpoints: [] },
  };
}

/** A deterministic fleet: the same options always give the same ids, times and states. */
export function generateFleet(input: FleetOptions = {}): Fleet {
  const options = FleetOptionsSchema.parse(input);
  const random = seededRandom(options.seed);
  const wanted = new Set(options.services);
  const fleet = emptyFleet();
  for (const region of options.regions) {
    for (let p = 0; p < options.projects; p++) {
      const projectId = randomHexId(random);
      fleet.projects.push({ id: projectId, region, name: `${region}_project${p}` });
      if (wanted.has('csbs')) generateCsbs(fleet, projectId, random, options);
      if (wanted.has('cbr')) generateCbr(fleet, projectId, random, options);
      if (wanted.has('dds')) generateDds(fleet, projectId, random, options);
      if (wanted.has('dis')) generateDis(fleet, projectId, random, options);
    }
  }
  return fleet;
}

type ParsedOptions = Required<z.infer<typeof FleetOptionsSchema>>;

function generateCsbs(fleet: Fleet, projectId: string, random: () => number, options: ParsedOptions) {
  const servers: { id: string; name: string }[] = [];
  for (let r = 0; r < options.resourcesPerProject; r++) {
    servers.push({ id: randomUuid(random), name: `ecs-${projectId.slice(0, 4)}-${r}` });
  }
  for (let r = 0; r < servers.length; r++) {
    const server = servers[r] as { id: string; name: string };
    const neighbour = servers[r + 1];
    for (const slot of backupSlots(random, options)) {
      const checkpointId = randomUuid(random);
      fleet.csbs.push(csbsItem(random, projectId, checkpointId, server, slot));
      if (neighbour && r % 2 === 0 && random() < options.multiItemShare) {
        fleet.csbs.push(csbsItem(random, projectId, checkpointId, neighbour, { ...slot, inProgress: false }));
      }
    }
  }
}

function csbsItem(
  random: () => number,
  projectId: string,
  checkpointId: string,
  server: { id: string; name: string },
  slot: BackupSlot,
): CsbsItem {
  const created = formatCloudTime(slot.createdAt);
  return {
    id: randomUuid(random),
    name: `${slot.manual ? 'manual' : 'autobk'}_${server.name}_${slot.createdAt}`,
    checkpoint_id: checkpointId,
    project_id: projectId,
    created_at: created,
    updated_at: created,
    status: slot.inProgress ? 'protecting' : slot.failed ? 'error' : 'available',
    resource_id: server.id,
    resource_type: 'OS::Nova::Server',
    tags: [envTag(projectId), { key: 'origin', value: slot.manual ? 'manual' : 'policy' }],
    extend_info: {
      auto_trigger: !slot.manual,
      copy_status: 'na',
      image_type: 'backup',
      fail_reason: slot.failed ? 'Backup failed: the agent did not respond.' : '',
      resource_name: server.name,
      size: 40 + ((random() * 200) | 0),
    },
  };
}

/** Tags drawn from the project id (no random draw: the ids of a seed stay what they were). */
function envTag(projectId: string): { key: string; value: string } {
  return { key: 'env', value: Number.parseInt(projectId.slice(0, 1), 16) % 2 === 0 ? 'prod' : 'test' };
}

function generateCbr(fleet: Fleet, projectId: string, random: () => number, options: ParsedOptions) {
  const vaultId = randomUuid(random);
  fleet.cbr_vaults.push({
    id: vaultId,
    name: `vault-${projectId.slice(0, 4)}`,
    project_id: projectId,
    tags: [envTag(projectId)],
  });
  for (let r = 0; r < options.resourcesPerProject; r++) {
    const resourceId = randomUuid(random);
    const resourceName = `ecs-${projectId.slice(0, 4)}-cbr-${r}`;
    for (const slot of backupSlots(random, options)) {
      const created = formatCloudTime(slot.createdAt);
      fleet.cbr.push({
        id: randomUuid(random),
        name: `${slot.manual ? 'manualbk' : 'autobk'}_${resourceName}_${slot.createdAt}`,
        checkpoint_id: randomUuid(random),
        project_id: projectId,
        created_at: created,
        updated_at: created,
        expired_at: null,
        status: slot.inProgress ? 'protecting' : slot.failed ? 'error' : 'available',
        vault_id: vaultId,
        resource_id: resourceId,
        resource_type: 'OS::Nova::Server',
        resource_name: resourceName,
        resource_size: 40,
        image_type: 'backup',
        provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
        extend_info: { auto_trigger: !slot.manual },
      });
    }
  }
}

function generateDds(fleet: Fleet, projectId: string, random: () => number, options: ParsedOptions) {
  for (let r = 0; r < options.resourcesPerProject; r++) {
    const instance = {
      id: `${randomHexId(random)}in02`,
      name: `dds-${projectId.slice(0, 4)}-${r}`,
      project_id: projectId,
      status: 'normal',
      tags: [envTag(projectId)],
    };
    fleet.dds.instances.push(instance);
    for (const slot of backupSlots(random, options)) {
      const type = slot.manual ? 'Manual' : random() < 0.2 ? 'Incremental' : 'Auto';
      fleet.dds.backups.push({
        id: `${randomHexId(random)}br02`,
        name: `${type.toLowerCase()}-${instance.name}-${slot.createdAt}`,
        project_id: projectId,
        instance_id: instance.id,
        instance_name: instance.name,
        datastore: { type: 'DDS-Community', version: '4.0' },
        type,
        begin_time: formatDdsTime(slot.createdAt),
        end_time: formatDdsTime(slot.createdAt + 300_000),
        status: slot.inProgress ? 'BUILDING' : slot.failed ? 'FAILED' : 'COMPLETED',
        size: 1024 + ((random() * 1_000_000) | 0),
        description: '',
      });
    }
  }
}

function generateDis(fleet: Fleet, projectId: string, random: () => number, options: ParsedOptions) {
  const streams = Math.max(1, Math.ceil(options.resourcesPerProject / 2));
  const streamNames: string[] = [];
  for (let s = 0; s < streams; s++) {
    const stream = { project_id: projectId, stream_name: `dis-stream-${s}`, partition_count: 3 };
    streamNames.push(stream.stream_name);
    fleet.dis.streams.push(stream);
  }
  for (let a = 0; a < options.resourcesPerProject; a++) {
    const appName = `app_${String(a).padStart(4, '0')}`;
    const stream = streamNames[a % streamNames.length] as string;
    fleet.dis.apps.push({
      project_id: projectId,
      app_name: appName,
      app_id: randomHexId(random).slice(0, 20),
      create_time: options.now - Math.floor(random() * options.ageSpreadDays * DAY_MS),
      commit_checkpoint_stream_names: [stream],
    });
    for (let partition = 0; partition < 3; partition++) {
      fleet.dis.checkpoints.push({
        project_id: projectId,
        app_name: appName,
        stream_name: stream,
        partition,
        sequence_number: String((random() * 100_000) | 0),
        metadata: '',
      });
    }
  }
}
