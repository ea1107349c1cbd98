import type { SimClock } from './clock.ts';
import { OrderedCollection } from './collection.ts';
import {
  type CbrBackup,
  type CbrVault,
  type CsbsItem,
  type DdsBackup,
  type DdsInstance,
  type DisApp,
  type DisCheckpoint,
  type DisStream,
  type Fleet,
  FleetSchema,
  formatCloudTime,
  formatDdsJobTime,
  type Project,
  randomUuid,
  type SimService,
} from './fleet.ts';

/** How long each service's asynchronous deletion takes, in simulated milliseconds. */
export interface DeletionTimings {
  csbsMs: number;
  cbrMs: number;
  ddsMs: number;
}

export interface SimStateOptions {
  clock: SimClock;
  random: () => number;
  deletion?: Partial<DeletionTimings>;
  /** CSBS: deletion tasks running at once per project (the cloud's "5 per user"); later ones queue. */
  csbsMaxRunningTasks?: number;
  /** Share of DDS deletion jobs that end `Failed` (the backup goes back to COMPLETED). */
  ddsJobFailureRate?: number;
  /**
   * Simulated ms after loading at which backups being created (CSBS/CBR `protecting`, DDS `BUILDING`)
   * finish and become available. Undefined: they stay in creation (and keep their resource busy).
   */
  creationMs?: number;
}

export type DeletingService = Exclude<SimService, 'dis'>;

export interface DdsJob {
  id: string;
  name: string;
  status: 'Running' | 'Completed' | 'Failed';
  created: string;
  ended: string;
  progress: string;
  project_id: string;
  backup_id: string;
  instance: { id: string; name: string };
  fail_reason: string;
}

interface CsbsTask {
  projectId: string;
  itemIds: string[];
}

interface ScheduledEvent {
  at: number;
  seq: number;
  run: (at: number) => void;
}

const DEFAULT_TIMINGS: DeletionTimings = { csbsMs: 60_000, cbrMs: 30_000, ddsMs: 20_000 };

function byCreatedAt(record: { created_at: string }): string {
  return record.created_at;
}
function byBeginTime(record: { begin_time: string }): string {
  return record.begin_time;
}

/**
 * Everything the simulated cloud holds, and the deletion engine. Time-driven changes are applied lazily:
 * `tick()` (called before each request is served and before inspection) runs every scheduled event whose
 * simulated time has come, in time order, so results do not depend on timers firing.
 */
export class SimState {
  readonly projects = new Map<string, Project>();
  readonly csbs = new Map<string, OrderedCollection<CsbsItem>>();
  readonly cbr = new Map<string, OrderedCollection<CbrBackup>>();
  readonly ddsInstances = new Map<string, DdsInstance[]>();
  readonly ddsBackups = new Map<string, OrderedCollection<DdsBackup>>();
  readonly ddsJobs = new Map<string, DdsJob>();
  readonly disStreams = new Map<string, DisStream>();
  readonly disApps = new Map<string, DisApp[]>();
  readonly disCheckpoints = new Map<string, DisCheckpoint>();

  private readonly csbsItemIndex = new Map<string, CsbsItem>();
  private readonly csbsCheckpoints = new Map<string, Set<string>>();
  private readonly cbrIndex = new Map<string, CbrBackup>();
  private readonly cbrByResource = new Map<string, Set<CbrBackup>>();
  private readonly ddsIndex = new Map<string, DdsBackup>();
  private readonly ddsInstanceIndex = new Map<string, DdsInstance>();
  readonly cbrVaults = new Map<string, CbrVault[]>();
  /** CSBS items listed as `deleted` and not yet gone. */
  private csbsDeleted = 0;
  private readonly ddsPendingJob = new Map<string, string>();

