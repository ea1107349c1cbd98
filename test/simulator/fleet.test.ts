import { describe, expect, it } from 'vitest';
import { SimClock } from '../../lib/simulator/clock.ts';
import { seededRandom } from '../../lib/simulator/fleet.ts';
import { FleetSchema, generateFleet, SimState } from '../../lib/simulator/index.ts';

const options = {
  seed: 5,
  projects: 2,
  regions: ['ap-southeast-1', 'cn-north-4'],
  resourcesPerProject: 6,
  backupsPerResource: 40,
  manualShare: 0.3,
  failedShare: 0.1,
  inProgressShare: 0.5,
  multiItemShare: 0.5,
  ageSpreadDays: 90,
  now: Date.UTC(2026, 10, 1),
};

describe('generateFleet', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    expect(generateFleet(options)).toEqual(generateFleet(options));
    expect(generateFleet({ ...options, seed: 6 }).cbr[0]!.id).not.toBe(generateFleet(options).cbr[0]!.id);
  });

  it('produces the requested counts per region, project and resource, and a valid fixture', () => {
    const fleet = generateFleet(options);
    expect(fleet.projects).toHaveLength(4);
    expect(new Set(fleet.projects.map((p) => p.region))).toEqual(new Set(options.regions));
    expect(fleet.cbr).toHaveLength(4 * 6 * 40);
    expect(fleet.dds.backups).toHaveLength(4 * 6 * 40);
    expect(fleet.dds.instances).toHaveLength(4 * 6);
    expect(fleet.csbs.length).toBeGreaterThan(4 * 6 * 40); // multi-item checkpoints add items
    expect(() => FleetSchema.parse(JSON.parse(JSON.stringify(fleet)))).not.toThrow();
  });

  it('honours the shares and the age spread', () => {
    const fleet = generateFleet(options);
    const manual = fleet.cbr.filter((b) => !b.extend_info.auto_trigger).length / fleet.cbr.length;
    expect(manual).toBeGreaterThan(0.2);
    expect(manual).toBeLessThan(0.4);
    const failed = fleet.cbr.filter((b) => b.status === 'error').length / fleet.cbr.length;
    expect(failed).toBeGreaterThan(0.05);
    expect(failed).toBeLessThan(0.15);
    expect(fleet.cbr.some((b) => b.status === 'protecting')).toBe(true);
    const oldest = Math.min(...fleet.cbr.map((b) => Date.parse(`${b.created_at}Z`)));
    expect(options.now - oldest).toBeLessThanOrEqual(90 * 86_400_000 + 60_000);
    expect(fleet.dds.backups.some((b) => b.type === 'Manual')).toBe(true);
    expect(fleet.dds.backups.some((b) => b.type === 'Auto')).toBe(true);
    expect(fleet.dds.backups.every((b) => /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(b.begin_time))).toBe(
      true,
    );
  });

  it('puts several items in some CSBS checkpoints', () => {
    const fleet = generateFleet(options);
    const perCheckpoint = new Map<string, number>();
    for (const item of fleet.csbs)
      perCheckpoint.set(item.checkpoint_id, (perCheckpoint.get(item.checkpoint_id) ?? 0) + 1);
    expect(Math.max(...perCheckpoint.values())).toBe(2);
  });

  it('limits generation to the requested services', () => {
    const fleet = generateFleet({ ...options, services: ['cbr'] });
    expect(fleet.cbr.length).toBeGreaterThan(0);
    expect(fleet.csbs).toHaveLength(0);
    expect(fleet.dds.backups).toHaveLength(0);
    expect(fleet.dis.apps).toHaveLength(0);
  });
});

describe('SimState fixture loading', () => {
  it('rejects a malformed fixture with the failing path', () => {
    const state = new SimState({ clock: new SimClock(Date.now, 1), random: seededRandom(1) });
    const fleet = JSON.parse(JSON.stringify(generateFleet({ ...options, services: ['cbr'] })));
    fleet.cbr[3].status = 'vanished';
    expect(() => state.load(fleet)).toThrow(/status/);
  });
});
