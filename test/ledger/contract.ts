/**
 * The contract every Ledger store satisfies; run against the in-memory store, the local file store and
 * DynamoDB Local. `make` builds a fresh, empty ledger reading the given clock.
 */
import { describe, expect, it } from 'vitest';
import {
  type CallerIdentity,
  deletionId,
  IllegalTransitionError,
  type Ledger,
  LedgerConflictError,
  LedgerNotFoundError,
  type LedgerOptions,
  type NewDeletion,
  type PlannedItem,
} from '../../lib/ledger/index.ts';

export const T0 = Date.UTC(2026, 10, 27, 0, 0, 0);
const HOUR = 60 * 60 * 1000;
const PROJECT = '0605767a3300d5762fb7c0186d9e1779';
const caller: CallerIdentity = { kind: 'iam', principal: 'arn:aws:iam::123456789012:role/ops' };

export function cbrDeletion(backupId: string, extra: Partial<NewDeletion> = {}): NewDeletion {
  return {
    service: 'cbr',
    region: 'eu-de',
    project_id: PROJECT,
    target: { kind: 'backup', backup_id: backupId },
    requested_by: caller,
    ...extra,
  };
}

export class TestClock {
  now = T0;
  readonly read = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

export type MakeLedger = (options: LedgerOptions) => Promise<Ledger>;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

export function ledgerContract(name: string, make: MakeLedger): void {
  async function fresh() {
    const clock = new TestClock();
    const ledger = await make({ now: clock.read, idempotencyWindowMs: 24 * HOUR, retentionDays: 30 });
    return { clock, ledger };
  }

  describe(`${name}: beginDeletion`, () => {
    it('creates a requested record under the deterministic deletion id', async () => {
      const { ledger } = await fresh();
      const result = await ledger.beginDeletion(cbrDeletion('b-1'));
      expect(result.created).toBe(true);
      expect(result.record).toMatchObject({
        id: deletionId('cbr', 'eu-de', PROJECT, { kind: 'backup', backup_id: 'b-1' }),
        status: 'requested',
        attempts: 0,
        upstream_request_ids: [],
        history: [{ status: 'requested', at: T0 }],
        created_at: T0,
        updated_at: T0,
        requested_by: caller,
      });
      expect(await ledger.get(result.record.id)).toEqual(result.record);
    });

    it('returns the existing record and creates nothing for a second begin of the same target', async () => {
      const { ledger, clock } = await fresh();
      const first = await ledger.beginDeletion(cbrDeletion('b-1'));
      clock.advance(1000);
      const second = await ledger.beginDeletion(
        cbrDeletion('b-1', { requested_by: { kind: 'jwt', principal: 'x' } }),
      );
      expect(second).toEqual({ created: false, record: first.record });
      expect(await ledger.get(first.record.id)).toEqual(first.record);
    });

    it('treats CSBS checkpoint items in any order as the same deletion', async () => {
      const { ledger } = await fresh();
      const target = (items: string[]) =>
        cbrDeletion('unused', {
          service: 'csbs',
          target: { kind: 'checkpoint', provider_id: 'p', checkpoint_id: 'c-1', checkpoint_items: items },
        });
      expect((await ledger.beginDeletion(target(['a', 'b']))).created).toBe(true);
      expect((await ledger.beginDeletion(target(['b', 'a']))).created).toBe(false);
      expect((await ledger.beginDeletion(target(['a']))).created).toBe(true);
    });

    it('lets exactly one of 20 concurrent begins create the record', async () => {
      const { ledger } = await fresh();
      const results = await Promise.all(
        Array.from({ length: 20 }, () => ledger.beginDeletion(cbrDeletion('b-race'))),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      expect(new Set(results.map((result) => result.record.id)).size).toBe(1);
      expect(results.every((result) => result.record.status === 'requested')).toBe(true);
    });

    it('keeps an in-flight deletion however old it is', async () => {
      const { ledger, clock } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
      clock.advance(72 * HOUR);
      const again = await ledger.beginDeletion(cbrDeletion('b-1'));
      expect(again.created).toBe(false);
      expect(again.record.status).toBe('sent');
    });

    it('re-arms a failed deletion, keeping its history and attempts', async () => {
      const { ledger, clock } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
      await ledger.transition(record.id, {
        from: ['sent'],
        to: 'failed',
        patch: { error: { code: 'UPSTREAM_UNAVAILABLE', message: '503' }, upstream_status: 503 },
      });
      clock.advance(1000);
      const retry = await ledger.beginDeletion(cbrDeletion('b-1', { sweep_id: 'sw-2' }));
      expect(retry.created).toBe(true);
      expect(retry.record.status).toBe('requested');
      expect(retry.record.attempts).toBe(1);
      expect(retry.record.sweep_id).toBe('sw-2');
      expect(retry.record.error).toBeUndefined();
      expect(retry.record.history.map((entry) => entry.status)).toEqual([
        'requested',
        'sent',
        'failed',
        'requested',
      ]);
      expect(await ledger.get(record.id)).toEqual(retry.record);
      // A concurrent second retry does not get a second attempt.
      expect((await ledger.beginDeletion(cbrDeletion('b-1'))).created).toBe(false);
    });

    it('lets exactly one of 10 concurrent retries re-arm a failed deletion', async () => {
      const { ledger } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      await ledger.transition(record.id, { from: ['requested'], to: 'failed' });
      const results = await Promise.all(
        Array.from({ length: 10 }, () => ledger.beginDeletion(cbrDeletion('b-1'))),
      );
      expect(results.filter((result) => result.created)).toHaveLength(1);
      const stored = await ledger.get(record.id);
      expect(stored?.history.map((entry) => entry.status)).toEqual(['requested', 'failed', 'requested']);
    });

    it('keeps a finished deletion within the idempotency window and starts over after it', async () => {
      const { ledger, clock } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
      await ledger.transition(record.id, { from: ['sent'], to: 'done' });
      clock.advance(23 * HOUR);
      expect(await ledger.beginDeletion(cbrDeletion('b-1'))).toMatchObject({
        created: false,
        record: { status: 'done' },
      });
      clock.advance(2 * HOUR);
      const later = await ledger.beginDeletion(cbrDeletion('b-1'));
      expect(later.created).toBe(true);
      expect(later.record.history).toEqual([{ status: 'requested', at: T0 + 25 * HOUR }]);
    });

    it('keeps a permanently refused deletion final: it is never re-armed', async () => {
      const { ledger, clock } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-refused'));
      await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
      await ledger.transition(record.id, {
        from: ['sent'],
        to: 'failed',
        patch: {
          error: { code: 'UPSTREAM_REJECTED', message: '6201', permanent: true },
          upstream_code: '6201',
        },
      });
      clock.advance(72 * HOUR);
      const again = await ledger.beginDeletion(cbrDeletion('b-refused'));
      expect(again.created).toBe(false);
      expect(again.record).toMatchObject({ status: 'failed', error: { permanent: true } });
    });

    it('starts a finished DIS deletion over at once, and moves an unknown one only as upstream shows', async () => {
      const { ledger } = await fresh();
      const dis: NewDeletion = {
        service: 'dis',
        region: 'eu-de',
        project_id: PROJECT,
        target: {
          kind: 'dis_checkpoint',
          stream_name: 's',
          app_name: 'a',
          checkpoint_type: 'LAST_READ',
          partition_id: '0',
        },
        requested_by: caller,
      };
      const { record } = await ledger.beginDeletion(dis);
      // Stored in its canonical spelling.
      expect(record.target).toMatchObject({ partition_id: 'shardId-0000000000' });
      await ledger.transition(record.id, { from: ['requested'], to: 'sent' });
      await ledger.transition(record.id, { from: ['sent'], to: 'unknown' });
      expect((await ledger.beginDeletion(dis)).created).toBe(false);
      await expect(ledger.transition(record.id, { from: ['unknown'], to: 'sent' })).rejects.toBeInstanceOf(
        IllegalTransitionError,
      );
      await ledger.transition(record.id, { from: ['unknown'], to: 'done' });
      const repeat = await ledger.beginDeletion(dis);
      expect(repeat).toMatchObject({ created: true, record: { status: 'requested' } });
    });

    it('rejects an input with unknown fields', async () => {
      const { ledger } = await fresh();
      await expect(
        ledger.beginDeletion({ ...cbrDeletion('b-1'), status: 'done' } as unknown as NewDeletion),
      ).rejects.toThrow();
    });
  });

  describe(`${name}: transition`, () => {
    it('records every move with its timestamp, upstream ids and patch fields', async () => {
      const { ledger, clock } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1', { size_bytes: 1024 }));
      clock.advance(10);
      const sent = await ledger.transition(record.id, {
        from: ['requested'],
        to: 'sent',
        patch: { upstream_request_id: 'u-1' },
      });
      expect(sent).toMatchObject({
        status: 'sent',
        attempts: 1,
        upstream_request_ids: ['u-1'],
        updated_at: T0 + 10,
      });
      clock.advance(10);
      await ledger.transition(record.id, {
        from: ['sent'],
        to: 'accepted',
        patch: {
          upstream_status: 202,
          poll_ref: { service: 'dds', region: 'eu-de', projectId: PROJECT, jobId: 'job-1' },
          next_poll_at: T0 + 5000,
        },
      });
      clock.advance(10);
      await ledger.transition(record.id, {
        from: ['accepted', 'running'],
        to: 'running',
        patch: { note: 'poll 1' },
      });
      clock.advance(10);
      await ledger.transition(record.id, {
        from: ['accepted', 'running'],
        to: 'running',
        patch: { note: 'poll 2' },
      });
      clock.advance(10);
      const done = await ledger.transition(record.id, {
        from: ['running'],
        to: 'done',
        patch: { upstream_request_id: 'u-2' },
      });
      expect(done).toMatchObject({
        status: 'done',
        attempts: 1,
        upstream_request_ids: ['u-1', 'u-2'],
        upstream_status: 202,
        poll_ref: { service: 'dds', region: 'eu-de', projectId: PROJECT, jobId: 'job-1' },
        next_poll_at: T0 + 5000,
        size_bytes: 1024,
        created_at: T0,
        updated_at: T0 + 50,
      });
      expect(done.history).toEqual([
        { status: 'requested', at: T0 },
        { status: 'sent', at: T0 + 10, upstream_request_id: 'u-1' },
        { status: 'accepted', at: T0 + 20 },
        { status: 'running', at: T0 + 30, note: 'poll 1' },
        { status: 'running', at: T0 + 40, note: 'poll 2' },
        { status: 'done', at: T0 + 50, upstream_request_id: 'u-2' },
      ]);
      expect(await ledger.get(record.id)).toEqual(done);
    });

    it('rejects a move from a status the record is not in, naming the current one', async () => {
      const { ledger } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      const error = await rejection(ledger.transition(record.id, { from: ['sent'], to: 'accepted' }));
      expect(error).toBeInstanceOf(LedgerConflictError);
      expect((error as LedgerConflictError).currentStatus).toBe('requested');
      expect((await ledger.get(record.id))?.status).toBe('requested');
    });

    it('rejects illegal transitions before touching the store', async () => {
      const { ledger } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      await ledger.transition(record.id, { from: ['requested'], to: 'gone' });
      for (const [from, to] of [
        ['gone', 'sent'],
        ['done', 'requested'],
        ['requested', 'done'],
        ['sent', 'requested'],
      ] as const) {
        await expect(ledger.transition(record.id, { from: [from], to })).rejects.toBeInstanceOf(
          IllegalTransitionError,
        );
      }
      await expect(ledger.transition(record.id, { from: [], to: 'sent' })).rejects.toBeInstanceOf(
        IllegalTransitionError,
      );
      const after = await ledger.get(record.id);
      expect(after?.status).toBe('gone');
      expect(after?.history).toHaveLength(2);
    });

    it('lets exactly one of several concurrent identical transitions win', async () => {
      const { ledger } = await fresh();
      const { record } = await ledger.beginDeletion(cbrDeletion('b-1'));
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, () => ledger.transition(record.id, { from: ['requested'], to: 'sent' })),
      );
      expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
      for (const outcome of outcomes) {
        if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(LedgerConflictError);
      }
      expect((await ledger.get(record.id))?.attempts).toBe(1);
    });

    it('reports a missing deletion as not found', async () => {
      const { ledger } = await fresh();
      await expect(
        ledger.transition('del_missing', { from: ['requested'], to: 'sent' }),
      ).rejects.toBeInstanceOf(LedgerNotFoundError);
      expect(await ledger.get('del_missing')).toBeUndefined();
    });
  });

