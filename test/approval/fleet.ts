/**
 * A small CBR fleet for the review loop's tests, in the simulator's fixture format: backups b<n> of one or two
 * resources of one project, b<n> made n hours after 2026-11-01T00:00Z, so a larger n is newer.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../cli/run-bin.ts';

export const PROJECT = '02ff152c0fdc7f12fa169e5eb2f38b96';
export const REGION = 'ap-southeast-1';

const template = (
  JSON.parse(readFileSync(join(root, 'test/cli/fixtures/one-project.json'), 'utf8')) as {
    cbr: Record<string, unknown>[];
  }
).cbr[0] as Record<string, unknown>;

export const backupId = (n: number) => `1a2b3c4d-0000-4000-8000-${String(n).padStart(12, '0')}`;

const resourceId = (resource: number) => `9c8d7e6f-0000-4000-8000-${String(resource).padStart(12, '0')}`;

function stamp(n: number, plusMinutes = 0): string {
  return new Date(Date.UTC(2026, 10, 1) + n * 3_600_000 + plusMinutes * 60_000)
    .toISOString()
    .replace('Z', '000');
}

/** The fleet with backups `numbers` (each of resource 1 unless `resourceOf` says otherwise). */
export function cbrFleet(numbers: readonly number[], resourceOf: (n: number) => number = () => 1) {
  return {
    projects: [{ id: PROJECT, region: REGION, name: `${REGION}_fixture` }],
    cbr: numbers.map((n) => ({
      ...template,
      id: backupId(n),
      name: `autobk_ecs-fixture_${n}`,
      checkpoint_id: `1a2b3c4d-0000-4000-8000-1${String(n).padStart(11, '0')}`,
      resource_id: resourceId(resourceOf(n)),
      resource_name: `ecs-fixture-${resourceOf(n)}`,
      created_at: stamp(n),
      updated_at: stamp(n, 10),
    })),
  };
}

/** A one-target CBR policy over the fleet's project (`extra` merged into the target). */
export function cbrPolicyYaml(name: string, keepLast: number, extra = ''): string {
  return `version: 1
targets:
  - name: ${name}
    service: cbr
    projects: [${PROJECT}]
    regions: [${REGION}]
    keep: { last: ${keepLast} }
    max_delete_share: 1
${extra}`;
}
