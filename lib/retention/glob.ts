/**
 * Shell-style name patterns for policy filters and protection: `*` matches any run of characters (including
 * none), `?` exactly one; everything else is literal and matching is case-sensitive and whole-string.
 */
export function globToRegExp(pattern: string): RegExp {
  let source = '^';
  for (const char of pattern) {
    if (char === '*') source += '[\\s\\S]*';
    else if (char === '?') source += '[\\s\\S]';
    else source += char.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`${source}$`, 'u');
}

export interface CompiledGlobs {
  readonly patterns: readonly string[];
  /** The first pattern that matches `value`, if any. */
  firstMatch(value: string | undefined): string | undefined;
}

export function compileGlobs(patterns: readonly string[] = []): CompiledGlobs {
  const compiled = patterns.map((pattern) => ({ pattern, regExp: globToRegExp(pattern) }));
  return {
    patterns,
    firstMatch(value) {
      if (value === undefined) return undefined;
      for (const { pattern, regExp } of compiled) if (regExp.test(value)) return pattern;
      return undefined;
    },
  };
}
