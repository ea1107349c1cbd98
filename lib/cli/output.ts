/**
 * Output for the commands in bin/: with `--json` stdout carries exactly one JSON document and everything a
 * person reads (progress, headlines, checks) goes to stderr; without it, text goes to stdout and progress to
 * stderr. Sizes print one way: a byte count with a binary unit, or `unknown` when the service reports none.
 */

export interface Output {
  readonly json: boolean;
  /** A line for a person: stdout in text mode, stderr in JSON mode. */
  say(line?: string): void;
  /** Progress while work runs: always stderr. */
  progress(line: string): void;
  /** The one JSON document of a `--json` run: stdout. */
  result(value: unknown): void;
}

export interface Streams {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

export function createOutput(json: boolean, streams: Streams = process): Output {
  return {
    json,
    say: (line = '') => (json ? streams.stderr : streams.stdout).write(`${line}\n`),
    progress: (line) => streams.stderr.write(`${line}\n`),
    result: (value) => streams.stdout.write(`${JSON.stringify(value, null, 2)}\n`),
  };
}

export const UNKNOWN_SIZE = 'unknown';

/** `512 B`, `1.5 GiB`; `unknown` when the size is not known. */
export function formatSize(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return UNKNOWN_SIZE;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/**
 * A sum of sizes where some backups report none: `1.5 GiB`, `unknown` when none of them does (CSBS without
 * sizes), `1.5 GiB + 3 unknown` when some do not. `count` is how many backups the sum covers.
 */
export function formatSizeTotal(knownBytes: number, unknownCount: number, count: number): string {
  if (count === 0) return formatSize(0);
  if (unknownCount >= count) return UNKNOWN_SIZE;
  if (unknownCount === 0) return formatSize(knownBytes);
  return `${formatSize(knownBytes)} + ${unknownCount} ${UNKNOWN_SIZE}`;
}

/** Left-aligned columns; the last column is not padded. */
export function renderColumns(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  indent = '  ',
): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const format = (row: readonly string[]) =>
    `${indent}${row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] as number)))
      .join('  ')}`.trimEnd();
  return [format(header), ...rows.map(format)];
}

/** `BUSY 3, TRACKING_TIMEOUT 1` for a count-by-code record; empty string when there is none. */
export function formatCodes(codes: Readonly<Record<string, number>>): string {
  return Object.entries(codes)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([code, count]) => `${code} ${count}`)
    .join(', ');
}
