/**
 * HTML report benchmark: a 100,000-backup fleet (10,000 CBR resources, ten backups each over 400 days, ids and
 * names shaped like CBR's) planned with a typical policy and written as the report; then the file is opened in
 * Debian's headless chromium. Targets: the file ≤ 10 MB, and ≤ 2 s from navigation start to the page's first
 * render with data (its `report-ready` performance mark, set once every target's first resource rows are
 * drawn). Runs the page three times and judges the median; exits non-zero when either target is missed.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writePlanReport } from '../lib/report/plan-report.ts';
import { planTargets } from '../lib/retention/plan-targets.ts';
import { parsePolicy } from '../lib/retention/policy.ts';
import type { Backup } from '../lib/services/backup.ts';
import { launchChromium } from '../test/report/chromium.ts';

const BACKUPS = 100_000;
const PER_RESOURCE = 10;
const TARGET_BYTES = 10 * 1024 * 1024;
const TARGET_FIRST_RENDER_MS = 2_000;
const RUNS = 3;
const NOW = new Date('2026-11-27T00:00:00Z');
const DAY = 86_400_000;

const policy = parsePolicy({
  version: 1,
  targets: [
    {
      name: 'fleet',
      service: 'cbr',
      projects: ['0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e'],
      regions: ['ap-southeast-1'],
      keep: { last: 2, daily: 7, weekly: 4, monthly: 12 },
      max_age: '30d',
      min_keep: 3,
      failed_max_age: '7d',
      protect: { tags: ['legal-hold=*'] },
      max_gap: '10d',
      max_delete_share: 0.9,
    },
  ],
});

function fleet(): Backup[] {
  let seed = 42;
  const random = () => {
    // Math.imul: a plain product overflows 2^53 and collapses the generator into short cycles.
    seed = (Math.imul(seed, 1_103_515_245) + 12_345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
  const hex = (length: number) => {
    let text = '';
    for (let index = 0; index < length; index += 1) text += Math.floor(random() * 16).toString(16);
    return text;
  };
  const uuid = () => `${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}`;
  const backups: Backup[] = [];
  for (let resource = 0; resource < BACKUPS / PER_RESOURCE; resource += 1) {
    const resourceId = uuid();
    const vaultId = `vault-${resource % 50}`;
    const resourceName = `ecs-prod-${String(resource).padStart(5, '0')}`;
    for (let n = 0; n < PER_RESOURCE; n += 1) {
      const roll = random();
      const createdAt = NOW.getTime() - Math.floor(random() * 400 * DAY);
      backups.push({
        service: 'cbr',
        region: 'ap-southeast-1',
        project_id: '0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e',
        id: uuid(),
        delete_id: '',
        resource_id: resourceId,
        resource_name: resourceName,
        vault_id: vaultId,
        name: roll < 0.1 ? `manualbk_${resourceName}_${n}` : `autobk_${hex(4)}`,
        created_at: createdAt,
        status: 'available',
        state: roll < 0.92 ? 'finished' : roll < 0.97 ? 'failed' : 'in_progress',
        manual: roll < 0.1,
        size_bytes: Math.floor(random() * 40 * 1024 ** 3),
        tags: roll > 0.995 ? ['legal-hold=case-7'] : [],
      });
      const last = backups[backups.length - 1] as Backup;
      (last as { delete_id: string }).delete_id = last.id;
    }
  }
  return backups;
}

/** In the page: the report-ready mark and first-contentful-paint, both in ms since navigation start. */
const TIMINGS = `new Promise((resolve) => requestAnimationFrame(() => resolve({
  ready: performance.getEntriesByName('report-ready')[0]?.startTime ?? NaN,
  fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN,
})))`;

/** In the page: how long opening the first resource row takes until its timeline is drawn. */
const OPEN_FIRST_RESOURCE = `new Promise((resolve) => {
  const details = document.querySelector('details.res');
  const start = performance.now();
  details.open = true;
  const check = () => (details.querySelector('.body svg') ? resolve(performance.now() - start) : requestAnimationFrame(check));
  check();
})`;

const median = (values: number[]) =>
  values.slice().sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;

async function main(): Promise<number> {
  const backups = fleet();
  const started = performance.now();
  const result = await planTargets(policy, () => backups, NOW);
  const directory = mkdtempSync(join(tmpdir(), 'hwc-report-bench-'));
  const file = join(directory, 'report.html');
  const bytes = writePlanReport({ file, plan: result, listings: new Map([['fleet', backups]]) });
  const writeSeconds = (performance.now() - started) / 1000;
  if (bytes !== statSync(file).size) throw new Error('the written size differs from the rendered size');

  const browser = await launchChromium();
  const firstRender: number[] = [];
  const contentfulPaint: number[] = [];
  const openResource: number[] = [];
  try {
    for (let run = 0; run < RUNS; run += 1) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load', timeout: 60_000 });
      await page.waitForSelector('html[data-ready="1"]', { timeout: 60_000 });
      // Strings, not functions: tsx compiles with keepNames, whose `__name` helper does not exist in the page.
      const timings = (await page.evaluate(TIMINGS)) as { ready: number; fcp: number };
      firstRender.push(timings.ready);
      contentfulPaint.push(timings.fcp);
      const opened = (await page.evaluate(OPEN_FIRST_RESOURCE)) as number;
      openResource.push(opened);
      await page.close();
    }
  } finally {
    await browser.close();
    if (process.env.KEEP_REPORT === undefined) rmSync(directory, { recursive: true, force: true });
    else console.log(file);
  }
  const ready = median(firstRender);
  const sizeOk = bytes <= TARGET_BYTES;
  const renderOk = ready <= TARGET_FIRST_RENDER_MS;
  console.log(
    `report ${BACKUPS} backups / ${result.targets[0]?.summary.resources} resources: file ${(bytes / 1024 / 1024).toFixed(2)} MiB ` +
      `(target ≤ 10 MiB${sizeOk ? '' : ', MISSED'}), planned and written in ${writeSeconds.toFixed(2)} s`,
  );
  console.log(
    `chromium: first render with data ${ready.toFixed(0)} ms median of ${RUNS} (${firstRender.map((ms) => ms.toFixed(0)).join(', ')}; ` +
      `target ≤ ${TARGET_FIRST_RENDER_MS} ms${renderOk ? '' : ', MISSED'}), first contentful paint ${median(contentfulPaint).toFixed(0)} ms, ` +
      `opening one resource ${median(openResource).toFixed(0)} ms`,
  );
  return sizeOk && renderOk ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