  private readonly timings: DeletionTimings;
  private readonly csbsMaxRunning: number;
  private readonly ddsJobFailureRate: number;
  private readonly csbsRunning = new Map<string, number>();
  private readonly csbsQueue = new Map<string, CsbsTask[]>();
  private events: ScheduledEvent[] = [];
  private eventSeq = 0;

  /** Deletions accepted and not finished, per service and project (queued CSBS tasks included). */
  private readonly pending = new Map<string, number>();
  readonly maxPending = new Map<string, number>();
  readonly maxCsbsRunning = new Map<string, number>();

  constructor(private readonly options: SimStateOptions) {
    this.timings = { ...DEFAULT_TIMINGS, ...options.deletion };
    this.csbsMaxRunning = options.csbsMaxRunningTasks ?? 5;
    this.ddsJobFailureRate = options.ddsJobFailureRate ?? 0;
  }

  now(): number {
    return this.options.clock.now();
  }

  /** Adds a fleet (JSON fixture or `generateFleet` output). Fixtures are validated; generated fleets trusted. */
  load(fleet: Fleet | unknown, { validate = true }: { validate?: boolean } = {}): void {
    const parsed = validate ? FleetSchema.parse(fleet) : (fleet as Fleet);
    for (const project of parsed.projects) this.projects.set(project.id, project);
    this.addCsbsItems(parsed.csbs);
    this.addCbrBackups(parsed.cbr);
    this.addCbrVaults(parsed.cbr_vaults ?? []);
    this.addDdsInstances(parsed.dds.instances);
    this.addDdsBackups(parsed.dds.backups);
    for (const stream of parsed.dis.streams) this.addDisStream(stream);
    this.addDisApps(parsed.dis.apps);
    for (const checkpoint of parsed.dis.checkpoints) this.setDisCheckpoint(checkpoint);
    if (this.options.creationMs !== undefined)
      this.scheduleCreations(parsed, this.now() + this.options.creationMs);
  }

  /** Backups still being created in `fleet` finish at `at`. */
  private scheduleCreations(fleet: Fleet, at: number): void {
    const csbs = fleet.csbs.filter(
      (item) => item.status === 'protecting' || item.status === 'waiting_protect',
    );
    const cbr = fleet.cbr.filter(
      (backup) => backup.status === 'protecting' || backup.status === 'waiting_protect',
    );
    const dds = fleet.dds.backups.filter((backup) => backup.status === 'BUILDING');
    if (csbs.length + cbr.length + dds.length === 0) return;
    this.schedule(at, () => {
      const stamp = formatCloudTime(at);
      for (const item of csbs)
        if (item.status === 'protecting' || item.status === 'waiting_protect') {
          item.status = 'available';
          item.updated_at = stamp;
        }
      for (const backup of cbr)
        if (backup.status === 'protecting' || backup.status === 'waiting_protect') {
          backup.status = 'available';
          backup.updated_at = stamp;
        }
      for (const backup of dds) if (backup.status === 'BUILDING') backup.status = 'COMPLETED';
    });
  }

  addProject(project: Project): void {
    this.projects.set(project.id, project);
  }

  // ---- CSBS ---------------------------------------------------------------------------------------

  addCsbsItems(items: readonly CsbsItem[]): void {
    const byProject = groupBy(items, (item) => item.project_id);
    for (const [projectId, group] of byProject) {
      collectionOf(this.csbs, projectId, byCreatedAt).add(group);
      for (const item of group) {
        this.csbsItemIndex.set(item.id, item);
        let members = this.csbsCheckpoints.get(item.checkpoint_id);
        if (!members) {
          members = new Set();
          this.csbsCheckpoints.set(item.checkpoint_id, members);
        }
        members.add(item.id);
      }
    }
  }

  csbsItem(id: string): CsbsItem | undefined {
    return this.csbsItemIndex.get(id);
  }

