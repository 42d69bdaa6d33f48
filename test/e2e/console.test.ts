import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { loadConfig } from '../../src/app/config.ts';
import { type RunningService, startService } from '../../src/app/service.ts';
import { ensureChromium, launchChromium } from '../support/browser.ts';
import { copyOf, kybIntakeExample } from '../support/intake-examples.ts';

// The reviewer console in a real browser (Debian's chromium, headless), against the service with
// the embedded event store: every review step goes through the page, as a person would.

const KEYS = {
  intake: 'intake-secret-0123456789',
  rita: 'rita-secret-0123456789',
};
const API_KEYS = [`intake:operator:${KEYS.intake}`, `rita:operator:${KEYS.rita}`].join(',');

/** Where screenshots go, to look at the page after a run (SCREENSHOT_DIR), else nowhere. */
const screenshots = process.env.SCREENSHOT_DIR;

describe('reviewer console in a browser', () => {
  let dataDir: string;
  let service: RunningService;
  let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
  let context: BrowserContext;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-console-'));
    service = await startService(
      loadConfig({ DATA_DIR: dataDir, PORT: '0', API_KEYS }),
      pino({ level: 'silent' }),
    );
  });

  after(async () => {
    await browser?.close();
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function openCase(intake: unknown, key: string): Promise<string> {
    const response = await fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-api-key': KEYS.intake },
      body: JSON.stringify(intake),
    });
    assert.equal(response.status, 202, await response.clone().text());
    return ((await response.json()) as { case_id: string }).case_id;
  }

  /** A tab of the console with a person's key entered, as they would: typed, then Enter. */
  async function consoleAs(secret: string): Promise<Page> {
    const page = await context.newPage();
    page.on('pageerror', (error) => assert.fail(`script error in the console: ${error.message}`));
    await page.goto(`${service.url}/console`);
    await page.getByLabel('API key').fill(secret);
    await page.getByLabel('API key').press('Enter');
    await page.getByRole('button', { name: 'Forget key' }).waitFor();
    return page;
  }

  /**
   * Waits for what a step should show; when the page shows an error instead, fails at once with
   * the error's text (the problem+json the API answered), not after a timeout.
   */
  async function expectShown(page: Page, shown: Locator): Promise<void> {
    const error = page.getByRole('alert');
    const outcome = await Promise.race([
      shown.waitFor().then(() => 'shown' as const),
      error.waitFor().then(() => 'error' as const),
    ]);
    if (outcome === 'error') assert.fail(`the console shows an error: ${await error.textContent()}`);
  }

  async function showCase(page: Page, caseId: string): Promise<void> {
    await page.getByLabel('Open a case by id').fill(caseId);
    await page.getByRole('button', { name: 'Open case' }).click();
    await expectShown(page, page.getByRole('heading', { name: `Case ${caseId}` }));
  }

  /** Moves every document of the shown case along to VERIFIED_MANUAL, through the page's forms. */
  async function verifyEveryDocument(page: Page): Promise<number> {
    let moved = 0;
    for (;;) {
      const select = page.locator('#documents select').first();
      if ((await select.count()) === 0) return moved;
      const id = await select.getAttribute('id');
      const options = await select.locator('option').allTextContents();
      const next = options.includes('VERIFIED_MANUAL') ? 'VERIFIED_MANUAL' : 'UPLOADED';
      await select.selectOption(next);
      // Keyboard: from the select to its button, then Enter.
      await select.press('Tab');
      await page.keyboard.press('Enter');
      if (next === 'VERIFIED_MANUAL') await page.locator(`[id="${id}"]`).waitFor({ state: 'detached' });
      else await page.locator(`[id="${id}"] option[value="VERIFIED_MANUAL"]`).waitFor({ state: 'attached' });
      moved += 1;
    }
  }

  it('walks a KYB case from intake to review through the console', async (t) => {
    if (!ensureChromium(t)) return;
    browser = await launchChromium();
    context = browser.context;
    context.setDefaultTimeout(20_000);
    const intake = copyOf(kybIntakeExample);
    const caseId = await openCase(intake, 'console-kyb');

    const rita = await consoleAs(KEYS.rita);
    await showCase(rita, caseId);
    const moved = await verifyEveryDocument(rita);
    assert.ok(moved >= 2, `moved ${moved} document steps`);
    const timeline = await rita.locator('#timeline li').allTextContents();
    assert.ok(timeline.some((entry) => /case opened/.test(entry)));
    assert.ok(timeline.some((entry) => /UPLOADED → VERIFIED_MANUAL/.test(entry)));
    if (screenshots !== undefined)
      await rita.screenshot({ path: join(screenshots, 'console-kyb.png'), fullPage: true });
  });
});
