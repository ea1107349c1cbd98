/** The queued report reads the ledger's records the way the inline steps report them. */
import { describe, expect, it } from 'vitest';
import type { DeletionRecord, PlannedItem } from '../../../lib/ledger/schema.ts';
import { outcomeFromRecord } from '../../../lib/sweep/queued/report.ts';

const item = { deletion_id: 'd1', size_bytes: 2048 } as PlannedItem;

function record(overrides: Partial<DeletionRecord>): DeletionRecord {
  return {
    id: 'd1',
    service: 'cbr',
    region: 'ap-southeast-1',
    project_id: 'p1',
    target: { kind: 'backup', backup_id: 'b1' },
    requested_by: { kind: 'sweep', principal: 'sweep:scheduled' },
    sweep_id: 's1',
    status: 'requested',
    attempts: 0,
    upstream_request_ids: [],
    history: [],
    created_at: 1,
    updated_at: 1,
    version: 1,
    ...overrides,
  };
}

describe('outcomeFromRecord', () => {
  it('reports a backup upstream refused for good as skipped REFUSED_UPSTREAM, as inline mode does', () => {
    const refused = record({
      status: 'failed',
      upstream_code: 'BackupService.6201',
      error: { code: 'UPSTREAM_CONFLICT', message: 'backup is being restored', permanent: true },
    });
    expect(outcomeFromRecord(item, refused, 's1')).toEqual({
      deletion_id: 'd1',
      status: 'skipped',
      code: 'REFUSED_UPSTREAM',
      reason: 'BackupService.6201: backup is being restored',
    });
  });

  it('reports a failure that may pass on a rerun as failed, with its code and message', () => {
    const failed = record({ status: 'failed', error: { code: 'TRACKING_TIMEOUT', message: 'timed_out' } });
    expect(outcomeFromRecord(item, failed, 's1')).toEqual({
      deletion_id: 'd1',
      status: 'failed',
      code: 'TRACKING_TIMEOUT',
      reason: 'timed_out',
    });
  });

  it('counts a deletion as this sweep’s only when this sweep did it, and a record in flight as pending', () => {
    expect(outcomeFromRecord(item, record({ status: 'done' }), 's1')).toEqual({
      deletion_id: 'd1',
      status: 'deleted',
      size_bytes: 2048,
    });
    expect(outcomeFromRecord(item, record({ status: 'done' }), 's2')).toMatchObject({
      status: 'already_gone',
      code: 'DELETED_ELSEWHERE',
    });
    expect(outcomeFromRecord(item, record({ status: 'accepted' }), 's1')).toEqual({
      deletion_id: 'd1',
      status: 'pending',
      code: 'ACCEPTED',
    });
    expect(outcomeFromRecord(item, undefined, 's1')).toMatchObject({
      status: 'pending',
      code: 'NOT_STARTED',
    });
  });
});
