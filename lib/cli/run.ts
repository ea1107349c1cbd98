/**
 * The one way a command in bin/ starts and ends: parse argv against its spec (`--help` prints the usage on
 * stdout and exits 0), run it, and turn whatever it throws into an exit code and a short message (exit.ts).
 */
import { type CommandSpec, type OptionSpec, type ParsedCommand, parseCommand, usageText } from './args.ts';
import { endingFor } from './exit.ts';

export type CommandMain<Options extends Record<string, OptionSpec>> = (
  command: ParsedCommand<Options>,
) => Promise<number>;

/** Runs `main` with the parsed arguments and resolves with the process exit code (never throws). */
export async function runCommand<Options extends Record<string, OptionSpec>>(
  spec: CommandSpec<Options>,
  main: CommandMain<Options>,
  argv: readonly string[] = process.argv.slice(2),
  stderr: { write(chunk: string): unknown } = process.stderr,
  stdout: { write(chunk: string): unknown } = process.stdout,
): Promise<number> {
  try {
    const parsed = parseCommand(spec, argv);
    if (parsed === 'help') {
      stdout.write(usageText(spec));
      return 0;
    }
    return await main(parsed);
  } catch (error) {
    const ending = endingFor(spec.name, error);
    stderr.write(`${ending.message}\n`);
    return ending.exitCode;
  }
}

/** `npm run plan -- ... | head` closes stdout early: that ends the command quietly, not with a stack trace. */
export function endQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** `runCommand`, then exit the process with its code (stdout flushed first). */
export function runCommandAndExit<Options extends Record<string, OptionSpec>>(
  spec: CommandSpec<Options>,
  main: CommandMain<Options>,
): void {
  endQuietlyOnClosedPipe();
  runCommand(spec, main).then((code) => {
    process.exitCode = code;
    // Pending keep-alive sockets or timers must not hold a finished command open.
    process.stdout.write('', () => process.exit(code));
  });
}
