/** A small simulator fleet for the deletion tests, and picks of one deletable record per service. */
import { type Simulator, startSimulator } from '../../lib/simulator/index.ts';
import { firstProject, REGION } from '../simulator/helpers.ts';

export { REGION };

export async function startDeletionSimulator(): Promise<{ sim: Simulator; projectId: string }> {
  const sim = await startSimulator({
    deletion: { csbsMs: 60_000, cbrMs: 30_000, ddsMs: 20_000 },
    generate: {
      seed: 7,
      projects: 1,
      regions: [REGION],
      resourcesPerProject: 6,
      backupsPerResource: 6,
      failedShare: 0,
      inProgressShare: 0,
      multiItemShare: 0,
    },
  });
  return { sim, projectId: firstProject(sim) };
}

/** Picks records not used by an earlier test (each call returns a fresh one). */
export class Picker {
  readonly #used = new Set<string>();
  constructor(
    private readonly sim: Simulator,
    private readonly projectId: string,
  ) {}

  #take<T extends { id: string }>(records: Iterable<T>, ok: (record: T) => boolean = () => true): T {
    for (const record of records) {
      if (!this.#used.has(record.id) && ok(record)) {
        this.#used.add(record.id);
        return record;
      }
    }
    throw new Error('the fleet ran out of records');
  }

  csbsItem() {
    return this.#take(
      this.sim.state.csbs.get(this.projectId)?.values() ?? [],
      (item) => item.status === 'available',
    );
  }

  cbrBackup() {
    const busy = new Set<string>();
    return this.#take(this.sim.state.cbr.get(this.projectId)?.values() ?? [], (backup) => {
      if (backup.status !== 'available' || busy.has(backup.resource_id)) return false;
      return !this.sim.state.cbrResourceBusy(backup.resource_id);
    });
  }

  ddsBackup() {
    return this.#take(
      this.sim.state.ddsBackups.get(this.projectId)?.values() ?? [],
      (backup) => backup.type === 'Manual' && backup.status === 'COMPLETED',
    );
  }

  disCheckpoint() {
    const checkpoints = [...this.sim.state.disCheckpoints.values()].filter(
      (checkpoint) => checkpoint.project_id === this.projectId,
    );
    const withId = checkpoints.map((checkpoint) => ({
      ...checkpoint,
      id: `${checkpoint.stream_name}/${checkpoint.app_name}/${checkpoint.partition}`,
    }));
    return this.#take(withId);
  }
}
