/**
 * Argument parsing for every command in bin/: one declaration per command gives the parser (node:util
 * parseArgs, strict), the `--help` text and the one-line usage errors (exit 2), so every CLI reads the same.
 */
import { parseArgs } from 'node:util';
import { UsageError } from './exit.ts';

export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly description: string;
  /** The value's placeholder in the help text (`--policy FILE`). */
  readonly value?: string;
  readonly default?: string | boolean;
  readonly short?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
}

export interface CommandSpec<Options extends Record<string, OptionSpec>> {
  /** The npm script name (`plan`): usage lines read `npm run plan -- ...`. */
  readonly name: string;
  /** One sentence: what the command does. */
  readonly summary: string;
  /** Synopsis after `npm run NAME --`, e.g. `--policy FILE [--json] [--cloud]`. */
  readonly synopsis: string;
  readonly options: Options;
  /** Required positionals, in order. */
  readonly positionals?: readonly PositionalSpec[];
  /** Paragraphs printed after the options (exit codes, environment, examples). */
  readonly notes?: readonly string[];
}

type ValueOf<Spec extends OptionSpec> = Spec['type'] extends 'boolean'
  ? boolean
  : Spec extends { default: string }
    ? string
    : string | undefined;

export type OptionValues<Options extends Record<string, OptionSpec>> = {
  -readonly [Key in keyof Options]: ValueOf<Options[Key]>;
};

export interface ParsedCommand<Options extends Record<string, OptionSpec>> {
  readonly values: OptionValues<Options>;
  readonly positionals: readonly string[];
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'print this help and exit' };

/** The `--help` text: synopsis, summary, one line per option, then the notes. */
export function usageText<Options extends Record<string, OptionSpec>>(spec: CommandSpec<Options>): string {
  const entries: [string, OptionSpec][] = [...Object.entries(spec.options), ['help', HELP]];
  const flags = entries.map(([name, option]) => {
    const long = `--${name}${option.type === 'string' ? ` ${option.value ?? 'VALUE'}` : ''}`;
    return option.short ? `-${option.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(
    ...flags.map((flag) => flag.length),
    ...(spec.positionals ?? []).map((p) => p.name.length),
  );
  const lines = [`usage: npm run ${spec.name} -- ${spec.synopsis}`, '', spec.summary];
  if (spec.positionals && spec.positionals.length > 0) {
    lines.push('', 'arguments:');
    for (const positional of spec.positionals)
      lines.push(`  ${positional.name.padEnd(width)}  ${positional.description}`);
  }
  lines.push('', 'options:');
  entries.forEach(([, option], index) => {
    const fallback =
      option.default === undefined || option.type === 'boolean' ? '' : ` (default ${option.default})`;
    lines.push(`  ${(flags[index] as string).padEnd(width)}  ${option.description}${fallback}`);
  });
  for (const note of spec.notes ?? []) lines.push('', note);
  return `${lines.join('\n')}\n`;
}

/** The option a parseArgs error names (`'--foo'` in its message), for a short message of our own. */
function optionNamed(message: string): string {
  return /'(-{1,2}[^' ]+)/.exec(message)?.[1] ?? message;
}

function usageErrorFrom(error: unknown, spec: CommandSpec<Record<string, OptionSpec>>): UsageError {
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
    return new UsageError(`unknown option ${optionNamed(message)}`);
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const option = optionNamed(message);
    const spec_ = spec.options[option.replace(/^-+/, '')];
    return new UsageError(spec_?.type === 'boolean' ? `${option} takes no value` : `${option} needs a value`);
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
    return new UsageError(`unexpected argument ${optionNamed(message)}`);
  return new UsageError(message.split('\n')[0] ?? message);
}

/**
 * Parses argv against the spec. Returns `'help'` when `-h`/`--help` is given (the caller prints the usage
 * and exits 0); throws UsageError for an unknown option, a missing value or a wrong number of arguments.
 */
export function parseCommand<Options extends Record<string, OptionSpec>>(
  spec: CommandSpec<Options>,
  argv: readonly string[],
): ParsedCommand<Options> | 'help' {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; default?: string | boolean }> =
    { help: { type: 'boolean', short: 'h' } };
  for (const [name, option] of Object.entries(spec.options)) {
    options[name] = {
      type: option.type,
      ...(option.short ? { short: option.short } : {}),
      ...(option.default === undefined ? {} : { default: option.default }),
    };
    if (option.type === 'boolean' && option.default === undefined) options[name].default = false;
  }
  // `npm run x -- --help` also works when npm left a bare `--` in front.
  const args = argv[0] === '--' ? argv.slice(1) : [...argv];
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    if (args.includes('--help') || args.includes('-h')) return 'help';
    throw usageErrorFrom(error, spec);
  }
  if (parsed.values.help === true) return 'help';
  const expected = spec.positionals ?? [];
  if (parsed.positionals.length > expected.length) {
    throw new UsageError(`unexpected argument ${parsed.positionals[expected.length]}`);
  }
  const missing = expected.slice(parsed.positionals.length);
  if (missing.length > 0) throw new UsageError(`missing ${missing.map((p) => p.name).join(' and ')}`);
  const { help: _help, ...values } = parsed.values;
  return { values: values as OptionValues<Options>, positionals: parsed.positionals };
}

/** `--name` must be a whole number ≥ min: the value, or a UsageError naming the option. */
export function integerOption(name: string, raw: string, min = 0): number {
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(value) || value < min)
    throw new UsageError(`--${name} must be a whole number${min === 0 ? ' ≥ 0' : ` ≥ ${min}`}, got ${raw}`);
  return value;
}

/** Declares a command; the option types flow into the parsed values (`--policy` is `string | undefined`). */
export function defineCommand<const Options extends Record<string, OptionSpec>>(
  spec: CommandSpec<Options>,
): CommandSpec<Options> {
  return spec;
}
