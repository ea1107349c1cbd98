import type { Backup, BackupService } from './backup.ts';
import * as cbr from './cbr.ts';
import * as csbs from './csbs.ts';
import * as dds from './dds.ts';
import type {
  BackupTarget,
  DeleteRef,
  DeletionStart,
  DeletionStatus,
  HuaweiRequester,
  PollRef,
} from './deletion.ts';

/**
 * One adapter per backup service, all with the same three calls, so the sweep and the HTTP functions never
 * branch on the service. DIS is not a backup service (checkpoints have no age): see `./dis.ts`.
 */

export type {
  BackupFilters,
  BackupTarget,
  DeleteRef,
  DeletionStart,
  DeletionStatus,
  HuaweiRequester,
  PollRef,
} from './deletion.ts';
export {
  BackupTargetSchema,
  DeleteRefSchema,
  DeletionStartSchema,
  DeletionStatusSchema,
  PollRefSchema,
} from './deletion.ts';

export interface BackupServiceAdapter {
  readonly service: BackupService;
  /** Every backup of the target, over all pages, mapped to the neutral shape. */
  listBackups(client: HuaweiRequester, target: BackupTarget, signal?: AbortSignal): AsyncIterable<Backup>;
  /** Starts a deletion; typed errors (HuaweiNotFoundError = already gone, HuaweiBusyError, ...) propagate. */
  deleteBackup(client: HuaweiRequester, ref: DeleteRef, signal?: AbortSignal): Promise<DeletionStart>;
  /** One look at an accepted deletion. */
  pollDeletion(client: HuaweiRequester, poll: PollRef, signal?: AbortSignal): Promise<DeletionStatus>;
}

function wrongService(expected: BackupService, poll: PollRef): never {
  throw new TypeError(`a ${poll.service} poll reference was given to the ${expected} adapter`);
}

export const csbsAdapter: BackupServiceAdapter = {
  service: 'csbs',
  listBackups: csbs.listBackups,
  deleteBackup: csbs.deleteBackup,
  pollDeletion: async (client, poll, signal) =>
    poll.service === 'csbs' ? csbs.pollDeletion(client, poll, signal) : wrongService('csbs', poll),
};

export const cbrAdapter: BackupServiceAdapter = {
  service: 'cbr',
  listBackups: cbr.listBackups,
  deleteBackup: cbr.deleteBackup,
  pollDeletion: async (client, poll, signal) =>
    poll.service === 'cbr' ? cbr.pollDeletion(client, poll, signal) : wrongService('cbr', poll),
};

export const ddsAdapter: BackupServiceAdapter = {
  service: 'dds',
  listBackups: dds.listBackups,
  deleteBackup: dds.deleteBackup,
  pollDeletion: async (client, poll, signal) =>
    poll.service === 'dds' ? dds.pollDeletion(client, poll, signal) : wrongService('dds', poll),
};

export const adapters: Readonly<Record<BackupService, BackupServiceAdapter>> = {
  csbs: csbsAdapter,
  cbr: cbrAdapter,
  dds: ddsAdapter,
};

export function adapterFor(service: BackupService): BackupServiceAdapter {
  return adapters[service];
}

/** Polls any reference with the right adapter. */
export function pollDeletion(
  client: HuaweiRequester,
  poll: PollRef,
  signal?: AbortSignal,
): Promise<DeletionStatus> {
  return adapters[poll.service].pollDeletion(client, poll, signal);
}