  describe(`${name}: sweeps`, () => {
    const items: PlannedItem[] = Array.from({ length: 60 }, (_, index) => {
      const target = { kind: 'backup', backup_id: `b-${index}` } as const;
      return {
        deletion_id: deletionId('cbr', 'eu-de', PROJECT, target),
        service: 'cbr',
        region: 'eu-de',
        project_id: PROJECT,
        target,
        size_bytes: index,
        reason: 'delete: older than 90d',
      };
    });
    const sweepCaller: CallerIdentity = { kind: 'sweep', principal: 'schedule' };

    it('lists the deletions of one sweep only', async () => {
      const { ledger } = await fresh();
      await ledger.beginDeletion(cbrDeletion('b-1', { sweep_id: 'sw-1' }));
      await ledger.beginDeletion(cbrDeletion('b-2', { sweep_id: 'sw-1' }));
      await ledger.beginDeletion(cbrDeletion('b-3', { sweep_id: 'sw-2' }));
      await ledger.beginDeletion(cbrDeletion('b-4'));
      const listed = await ledger.listBySweep('sw-1');
      expect(
        listed.map((record) => (record.target.kind === 'backup' ? record.target.backup_id : '')).sort(),
      ).toEqual(['b-1', 'b-2']);
      expect(await ledger.listBySweep('sw-none')).toEqual([]);
    });

    it('stores a plan once, returns it with all items, and records the report', async () => {
      const { ledger, clock } = await fresh();
      const plan = {
        sweep_id: 'sw-1',
        dry_run: false,
        requested_by: sweepCaller,
        summary: { planned: 60 },
        items,
      };
      const first = await ledger.putSweepPlan(plan);
      expect(first.created).toBe(true);
      expect(first.sweep).toMatchObject({
        sweep_id: 'sw-1',
        status: 'planned',
        planned_count: 60,
        created_at: T0,
      });
      const second = await ledger.putSweepPlan({ ...plan, items: items.slice(0, 1) });
      expect(second).toEqual({ created: false, sweep: first.sweep });
      const stored = await ledger.getSweep('sw-1');
      expect(stored?.sweep).toEqual(first.sweep);
      expect(stored?.items.map((item) => item.deletion_id).sort()).toEqual(
        items.map((item) => item.deletion_id).sort(),
      );
      clock.advance(5000);
      const finished = await ledger.finishSweep('sw-1', {
        deleted: 58,
        gone: 1,
        failed: { UPSTREAM_AUTH: 1 },
      });
      expect(finished).toMatchObject({
        status: 'finished',
        report: { deleted: 58, gone: 1, failed: { UPSTREAM_AUTH: 1 } },
        finished_at: T0 + 5000,
      });
      expect((await ledger.getSweep('sw-1'))?.sweep).toEqual(finished);
    });

    it('keeps a plan awaiting approval with its id, hash and approval fields, and creates it once', async () => {
      const { ledger } = await fresh();
      const approval = { status: 'awaiting', sweep_id: 'sw-held', items: 2 };
      const plan = {
        sweep_id: 'sw-held',
        dry_run: false,
        status: 'awaiting_approval' as const,
        requested_by: sweepCaller,
        summary: { planned: 2 },
        items: items.slice(0, 2),
        plan_id: 'sw-held',
        plan_hash: `sha256:${'a'.repeat(64)}`,
        approval,
      };
      const [first, second] = await Promise.all([ledger.putSweepPlan(plan), ledger.putSweepPlan(plan)]);
      expect([first.created, second.created].sort()).toEqual([false, true]);
      const stored = await ledger.getSweep('sw-held');
      expect(stored?.sweep).toMatchObject({
        status: 'awaiting_approval',
        plan_id: 'sw-held',
        plan_hash: `sha256:${'a'.repeat(64)}`,
        approval,
        planned_count: 2,
      });
      const plain = await ledger.putSweepPlan({
        ...plan,
        sweep_id: 'sw-plain',
        status: undefined,
        approval: undefined,
      });
      expect(plain.sweep.status).toBe('planned');
      expect(plain.sweep).not.toHaveProperty('approval');
    });

    it('reports unknown sweeps as absent', async () => {
      const { ledger } = await fresh();
      expect(await ledger.getSweep('sw-none')).toBeUndefined();
      await expect(ledger.finishSweep('sw-none', {})).rejects.toBeInstanceOf(LedgerNotFoundError);
    });
  });

