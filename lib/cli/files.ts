/** Reading a file a command was given: its text, or a UsageError naming the option and why (exit 2). */
import { readFileSync } from 'node:fs';
import { UsageError } from './exit.ts';

/** `label` names where the path came from in messages, e.g. `--policy policies/x.yaml` or `EVENT x.json`. */
export function readInputFile(label: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${label} ${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}
