import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';

/**
 * What the web-app e2e tests share: a page that collects console errors, sign-in through the
 * form, the accessibility scan (axe-core, injected into the page) and screenshots to one folder.
 */

/** A page of the app at `path`, with its console errors and uncaught exceptions in `errors`. */
export interface AppPage {
  readonly page: Page;
  readonly errors: string[];
}

export async function openAppPage(
  browser: Browser,
  baseUrl: string,
  path: string,
  viewport: { width: number; height: number } = { width: 1366, height: 768 },
): Promise<AppPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') {
      errors.push(`${message.text()} (${message.location().url})`);
    }
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.goto(`${baseUrl}${path}`);
  return { page, errors };
}

/** Fills the sign-in form and submits it with Enter (the keyboard path). */
export async function signInWithForm(page: Page, username: string, password: string): Promise<void> {
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByLabel('Password').press('Enter');
}

/** Opens `path` and signs in as `username`; resolves once the app's shell shows the user. */
export async function signedInPage(
  browser: Browser,
  baseUrl: string,
  path: string,
  username: string,
  password: string,
): Promise<AppPage> {
  const opened = await openAppPage(browser, baseUrl, path);
  await signInWithForm(opened.page, username, password);
  await opened.page.locator('#signed-in-user').waitFor();
  return opened;
}

const requireHere = createRequire(import.meta.url);
const AXE_SOURCE_PATH = requireHere.resolve('axe-core/axe.min.js');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: unknown[]; failureSummary?: string }[];
}

/**
 * Runs axe-core (WCAG 2.1 A and AA rules and best practices) on the page as it is now and fails
 * on any serious or critical violation, naming the rule and the elements. `label` says which
 * page and state was scanned.
 */
export async function assertNoSeriousAxeViolations(page: Page, label: string): Promise<void> {
  await page.addScriptTag({ path: AXE_SOURCE_PATH });
  // A string, not a function: this file is compiled without the DOM's types.
  const violations = await page.evaluate<AxeViolation[]>(
    "axe.run(document, { resultTypes: ['violations'] }).then((result) => result.violations)",
  );
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(
    serious.map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      elements: v.nodes.slice(0, 5).map((n) => JSON.stringify(n.target)),
    })),
    [],
    `${label}: accessibility violations`,
  );
}

/** Where the tests write their screenshots: `VERBATIM_SCREENSHOTS`, or a folder under the temp dir. */
export const SCREENSHOT_DIR = resolve(
  process.env.VERBATIM_SCREENSHOTS ?? join(tmpdir(), 'verbatim-screenshots'),
);
let announced = false;

/** Saves a screenshot of the page as `<name>.png` in SCREENSHOT_DIR (the first call prints the folder). */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  if (!announced) {
    announced = true;
    // The issue asks the tests to say where the screenshots are.
    console.log(`# web app screenshots: ${SCREENSHOT_DIR}`);
  }
  const path = join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
