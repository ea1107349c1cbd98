/**
 * The README's commands and the pointers to it stay true: every `npm run X` it shows is a script of
 * package.json, every README section serverless.yml's header names exists, and every variable lib/config.ts
 * reads is documented in the README and in .env.example.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const readme = read('README.md');

describe('README.md', () => {
  it('shows only npm scripts that package.json has', () => {
    const scripts = Object.keys((JSON.parse(read('package.json')) as { scripts: object }).scripts);
    const shown = new Set([...readme.matchAll(/npm run (?:-s )?([a-z][\w-]*)/g)].map((match) => match[1]));
    expect([...shown].filter((name) => !scripts.includes(name as string))).toEqual([]);
  });

  it('has every section the header of serverless.yml points to', () => {
    const header = read('serverless.yml')
      .split('\n')
      .filter((line) => line.startsWith('#'))
      .join('\n');
    const named = [...header.matchAll(/README "([^"]+)"/g)].map((match) => match[1] as string);
    expect(named.length).toBeGreaterThan(0);
    const headings = readme
      .split('\n')
      .filter((line) => line.startsWith('## '))
      .map((line) => line.slice(3));
    for (const section of named)
      expect(
        headings.some((heading) => heading.startsWith(section)),
        section,
      ).toBe(true);
  });

  it('documents every variable lib/config.ts reads, and .env.example lists them', () => {
    const envSchema = read('lib/config.ts');
    const body = envSchema.slice(
      envSchema.indexOf('const EnvSchema'),
      envSchema.indexOf('});', envSchema.indexOf('const EnvSchema')),
    );
    const keys = [...body.matchAll(/^ {2}([A-Z][A-Z0-9_]+):/gm)].map((match) => match[1] as string);
    expect(keys).toContain('HWC_DYNAMODB_ENDPOINT');
    const example = read('.env.example');
    for (const key of keys) {
      expect(readme, `README: ${key}`).toContain(`\`${key}`);
      expect(example, `.env.example: ${key}`).toMatch(new RegExp(`^#? ?${key}=`, 'm'));
    }
  });
});
