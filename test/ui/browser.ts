/**
 * What the UI suites share: Debian's /usr/bin/chromium launched through
 * Playwright's library API (never a downloaded browser), a fresh UI build, a
 * page that records console errors, uncaught exceptions and requests leaving
 * 127.0.0.1, the login, and screenshots under test-results/ui/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';

export const CHROMIUM = '/usr/bin/chromium';
export const SHOTS = new URL('../../test-results/ui/', import.meta.url).pathname;
export const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * Each UI test file builds into a directory of its own, which the gateways it starts
 * serve (CORRAL_UI_DIR, read when the gateway is created), so files that run at the
 * same time never serve each other's half-written build.
 */
const UI_BUILD = mkdtempSync(join(tmpdir(), 'corral-ui-build-'));
process.env.CORRAL_UI_DIR = UI_BUILD;

/** Builds the UI as its sources are now (npm ci built it once; an edit since would be missed) and launches Chromium. */
export async function launchBrowser(): Promise<Browser> {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'vite.config.ts', '--outDir', UI_BUILD, '--emptyOutDir'], { stdio: 'inherit' });
  mkdirSync(SHOTS, { recursive: true });
  assert.ok(existsSync(CHROMIUM), 'Debian chromium is installed (scripts/ensure-test-services.sh does it)');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** A page that records what must never happen: console errors, uncaught exceptions, requests off 127.0.0.1. */
export interface Watched {
  context: BrowserContext;
  page: Page;
  problems: string[];
}

export async function openWatched(browser: Browser, colorScheme: 'light' | 'dark' = 'light'): Promise<Watched> {
  const context = await browser.newContext({ colorScheme, viewport: { width: 1280, height: 860 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // A 4xx/5xx the test provokes is logged by Chromium as "Failed to load resource"; those are expected.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|401|429|500)/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('request', (r) => {
    const url = new URL(r.url());
    // blob: URLs are the page's own (a download made in the page).
    if (url.protocol !== 'data:' && url.protocol !== 'blob:' && url.hostname !== '127.0.0.1') problems.push(`request off 127.0.0.1: ${r.url()}`);
  });
  return { context, page, problems };
}

export async function loginAs(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/ui/`);
  await page.getByLabel('API key').fill(key);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Services' }).waitFor();
}

export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
}

const AXE = readFileSync(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url), 'utf8');

/**
 * Runs axe-core (WCAG 2.0/2.1 A and AA rules) on the page as it is now and fails
 * with every violation: its rule, its help text and the elements it found.
 * The script comes from node_modules and is evaluated through the DevTools protocol,
 * which the page's CSP (script-src 'self') rightly does not let a script tag do.
 */
export async function assertAccessible(page: Page, what: string): Promise<void> {
  // Strings, not functions: this file is typed without the DOM library.
  if (!(await page.evaluate<boolean>("'axe' in window"))) await page.evaluate(AXE);
  const violations = await page.evaluate<string[]>(`axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
    .then((result) => result.violations.map((v) => v.id + ': ' + v.help + ' (' + v.nodes.map((n) => n.target.join(' ')).join('; ') + ')'))`);
  assert.deepEqual(violations, [], `axe-core found WCAG violations on ${what}`);
}