  /** Live items of a checkpoint in a project. */
  csbsCheckpointItems(projectId: string, checkpointId: string): CsbsItem[] {
    const ids = this.csbsCheckpoints.get(checkpointId);
    if (!ids) return [];
    const items: CsbsItem[] = [];
    for (const id of ids) {
      const item = this.csbsItemIndex.get(id);
      if (item && item.project_id === projectId) items.push(item);
    }
    return items;
  }

  /** Queues one CSBS deletion task for `items`; it starts now if fewer than the limit are running. */
  startCsbsDeletion(projectId: string, items: readonly CsbsItem[]): void {
    const stamp = formatCloudTime(this.now());
    for (const item of items) {
      item.status = 'waiting_delete';
      item.updated_at = stamp;
    }
    this.gauge('csbs', projectId, +1);
    const task: CsbsTask = { projectId, itemIds: items.map((item) => item.id) };
    const running = this.csbsRunning.get(projectId) ?? 0;
    if (running < this.csbsMaxRunning) this.runCsbsTask(task, this.now());
    else {
      const queue = this.csbsQueue.get(projectId) ?? [];
      queue.push(task);
      this.csbsQueue.set(projectId, queue);
    }
  }

  private runCsbsTask(task: CsbsTask, at: number): void {
    const running = (this.csbsRunning.get(task.projectId) ?? 0) + 1;
    this.csbsRunning.set(task.projectId, running);
    raiseMax(this.maxCsbsRunning, task.projectId, running);
    for (const id of task.itemIds) {
      const item = this.csbsItemIndex.get(id);
      if (item) {
        item.status = 'deleting';
        item.updated_at = formatCloudTime(at);
      }
    }
    this.schedule(at + this.timings.csbsMs, (doneAt) => {
      // A deleted item is still listed as `deleted` for a while (the documented status), then it is gone.
      const stamp = formatCloudTime(doneAt);
      const gone: CsbsItem[] = [];
      for (const id of task.itemIds) {
        const item = this.csbsItemIndex.get(id);
        if (!item) continue;
        item.status = 'deleted';
        item.updated_at = stamp;
        this.csbsCheckpoints.get(item.checkpoint_id)?.delete(id);
        gone.push(item);
      }
      this.csbsDeleted += gone.length;
      this.schedule(doneAt + this.timings.csbsMs, () => {
        for (const item of gone) {
          if (this.csbsItemIndex.get(item.id) !== item) continue;
          this.csbsItemIndex.delete(item.id);
          this.csbs.get(item.project_id)?.remove(item.id);
        }
        this.csbsDeleted -= gone.length;
      });
      this.csbsRunning.set(task.projectId, (this.csbsRunning.get(task.projectId) ?? 1) - 1);
      this.gauge('csbs', task.projectId, -1);
      const next = this.csbsQueue.get(task.projectId)?.shift();
      if (next) this.runCsbsTask(next, doneAt);
    });
  }

  /** Tasks per project currently queued behind the running ones. */
  csbsQueued(projectId: string): number {
    return this.csbsQueue.get(projectId)?.length ?? 0;
  }

  // ---- CBR ----------------------------------------------------------------------------------------

  addCbrBackups(backups: readonly CbrBackup[]): void {
    for (const [projectId, group] of groupBy(backups, (backup) => backup.project_id)) {
      collectionOf(this.cbr, projectId, byCreatedAt).add(group);
      for (const backup of group) {
        this.cbrIndex.set(backup.id, backup);
        let siblings = this.cbrByResource.get(backup.resource_id);
        if (!siblings) {
          siblings = new Set();
          this.cbrByResource.set(backup.resource_id, siblings);
        }
        siblings.add(backup);
      }
    }
  }

  addCbrVaults(vaults: readonly CbrVault[]): void {
    for (const vault of vaults) {
      const list = this.cbrVaults.get(vault.project_id) ?? [];
      list.push(vault);
      this.cbrVaults.set(vault.project_id, list);
    }
  }

  cbrBackup(id: string): CbrBackup | undefined {
    return this.cbrIndex.get(id);
  }

