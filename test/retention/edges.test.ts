import { describe, expect, it } from 'vitest';
import { MAX_DURATION_YEARS, parseDuration } from '../../lib/retention/duration.ts';
import { type Decision, type PlanTarget, plan, planResource } from '../../lib/retention/planner.ts';
import { loadPolicy, parsePolicy, resolveTargets } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { aliasBomb, backupsAt, makeBackup, policyError } from './factories.ts';

const NOW = new Date('2026-11-27T00:00:00Z');
const DAY = 86_400_000;

function target(settings: Record<string, unknown>): PlanTarget {
  const policy = parsePolicy({
    version: 1,
    targets: [{ name: 't', service: 'cbr', projects: ['proj-1'], regions: ['ap-southeast-1'], ...settings }],
  });
  return resolveTargets(policy)[0] as PlanTarget;
}

const daily = (days: number, start = NOW.getTime() - DAY) =>
  Array.from({ length: days }, (_, index) => new Date(start - index * DAY).toISOString());
const actions = (decisions: readonly Decision[]) => decisions.map((d) => `${d.backup_id}:${d.action}`);

describe('duration caps', () => {
  it.each(['999999y', '300000y', '4000000m', '1000000000d', '1001y', '12001m', '365251d', '8766001h'])(
    'refuses %s in the parser with a clear error',
    (text) => {
      expect(() => parseDuration(text)).toThrow(`longer than ${MAX_DURATION_YEARS}y`);
    },
  );

  it.each(['1000y', '12000m', '365250d', '8766000h', '999y11m'])('accepts %s', (text) => {
    expect(() => parseDuration(text)).not.toThrow();
  });

  it('refuses a number too long to be exact (Number() would round it)', () => {
    expect(() => parseDuration('99999999999999999999d')).toThrow(/longest duration allowed/);
  });

  it.each([
    ['max_age', { max_age: '999999y', keep: { last: 12 } }],
    ['keep.within', { keep: { within: '300000y' } }],
    ['failed_max_age', { failed_max_age: '1000000000d', keep: { last: 1 } }],
    ['keep.within_daily', { keep: { within_daily: '4000000m' } }],
  ])('names the field of an over-long %s in the policy error', (field, settings) => {
    const error = policyError(() => target(settings));
    expect(error.issues[0]?.path).toBe(`targets[0].${field}`);
    expect(error.message).toContain('longest duration allowed (1000y)'.slice(0, 20));
  });
});

describe('thresholds that are not a number never delete', () => {
  // A duration at the cap still gives a real date; past the date range, `now - duration` is NaN. The parser
  // refuses such durations; the planner must still read a NaN threshold as "keep" should one ever reach it.
  const unreachable = { years: 400_000, months: 0, days: 0, hours: 0, text: '400000y' };

  it('max_age with a NaN threshold keeps every finished backup (young ones included)', () => {
    const backups = backupsAt(daily(66));
    const rules = { ...target({ keep: { last: 12 } }), max_age: unreachable };
    const { decisions, summary } = plan(backups, rules, NOW);
    expect(summary.deleted).toBe(0);
    expect(decisions.filter((d) => d.action === 'delete')).toEqual([]);
  });

  it('within with a NaN threshold keeps every backup', () => {
    const base = target({ keep: { within: '1d' } });
    const rules = {
      ...base,
      keep: { ...base.keep, within: unreachable },
    };
    const { summary } = plan(backupsAt(daily(30)), rules, NOW);
    expect(summary.deleted).toBe(0);
  });

  it('failed_max_age with a NaN threshold keeps every failed backup', () => {
    const rules = { ...target({ keep: { last: 1 } }), failed_max_age: unreachable };
    const backups = backupsAt(daily(5), { state: 'failed' });
    expect(plan(backups, rules, NOW).summary.deleted).toBe(0);
  });
});

