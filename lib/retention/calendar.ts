/**
 * Calendar arithmetic in the policy's time zone, cheap enough for a million backups: the UTC offset of a zone
 * comes from one cached Intl formatter per zone and is memoised per hour (an hour whose two ends share an offset
 * has that offset throughout), and civil dates come from integer arithmetic instead of Date objects.
 */

const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;
const OFFSET_CACHE_LIMIT = 1_000_000;

export interface CivilTime {
  year: number;
  month: number;
  day: number;
  hour: number;
  /** Milliseconds into the hour (minutes, seconds, milliseconds). */
  withinHour: number;
  /** Days since 1970-01-01 of the civil date. */
  epochDay: number;
}

/** A calendar date, filled in place by `civilDateInto`. */
interface CivilDate {
  year: number;
  month: number;
  day: number;
}

/**
 * Howard Hinnant's days-from-civil inverse: proleptic Gregorian, exact for any epoch day. Writes into `into`
 * so that the planner's hot path (`civilInto`, a million backups) allocates nothing.
 */
function civilDateInto(epochDay: number, into: CivilDate): void {
  const shifted = epochDay + 719_468;
  const era = Math.floor(shifted / 146_097);
  const dayOfEra = shifted - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthIndex = Math.floor((5 * dayOfYear + 2) / 153);
  const month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9;
  into.year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  into.month = month;
  into.day = dayOfYear - Math.floor((153 * monthIndex + 2) / 5) + 1;
}

export function civilFromEpochDay(epochDay: number): { year: number; month: number; day: number } {
  const date: CivilDate = { year: 0, month: 0, day: 0 };
  civilDateInto(epochDay, date);
  return date;
}

/** Days since 1970-01-01 of January 1st of `year` (proleptic Gregorian). */
function epochDayOfNewYear(year: number): number {
  return daysBeforeYear(year) - DAYS_BEFORE_1970;
}

function daysBeforeYear(year: number): number {
  const y = year - 1;
  return y * 365 + Math.floor(y / 4) - Math.floor(y / 100) + Math.floor(y / 400);
}

const DAYS_BEFORE_1970 = daysBeforeYear(1970);

