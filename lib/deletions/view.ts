/** A deletion as the HTTP API shows it: the ledger record without internals, timestamps as ISO strings. */
import { z } from 'zod';
import {
  type DeletionRecord,
  DeletionStatusSchema,
  DeletionTargetSchema,
  LedgerServiceSchema,
} from '../ledger/schema.ts';

export const DeletionViewSchema = z.object({
  deletion_id: z.string(),
  service: LedgerServiceSchema,
  region: z.string(),
  project_id: z.string(),
  target: DeletionTargetSchema,
  status: DeletionStatusSchema,
  /**
   * True once nothing more will happen by itself (done, gone, failed). `unknown`: a DELETE went out without a
   * definitive answer; reading the deletion asks upstream and moves it on.
   */
  final: z.boolean(),
  requested_by: z.object({ kind: z.string(), principal: z.string() }),
  sweep_id: z.string().optional(),
  attempts: z.number().int(),
  upstream_request_ids: z.array(z.string()),
  upstream_status: z.number().int().optional(),
  upstream_code: z.string().optional(),
  error: z.object({ code: z.string(), message: z.string(), permanent: z.boolean().optional() }).optional(),
  history: z.array(z.object({ status: DeletionStatusSchema, at: z.string(), note: z.string().optional() })),
  created_at: z.string(),
  updated_at: z.string(),
  /** Set when this read tried to poll upstream and could not (the state shown is the stored one). */
  refresh_error: z.object({ code: z.string() }).optional(),
});
export type DeletionView = z.infer<typeof DeletionViewSchema>;

export const DELETION_LOCATION_PREFIX = '/deletions/';

export function deletionLocation(id: string): string {
  return `${DELETION_LOCATION_PREFIX}${id}`;
}

export function toDeletionView(record: DeletionRecord): DeletionView {
  return {
    deletion_id: record.id,
    service: record.service,
    region: record.region,
    project_id: record.project_id,
    target: record.target,
    status: record.status,
    final: record.status === 'done' || record.status === 'gone' || record.status === 'failed',
    requested_by: { kind: record.requested_by.kind, principal: record.requested_by.principal },
    ...(record.sweep_id === undefined ? {} : { sweep_id: record.sweep_id }),
    attempts: record.attempts,
    upstream_request_ids: record.upstream_request_ids,
    ...(record.upstream_status === undefined ? {} : { upstream_status: record.upstream_status }),
    ...(record.upstream_code === undefined ? {} : { upstream_code: record.upstream_code }),
    ...(record.error === undefined ? {} : { error: record.error }),
    history: record.history.map((entry) => ({
      status: entry.status,
      at: new Date(entry.at).toISOString(),
      ...(entry.note === undefined ? {} : { note: entry.note }),
    })),
    created_at: new Date(record.created_at).toISOString(),
    updated_at: new Date(record.updated_at).toISOString(),
  };
}
