import type { Backup } from '../../lib/services/backup.ts';

/** A finished automatic CBR backup of resource `res-1`; override any field. */
export function makeBackup(overrides: Partial<Backup> & { id: string }): Backup {
  return {
    service: 'cbr',
    region: 'ap-southeast-1',
    project_id: 'proj-1',
    delete_id: overrides.id,
    resource_id: 'res-1',
    vault_id: 'vault-1',
    created_at: Date.parse('2026-11-20T10:00:00Z'),
    status: 'available',
    state: 'finished',
    manual: false,
    tags: [],
    ...overrides,
  };
}

/** One backup per ISO timestamp, ids b000, b001, ... in the given order. */
export function backupsAt(times: readonly string[], overrides: Partial<Backup> = {}): Backup[] {
  return times.map((time, index) =>
    makeBackup({ id: `b${String(index).padStart(3, '0')}`, created_at: Date.parse(time), ...overrides }),
  );
}

export const iso = (epochMs: number) => new Date(epochMs).toISOString();
