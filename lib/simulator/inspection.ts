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
  /**
   * Per service, then project: the most DELETE requests in flight at once over HTTP (received and not yet
   * answered) — the caller's own request concurrency, independent of how long deletions take upstream.
   */
  maxConcurrentDeleteRequests: Record<DeletingService | 'dis', Record<string, number>>;
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
  private readonly inFlightDeletes = new Map<string, number>();
  private maxInFlightDeletes = new Map<string, number>();

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

  /** Marks a DELETE request received; call the returned function once it is answered or dropped. */
  deleteStarted(service: string, projectId: string): () => void {
    const key = `${service}/${projectId}`;
    const level = (this.inFlightDeletes.get(key) ?? 0) + 1;
    this.inFlightDeletes.set(key, level);
    if (level > (this.maxInFlightDeletes.get(key) ?? 0)) this.maxInFlightDeletes.set(key, level);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.inFlightDeletes.set(key, (this.inFlightDeletes.get(key) ?? 1) - 1);
    };
  }

  reset(): void {
    this.requests = [];
    this.calls = new Map();
    this.attempts = new Map();
    this.maxInFlightDeletes = new Map(this.inFlightDeletes);
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
    const inFlight: Record<DeletingService | 'dis', Record<string, number>> = {
      csbs: {},
      cbr: {},
      dds: {},
      dis: {},
    };
    for (const [key, value] of this.maxInFlightDeletes) {
      const [service, projectId] = key.split('/') as [DeletingService | 'dis', string];
      inFlight[service][projectId] = value;
    }
    return {
      requests: [...this.requests],
      maxConcurrentDeleteRequests: inFlight,
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
    maxConcurrentDeleteRequests: inspection.maxConcurrentDeleteRequests,
    maxRunningCsbsTasks: inspection.maxRunningCsbsTasks,
    pendingDeletions: inspection.pendingDeletions,
    counts: inspection.counts,
  };
}
