import { type PolicyPlan, planTargets } from '../../lib/retention/plan-targets.ts';
import { parsePolicy } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { makeBackup } from '../retention/factories.ts';

export const NOW = new Date('2026-12-02T12:00:00Z');
const DAY = 86_400_000;

/** A name no browser may ever run: it tries to leave the data <script>, inject one, and add a handler. */
export const HOSTILE_NAME =
  '</script><script>window.__xss=1</script><img src=x onerror="window.__xss=2">&amp;"\'\u2028';

export const reportPolicy = parsePolicy({
  version: 1,
  targets: [
    {
      name: 'vaults <b>prod</b>',
      service: 'cbr',
      projects: ['proj-1'],
      regions: ['ap-southeast-1'],
      keep: { daily: 3, weekly: 2 },
      protect: { tags: ['legal-hold=*'] },
      failed_max_age: '7d',
      max_gap: '3d',
    },
  ],
});

/** Two resources: res-1 with daily backups (one hostile name, one protected, one in progress, one failed). */
export function reportFleet(): Backup[] {
  const res1 = Array.from({ length: 20 }, (_, n) =>
    makeBackup({
      id: `r1-${String(n).padStart(2, '0')}`,
      name: n === 4 ? HOSTILE_NAME : `autobk_${n}`,
      resource_name: n === 0 ? `<i>db</i> ${HOSTILE_NAME}` : undefined,
      created_at: NOW.getTime() - 3_600_000 - n * DAY,
      size_bytes: 1024 ** 3,
      tags: n === 12 ? ['legal-hold=case-1'] : [],
    }),
  );
  res1.push(
    makeBackup({
      id: 'r1-running',
      created_at: NOW.getTime() - 600_000,
      state: 'in_progress',
      status: 'creating',
    }),
    makeBackup({ id: 'r1-failed', created_at: NOW.getTime() - 30 * DAY, state: 'failed', status: 'error' }),
  );
  const res2 = Array.from({ length: 6 }, (_, n) =>
    makeBackup({ id: `r2-${n}`, resource_id: 'res-2', created_at: NOW.getTime() - n * 7 * DAY }),
  );
  return [...res1, ...res2];
}

export async function reportPlan(backups = reportFleet()): Promise<PolicyPlan> {
  return planTargets(reportPolicy, () => backups, NOW);
}
