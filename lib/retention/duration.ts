/**
 * restic's `NyNmNdNh` durations (internal/data/duration.go), parsed the same way: surrounding white space is
 * trimmed, each number may carry a leading `-`, units are case-sensitive (`y`, `m` = months, `d`, `h`), and a
 * repeated unit overwrites the earlier one (`1d2d` is two days). An empty string is the zero duration.
 * Unlike restic, a duration longer than MAX_DURATION_YEARS is an error.
 */
export interface CalendarDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

export class DurationSyntaxError extends Error {
  override readonly name = 'DurationSyntaxError';
}

/**
 * The longest duration accepted, in years. restic's parser takes any Go int; ours caps the length so that
 * `now − duration` always stays a real date (JavaScript dates end about 273,790 years from 1970; past that the
 * threshold would be NaN and an age rule would read every backup as old). 1000 years is `1000y`, `12000m`,
 * `365250d` or `8766000h`, or any mix of parts adding up to no more.
 */
export const MAX_DURATION_YEARS = 1000;
const DAYS_PER_YEAR = 365.25;

/** How many years a duration spans, approximately (months of 1/12 year, days of 1/365.25 year). */
function approximateYears(duration: CalendarDuration): number {
  return (
    Math.abs(duration.years) +
    Math.abs(duration.months) / 12 +
    Math.abs(duration.days) / DAYS_PER_YEAR +
    Math.abs(duration.hours) / (DAYS_PER_YEAR * 24)
  );
}

export function parseDuration(input: string): CalendarDuration {
  const parsed = { years: 0, months: 0, days: 0, hours: 0 };
  let rest = input.trim();
  while (rest !== '') {
    let index = 0;
    const negative = rest[0] === '-';
    if (negative) index = 1;
    const digitsStart = index;
    while (index < rest.length && rest.charCodeAt(index) >= 48 && rest.charCodeAt(index) <= 57) index += 1;
    if (index === digitsStart) throw new DurationSyntaxError(`no number found in "${input}"`);
    const magnitude = Number(rest.slice(digitsStart, index));
    const value = negative ? -magnitude : magnitude;
    if (index === rest.length) throw new DurationSyntaxError(`no unit found after number ${value}`);
    const unit = rest[index];
    if (unit === 'y') parsed.years = value;
    else if (unit === 'm') parsed.months = value;
    else if (unit === 'd') parsed.days = value;
    else if (unit === 'h') parsed.hours = value;
    else throw new DurationSyntaxError(`invalid unit "${unit}" found after number ${value}`);
    rest = rest.slice(index + 1);
  }
  if (!(approximateYears(parsed) <= MAX_DURATION_YEARS)) {
    throw new DurationSyntaxError(`longer than ${MAX_DURATION_YEARS}y, the longest duration allowed`);
  }
  return parsed;
}

/** restic's Duration.String(): the non-zero parts in y, m, d, h order (so `1y1d1m` prints as `1y1m1d`). */
export function formatDuration(duration: CalendarDuration): string {
  let text = '';
  if (duration.years !== 0) text += `${duration.years}y`;
  if (duration.months !== 0) text += `${duration.months}m`;
  if (duration.days !== 0) text += `${duration.days}d`;
  if (duration.hours !== 0) text += `${duration.hours}h`;
  return text;
}

export function isZeroDuration(duration: CalendarDuration): boolean {
  return duration.years === 0 && duration.months === 0 && duration.days === 0 && duration.hours === 0;
}
