import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { type BrowserContext, chromium } from 'playwright-core';

/** Debian's chromium: playwright-core drives it and never downloads a browser of its own. */
export const CHROMIUM = '/usr/bin/chromium';

const installScript = new URL('../../scripts/browser.sh', import.meta.url);

/**
 * Makes sure chromium is there, installing it with scripts/browser.sh when missing. Returns false
 * after skipping the test when it cannot be had; under CI (`CI=true`) that fails the test instead.
 */
export function ensureChromium(t: TestContext): boolean {
  if (existsSync(CHROMIUM)) return true;
  const installed = spawnSync('bash', [installScript.pathname], { encoding: 'utf8', timeout: 600_000 });
  if (existsSync(CHROMIUM)) return true;
  const message = `chromium is not available at ${CHROMIUM} and scripts/browser.sh could not install it: ${(installed.stderr ?? '').trim().slice(-500)}`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return false;
}

/** Flags for a quiet, headless, throwaway chromium that talks to nothing but the page's server. */
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A headless chromium with a fresh profile; `close` removes the profile too. */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'kyc-chromium-'));
  // Playwright passes the profile as --user-data-dir itself (it refuses the flag in `args`).
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