describe('repeated ids count once', () => {
  it('decides b1 listed three times among b1..b4 once, so the breaker sees 3 of 4 distinct backups', () => {
    const [b1, b2, b3, b4] = backupsAt(daily(4)) as [Backup, Backup, Backup, Backup];
    const listing = [b4, b1, b3, { ...b1 }, b2, { ...b1 }];
    const rules = target({ keep: { last: 1 }, max_delete_share: 0.5 });
    const { decisions, summary } = plan(listing, rules, NOW);
    expect(decisions).toHaveLength(4);
    expect(summary).toMatchObject({ considered: 4, finished: 4, deleted: 3 });
    expect(summary.delete_share).toBe(0.75);
    expect(summary.max_delete_share_exceeded).toBe(true);
  });

  it('counts two copies of X at different times once toward min_keep (X 26th, W 25th, X 24th, Y 23rd)', () => {
    const at = (id: string, day: string) =>
      makeBackup({ id, created_at: Date.parse(`2026-11-${day}T00:00:00Z`) });
    const listing = [at('X', '26'), at('W', '25'), at('X', '24'), at('Y', '23')];
    const decisions = planResource(listing, target({ keep: { last: 1 }, min_keep: 3 }), NOW);
    expect(actions(decisions)).toEqual(['X:keep', 'W:keep', 'Y:keep']);
    // The copies agree apart from their time: one backup, at the newest time any copy reports.
    expect(decisions[0]?.reasons).toEqual(['last', 'newest finished']);
  });

  it.each([
    ['in progress', { state: 'in_progress' as const, status: 'protecting' }],
    ['protected by a tag', { tags: ['hold=1'] }],
    ['tagged for a keep rule', { tags: ['legal'] }],
    ['named differently', { name: 'manual_keep' }],
  ])('keeps a backup whose other copy is %s, whichever copy comes first', (_, other) => {
    const backups = backupsAt(daily(6));
    const copy = { ...(backups[4] as Backup), ...other };
    const rules = target({ keep: { last: 1, tags: [['legal']] }, protect: { tags: ['hold=*'] } });
    for (const listing of [
      [...backups, copy],
      [copy, ...backups],
    ]) {
      const decisions = plan(listing, rules, NOW).decisions;
      const decided = decisions.filter((d) => d.backup_id === 'b004');
      expect(decided).toHaveLength(1);
      expect(decided[0]?.action).toBe('keep');
      expect(decided[0]?.reasons).toEqual(['listed 2 times with conflicting details; kept']);
    }
  });

  it('folds copies before the max_gap guard and incremental chains, which then see each backup once', () => {
    const backups = backupsAt(daily(8));
    const older = { ...(backups[1] as Backup), created_at: (backups[7] as Backup).created_at - DAY };
    const chain = backups.map((backup, index) => ({ ...backup, incremental: index % 2 === 1 }));
    const rules = target({ keep: { last: 1 }, max_gap: '2d', allow_empty_keep: true });
    for (const listing of [
      [...backups, older],
      [older, ...chain, { ...(chain[3] as Backup) }],
    ]) {
      const { decisions } = plan(listing, rules, NOW);
      expect(decisions.map((d) => d.backup_id).sort()).toEqual(backups.map((b) => b.id).sort());
      expect(decisions.every((d) => d.reasons.length > 0)).toBe(true);
    }
  });

  it('gives an identical repeat no decision of its own', () => {
    const backups = backupsAt(daily(3));
    const { decisions } = plan(
      [...backups, ...backups.map((backup) => ({ ...backup }))],
      target({ keep: { last: 1 } }),
      NOW,
    );
    expect(actions(decisions)).toEqual(['b000:keep', 'b001:delete', 'b002:delete']);
  });
});

describe('every policy error is a PolicyError', () => {
  it('turns a YAML alias bomb into a PolicyError, not a ReferenceError', () => {
    const error = policyError(() => loadPolicy(aliasBomb(), 'bomb.yaml'));
    expect(error.message).toMatch(/alias/i);
  });

  it('refuses a policy over the size cap before parsing it', () => {
    const text = `version: 1\n# ${'x'.repeat(1024 * 1024)}\ntargets: []\n`;
    const error = policyError(() => loadPolicy(text, 'big.yaml'));
    expect(error.message).toContain('at most 1048576 bytes');
  });

  it('refuses more than 1,000 targets naming the cap', () => {
    const targets = Array.from({ length: 1001 }, (_, index) => ({
      name: `t${index}`,
      service: 'cbr',
      projects: ['p'],
      regions: ['r'],
      keep: { last: 1 },
    }));
    const error = policyError(() => parsePolicy({ version: 1, targets }));
    expect(error.issues).toEqual([{ path: 'targets', message: '1001 targets; at most 1000 are accepted' }]);
  });

  it('lists at most 50 issues and counts the rest, in the message too', () => {
    const targets = Array.from({ length: 200 }, (_, index) => ({
      name: `t${index}`,
      service: 'cbr',
      projects: ['p'],
      regions: ['r'],
      keep: { dialy: 1 },
    }));
    const error = policyError(() => loadPolicy(JSON.stringify({ version: 1, targets }), 'many.json'));
    expect(error.issues).toHaveLength(50);
    expect(error.issues.length + error.omittedIssues).toBe(400);
    expect(error.message).toContain('... and 350 more');
    expect(error.message.split('\n')).toHaveLength(52);
  });
});
