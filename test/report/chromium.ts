import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (apt-get install chromium); playwright-core never downloads a browser. */
export const CHROMIUM = '/usr/bin/chromium';

/** Where browser tests leave screenshots (gitignored). */
export const TEST_OUTPUT = fileURLToPath(new URL('../../test-output/report/', import.meta.url));

/**
 * Headless chromium with nothing that talks to the network on its own. playwright-core gives every launch a
 * fresh temporary profile (and refuses a --user-data-dir argument), so no state leaks between runs.
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: install Debian's chromium package (apt-get install -y chromium)`,
    );
  }
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
