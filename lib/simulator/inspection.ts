import type { SimService } from './fleet.ts';
import type { ServiceName } from './services/route.ts';
import type { DeletingService, SimState } from './state.ts';

/** One request as the simulator saw it. `status` 0 means the connection was reset or left hanging. */
export interface RequestRecord {
  method: string;
  path: string;
  service: ServiceName | undefined;
  operation: string | undefined;
  status: number;
  projectId: string | undefined;
  region: string | undefined;
  /** Simulated epoch ms when the request arrived. */
  at: number;
  requestId: string;
  /** Set when an injected fault (not the service logic) produced the outcome. */
  fault?: 'throttle' | 'rate-limit' | 'server-error' | 'reset' | 'hang';
}

export interface Inspection {
  requests: RequestRecord[];
  /**
   * DELETE calls that reached the service logic (not stopped by auth, rate limit or an injected fault),
   * by the id they named: CBR/DDS backup id; CSBS checkpoint id and each `checkpoint_items` id;
   * DIS `stream/app/partition` (`*` without partition_id). With an id: that id's count.
   */
  deleteCalls(id: string): number;
  deleteCalls(): Map<string, number>;
  /** Every routed, authenticated DELETE request, faults included, keyed the same way. */
  deleteAttempts(id: string): number;
  deleteAttempts(): Map<string, number>;
  /** Per project: the most deletions accepted and not yet finished at once, over any one service. */
  maxConcurrentDeletions: Record<string, number>;
  /** The same per service, then per project. */
  maxConcurrentDeletionsByService: Record<DeletingService, Record<string, number>>;
  /** Per project: the most CSBS deletion tasks running at once (the cloud caps this at 5). */
  maxRunningCsbsTasks: Record<string, number>;
  /** Deletions accepted and not finished (CSBS queued tasks included). */
  pendingDeletions: number;
  /** Live records per service (DIS: checkpoints). */
  counts: Record<SimService, number>;
}

/** Collects what tests and benchmarks assert on, independently of the code under test. */
export class Recorder {
  requests: RequestRecord[] = [];
  private calls = new Map<string, number>();
  private attempts = new Map<string, number>();

  constructor(private readonly maxRecords: number) {}

  record(entry: RequestRecord): void {
    if (this.requests.length < this.maxRecords) this.requests.push(entry);
  }

  countDelete(ids: readonly string[], reachedService: boolean): void {
    for (const id of ids) {
      this.attempts.set(id, (this.attempts.get(id) ?? 0) + 1);
      if (reachedService) this.calls.set(id, (this.calls.get(id) ?? 0) + 1);
    }
  }

  reset(): void {
    this.requests = [];
    this.calls = new Map();
    this.attempts = new Map();
  }

  snapshot(state: SimState): Inspection {
    state.tick();
    const calls = new Map(this.calls);
    const attempts = new Map(this.attempts);
    const byService: Record<DeletingService, Record<string, number>> = { csbs: {}, cbr: {}, dds: {} };
    const overall: Record<string, number> = {};
    for (const [key, value] of state.maxPending) {
      const [service, projectId] = key.split('/') as [DeletingService, string];
      byService[service][projectId] = value;
      overall[projectId] = Math.max(overall[projectId] ?? 0, value);
    }
    function lookup(map: Map<string, number>) {
      return ((id?: string) => (id === undefined ? new Map(map) : (map.get(id) ?? 0))) as {
        (id: string): number;
        (): Map<string, number>;
      };
    }
    return {
      requests: [...this.requests],
      deleteCalls: lookup(calls),
      deleteAttempts: lookup(attempts),
      maxConcurrentDeletions: overall,
      maxConcurrentDeletionsByService: byService,
      maxRunningCsbsTasks: Object.fromEntries(state.maxCsbsRunning),
      pendingDeletions: state.pendingDeletions(),
      counts: state.counts(),
    };
  }
}

/** The JSON form served at `/__admin/inspect` (maps become plain objects). */
export function inspectionToJson(inspection: Inspection): Record<string, unknown> {
  return {
    requests: inspection.requests,
    deleteCalls: Object.fromEntries(inspection.deleteCalls()),
    deleteAttempts: Object.fromEntries(inspection.deleteAttempts()),
    maxConcurrentDeletions: inspection.maxConcurrentDeletions,
    maxConcurrentDeletionsByService: inspection.maxConcurrentDeletionsByService,
    maxRunningCsbsTasks: inspection.maxRunningCsbsTasks,
    pendingDeletions: inspection.pendingDeletions,
    counts: inspection.counts,
  };
}
