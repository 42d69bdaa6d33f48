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
  alice: 'alice-secret-0123456789',
  bob: 'bob-secret-0123456789',
};
/** An intake system, a reviewer, and two approvers: the four eyes. */
const API_KEYS = [
  `intake:operator:${KEYS.intake}`,
  `rita:reviewer:${KEYS.rita}`,
  `alice:approver:${KEYS.alice}`,
  `bob:approver:${KEYS.bob}`,
].join(',');

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

  /** The person's tab, waiting for a message in its status line (or failing on its error). */
  async function expectStatus(page: Page, text: string): Promise<void> {
    await expectShown(page, page.getByRole('status').filter({ hasText: text }));
  }

  async function pickFromQueue(page: Page, caseId: string): Promise<void> {
    await page.getByRole('button', { name: 'Refresh queue' }).click();
    const row = page.locator(`#queue-table button[data-case="${caseId}"]`);
    await expectShown(page, row);
    await row.click();
    await expectShown(page, page.getByRole('heading', { name: `Case ${caseId}` }));
  }

  async function decide(page: Page, decision: string, reasonCode: string, comment: string): Promise<void> {
    await page.getByLabel(decision, { exact: true }).check();
    await page.getByLabel(reasonCode).check();
    await page.getByLabel('Comment').fill(comment);
    await page.getByRole('button', { name: 'Record decision' }).click();
  }

  const caseStatus = (page: Page) => page.locator('#case-summary dt:text-is("Status") + dd').textContent();
  const timelineOf = (page: Page) => page.locator('#timeline li').allTextContents();

  it('takes a high-risk KYB case from intake to a four-eyes approval, through the console', async (t) => {
    if (!ensureChromium(t)) return;
    browser = await launchChromium();
    context = browser.context;
    context.setDefaultTimeout(20_000);
    const intake = copyOf(kybIntakeExample);
    // Incorporated in a high-risk country: rated HIGH, so approval needs two people.
    intake.company_profile.country_of_incorporation = 'IR';
    const caseId = await openCase(intake, 'console-kyb');

    // The reviewer resolves every document, finds the case in the queue and takes it.
    const rita = await consoleAs(KEYS.rita);
    await showCase(rita, caseId);
    assert.ok((await verifyEveryDocument(rita)) >= 2);
    await pickFromQueue(rita, caseId);
    assert.equal(await rita.locator('#case-summary dt:text-is("Risk") + dd').textContent(), 'HIGH');
    assert.ok((await rita.locator('#risk-factors tbody tr').count()) >= 1, 'the risk factors are listed');
    await rita.getByLabel('Assign to').fill('rita');
    await rita.getByLabel('Assign to').press('Enter');
    await expectStatus(rita, 'Assigned to rita');
    assert.equal(await caseStatus(rita), 'IN_REVIEW');

    // First approver.
    const alice = await consoleAs(KEYS.alice);
    await pickFromQueue(alice, caseId);
    await decide(alice, 'Approve', 'DOCUMENTS_VERIFIED', 'Registry extract and IDs checked');
    await expectStatus(alice, 'Decision APPROVE recorded; case IN_REVIEW');
    // Nobody approves twice: the API's refusal is shown to the person.
    await decide(alice, 'Approve', 'RISK_ACCEPTED', 'Again');
    const refusal = alice.getByRole('alert');
    await refusal.waitFor();
    assert.match((await refusal.textContent()) ?? '', /already approved/);

    // Second approver: the case is approved.
    const bob = await consoleAs(KEYS.bob);
    await pickFromQueue(bob, caseId);
    await decide(bob, 'Approve', 'RISK_ACCEPTED', 'Second pair of eyes');
    await expectStatus(bob, 'Decision APPROVE recorded; case APPROVED');
    assert.equal(await caseStatus(bob), 'APPROVED');

    // Reads of personal data are in the timeline too, shown on request.
    await bob.getByLabel('Show reads of personal data').check();
    const timeline = await timelineOf(bob);
    for (const step of [
      /KYB case opened/,
      /Risk rated HIGH/,
      /UPLOADED → VERIFIED_MANUAL/,
      /Case OPEN → PENDING_REVIEW/,
      /Assigned to rita/,
      /alice.*Approved \(1 of 2 approvals\)/,
      /bob.*Approved \(2 of 2 approvals\)/,
      /Case IN_REVIEW → APPROVED/,
      /rita.*Personal data read/,
    ]) {
      assert.ok(
        timeline.some((entry) => step.test(entry)),
        `the timeline shows ${step}:\n${timeline.join('\n')}`,
      );
    }
    if (screenshots !== undefined) {
      await bob.screenshot({ path: join(screenshots, 'console-approved.png'), fullPage: true });
      await alice.screenshot({ path: join(screenshots, 'console-refusal.png') });
    }
  });

  it('takes another case to a rejection, through the console', async (t) => {
    if (!ensureChromium(t)) return;
    browser ??= await launchChromium();
    context = browser.context;
    const caseId = await openCase(copyOf(kybIntakeExample), 'console-reject');
    const rita = await consoleAs(KEYS.rita);
    await showCase(rita, caseId);
    await verifyEveryDocument(rita);
    await pickFromQueue(rita, caseId);
    await rita.getByLabel('Assign to').fill('rita');
    await rita.getByRole('button', { name: 'Assign', exact: true }).click();
    await expectStatus(rita, 'Assigned to rita');
    await decide(rita, 'Reject', 'IDENTITY_MISMATCH', 'Director ID does not match the register');
    await expectStatus(rita, 'Decision REJECT recorded; case REJECTED');
    assert.equal(await caseStatus(rita), 'REJECTED');
    const timeline = await timelineOf(rita);
    assert.ok(
      timeline.some((entry) => /rita.*Rejected.*IDENTITY_MISMATCH.*Director ID does not match/s.test(entry)),
      timeline.join('\n'),
    );
    assert.ok(timeline.some((entry) => /Case IN_REVIEW → REJECTED/.test(entry)));
    // Off the queue once decided.
    await rita.getByRole('button', { name: 'Refresh queue' }).click();
    await rita.locator(`#queue-table button[data-case="${caseId}"]`).waitFor({ state: 'detached' });
    if (screenshots !== undefined)
      await rita.screenshot({ path: join(screenshots, 'console-rejected.png'), fullPage: true });
  });
});
