import { describe, expect, it } from 'vitest';
import { compileGlobs, globToRegExp } from '../../lib/retention/glob.ts';

describe('globToRegExp', () => {
  it('matches * as any run and ? as one character, whole string, case-sensitive', () => {
    expect(globToRegExp('autobk_*').test('autobk_2026-11-20')).toBe(true);
    expect(globToRegExp('autobk_*').test('xautobk_1')).toBe(false);
    expect(globToRegExp('b?').test('b1')).toBe(true);
    expect(globToRegExp('b?').test('b12')).toBe(false);
    expect(globToRegExp('Daily*').test('daily-1')).toBe(false);
  });

  it('treats every other character literally, including regex and path characters', () => {
    for (const literal of ['legal-hold=case.7', 'a+b(c)[d]{e}|f^g$h\\i', 'path/to-x']) {
      expect(globToRegExp(literal).test(literal)).toBe(true);
    }
    expect(globToRegExp('a.c').test('abc')).toBe(false);
  });
});

describe('compileGlobs', () => {
  it('returns the first matching pattern, and nothing for an absent value', () => {
    const globs = compileGlobs(['manual_*', 'keep*']);
    expect(globs.firstMatch('keep-me')).toBe('keep*');
    expect(globs.firstMatch('auto')).toBeUndefined();
    expect(globs.firstMatch(undefined)).toBeUndefined();
  });
});