  /** True while any backup of the resource is being created. */
  cbrResourceBusy(resourceId: string): boolean {
    for (const backup of this.cbrByResource.get(resourceId) ?? []) {
      if (backup.status === 'protecting' || backup.status === 'waiting_protect') return true;
    }
    return false;
  }

  startCbrDeletion(backup: CbrBackup): void {
    backup.status = 'deleting';
    backup.updated_at = formatCloudTime(this.now());
    this.gauge('cbr', backup.project_id, +1);
    this.schedule(this.now() + this.timings.cbrMs, () => {
      this.cbrIndex.delete(backup.id);
      this.cbr.get(backup.project_id)?.remove(backup.id);
      this.cbrByResource.get(backup.resource_id)?.delete(backup);
      this.gauge('cbr', backup.project_id, -1);
    });
  }

  // ---- DDS ----------------------------------------------------------------------------------------

  addDdsInstances(instances: readonly DdsInstance[]): void {
    for (const instance of instances) {
      this.ddsInstanceIndex.set(instance.id, instance);
      const list = this.ddsInstances.get(instance.project_id) ?? [];
      list.push(instance);
      this.ddsInstances.set(instance.project_id, list);
    }
  }

  addDdsBackups(backups: readonly DdsBackup[]): void {
    for (const [projectId, group] of groupBy(backups, (backup) => backup.project_id)) {
      collectionOf(this.ddsBackups, projectId, byBeginTime).add(group);
      for (const backup of group) this.ddsIndex.set(backup.id, backup);
    }
  }

  ddsInstance(id: string): DdsInstance | undefined {
    return this.ddsInstanceIndex.get(id);
  }

  ddsBackup(id: string): DdsBackup | undefined {
    return this.ddsIndex.get(id);
  }

  /** Starts (or returns the running) deletion job of a manual backup. */
  startDdsDeletion(backup: DdsBackup): DdsJob {
    const runningJobId = this.ddsPendingJob.get(backup.id);
    const runningJob = runningJobId ? this.ddsJobs.get(runningJobId) : undefined;
    if (runningJob) return runningJob;
    const fails = this.options.random() < this.ddsJobFailureRate;
    const job: DdsJob = {
      id: randomUuid(this.options.random),
      name: 'Delete_Backup',
      status: 'Running',
      created: formatDdsJobTime(this.now()),
      ended: '',
      progress: '0%',
      project_id: backup.project_id,
      backup_id: backup.id,
      instance: { id: backup.instance_id, name: backup.instance_name },
      fail_reason: '',
    };
    this.ddsJobs.set(job.id, job);
    this.ddsPendingJob.set(backup.id, job.id);
    const previousStatus = backup.status;
    backup.status = 'DISABLED';
    this.gauge('dds', backup.project_id, +1);
    this.schedule(this.now() + this.timings.ddsMs, (at) => {
      job.ended = formatDdsJobTime(at);
      job.progress = '100%';
      this.ddsPendingJob.delete(backup.id);
      this.gauge('dds', backup.project_id, -1);
      if (fails) {
        job.status = 'Failed';
        job.fail_reason = 'Failed to delete the backup file from OBS.';
        backup.status = previousStatus;
        return;
      }
      job.status = 'Completed';
      this.ddsIndex.delete(backup.id);
      this.ddsBackups.get(backup.project_id)?.remove(backup.id);
    });
    return job;
  }

  // ---- DIS ----------------------------------------------------------------------------------------

  addDisStream(stream: DisStream): void {
    this.disStreams.set(`${stream.project_id}/${stream.stream_name}`, stream);
  }

  disStream(projectId: string, streamName: string): DisStream | undefined {
    return this.disStreams.get(`${projectId}/${streamName}`);
  }

