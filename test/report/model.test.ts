import { describe, expect, it } from 'vitest';
import { classifyDecision, MARK_CLASSES } from '../../lib/report/marks.ts';
import { reportFromPlan } from '../../lib/report/model.ts';
import { reportFleet, reportPlan } from './fixtures.ts';

const classOf = (index: number | undefined) => MARK_CLASSES[index ?? -1]?.id;

describe('report model from a plan', () => {
  it('has one mark per decision, in the plan order, with the reasons the plan gives', async () => {
    const backups = reportFleet();
    const plan = await reportPlan(backups);
    const model = reportFromPlan({ plan, listings: new Map([['vaults <b>prod</b>', backups]]) });
    const [target] = model.targets;
    const decisions = plan.targets[0]?.decisions ?? [];
    const marks = target?.resources.flatMap((resource) =>
      resource.id.map((id, i) => ({
        key: resource.key,
        id,
        reasons: model.reasons[resource.r[i] as number],
      })),
    );
    expect(marks).toEqual(
      decisions.map((d) => ({ key: d.resource_key, id: d.backup_id, reasons: d.reasons })),
    );
  });

  it('colours kept backups by the rule that kept them and tells protected, unfinished and deleted apart', async () => {
    const backups = reportFleet();
    const model = reportFromPlan({
      plan: await reportPlan(backups),
      listings: new Map([['vaults <b>prod</b>', backups]]),
    });
    const res1 = model.targets[0]?.resources.find((resource) => resource.key.endsWith('/res-1'));
    const byId = new Map(res1?.id.map((id, i) => [id, classOf(res1.c[i])]));
    expect(byId.get('r1-00')).toBe('daily');
    expect(byId.get('r1-running')).toBe('in_progress');
    expect(byId.get('r1-failed')).toBe('deleted'); // older than failed_max_age 7d
    expect(byId.get('r1-12')).toBe('protected');
    // Between weekly's Sunday 11-29 and the protected 11-20, max_gap 3d keeps 11-26 and 11-23.
    expect(byId.get('r1-06')).toBe('max_gap');
    expect(byId.get('r1-09')).toBe('max_gap');
    expect(byId.get('r1-05')).toBe('deleted');
    expect(byId.get('r1-19')).toBe('deleted');
    expect(res1?.label).toContain('<i>db</i>'); // not escaped here: the renderer does that
  });

  it('reports bytes to reclaim from known sizes, restore points before and after, and the default breaker', async () => {
    const backups = reportFleet();
    const model = reportFromPlan({
      plan: await reportPlan(backups),
      listings: new Map([['vaults <b>prod</b>', backups]]),
    });
    const target = model.targets[0];
    expect(target?.max_delete_share).toBe(0.5);
    expect(target?.max_delete_share_default).toBe(true);
    // 13 deleted backups of res-1 have 1 GiB each; the failed one and res-2's three have no size.
    expect(target?.bytes_to_reclaim).toBe(13 * 1024 ** 3);
    expect(target?.bytes_unknown).toBe(4);
    const res1 = target?.resources.find((resource) => resource.key.endsWith('/res-1'));
    const [pointsBefore] = res1?.before ?? [];
    const [pointsAfter, , , largestGapAfter] = res1?.after ?? [];
    expect(pointsBefore).toBe(20);
    // Kept: 3 dailies, weekly's 11-29, max_gap's 11-26 and 11-23, the protected 11-20.
    expect(pointsAfter).toBe(7);
    expect(largestGapAfter).toBe(3 * 86_400);
  });
});

describe('mark classes', () => {
  it('reads the planner’s reasons: rules, oldest, windows, our own rules, and upstream refusals', () => {
    const of = (action: 'keep' | 'delete', ...reasons: string[]) =>
      classOf(classifyDecision(action, reasons));
    expect(of('keep', 'oldest monthly 2026-01')).toBe('monthly');
    expect(of('keep', 'daily within 7d 2026-11-20')).toBe('within');
    expect(of('keep', 'within 2d')).toBe('within');
    expect(of('keep', 'last')).toBe('last');
    expect(of('keep', 'tags keep+audited', 'daily 2026-11-20')).toBe('tags');
    expect(of('keep', 'younger than max_age 30d')).toBe('younger');
    expect(of('keep', 'min_keep')).toBe('min_keep');
    expect(of('keep', 'max_gap 2d')).toBe('max_gap');
    expect(of('keep', 'daily 2026-11-20', 'protected tag legal-hold=*')).toBe('protected');
    expect(of('keep', 'not deletable upstream')).toBe('skipped');
    expect(of('keep', 'instance restoring')).toBe('skipped');
    expect(of('keep', 'failed, no failed_max_age')).toBe('failed');
    expect(of('keep', 'deleting')).toBe('in_progress');
    expect(of('delete', 'kept by no rule')).toBe('deleted');
    expect(classOf(classifyDecision('keep', ['daily 2026-11-20'], true))).toBe('skipped');
  });
});
