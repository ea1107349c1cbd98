/**
 * The starter policy `npm run projects -- --policy-template` prints: one target per backup service and
 * region with that region's projects, and conservative settings — keep rules that keep a lot, min_keep 3,
 * and a circuit breaker that refuses any sweep deleting more than 20% of a target's backups
 * (`max_delete_share: 0.2`). It is a start for a first dry run (`plan --cloud`), not a finished policy.
 */
import type { AccountProject } from '../services/projects.ts';

/** Relative to policies/: where the editor schema lives for a policy saved next to the bundled one. */
export const POLICY_SCHEMA_REFERENCE = '../schemas/policy.schema.json';

const SERVICES = [
  { service: 'csbs', label: 'servers', comment: 'CSBS server backups (checkpoint items)' },
  { service: 'cbr', label: 'vaults', comment: 'CBR backups in vaults' },
  {
    service: 'dds',
    label: 'mongo',
    comment: 'DDS manual backups (automatic ones follow the instance policy)',
  },
] as const;

export function policyTemplate(projects: readonly AccountProject[], generatedAt: Date): string {
  const byRegion = new Map<string, string[]>();
  for (const project of projects) {
    if (!project.enabled || project.region === undefined) continue;
    byRegion.set(project.region, [...(byRegion.get(project.region) ?? []), project.id]);
  }
  const lines = [
    `# yaml-language-server: $schema=${POLICY_SCHEMA_REFERENCE}`,
    `# Starter policy from \`npm run projects -- --policy-template\` at ${generatedAt.toISOString()}.`,
    '# Conservative on purpose: check it with `npm run plan -- --policy FILE --cloud` (a dry run that never',
    '# deletes), remove the targets you do not want swept, then tighten the keep rules. Semantics: docs/retention.md.',
    'version: 1',
    'timezone: UTC',
    '',
    'defaults:',
    '  keep:',
    '    daily: 14 # the newest backup of each of the last 14 days that have one',
    '    weekly: 8 # ... of each of the last 8 ISO weeks',
    '    monthly: 12 # ... of each of the last 12 months',
    '  min_keep: 3 # never fewer than 3 finished backups per resource',
    '  failed_max_age: 14d # failed backups go after 14 days',
    '  max_delete_share: 0.2 # circuit breaker: refuse a sweep that would delete more than 20% of a target',
    '',
  ];
  if (byRegion.size === 0) {
    lines.push('# No enabled project with a region was listed: add targets by hand.', 'targets: []');
    return `${lines.join('\n')}\n`;
  }
  lines.push('targets:');
  for (const [region, ids] of [...byRegion].sort(([a], [b]) => a.localeCompare(b))) {
    for (const { service, label, comment } of SERVICES) {
      lines.push(
        `  # ${comment}, ${region}`,
        `  - name: ${label}-${region}`,
        `    service: ${service}`,
        `    projects: [${ids.join(', ')}]`,
        `    regions: [${region}]`,
      );
      if (service === 'dds') lines.push('    filters:', '      manual: manual');
    }
  }
  return `${lines.join('\n')}\n`;
}
