/**
 * How a command in bin/ ends: one mapping from what went wrong to an exit code and one line (or, for an
 * invalid policy, one line per problem) on stderr — never a stack trace for something the user can fix.
 *
 * Exit codes: 0 success; 1 the command ran and what it checks failed (a listing failed, a check found a
 * violation); 2 the invocation is wrong (unknown option, missing argument, invalid policy, missing or
 * invalid configuration).
 */
import { ConfigurationError } from '../huawei/errors.ts';
import { PolicyError } from '../retention/policy.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

/** A wrong invocation: unknown option, missing argument, conflicting flags. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 'USAGE';
}

/** The command ran and found a problem it exists to find (the demo's checks). Exit 1, message as given. */
export class CheckFailedError extends Error {
  override readonly name = 'CheckFailedError';
  readonly code = 'CHECK_FAILED';
}

export interface Ending {
  readonly exitCode: number;
  /** What goes to stderr, without the trailing newline. */
  readonly message: string;
}

/** A message on one line: a file's parse error may quote the newline it stopped at. */
function oneLine(message: string): string {
  return message.replace(/\s*\n\s*/g, ' ').trim();
}

/** The exit code and message for an error thrown by a command named `command`. */
export function endingFor(command: string, error: unknown): Ending {
  if (error instanceof UsageError)
    return {
      exitCode: EXIT_USAGE,
      message: `${command}: ${oneLine(error.message)} (see npm run ${command} -- --help)`,
    };
  // Every policy problem with its file, line and path: several lines on purpose, one per problem.
  if (error instanceof PolicyError) return { exitCode: EXIT_USAGE, message: error.message };
  if (error instanceof ConfigurationError)
    return { exitCode: EXIT_USAGE, message: `${command}: ${error.message}` };
  if (error instanceof CheckFailedError)
    return { exitCode: EXIT_FAILED, message: `${command}: ${oneLine(error.message)}` };
  const message = error instanceof Error ? error.message : String(error);
  return { exitCode: EXIT_FAILED, message: `${command} failed: ${message.split('\n')[0] ?? message}` };
}
