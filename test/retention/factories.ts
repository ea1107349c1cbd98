import { PolicyError } from '../../lib/retention/policy.ts';
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

/** The "billion laughs" in YAML: nine levels of nine aliases each (9^9 nodes when expanded). */
export function aliasBomb(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let level = 1; level <= 9; level += 1) {
    const ref = `*a${level - 1}`;
    lines.push(`a${level}: &a${level} [${Array.from({ length: 9 }, () => ref).join(',')}]`);
  }
  lines.push('version: 1', 'targets: *a9');
  return `${lines.join('\n')}\n`;
}

/** The PolicyError `run` throws (fails the test when it throws something else or nothing). */
export function policyError(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}
