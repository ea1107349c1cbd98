/**
 * `--fixture FILE` for plan, demo and simulator: a fleet in the simulator's fixture format (FleetSchema in
 * lib/simulator/fleet.ts — what `doctor --record` writes), read and validated once, so a recorded real fleet
 * can be replayed against the embedded simulator.
 */
import { type Fleet, FleetSchema } from '../simulator/index.ts';
import { UsageError } from './exit.ts';
import { readInputFile } from './files.ts';

/** The fleet in FILE, or a UsageError naming the file and the first problems (unreadable, not JSON, invalid). */
export function loadFleetFixture(file: string): Fleet {
  const text = readInputFile('--fixture', file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--fixture ${file}: not JSON (${(error as Error).message})`);
  }
  const parsed = FleetSchema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
    const more = parsed.error.issues.length > 3 ? `, and ${parsed.error.issues.length - 3} more` : '';
    throw new UsageError(`--fixture ${file}: not a simulator fleet (${issues.join('; ')}${more})`);
  }
  return parsed.data;
}
