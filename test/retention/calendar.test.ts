import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { calendarFor, isoWeekKey } from '../../lib/retention/calendar.ts';
import { parseDuration } from '../../lib/retention/duration.ts';

const utc = calendarFor('UTC');
const weekOf = (time: string, zone = 'UTC') => isoWeekKey(calendarFor(zone).civil(Date.parse(time)).epochDay);
const minus = (time: string, duration: string, zone = 'UTC') =>
  new Date(calendarFor(zone).subtract(Date.parse(time), parseDuration(duration))).toISOString();

describe('ISO week buckets', () => {
  it('puts 2016-01-01..03 in week 2015-53 and 2016-01-04 in 2016-01', () => {
    expect(weekOf('2016-01-01T01:02:03Z')).toBe(201553);
    expect(weekOf('2016-01-03T23:59:59Z')).toBe(201553);
    expect(weekOf('2016-01-04T00:00:00Z')).toBe(201601);
  });

  it('puts 2014-12-29 in week 2015-01 and 2014-12-28 in 2014-52', () => {
    expect(weekOf('2014-12-29T00:00:00Z')).toBe(201501);
    expect(weekOf('2014-12-28T23:59:59Z')).toBe(201452);
  });

  it('agrees with an independent ISO week computation for any day from 1900 to 2200', () => {
    fc.assert(
      fc.property(fc.integer({ min: -25_567, max: 84_000 }), (epochDay) => {
        const date = new Date(epochDay * 86_400_000);
        const weekday = (date.getUTCDay() + 6) % 7;
        const thursday = new Date(date.getTime() + (3 - weekday) * 86_400_000);
        const year = thursday.getUTCFullYear();
        const week = Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * 86_400_000)) + 1;
        expect(isoWeekKey(epochDay)).toBe(year * 100 + week);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('civil time in a zone', () => {
  it('matches Intl for random instants in zones with DST and odd offsets', () => {
    const zones = [
      'UTC',
      'Europe/Berlin',
      'America/New_York',
      'Asia/Kolkata',
      'Australia/Lord_Howe',
      'Asia/Kathmandu',
    ];
    fc.assert(
      fc.property(
        fc.constantFrom(...zones),
        fc.integer({ min: Date.parse('1990-01-01T00:00:00Z'), max: Date.parse('2040-01-01T00:00:00Z') }),
        (zone, epochMs) => {
          const parts = Object.fromEntries(
            new Intl.DateTimeFormat('en-US', {
              timeZone: zone,
              hourCycle: 'h23',
              year: 'numeric',
              month: 'numeric',
              day: 'numeric',
              hour: 'numeric',
            })
              .formatToParts(epochMs)
              .map((part) => [part.type, part.value]),
          );
          const civil = calendarFor(zone).civil(epochMs);
          expect([civil.year, civil.month, civil.day, civil.hour]).toEqual([
            Number(parts.year),
            Number(parts.month),
            Number(parts.day),
            Number(parts.hour),
          ]);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('matches Intl every 15 minutes across DST transition days', () => {
    const cases: [string, string][] = [
      ['Europe/Berlin', '2026-03-28T00:00:00Z'],
      ['Europe/Berlin', '2026-10-24T00:00:00Z'],
      ['America/New_York', '2026-03-07T12:00:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T00:00:00Z'],
    ];
    for (const [zone, from] of cases) {
      const hourOf = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', hour: 'numeric' });
      const dayOf = new Intl.DateTimeFormat('en-US', { timeZone: zone, day: 'numeric' });
      const calendar = calendarFor(zone);
      for (let step = 0; step < 48 * 4; step += 1) {
        const instant = Date.parse(from) + step * 15 * 60_000;
        const civil = calendar.civil(instant);
        expect([zone, new Date(instant).toISOString(), civil.day, civil.hour]).toEqual([
          zone,
          new Date(instant).toISOString(),
          Number(dayOf.format(instant)),
          Number(hourOf.format(instant)),
        ]);
      }
    }
  });

  it('puts a backup at 23:30 UTC into the next day in Europe/Berlin', () => {
    const civil = calendarFor('Europe/Berlin').civil(Date.parse('2026-11-20T23:30:00Z'));
    expect([civil.year, civil.month, civil.day, civil.hour]).toEqual([2026, 11, 21, 0]);
  });
});

describe('subtracting NyNmNdNh (Go AddDate, then hours)', () => {
  it('rolls 2016-03-31 minus 1m over to 2016-03-02 ("February 31")', () => {
    expect(minus('2016-03-31T12:00:00Z', '1m')).toBe('2016-03-02T12:00:00.000Z');
  });

  it('rolls 2015-03-31 minus 1m over to 2015-03-03 in a non-leap year', () => {
    expect(minus('2015-03-31T12:00:00Z', '1m')).toBe('2015-03-03T12:00:00.000Z');
  });

  it('subtracts years, months and days in one step, then hours as fixed lengths', () => {
    // restic golden 33: 2016-01-18 12:02:03 minus 1y2m3d3h.
    expect(minus('2016-01-18T12:02:03Z', '1y2m3d3h')).toBe('2014-11-15T09:02:03.000Z');
    expect(minus('2016-02-29T00:30:00Z', '1y')).toBe('2015-03-01T00:30:00.000Z');
    expect(minus('2025-01-01T00:00:00Z', '1y')).toBe('2024-01-01T00:00:00.000Z');
    expect(minus('2025-01-01T00:00:00Z', '2m')).toBe('2024-11-01T00:00:00.000Z');
  });

  it('keeps the wall clock across a DST change in the policy zone, then subtracts hours exactly', () => {
    // Berlin: 2026-03-29 switches to summer time; one calendar day back is 23 real hours.
    expect(minus('2026-03-29T12:00:00Z', '1d', 'Europe/Berlin')).toBe('2026-03-28T13:00:00.000Z');
    expect(minus('2026-03-29T12:00:00Z', '24h', 'Europe/Berlin')).toBe('2026-03-28T12:00:00.000Z');
  });

  it('matches plain UTC arithmetic for hour-only durations', () => {
    expect(utc.subtract(Date.parse('2026-01-01T05:00:00Z'), parseDuration('30h'))).toBe(
      Date.parse('2025-12-30T23:00:00Z'),
    );
  });
});
