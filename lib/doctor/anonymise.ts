import { createHash, randomBytes } from 'node:crypto';
import type { Policy } from '../retention/policy.ts';

/**
 * Consistent anonymisation for a recorded fleet: the same id or name always maps to the same replacement
 * within one recording (a random salt per recording, so replacements cannot be looked up), in the same
 * shape (32 hex digits stay 32 hex digits, a UUID stays a UUID, other text keeps its length and separators).
 * What the policy names is kept verbatim so that the same policy plans the replayed fleet the same way:
 * project ids, ids in `protect.ids` and the filters, and the words its name patterns are made of.
 */
export class Anonymiser {
  readonly #salt: Buffer;
  readonly #keepIds: ReadonlySet<string>;
  readonly #keepWords: readonly string[];
  readonly #cache = new Map<string, string>();

  constructor(policy: Policy, salt: Buffer = randomBytes(16)) {
    this.#salt = salt;
    const ids = new Set<string>();
    const words = new Set<string>();
    const settings = [policy.defaults ?? {}, ...policy.targets];
    for (const target of policy.targets) for (const project of target.projects) ids.add(project);
    for (const setting of settings) {
      for (const id of setting.protect?.ids ?? []) ids.add(id);
      for (const id of [
        ...(setting.filters?.resource_ids ?? []),
        ...(setting.filters?.vault_ids ?? []),
        ...(setting.filters?.instance_ids ?? []),
      ])
        ids.add(id);
      for (const pattern of [
        ...(setting.protect?.name_patterns ?? []),
        ...(setting.filters?.name_patterns ?? []),
      ]) {
        for (const word of pattern.split(/[*?]+|[^\p{L}\p{N}]+/u)) if (word !== '') words.add(word);
      }
    }
    this.#keepIds = ids;
    this.#keepWords = [...words];
  }

  #digest(value: string): string {
    return createHash('sha256').update(this.#salt).update(value).digest('hex');
  }

  /** An id: kept when the policy names it, else replaced in the same shape. */
  id(value: string): string {
    if (value === '' || this.#keepIds.has(value)) return value;
    const cached = this.#cache.get(`id:${value}`);
    if (cached !== undefined) return cached;
    const digest = this.#digest(`id:${value}`);
    let out: string;
    if (/^[0-9a-f]{32}$/i.test(value)) out = digest.slice(0, 32);
    else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value))
      out = `${digest.slice(0, 8)}-${digest.slice(8, 12)}-${digest.slice(12, 16)}-${digest.slice(16, 20)}-${digest.slice(20, 32)}`;
    else out = this.#text(value, digest);
    this.#cache.set(`id:${value}`, out);
    return out;
  }

  /**
   * A name: each word (run of letters and digits) replaced unless it is a word of the policy's name patterns
   * or contains one of three or more characters; separators kept, so the patterns match as before.
   */
  name(value: string): string {
    return value.replace(/[\p{L}\p{N}]+/gu, (word) => {
      if (this.#keepWords.some((kept) => word === kept || (kept.length >= 3 && word.includes(kept))))
        return word;
      return this.#text(word, this.#digest(`word:${word}`));
    });
  }

  /** Same length, letters for letters and digits for digits. */
  #text(value: string, digest: string): string {
    let out = '';
    let index = 0;
    for (const char of value) {
      const byte = Number.parseInt(digest.slice((index * 2) % 64, ((index * 2) % 64) + 2), 16);
      index += 1;
      if (/\p{N}/u.test(char)) out += String(byte % 10);
      else if (/\p{L}/u.test(char)) out += String.fromCharCode(97 + (byte % 26));
      else out += char;
    }
    return out;
  }
}
