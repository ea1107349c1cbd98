/// <reference lib="dom" />
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeHuaweiPools } from '../../lib/huawei/client.ts';
import { recordListings, simulatePlan, writePlanReport } from '../../lib/report/plan-report.ts';
import { type PlanJson, planTargets, toPlanJson } from '../../lib/retention/plan-targets.ts';
import { loadPolicy } from '../../lib/retention/policy.ts';
import type { Backup } from '../../lib/services/backup.ts';
import { adapters } from '../../lib/services/index.ts';
import { simulatorClient, startDemoSimulator } from '../../lib/sweep/demo-fleet.ts';
import { launchChromium, TEST_OUTPUT } from './chromium.ts';
import { HOSTILE_NAME, reportFleet, reportPlan } from './fixtures.ts';

/**
 * The demo report in Debian's chromium: the demo fleet (embedded simulator) planned with policies/demo.yaml and
 * simulated for 30 days, exactly as `npm run plan -- --policy policies/demo.yaml --html F --simulate 30d` does.
 */
let browser: Browser;
let demoFile: string;
let planJson: PlanJson;

beforeAll(async () => {
  const policy = loadPolicy(readFileSync('policies/demo.yaml', 'utf8'), 'policies/demo.yaml');
  const sim = await startDemoSimulator();
  try {
    const client = simulatorClient(sim);
    const recorder = recordListings(async function* (target): AsyncIterable<Backup> {
      for (const region of target.regions)
        for (const projectId of target.projects)
          yield* adapters[target.service].listBackups(client, { region, projectId });
    });
    const result = await planTargets(policy, recorder.list, new Date());
    planJson = toPlanJson(result);
    demoFile = join(TEST_OUTPUT, 'demo-report.html');
    writePlanReport({
      file: demoFile,
      plan: result,
      listings: recorder.listings,
      simulations: simulatePlan(policy, result, recorder.listings, { days: 30 }),
      title: 'Demo retention plan',
    });
  } finally {
    await sim.close();
    await closeHuaweiPools();
  }
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

async function open(file: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const failures: string[] = [];
  page.on('pageerror', (error) => failures.push(error.message));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) failures.push(`network request ${request.url()}`);
  });
  await page.goto(pathToFileURL(file).href);
  await page.waitForSelector('html[data-ready="1"]');
  expect(failures).toEqual([]);
  return page;
}

/** Shows every resource row (50 are drawn at first) and opens each one, which draws its timeline. */
async function openEveryResource(page: Page): Promise<void> {
  await page.evaluate(() => {
    for (const button of document.querySelectorAll<HTMLButtonElement>('.resources .more')) {
      while (!button.hidden) button.click();
    }
    for (const details of document.querySelectorAll<HTMLDetailsElement>('details.res')) details.open = true;
  });
  await page.waitForFunction(() =>
    [...document.querySelectorAll('details.res')].every((d) => d.querySelector('.body svg') !== null),
  );
}

describe('the HTML report in chromium', () => {
  it('draws one mark per backup of every resource, matching the plan JSON, deletions in the lower lane', async () => {
    const page = await open(demoFile);
    await openEveryResource(page);
    const drawn = await page.evaluate(() =>
      [...document.querySelectorAll('details.res')].map((details) => ({
        key: details.getAttribute('data-key'),
        marks: details.querySelectorAll('[data-mark]').length,
        deleted: details.querySelectorAll('[data-mark][data-class="deleted"]').length,
      })),
    );
    const expected = planJson.targets.flatMap((target) =>
      target.resources.map((resource) => ({
        key: resource.resource_key,
        marks: resource.decisions.length,
        deleted: resource.delete,
      })),
    );
    expect(drawn).toEqual(expected);
    expect(drawn.reduce((sum, row) => sum + row.marks, 0)).toBeGreaterThan(600);
    await page.close();
  });

  it('shows a mark’s reasons on hover, the same as the plan’s, and saves a screenshot', async () => {
    const page = await open(demoFile);
    const target = planJson.targets.find((entry) => entry.resources.some((resource) => resource.delete > 0));
    const resource = target?.resources.find((entry) => entry.delete > 0 && entry.keep > 0);
    if (resource === undefined) throw new Error('the demo plan has a resource with keeps and deletes');
    const row = page.locator(`details.res[data-key="${resource.resource_key}"]`);
    await row.locator('summary').click();
    // A deleted mark that no other mark covers, so the pointer lands on it.
    const index = await row.evaluate((details) => {
      for (const mark of details.querySelectorAll('[data-mark][data-class="deleted"]')) {
        const box = mark.getBoundingClientRect();
        if (document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === mark)
          return Number(mark.getAttribute('data-i'));
      }
      return -1;
    });
    expect(index).toBeGreaterThanOrEqual(0);
    await row.locator(`[data-mark][data-i="${index}"]`).hover();
    const tip = page.locator('#tip');
    await expect.poll(() => tip.isVisible()).toBe(true);
    const decision = resource.decisions[index];
    const text = await tip.textContent();
    expect(text).toContain(`backup ${decision?.backup_id}`);
    expect(text).toContain(`reasons: ${decision?.reasons.join('; ')}`);
    expect(text).toContain('deleted');
    expect(text).toMatch(/simulation: deleted now \(day 0\)/);
    await page.screenshot({ path: join(TEST_OUTPUT, 'demo-report.png') });
    await page.close();
  });

  it('runs nothing a hostile backup name carries and shows the name as text', async () => {
    const backups = reportFleet();
    const file = join(TEST_OUTPUT, 'hostile-report.html');
    writePlanReport({
      file,
      plan: await reportPlan(backups),
      listings: new Map([['vaults <b>prod</b>', backups]]),
    });
    const page = await open(file);
    const row = page.locator('details.res[data-key$="/res-1"]');
    await row.locator('summary').click();
    await row.locator('.alt summary').click();
    const names = await row.locator('tbody tr td:nth-child(3)').allTextContents();
    expect(names).toContain(HOSTILE_NAME);
    expect(await page.locator('h2').first().textContent()).toContain('vaults <b>prod</b>');
    expect(await page.evaluate(() => (window as { __xss?: unknown }).__xss)).toBeUndefined();
    expect(await page.locator('img').count()).toBe(0);
    await page.close();
  });
});
