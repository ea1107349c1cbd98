import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../lib/retention/duration.ts';

describe('parseDuration (restic internal/data/duration.go)', () => {
  it.each([
    ['9h', { years: 0, months: 0, days: 0, hours: 9 }, '9h'],
    ['3d', { years: 0, months: 0, days: 3, hours: 0 }, '3d'],
    ['4d2h', { years: 0, months: 0, days: 4, hours: 2 }, '4d2h'],
    ['7m5d', { years: 0, months: 7, days: 5, hours: 0 }, '7m5d'],
    ['6m4d8h', { years: 0, months: 6, days: 4, hours: 8 }, '6m4d8h'],
    ['5d7m', { years: 0, months: 7, days: 5, hours: 0 }, '7m5d'],
    ['4h3d9m', { years: 0, months: 9, days: 3, hours: 4 }, '9m3d4h'],
    ['-7m5d', { years: 0, months: -7, days: 5, hours: 0 }, '-7m5d'],
    ['1y4m-5d-3h', { years: 1, months: 4, days: -5, hours: -3 }, '1y4m-5d-3h'],
    ['  5d  ', { years: 0, months: 0, days: 5, hours: 0 }, '5d'],
    ['1d2d', { years: 0, months: 0, days: 2, hours: 0 }, '2d'],
    ['', { years: 0, months: 0, days: 0, hours: 0 }, ''],
  ])('parses %j like restic', (input, expected, canonical) => {
    const parsed = parseDuration(input);
    expect(parsed).toEqual(expected);
    expect(formatDuration(parsed)).toBe(canonical);
  });

  it.each(['2w', '1y4m3w1d', 's', '\u07c0', '5', '1D', '1M', '3d 4h', '-d'])('rejects %j', (input) => {
    expect(() => parseDuration(input)).toThrow();
  });
});
