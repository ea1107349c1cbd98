/** Small hand-made fleets in the simulator's fixture format, one builder per record kind. */
import type { CbrBackup, CsbsItem, DdsBackup, DdsInstance, Fleet } from '../../lib/simulator/index.ts';
import { emptyFleet as emptySimFleet, formatCloudTime, formatDdsTime } from '../../lib/simulator/index.ts';

export const NOW = Date.UTC(2026, 10, 27);
const DAY = 86_400_000;

export function emptyFleet(projects: { id: string; region: string }[]): Fleet {
  const fleet = emptySimFleet();
  fleet.projects = projects.map((project) => ({
    ...project,
    name: `${project.region}_${project.id.slice(0, 4)}`,
  }));
  return fleet;
}

/** A finished CBR backup `ageDays` old. */
export function cbrBackup(
  projectId: string,
  id: string,
  ageDays: number,
  extra: Partial<CbrBackup> = {},
): CbrBackup {
  const created = formatCloudTime(NOW - ageDays * DAY);
  return {
    id,
    name: `autobk_${id}`,
    checkpoint_id: `cp-${id}`,
    project_id: projectId,
    created_at: created,
    updated_at: created,
    expired_at: null,
    status: 'available',
    vault_id: 'vault-1',
    resource_id: 'server-1',
    resource_type: 'OS::Nova::Server',
    resource_name: 'web',
    resource_size: 40,
    image_type: 'backup',
    provider_id: '0daac4c5-6707-4851-97ba-169e36266b66',
    extend_info: { auto_trigger: true },
    ...extra,
  };
}

export function csbsItem(
  projectId: string,
  id: string,
  ageDays: number,
  extra: Partial<CsbsItem> = {},
): CsbsItem {
  const created = formatCloudTime(NOW - ageDays * DAY);
  return {
    id,
    name: `autobk_${id}`,
    checkpoint_id: `cp-${id}`,
    project_id: projectId,
    created_at: created,
    updated_at: created,
    status: 'available',
    resource_id: 'server-1',
    resource_type: 'OS::Nova::Server',
    tags: [],
    extend_info: {
      auto_trigger: true,
      image_type: 'backup',
      fail_reason: '',
      resource_name: 'web',
      copy_status: 'na',
      ...extra.extend_info,
    },
    ...(extra.tags ? { tags: extra.tags } : {}),
    ...(extra.status ? { status: extra.status } : {}),
  };
}

export function ddsInstance(projectId: string, id: string, extra: Partial<DdsInstance> = {}): DdsInstance {
  return { id, name: `mongo-${id}`, project_id: projectId, status: 'normal', tags: [], ...extra };
}

export function ddsBackup(
  projectId: string,
  id: string,
  ageDays: number,
  type: string,
  extra: Partial<DdsBackup> = {},
): DdsBackup {
  const begin = NOW - ageDays * DAY;
  return {
    id,
    name: `${type.toLowerCase()}-${id}`,
    project_id: projectId,
    instance_id: 'inst-1',
    instance_name: 'mongo-inst-1',
    type,
    begin_time: formatDdsTime(begin),
    end_time: formatDdsTime(begin + 300_000),
    status: 'COMPLETED',
    size: 2048,
    description: '',
    ...extra,
  };
}