  describe(`${name}: sweep history`, () => {
    const sweepCaller: CallerIdentity = { kind: 'sweep', principal: 'schedule' };
    const counts = (planned: number, held?: boolean) => [
      { name: 'servers', listed: 100, inventory: 80, planned, ...(held === undefined ? {} : { held }) },
    ];
    async function sweep(
      ledger: Ledger,
      clock: TestClock,
      id: string,
      options: {
        planned?: number;
        policy?: string;
        dryRun?: boolean;
        status?: string;
        finish?: boolean;
      } = {},
    ) {
      await ledger.putSweepPlan({
        sweep_id: id,
        dry_run: options.dryRun ?? false,
        requested_by: sweepCaller,
        summary: {},
        items: [],
        history: { policy_key: options.policy ?? 'policy-a', targets: counts(options.planned ?? 1) },
      });
      clock.advance(60_000);
      if (options.finish !== false) await ledger.finishSweep(id, { status: options.status ?? 'completed' });
      clock.advance(60_000);
    }

    it('returns the policy finished sweeps that ran to their end, newest first, with their counts', async () => {
      const { ledger, clock } = await fresh();
      await sweep(ledger, clock, 'sw-1', { planned: 1 });
      await sweep(ledger, clock, 'sw-2', { planned: 2, status: 'completed_with_failures' });
      await sweep(ledger, clock, 'sw-other', { policy: 'policy-b' });
      await sweep(ledger, clock, 'sw-dry', { dryRun: true });
      await sweep(ledger, clock, 'sw-aborted', { finish: false });
      await sweep(ledger, clock, 'sw-refused', { status: 'refused' });
      await sweep(ledger, clock, 'sw-3', { planned: 3 });
      await ledger.putSweepPlan({
        sweep_id: 'sw-no-history',
        dry_run: false,
        requested_by: sweepCaller,
        summary: {},
        items: [],
      });
      await ledger.finishSweep('sw-no-history', { status: 'completed' });
      const recent = await ledger.recentSweeps('policy-a', 5);
      expect(recent.map((entry) => entry.sweep_id)).toEqual(['sw-3', 'sw-2', 'sw-1']);
      expect(recent[0]).toEqual({
        sweep_id: 'sw-3',
        finished_at: T0 + 13 * 60_000,
        outcome: 'completed',
        targets: counts(3),
      });
      expect(recent[1]?.outcome).toBe('completed_with_failures');
      expect(await ledger.recentSweeps('policy-none', 5)).toEqual([]);
      expect((await ledger.getSweep('sw-1'))?.sweep.history).toEqual({
        policy_key: 'policy-a',
        targets: counts(1),
      });
    });

    it('returns at most the limit, and a held target keeps its flag', async () => {
      const { ledger, clock } = await fresh();
      for (let index = 1; index <= 7; index++) await sweep(ledger, clock, `sw-${index}`, { planned: index });
      await ledger.putSweepPlan({
        sweep_id: 'sw-held',
        dry_run: false,
        requested_by: sweepCaller,
        summary: {},
        items: [],
        history: { policy_key: 'policy-a', targets: counts(40, true) },
      });
      await ledger.finishSweep('sw-held', { status: 'completed_with_failures' });
      const recent = await ledger.recentSweeps('policy-a', 5);
      expect(recent.map((entry) => entry.sweep_id)).toEqual(['sw-held', 'sw-7', 'sw-6', 'sw-5', 'sw-4']);
      expect(recent[0]?.targets).toEqual(counts(40, true));
    });
  });
}
