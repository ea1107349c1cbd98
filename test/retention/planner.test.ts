import { describe, expect, it } from 'vitest';
import {
  type Decision,
  type PlanTarget,
  plan,
  planResource,
  type RetentionRules,
} from '../../lib/retention/planner.ts';
import { parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { backupsAt, makeBackup } from './factories.ts';

const NOW = new Date('2026-11-27T00:00:00Z');

/** Rules parsed the way a policy file is, so durations carry their canonical text. */
function rules(settings: Record<string, unknown>): RetentionRules {
  const policy = parsePolicy({
    version: 1,
    targets: [{ name: 't', service: 'cbr', projects: ['proj-1'], regions: ['ap-southeast-1'], ...settings }],
  });
  return resolveTargets(policy)[0] as RetentionRules;
}

const target = (settings: Record<string, unknown>) => rules(settings) as PlanTarget;
const byId = (decisions: Decision[]) => Object.fromEntries(decisions.map((d) => [d.backup_id, d]));
const actions = (decisions: Decision[]) => decisions.map((d) => `${d.backup_id}:${d.action}`);

describe('planResource', () => {
  it('says which rule kept each backup and why the others go', () => {
    const backups = backupsAt(['2026-11-20T10:00:00Z', '2026-11-20T08:00:00Z', '2026-11-19T10:00:00Z']);
    const decisions = planResource(backups, rules({ keep: { daily: 7 } }), NOW);
    expect(decisions.map((d) => [d.backup_id, d.action, d.reasons])).toEqual([
      ['b000', 'keep', ['daily 2026-11-20', 'newest finished']],
      ['b001', 'delete', ['kept by no rule']],
      ['b002', 'keep', ['daily 2026-11-19']],
    ]);
  });

  it('marks the oldest backup kept by a rule with counts left as "oldest"', () => {
    const backups = backupsAt(['2026-11-20T10:00:00Z', '2026-11-20T08:00:00Z']);
    const decisions = planResource(backups, rules({ keep: { daily: 5 } }), NOW);
    expect(decisions[1]?.reasons).toEqual(['oldest daily 2026-11-20']);
  });

  it('measures within from the newest backup, not from now, strictly newer than the threshold', () => {
    const backups = backupsAt(['2026-01-31T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:01Z']);
    const decisions = byId(planResource(backups, rules({ keep: { within: '30d' } }), NOW));
    expect(decisions.b000?.reasons).toEqual(['within 30d', 'newest finished']);
    expect(decisions.b002?.reasons).toEqual(['within 30d']);
    expect(decisions.b001?.action).toBe('delete');
  });

  it('ignores backups in the future when picking the within reference (they are still kept by it)', () => {
    const backups = backupsAt(['2027-06-01T00:00:00Z', '2026-11-20T00:00:00Z', '2026-11-01T00:00:00Z']);
    const decisions = byId(planResource(backups, rules({ keep: { within: '7d' } }), NOW));
    expect(decisions.b000?.reasons).toContain('within 7d');
    expect(decisions.b001?.reasons).toEqual(['within 7d']);
    expect(decisions.b002?.action).toBe('delete');
  });

  it('never deletes in-progress or deleting backups, and they use no keep-rule count', () => {
    const backups = [
      makeBackup({ id: 'creating', created_at: Date.parse('2026-11-26T00:00:00Z'), state: 'in_progress' }),
      makeBackup({ id: 'going', created_at: Date.parse('2020-01-01T00:00:00Z'), state: 'deleting' }),
      makeBackup({ id: 'done', created_at: Date.parse('2026-11-25T00:00:00Z') }),
    ];
    const decisions = byId(planResource(backups, rules({ keep: { last: 1 } }), NOW));
    expect(decisions.creating).toMatchObject({ action: 'keep', reasons: ['in progress'] });
    expect(decisions.going).toMatchObject({ action: 'keep', reasons: ['deleting'] });
    expect(decisions.done?.reasons).toEqual(['last', 'newest finished']);
  });

  it('deletes failed backups only after failed_max_age, whatever the keep rules', () => {
    const backups = [
      makeBackup({ id: 'old-fail', created_at: Date.parse('2026-11-01T00:00:00Z'), state: 'failed' }),
      makeBackup({ id: 'new-fail', created_at: Date.parse('2026-11-25T00:00:00Z'), state: 'failed' }),
      makeBackup({ id: 'ok', created_at: Date.parse('2026-10-01T00:00:00Z') }),
    ];
    const decisions = byId(planResource(backups, rules({ keep: { last: -1 }, failed_max_age: '7d' }), NOW));
    expect(decisions['old-fail']).toMatchObject({
      action: 'delete',
      reasons: ['failed and older than failed_max_age 7d'],
    });
    expect(decisions['new-fail']).toMatchObject({
      action: 'keep',
      reasons: ['failed, younger than failed_max_age 7d'],
    });
    expect(decisions.ok?.action).toBe('keep');
    const without = byId(planResource(backups, rules({ keep: { last: 1 } }), NOW));
    expect(without['old-fail']).toMatchObject({ action: 'keep', reasons: ['failed, no failed_max_age'] });
  });

  it('with max_age deletes only unkept backups older than max_age, measured from now', () => {
    const backups = backupsAt(['2026-11-26T00:00:00Z', '2026-11-10T00:00:00Z', '2026-08-01T00:00:00Z']);
    const decisions = byId(planResource(backups, rules({ keep: { last: 1 }, max_age: '30d' }), NOW));
    expect(decisions.b001).toMatchObject({ action: 'keep', reasons: ['younger than max_age 30d'] });
    expect(decisions.b002).toMatchObject({
      action: 'delete',
      reasons: ['kept by no rule and older than max_age 30d'],
    });
  });

  it('with only max_age deletes finished backups older than it', () => {
    const backups = backupsAt(['2026-11-26T00:00:00Z', '2026-08-01T00:00:00Z', '2026-07-01T00:00:00Z']);
    expect(actions(planResource(backups, rules({ max_age: '90d' }), NOW))).toEqual([
      'b000:keep',
      'b001:delete',
      'b002:delete',
    ]);
  });

  it('tops a resource up to min_keep with the newest backups nothing else kept', () => {
    const backups = backupsAt([
      '2026-11-26T00:00:00Z',
      '2026-11-25T00:00:00Z',
      '2026-11-24T00:00:00Z',
      '2026-11-23T00:00:00Z',
    ]);
    const decisions = planResource(backups, rules({ keep: { last: 1 }, min_keep: 3 }), NOW);
    expect(decisions.map((d) => [d.action, d.reasons[0]])).toEqual([
      ['keep', 'last'],
      ['keep', 'min_keep'],
      ['keep', 'min_keep'],
      ['delete', 'kept by no rule'],
    ]);
  });

  it('protects by id, delete id, name pattern and tag pattern', () => {
    const old = Date.parse('2020-01-01T00:00:00Z');
    const backups = [
      makeBackup({ id: 'newest', created_at: NOW.getTime() - 1000 }),
      makeBackup({ id: 'by-id', created_at: old }),
      makeBackup({ id: 'item-2', delete_id: 'by-delete-id', created_at: old + 1 }),
      makeBackup({ id: 'by-name', name: 'manual_before_upgrade', created_at: old + 2 }),
      makeBackup({ id: 'by-tag', tags: ['legal-hold=case-9'], created_at: old + 3 }),
      makeBackup({ id: 'doomed', name: 'autobk_1', created_at: old + 4 }),
    ];
    const protect = { ids: ['by-id', 'by-delete-id'], name_patterns: ['manual_*'], tags: ['legal-hold=*'] };
    const decisions = byId(planResource(backups, rules({ keep: { last: 1 }, protect }), NOW));
    expect(decisions['by-id']?.reasons).toEqual(['protected id']);
    expect(decisions['item-2']?.reasons).toEqual(['protected id']);
    expect(decisions['by-name']?.reasons).toEqual(['protected name manual_*']);
    expect(decisions['by-tag']?.reasons).toEqual(['protected tag legal-hold=*']);
    expect(decisions.doomed?.action).toBe('delete');
  });

  it('keeps the newest finished backup unless the target opts out', () => {
    const backups = backupsAt(['2026-01-01T00:00:00Z', '2025-01-01T00:00:00Z']);
    expect(actions(planResource(backups, rules({ allow_empty_keep: true }), NOW))).toEqual([
      'b000:keep',
      'b001:delete',
    ]);
    const optedOut = rules({ allow_empty_keep: true, allow_delete_newest: true });
    expect(actions(planResource(backups, optedOut, NOW))).toEqual(['b000:delete', 'b001:delete']);
  });

  it('buckets days in the policy time zone', () => {
    // 23:30 UTC on the 20th is already the 21st in Berlin, so both backups share a Berlin day.
    const backups = backupsAt(['2026-11-21T10:00:00Z', '2026-11-20T23:30:00Z']);
    const keep = rules({ keep: { daily: 5 }, allow_delete_newest: true });
    const inUtc = planResource(backups, keep, NOW, 'UTC');
    const inBerlin = planResource(backups, keep, NOW, 'Europe/Berlin');
    expect(inUtc.map((d) => d.reasons[0])).toEqual(['daily 2026-11-21', 'daily 2026-11-20']);
    expect(inBerlin.map((d) => d.reasons[0])).toEqual(['daily 2026-11-21', 'oldest daily 2026-11-21']);
  });

  it('orders backups with equal times by id, so the input order never matters', () => {
    const same = Date.parse('2026-11-20T00:00:00Z');
    const backups = ['c', 'a', 'b'].map((id) => makeBackup({ id, created_at: same }));
    const decisions = planResource(backups, rules({ keep: { last: 1 }, allow_delete_newest: true }), NOW);
    expect(actions(decisions)).toEqual(['a:keep', 'b:delete', 'c:delete']);
  });

  it('uses ISO weeks: 2016-01-01..03 share week 2015-W53 with 2015-12-28', () => {
    const backups = backupsAt([
      '2016-01-04T00:00:00Z',
      '2016-01-03T00:00:00Z',
      '2016-01-01T00:00:00Z',
      '2015-12-28T00:00:00Z',
    ]);
    const decisions = planResource(backups, rules({ keep: { weekly: 2 }, allow_delete_newest: true }), NOW);
    expect(decisions.map((d) => `${d.action} ${d.reasons.join('|')}`)).toEqual([
      'keep weekly 2016-W01',
      'keep weekly 2015-W53',
      'delete kept by no rule',
      'delete kept by no rule',
    ]);
  });
});

describe('plan', () => {
  const scope = { keep: { last: 1 } };

  it('groups by resource (vault included), ignores what is out of scope, and sums up', () => {
    const at = (day: number) => Date.parse(`2026-11-${String(day).padStart(2, '0')}T00:00:00Z`);
    const backups = [
      makeBackup({ id: 'a1', created_at: at(20), size_bytes: 5 }),
      makeBackup({ id: 'a2', created_at: at(19), size_bytes: 7 }),
      makeBackup({ id: 'v2', vault_id: 'vault-2', created_at: at(10) }),
      makeBackup({ id: 'other-region', region: 'eu-west-101', created_at: at(1) }),
      makeBackup({ id: 'other-service', service: 'csbs', created_at: at(1) }),
    ];
    const result = plan(backups, target(scope), NOW);
    expect(result.decisions.map((d) => `${d.resource_key} ${d.backup_id}:${d.action}`)).toEqual([
      'cbr/ap-southeast-1/proj-1/vault-1/res-1 a1:keep',
      'cbr/ap-southeast-1/proj-1/vault-1/res-1 a2:delete',
      'cbr/ap-southeast-1/proj-1/vault-2/res-1 v2:keep',
    ]);
    expect(result.summary).toEqual({
      resources: 2,
      considered: 3,
      ignored: 2,
      kept: 2,
      deleted: 1,
      finished: 3,
      deleted_bytes: 7,
      deleted_unknown_size: 0,
      delete_share: 1 / 3,
      max_delete_share_exceeded: false,
    });
  });

  it('applies filters: resource ids, name patterns, tag patterns, manual vs automatic', () => {
    const backups = [
      makeBackup({ id: 'keep-me', name: 'autobk_1', tags: ['env=prod'] }),
      makeBackup({ id: 'manual', name: 'autobk_2', tags: ['env=prod'], manual: true }),
      makeBackup({ id: 'other-name', name: 'mine', tags: ['env=prod'] }),
      makeBackup({ id: 'other-tag', name: 'autobk_3', tags: ['env=dev'] }),
      makeBackup({ id: 'other-res', name: 'autobk_4', tags: ['env=prod'], resource_id: 'res-2' }),
    ];
    const filters = {
      resource_ids: ['res-1'],
      name_patterns: ['autobk_*'],
      tags: ['env=prod'],
      manual: 'automatic',
    };
    const result = plan(backups, target({ ...scope, filters }), NOW);
    expect(result.decisions.map((d) => d.backup_id)).toEqual(['keep-me']);
    expect(result.summary.ignored).toBe(4);
  });

  it('flags a plan that would delete more than max_delete_share', () => {
    const backups = backupsAt(['2026-11-20T00:00:00Z', '2026-11-19T00:00:00Z', '2026-11-18T00:00:00Z']);
    expect(
      plan(backups, target({ ...scope, max_delete_share: 0.5 }), NOW).summary.max_delete_share_exceeded,
    ).toBe(true);
    expect(
      plan(backups, target({ ...scope, max_delete_share: 0.7 }), NOW).summary.max_delete_share_exceeded,
    ).toBe(false);
  });

  it('takes the time zone from a resolved target', () => {
    const policy = parsePolicy({
      version: 1,
      timezone: 'Europe/Berlin',
      targets: [
        { name: 't', service: 'cbr', projects: ['proj-1'], regions: ['ap-southeast-1'], keep: { daily: 9 } },
      ],
    });
    const backups = backupsAt(['2026-11-20T23:30:00Z']);
    const [resolved] = resolveTargets(policy);
    expect(plan(backups, resolved as PlanTarget, NOW).decisions[0]?.reasons[0]).toBe('daily 2026-11-21');
  });
});

describe('a listing that repeats a backup', () => {
  it('decides it once and does not count the repeat toward min_keep', () => {
    const [newest, older] = backupsAt(['2026-11-26T00:00:00Z', '2026-01-01T00:00:00Z']) as [Backup, Backup];
    const repeat = { ...newest };
    const decisions = planResource([newest, older, repeat], rules({ max_age: '30d', min_keep: 2 }), NOW);
    expect(decisions.map((d) => `${d.backup_id}:${d.action}:${d.reasons.join('|')}`)).toEqual([
      'b000:keep:newest finished',
      'b001:keep:min_keep',
    ]);
  });
});
