import type { BackupService } from '../services/backup.ts';

/**
 * What a tag can look like on each service, so that a tag rule no tag could ever match is a policy error
 * instead of a rule that silently protects nothing. Rules see tags as `key=value` (or `key` when the value is
 * empty), taken from where each service keeps them: the CBR vault, the DDS instance, the CSBS checkpoint item.
 */
interface TagSyntax {
  readonly where: string;
  readonly keyMax: number;
  readonly valueMax: number;
  readonly keyChar: RegExp;
  readonly valueChar: RegExp;
  readonly source: string;
}

export const TAG_SYNTAX: Readonly<Record<BackupService, TagSyntax>> = {
  // huaweicloud-sdk-go-v3 services/cbr/v1/model/model_tag.go: key ≤ 36 (letters incl. CJK, digits, - _),
  // value ≤ 43 (the same and "."), neither may hold = * < > \ , | /.
  cbr: {
    where: 'the vault',
    keyMax: 36,
    valueMax: 43,
    keyChar: /^[\p{L}\p{N}_-]$/u,
    valueChar: /^[\p{L}\p{N}_.-]$/u,
    source: 'services/cbr/v1/model/model_tag.go',
  },
  // DDS instance tags: the same limits as CBR (key 36, value 43) — restated from the CBR model, not confirmed
  // from a DDS model file.
  dds: {
    where: 'the instance',
    keyMax: 36,
    valueMax: 43,
    keyChar: /^[\p{L}\p{N}_-]$/u,
    valueChar: /^[\p{L}\p{N}_.-]$/u,
    source: 'services/dds/v3 ListInstanceTags (limits as CBR)',
  },
  // CSBS API reference, resource_tag: key ≤ 36, value ≤ 43, letters, digits, "-" and "_" only.
  csbs: {
    where: 'the checkpoint item',
    keyMax: 36,
    valueMax: 43,
    keyChar: /^[\p{L}\p{N}_-]$/u,
    valueChar: /^[\p{L}\p{N}_-]$/u,
    source: 'CSBS API reference, resource_tag',
  },
};

const GLOB_CHARS = new Set(['*', '?']);

function partProblem(
  part: string,
  what: 'key' | 'value',
  syntax: TagSyntax,
  glob: boolean,
): string | undefined {
  let literal = 0;
  for (const char of part) {
    if (glob && GLOB_CHARS.has(char)) {
      if (char === '?') literal += 1;
      continue;
    }
    literal += 1;
    const allowed = what === 'key' ? syntax.keyChar : syntax.valueChar;
    if (!allowed.test(char)) return `"${char}" cannot appear in a tag ${what} on ${syntax.where}`;
  }
  const max = what === 'key' ? syntax.keyMax : syntax.valueMax;
  if (literal > max) return `a tag ${what} on ${syntax.where} has at most ${max} characters`;
  if (what === 'key' && part === '') return 'the tag key is empty';
  return undefined;
}

/**
 * Why `pattern` (a glob when `glob`, else an exact `key=value`) can match no tag of `service`; undefined when
 * some tag could match it.
 */
export function tagRuleProblem(pattern: string, service: BackupService, glob: boolean): string | undefined {
  const syntax = TAG_SYNTAX[service];
  const equals = pattern.indexOf('=');
  // A glob with `*` in the key may swallow the `=`; only its literal characters can be checked.
  if (equals < 0 || (glob && pattern.slice(0, equals).includes('*'))) {
    for (const char of pattern) {
      if (char === '=' || (glob && GLOB_CHARS.has(char))) continue;
      if (!syntax.keyChar.test(char) && !syntax.valueChar.test(char))
        return `"${char}" cannot appear in a tag on ${syntax.where}`;
    }
    return equals < 0 ? partProblem(pattern, 'key', syntax, glob) : undefined;
  }
  return (
    partProblem(pattern.slice(0, equals), 'key', syntax, glob) ??
    partProblem(pattern.slice(equals + 1), 'value', syntax, glob)
  );
}