/** Date.UTC without its mapping of years 0..99 to 1900..1999; month and day overflow roll over. */
function wallClockMs(
  year: number,
  monthIndex: number,
  day: number,
  hour: number,
  minute = 0,
  second = 0,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, monthIndex, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** ISO 8601 week-numbering year × 100 + week (weeks start on Monday; week 1 holds the year's first Thursday). */
export function isoWeekKey(epochDay: number): number {
  return isoWeekKeyIn(epochDay, civilFromEpochDay(epochDay).year);
}

/** `isoWeekKey` for a day whose calendar year is already known (no allocation: the planner's hot path). */
export function isoWeekKeyIn(epochDay: number, year: number): number {
  const isoWeekday = (((epochDay + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
  const thursday = epochDay - isoWeekday + 3;
  let weekYear = year;
  if (thursday < epochDayOfNewYear(year)) weekYear = year - 1;
  else if (thursday >= epochDayOfNewYear(year + 1)) weekYear = year + 1;
  const week = Math.floor((thursday - epochDayOfNewYear(weekYear)) / 7) + 1;
  return weekYear * 100 + week;
}

export class ZoneCalendar {
  readonly timeZone: string;
  readonly #isUtc: boolean;
  readonly #formatter: Intl.DateTimeFormat | undefined;
  readonly #offsetByDay = new Map<number, number>();
  readonly #offsetByHour = new Map<number, number>();

  constructor(timeZone: string) {
    this.timeZone = timeZone;
    this.#isUtc = timeZone === 'UTC' || timeZone === 'Etc/UTC';
    this.#formatter = this.#isUtc
      ? undefined
      : new Intl.DateTimeFormat('en-US', {
          timeZone,
          hourCycle: 'h23',
          era: 'short',
          year: 'numeric',
          month: 'numeric',
          day: 'numeric',
          hour: 'numeric',
          minute: 'numeric',
          second: 'numeric',
        });
  }

  /** Milliseconds to add to a UTC instant to get the wall-clock time in this zone. */
  offsetAt(epochMs: number): number {
    if (this.#formatter === undefined) return 0;
    // Most UTC days have one offset all day: one cache entry per day, per hour only on transition days.
    const day = Math.floor(epochMs / MS_PER_DAY);
    const daily = this.#offsetByDay.get(day);
    if (daily !== undefined && !Number.isNaN(daily)) return daily;
    if (daily === undefined) {
      const start = this.#exactOffset(day * MS_PER_DAY);
      const end = this.#exactOffset(day * MS_PER_DAY + MS_PER_DAY - 1000);
      if (this.#offsetByDay.size >= OFFSET_CACHE_LIMIT) this.#offsetByDay.clear();
      this.#offsetByDay.set(day, start === end ? start : Number.NaN);
      if (start === end) return start;
    }
    const hour = Math.floor(epochMs / MS_PER_HOUR);
    const cached = this.#offsetByHour.get(hour);
    if (cached !== undefined) return cached;
    const start = this.#exactOffset(hour * MS_PER_HOUR);
    const end = this.#exactOffset(hour * MS_PER_HOUR + MS_PER_HOUR - 1000);
    // Offsets change on whole minutes at most once an hour, so an hour with equal ends has one offset.
    if (start !== end) return this.#exactOffset(epochMs);
    if (this.#offsetByHour.size >= OFFSET_CACHE_LIMIT) this.#offsetByHour.clear();
    this.#offsetByHour.set(hour, start);
    return start;
  }

  #exactOffset(epochMs: number): number {
    const wholeSecond = Math.floor(epochMs / 1000) * 1000;
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let minute = 0;
    let second = 0;
    let beforeChrist = false;
    for (const part of (this.#formatter as Intl.DateTimeFormat).formatToParts(wholeSecond)) {
      if (part.type === 'year') year = Number(part.value);
      else if (part.type === 'month') month = Number(part.value);
      else if (part.type === 'day') day = Number(part.value);
      else if (part.type === 'hour') hour = Number(part.value);
      else if (part.type === 'minute') minute = Number(part.value);
      else if (part.type === 'second') second = Number(part.value);
      else if (part.type === 'era') beforeChrist = part.value.startsWith('B');
    }
    const fullYear = beforeChrist ? 1 - year : year;
    const wall = wallClockMs(fullYear, month - 1, day, hour, minute, second);
    return wall - wholeSecond;
  }

  civil(epochMs: number): CivilTime {
    const civil: CivilTime = { year: 0, month: 0, day: 0, hour: 0, withinHour: 0, epochDay: 0 };
    this.civilInto(epochMs, civil);
    return civil;
  }

  /** `civil` without allocating: fills `into` (the planner reuses one object for a million backups). */
  civilInto(epochMs: number, into: CivilTime): void {
    const wall = epochMs + this.offsetAt(epochMs);
    const epochDay = Math.floor(wall / MS_PER_DAY);
    const intoDay = wall - epochDay * MS_PER_DAY;
    const hour = Math.floor(intoDay / MS_PER_HOUR);
    civilDateInto(epochDay, into);
    into.hour = hour;
    into.withinHour = intoDay - hour * MS_PER_HOUR;
    into.epochDay = epochDay;
  }

  /** The wall-clock instant (as if UTC) back to a real instant; in a gap or overlap either answer is accepted. */
  fromWall(wallMs: number): number {
    const guess = wallMs - this.offsetAt(wallMs);
    return wallMs - this.offsetAt(guess);
  }

  /**
   * Go's `t.AddDate(-y, -m, -d).Add(-h hours)`: years, months and days in one step on the wall clock with
   * calendar roll-over (2016-03-31 minus 1m is "2016-02-31" = 2016-03-02), then hours as fixed lengths.
   */
  subtract(
    epochMs: number,
    duration: { years: number; months: number; days: number; hours: number },
  ): number {
    const at = this.civil(epochMs);
    const wall =
      wallClockMs(at.year - duration.years, at.month - 1 - duration.months, at.day - duration.days, at.hour) +
      at.withinHour;
    return this.fromWall(wall) - duration.hours * MS_PER_HOUR;
  }
}

const calendars = new Map<string, ZoneCalendar>();

/** One calendar (and one Intl formatter) per zone for the life of the process. */
export function calendarFor(timeZone: string): ZoneCalendar {
  let calendar = calendars.get(timeZone);
  if (calendar === undefined) {
    calendar = new ZoneCalendar(timeZone);
    calendars.set(timeZone, calendar);
  }
  return calendar;
}

export function isValidTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}
