import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';

import { launchChromium } from '../support/chromium.js';
import { capture, runCucmCall } from '../support/cucm-calls.js';
import { sessionsWhere } from '../support/session-api.js';
import { serverForSuite, ADMIN_PASSWORD, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { assertNoSeriousAxeViolations, saveScreenshot, signedInPage } from '../support/web.js';

/**
 * Administration's node status and call controllers (issue 14) in Chromium against a real node
 * started with `--trusted-peers` that leaves loopback out: a sipp CUCM call from 127.0.0.1 is
 * refused with 403 until 127.0.0.0/8 is added on the page, recorded once it is, refused again
 * once it is removed, and both changes are on the audit trail. Node status shows a call in
 * progress under "calls now" while it runs, then the recorded calls in calls per hour, with the
 * version and the uptime. An auditor sees both sections without the means to change peers.
 */

const CONFIGURED_PEERS = '192.0.2.0/24';
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

let server: RunningServer;
let work: string;
let browser: Browser;

interface AuditRecord {
  action: string;
  username: string;
  target?: string;
  outcome: number;
  detail?: Record<string, string>;
}

/** `verbatim_sip_refused_total{reason="untrusted"}` from /metrics: INVITEs answered 403. */
async function untrustedRefusals(): Promise<number> {
  const response = await fetch(`${server.baseUrl}/metrics`, {
    headers: { cookie: `JSESSIONID=${server.jsessionId}` },
  });
  const line = (await response.text())
    .split('\n')
    .find((l) => l.startsWith('verbatim_sip_refused_total{reason="untrusted"}'));
  return Number(line?.split(' ')[1] ?? 0);
}

/**
 * A CUCM call (two sipp legs from 127.0.0.1) sending tones for as long as it is held (the node's
 * media timeout is 3 s); its x-refci.
 */
function cucmCall(options: { refused?: boolean; holdMs?: number; duringCall?: () => Promise<void> } = {}) {
  const holdMs = options.holdMs ?? 1000;
  const seconds = Math.ceil(holdMs / 1000);
  return runCucmCall(server, work, {
    near: { pcapPath: capture(work, `near-${String(seconds)}s`, 'PCMU', 440, seconds), holdMs },
    far: { pcapPath: capture(work, `far-${String(seconds)}s`, 'PCMU', 880, seconds), holdMs },
    // A refused leg makes sipp fail: what is checked is the node's 403 and that nothing was recorded.
    ...(options.refused === true ? { legsMayFail: true } : {}),
    ...(options.duringCall === undefined ? {} : { duringCall: options.duringCall }),
  });
}

/** A call from loopback is refused with 403 on both legs, and nothing is recorded. */
async function assertCallRefused(): Promise<void> {
  const before = await untrustedRefusals();
  const refCi = await cucmCall({ refused: true });
  await waitFor(async () => (await untrustedRefusals()) >= before + 2, {
    what: 'both INVITEs answered 403 (untrusted)',
  });
  assert.deepEqual(await sessionsWhere(server, 'xRefCi', refCi), [], 'the refused call was not recorded');
}

/** The values column of a chart's data table, as numbers (`12`, `0.00 %`; '–' rows left out). */
async function chartValues(page: Page, title: string): Promise<number[]> {
  const figure = page.locator('figure.time-chart').filter({ hasText: title });
  const details = figure.locator('details');
  if ((await details.getAttribute('open')) === null) {
    await figure.getByText(`${title}: the values`).click();
  }
  const cells = await details.locator('tbody tr td:nth-child(2)').allInnerTexts();
  return cells.filter((text) => text !== '–').map((text) => Number.parseFloat(text));
}

void describe('Administration: node status and call controllers in Chromium', { timeout: 150_000 }, () => {
  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser.close();
  });

  serverForSuite('web-node', { extraArgs: ['--trusted-peers', CONFIGURED_PEERS] }, (suite) => {
    ({ server, work } = suite);
  });

  void it('trusts loopback from the Call controllers page, at once, and stops when it is removed', async () => {
    await assertCallRefused();

    const { page, errors } = await signedInPage(
      browser,
      server.baseUrl,
      '/admin/peers',
      'admin',
      ADMIN_PASSWORD,
    );
    await page.getByRole('heading', { name: 'Call controllers', level: 1 }).waitFor();
    const table = page.getByRole('table', { name: /Trusted peers/ });
    await table.getByRole('cell', { name: CONFIGURED_PEERS }).waitFor();
    await page.getByRole('heading', { name: 'Call-controller settings' }).waitFor();
    await page.getByText(`${String(server.sipPort)} UDP, ${String(server.sipPort)} TCP; TLS off`).waitFor();
    await assertNoSeriousAxeViolations(page, 'call controllers');

    // A block with host bits set: refused, and the page names the block meant.
    await page.getByLabel('CIDR block').fill('127.0.0.1/8');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'the block is 127.0.0.0/8' }).waitFor();
    assert.equal(await page.getByLabel('CIDR block').getAttribute('aria-invalid'), 'true');
    await assertNoSeriousAxeViolations(page, 'call controllers with a refused block');

    await page.getByLabel('CIDR block').fill('127.0.0.0/8');
    await page.getByLabel('Note (optional)').fill('sipp as CUCM');
    // The keyboard path: Enter in the form adds.
    await page.getByLabel('Note (optional)').press('Enter');
    await page.getByRole('status').filter({ hasText: '127.0.0.0/8 is trusted now.' }).waitFor();
    await table.getByRole('cell', { name: 'sipp as CUCM' }).waitFor();
    await waitFor(async () => (await page.getByLabel('CIDR block').inputValue()) === '', {
      what: 'the form emptied after the block was added',
    });
    await saveScreenshot(page, 'admin-peers');

    // Accepted at once: the call is recorded.
    const refCi = await cucmCall();
    const [recorded] = await sessionsWhere(server, 'xRefCi', refCi);
    assert.ok(recorded !== undefined, 'the call from 127.0.0.1 was recorded once trusted');

    await page.getByRole('button', { name: 'Remove 127.0.0.0/8' }).click();
    await page.getByRole('status').filter({ hasText: '127.0.0.0/8 is no longer trusted.' }).waitFor();
    // The button went with its row: the focus is on the section's heading, not lost.
    assert.equal(await page.evaluate('document.activeElement?.id'), 'trusted-peers-heading');
    assert.equal(await table.getByRole('cell', { name: 'sipp as CUCM' }).count(), 0);
    await assertCallRefused();

    // Both changes are on the audit trail, with who made them.
    const answer = await server.api('/ora/auditService/audit/getAuditRecords?target=127.0.0.0%2F8&limit=50');
    const records = ((answer.responseBody?.records ?? []) as AuditRecord[]).reverse();
    assert.deepEqual(
      records.map((r) => [r.action, r.username, r.outcome]),
      [
        ['addTrustedPeer', 'admin', 2000],
        ['removeTrustedPeer', 'admin', 2000],
      ],
    );
    assert.equal(records[0]?.detail?.note, 'sipp as CUCM');

    // Wide screen: the page still reads well (screenshot for the eye; no overflow checked by axe).
    await page.setViewportSize({ width: 1920, height: 1080 });
    await assertNoSeriousAxeViolations(page, 'call controllers at 1920 wide');
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('shows both sections to an auditor, read-only', async () => {
    const password = 'auditor-password-1';
    const added = await server.api('/ora/userService/user/addUser', {
      requestParameters: { username: 'carol', role: 'auditor', password },
    });
    assert.equal(added.responseCode, 2000, JSON.stringify(added));
    const { page, errors } = await signedInPage(browser, server.baseUrl, '/admin/peers', 'carol', password);
    await page.getByRole('heading', { name: 'Call controllers', level: 1 }).waitFor();
    await page
      .getByRole('table', { name: /Trusted peers/ })
      .getByRole('cell', { name: CONFIGURED_PEERS })
      .waitFor();
    await page.getByText('Your role may read these blocks; an admin changes them.').waitFor();
    assert.equal(await page.getByLabel('CIDR block').count(), 0, 'no add form');
    assert.equal(await page.getByRole('button', { name: /^Remove/ }).count(), 0, 'no remove button');
    await page.getByRole('link', { name: 'Node status' }).click();
    await page.getByRole('heading', { name: 'Node status', level: 1 }).waitFor();
    await page.locator('#node-version').waitFor();
    await assertNoSeriousAxeViolations(page, 'node status for an auditor');
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('shows a call in progress under calls now, then in calls per hour, with version and uptime', async () => {
    // Loopback trusted again, through the API this time (the page's path is proven above).
    const added = await server.api('/ora/sipService/sip/addTrustedPeer', {
      requestParameters: { cidr: '127.0.0.1' },
    });
    assert.equal(added.responseCode, 2000, JSON.stringify(added));
    const recordedBefore = (await sessionsWhere(server)).length;

    const { page, errors } = await signedInPage(
      browser,
      server.baseUrl,
      '/admin/node',
      'admin',
      ADMIN_PASSWORD,
    );
    await page.getByRole('heading', { name: 'Node status', level: 1 }).waitFor();
    const callsNow = page.locator('#calls-now');
    await callsNow.waitFor();
    assert.match(await callsNow.innerText(), /^0/);
    assert.equal(await page.locator('#node-version').innerText(), `Verbatim ${VERSION}`);
    assert.match(await page.locator('#node-uptime').innerText(), /^\d+ (s|min)/);
    await page.getByText(`SIP ${String(server.sipPort)} UDP`).waitFor();

    // A call held 12 s: the page's live figures (polled every 5 s) show it while it lasts.
    await cucmCall({
      holdMs: 12_000,
      duringCall: async () => {
        await waitFor(async () => /^1/.test(await callsNow.innerText()), {
          timeoutMs: 12_000,
          what: 'calls now to show the call in progress',
        });
      },
    });
    const recorded = recordedBefore + 1;
    assert.equal((await sessionsWhere(server)).length, recorded);
    // The calls in progress changed: the page reads the hours again and counts it.
    await waitFor(async () => /^0/.test(await callsNow.innerText()), { what: 'calls now back to 0' });
    await waitFor(async () => (await page.locator('#calls-last-day').innerText()) === String(recorded), {
      what: `${String(recorded)} calls in the last 24 hours`,
    });
    await assertNoSeriousAxeViolations(page, 'node status');
    await saveScreenshot(page, 'admin-node');
    const perHour = await chartValues(page, 'Calls per hour, last 24 hours');
    assert.equal(perHour.length, 24);
    assert.equal(
      perHour.reduce((sum, n) => sum + n, 0),
      recorded,
    );
    const perDay = await chartValues(page, 'Calls per day, last 7 days');
    assert.equal(perDay.length, 7);
    assert.equal(perDay.at(-1), recorded, 'all of them today');
    // The calls were clean over loopback: no loss, drawn as 0 %.
    const loss = await chartValues(page, 'Packet loss per hour, last 24 hours');
    assert.ok(
      loss.length >= 1 && loss.every((value) => Number.isFinite(value)),
      `loss values: ${loss.join(', ')}`,
    );
    await assertNoSeriousAxeViolations(page, 'node status with its value tables open');
    await page.setViewportSize({ width: 1920, height: 1080 });
    await assertNoSeriousAxeViolations(page, 'node status at 1920 wide');
    assert.deepEqual(errors, []);
    await page.close();
  });
});
