import type { z } from 'zod';
import type { CbrBackup as CbrRecord } from '../services/cbr.ts';
import type { CsbsCheckpointItem } from '../services/csbs.ts';
import type { DdsBackup as DdsRecord } from '../services/dds.ts';
import {
  type CbrBackup,
  CbrBackupSchema,
  type CsbsItem,
  CsbsItemSchema,
  type DdsBackup,
  DdsBackupSchema,
  emptyFleet,
  type Fleet,
} from '../simulator/fleet.ts';
import type { Anonymiser } from './anonymise.ts';

/**
 * Builds the simulator's fixture (FleetSchema) from what a real account listed, anonymised: ids and names
 * replaced consistently, times, states, sizes, types, tags and the deletability flags kept. A record the
 * fixture format cannot hold (say, a status the simulator does not know) is counted and left out.
 */

type Tag = { key: string; value?: string | null | undefined };

export class FleetRecorder {
  readonly fleet: Fleet = emptyFleet();
  /** Records left out, by service. */
  readonly skipped: Record<'csbs' | 'cbr' | 'dds', number> = { csbs: 0, cbr: 0, dds: 0 };
  readonly #projects = new Set<string>();
  readonly #vaults = new Set<string>();
  readonly #instances = new Set<string>();

  constructor(private readonly anonymise: Anonymiser) {}

  project(projectId: string, region: string): void {
    if (this.#projects.has(projectId)) return;
    this.#projects.add(projectId);
    const id = this.anonymise.id(projectId);
    this.fleet.projects.push({ id, region, name: `${region}_${id.slice(0, 8)}` });
  }

  #tags(tags: readonly Tag[] | null | undefined) {
    return (tags ?? []).map((tag) => ({ key: tag.key, value: tag.value ?? '' }));
  }

  #add<T>(service: 'csbs' | 'cbr' | 'dds', schema: z.ZodType<T>, value: unknown, into: T[]): void {
    const parsed = schema.safeParse(value);
    if (parsed.success) into.push(parsed.data);
    else this.skipped[service] += 1;
  }

  cbrVault(
    projectId: string,
    vault: { id: string; name?: string | null | undefined; tags?: Tag[] | null },
  ): void {
    if (this.#vaults.has(vault.id)) return;
    this.#vaults.add(vault.id);
    this.fleet.cbr_vaults.push({
      id: this.anonymise.id(vault.id),
      name: this.anonymise.name(vault.name ?? vault.id),
      project_id: this.anonymise.id(projectId),
      tags: this.#tags(vault.tags),
    });
  }

  cbr(projectId: string, record: CbrRecord): void {
    const a = this.anonymise;
    const backup: Partial<CbrBackup> = {
      id: a.id(record.id),
      name: a.name(record.name ?? ''),
      checkpoint_id: a.id(record.checkpoint_id ?? record.id),
      project_id: a.id(projectId),
      created_at: record.created_at,
      updated_at: String((record as { updated_at?: unknown }).updated_at ?? record.created_at),
      expired_at: record.expired_at ?? null,
      status: record.status as CbrBackup['status'],
      vault_id: a.id(record.vault_id ?? ''),
      resource_id: a.id(record.resource_id),
      resource_type: record.resource_type ?? 'OS::Nova::Server',
      resource_name: a.name(record.resource_name ?? ''),
      resource_size: Number(record.resource_size ?? 0),
      image_type: (record.image_type ?? 'backup') as CbrBackup['image_type'],
      provider_id: String((record as { provider_id?: unknown }).provider_id ?? ''),
      extend_info: { auto_trigger: record.extend_info?.auto_trigger === true },
    };
    this.#add('cbr', CbrBackupSchema, backup, this.fleet.cbr);
  }

  dds(projectId: string, record: DdsRecord, tags: readonly Tag[]): void {
    const a = this.anonymise;
    if (!this.#instances.has(record.instance_id)) {
      this.#instances.add(record.instance_id);
      this.fleet.dds.instances.push({
        id: a.id(record.instance_id),
        name: a.name(record.instance_name ?? record.instance_id),
        project_id: a.id(projectId),
        status: 'normal',
        tags: this.#tags(tags),
        restoring: record.is_instance_restoring === true,
      });
    }
    const backup: Partial<DdsBackup> = {
      id: a.id(record.id),
      name: a.name(record.name ?? ''),
      project_id: a.id(projectId),
      instance_id: a.id(record.instance_id),
      instance_name: a.name(record.instance_name ?? ''),
      type: record.type,
      begin_time: record.begin_time,
      end_time: record.end_time ?? '',
      status: record.status as DdsBackup['status'],
      size: record.size ?? 0,
      description: '',
      ...(record.deletable == null ? {} : { deletable: record.deletable }),
    };
    this.#add('dds', DdsBackupSchema, backup, this.fleet.dds.backups);
  }

  csbs(projectId: string, item: CsbsCheckpointItem): void {
    const a = this.anonymise;
    const info = item.extend_info ?? {};
    const record: Partial<CsbsItem> = {
      id: a.id(item.id),
      name: a.name(item.name ?? ''),
      checkpoint_id: a.id(item.checkpoint_id),
      project_id: a.id(projectId),
      created_at: item.created_at,
      updated_at: item.updated_at ?? item.created_at,
      status: item.status as CsbsItem['status'],
      resource_id: a.id(item.resource_id),
      resource_type: item.resource_type ?? 'OS::Nova::Server',
      tags: this.#tags(item.tags),
      extend_info: {
        auto_trigger: info.auto_trigger === true,
        image_type: info.image_type ?? 'backup',
        fail_reason: '',
        resource_name: a.name(info.resource_name ?? ''),
        ...(info.size == null ? {} : { size: info.size }),
        ...(info.copy_status ? { copy_status: info.copy_status as 'na' } : {}),
        ...(info.volume_backups
          ? {
              volume_backups: info.volume_backups.map((volume, index) => ({
                id: a.id(String((volume as { id?: unknown }).id ?? `${item.id}-${index}`)),
                size: volume.size ?? 0,
              })),
            }
          : {}),
      },
    };
    this.#add('csbs', CsbsItemSchema, record, this.fleet.csbs);
  }
}