  addDisApps(apps: readonly DisApp[]): void {
    for (const [projectId, group] of groupBy(apps, (app) => app.project_id)) {
      const list = this.disApps.get(projectId) ?? [];
      list.push(...group);
      list.sort((a, b) => (a.app_name < b.app_name ? -1 : a.app_name > b.app_name ? 1 : 0));
      this.disApps.set(projectId, list);
    }
  }

  disApp(projectId: string, appName: string): DisApp | undefined {
    return this.disApps.get(projectId)?.find((app) => app.app_name === appName);
  }

  static disCheckpointKey(projectId: string, app: string, stream: string, partition: number): string {
    return `${projectId}/${app}/${stream}/${partition}`;
  }

  setDisCheckpoint(checkpoint: DisCheckpoint): void {
    const key = SimState.disCheckpointKey(
      checkpoint.project_id,
      checkpoint.app_name,
      checkpoint.stream_name,
      checkpoint.partition,
    );
    this.disCheckpoints.set(key, checkpoint);
  }

  // ---- time and gauges ------------------------------------------------------------------------------

  private schedule(at: number, run: (at: number) => void): void {
    const event: ScheduledEvent = { at, seq: this.eventSeq++, run };
    // Insert in (at, seq) order; binary search keeps bursts of thousands of deletions cheap.
    let lo = 0;
    let hi = this.events.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.events[mid] as ScheduledEvent).at <= at) lo = mid + 1;
      else hi = mid;
    }
    this.events.splice(lo, 0, event);
  }

  /** Runs every event due by the simulated now, in time order. */
  tick(): void {
    const now = this.now();
    let ran = 0;
    while (ran < this.events.length && (this.events[ran] as ScheduledEvent).at <= now) {
      const event = this.events[ran] as ScheduledEvent;
      ran += 1;
      // An event may schedule another (a queued CSBS task starts); it is never due before this one, so it
      // lands after the events already run and this loop picks it up in order.
      event.run(event.at);
    }
    if (ran > 0) this.events = this.events.slice(ran);
  }

  /** Deletions not finished yet, all services. */
  pendingDeletions(): number {
    let pending = 0;
    for (const value of this.pending.values()) pending += value;
    return pending;
  }

  private gauge(service: DeletingService, projectId: string, delta: number): void {
    const key = `${service}/${projectId}`;
    const value = (this.pending.get(key) ?? 0) + delta;
    this.pending.set(key, value);
    if (delta > 0) raiseMax(this.maxPending, key, value);
  }

  /** Forgets the observed maxima (the current levels become the new maxima). */
  resetGauges(): void {
    this.maxPending.clear();
    for (const [key, value] of this.pending) this.maxPending.set(key, value);
    this.maxCsbsRunning.clear();
    for (const [key, value] of this.csbsRunning) this.maxCsbsRunning.set(key, value);
  }

  counts(): Record<SimService, number> {
    let csbs = 0;
    for (const collection of this.csbs.values()) csbs += collection.size;
    csbs -= this.csbsDeleted;
    let cbr = 0;
    for (const collection of this.cbr.values()) cbr += collection.size;
    let dds = 0;
    for (const collection of this.ddsBackups.values()) dds += collection.size;
    return { csbs, cbr, dds, dis: this.disCheckpoints.size };
  }
}

function raiseMax(map: Map<string, number>, key: string, value: number): void {
  if (value > (map.get(key) ?? 0)) map.set(key, value);
}

function groupBy<T>(records: readonly T[], key: (record: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const record of records) {
    const k = key(record);
    const group = groups.get(k);
    if (group) group.push(record);
    else groups.set(k, [record]);
  }
  return groups;
}

function collectionOf<T extends { id: string }>(
  map: Map<string, OrderedCollection<T>>,
  projectId: string,
  sortKey: (record: T) => string,
): OrderedCollection<T> {
  let collection = map.get(projectId);
  if (!collection) {
    collection = new OrderedCollection(sortKey);
    map.set(projectId, collection);
  }
  return collection;
}
