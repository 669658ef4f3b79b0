import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';

import { dominantFrequencyHz, rmsLevel } from '../support/audio.js';
import { capture, FAR_HZ, findSessionByRefCi, NEAR_HZ, runCucmCall } from '../support/cucm-calls.js';
import type { SessionJson } from '../support/session-api.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from '../support/chromium.js';
import { assertNoSeriousAxeViolations, saveScreenshot, signedInPage, type AppPage } from '../support/web.js';

/**
 * Search and Play (issue 14, points 3 and 5) in Chromium against a real node, on sessions sipp
 * records as CUCM calls with distinct numbers, tags, durations and an agent: searches by several
 * fields show exactly the sessions they should; sorting by duration both ways; paging with a
 * small page size; the URL gives the same results on reload and back; a health-problem search; a
 * call that starts while the page is open appears, is listened to live from the page (state,
 * delay, both parties' tones reaching the player) and leaves the live list when it ends.
 */

const AGENT = '/ora/agentService/agent';
const ADD_TAG = '/ora/managementService/manage/addSessionTag';

interface Call {
  readonly name: string;
  readonly near: string;
  readonly far: string;
  readonly holdMs: number;
  readonly tag: string;
  /** The far end sends no media: a one-sided call with a track that stored no packet. */
  readonly silentFar?: true;
}

/** Durations far enough apart that the sessions sort the same whatever the SIP timing. */
const CALLS: readonly Call[] = [
  { name: 'A', near: '2001', far: '3001', holdMs: 2500, tag: 'billing' },
  { name: 'B', near: '2002', far: '3002', holdMs: 6500, tag: 'complaint' },
  { name: 'C', near: '2003', far: '3001', holdMs: 4500, tag: 'billing' },
  { name: 'D', near: '2004', far: '3004', holdMs: 1000, tag: 'silent', silentFar: true },
];

let server: RunningServer;
let work: string;
let browser: Browser;
/** Session id of each call, by name. */
const ids = new Map<string, string>();
const refCis = new Map<string, string>();
const starts = new Map<string, number>();

/** Orders call names as their sessions started, newest first. */
function newestFirst(a: string, b: string): number {
  return (starts.get(b) ?? 0) - (starts.get(a) ?? 0);
}

function idOf(name: string): string {
  const id = ids.get(name);
  assert.ok(id !== undefined, `call ${name} was recorded`);
  return id;
}

/** What the in-page player keeps for tests (packages/web/src/api/live.ts). */
interface LiveTestStatus {
  frames: number[];
  delaysMs: number[];
  sampleRateHz: number[];
  audioState: string;
  samples(channel: number): number[];
}

/** The session ids of the result rows, in order, once the page is not searching. */
async function rowIds(page: Page): Promise<string[]> {
  await page.locator('.results[aria-busy="false"], #no-sessions').first().waitFor();
  // A string, not a function: this file is compiled without the DOM's types.
  return page.evaluate<string[]>(
    "[...document.querySelectorAll('table.results tbody tr')].map((row) => row.getAttribute('data-session-id') ?? '')",
  );
}

/** Waits until the result rows are exactly these calls, in this order. */
async function expectRows(page: Page, names: readonly string[], what: string): Promise<void> {
  const expected = names.map(idOf);
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await rowIds(page);
        return last.join() === expected.join();
      },
      { timeoutMs: 10_000, what },
    );
  } catch {
    const named = last.map((id) => [...ids].find(([, v]) => v === id)?.[0] ?? id);
    assert.deepEqual(named, names, `${what} (at ${page.url()})`);
  }
}

/** The form's fields that are a choice from a list. */
const SELECTS = new Set(['State', 'Call controller', 'Health']);

/** Fills the form's fields (by label) after clearing it, and submits with Enter. */
async function searchFor(page: Page, fields: Readonly<Record<string, string>>): Promise<void> {
  await page.getByRole('button', { name: 'Clear' }).click();
  // Clear goes to `/`: the form shows the empty search once it renders it (data-search="").
  await page.locator('form[data-search=""]').waitFor();
  await page.getByLabel('Last hour').check();
  for (const [label, value] of Object.entries(fields)) {
    const field = page.getByLabel(label, { exact: true });
    if (SELECTS.has(label)) {
      await field.selectOption(value);
    } else {
      await field.fill(value);
    }
  }
  await page.getByLabel('Number or device').press('Enter');
}

void describe('Search and Play in Chromium against a real node', { timeout: 240_000 }, () => {
  before(async () => {
    browser = await launchChromium();
  });
  after(async () => {
    await browser.close();
  });

  serverForSuite('web-search', { mediaTimeoutSeconds: 10 }, (suite) => {
    ({ server, work } = suite);
  });

  before(async () => {
    // An agent signed in at 2002 during call B.
    const started = await server.api(`${AGENT}/startAgentSession`, {
      requestParameters: {
        loginId: '4711',
        loginName: 'ada',
        firstName: 'Ada',
        lastName: 'Lovelace',
        extension: '2002',
      },
    });
    assert.equal(started.responseCode, 2000, JSON.stringify(started));
    await Promise.all(
      CALLS.map(async (call) => {
        const seconds = call.holdMs / 1000 + 1;
        const refCi = await runCucmCall(server, work, {
          numbers: { near: call.near, far: call.far },
          near: {
            pcapPath: capture(work, `near-${call.name}`, 'PCMU', NEAR_HZ, seconds),
            holdMs: call.holdMs,
          },
          far:
            call.silentFar === true
              ? { holdMs: call.holdMs }
              : { pcapPath: capture(work, `far-${call.name}`, 'PCMU', FAR_HZ, seconds), holdMs: call.holdMs },
        });
        refCis.set(call.name, refCi);
        const session = await findSessionByRefCi(server, refCi, (s) => s.sessionState.startsWith('CLOSED'));
        ids.set(call.name, session.sessionId);
        starts.set(call.name, session.sessionStartDate);
        const tagged = await server.api(ADD_TAG, {
          requestParameters: { sessionId: session.sessionId, tagName: call.tag },
        });
        assert.equal(tagged.responseCode, 2000, JSON.stringify(tagged));
      }),
    );
  });

  void it('searches by several fields and shows exactly the matching sessions', async () => {
    const { page, errors } = await signedInPage(browser, server.baseUrl, '/', 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Search and Play' }).waitFor();

    await searchFor(page, { 'Number or device': '3001' });
    await expectRows(page, ['C', 'A'].sort(newestFirst), 'a number: both calls with 3001, newest first');
    assert.match(page.url(), /[?&]device=3001/, 'the search is in the URL');

    await searchFor(page, { 'Number or device': '3001', Tag: 'BILLING', 'Duration from (s)': '4' });
    await expectRows(page, ['C'], 'a number, a tag (any case) and a minimum duration');

    await searchFor(page, { xRefCi: refCis.get('B')! });
    await expectRows(page, ['B'], 'an xRefCi');
    const rowB = page.locator(`tr[data-session-id="${idOf('B')}"]`);
    assert.match(await rowB.innerText(), /2002\s+Ada Lovelace/, 'the agent shows beside its number');
    assert.match(await rowB.innerText(), /complaint/, 'the tag shows');

    await searchFor(page, { Agent: 'ada' });
    await expectRows(page, ['B'], 'an agent by login name');
    await searchFor(page, { Agent: '4711', 'Call controller': 'Cisco-CUCM', State: 'CLOSED_NORMAL' });
    await expectRows(page, ['B'], 'an agent by login id, a controller type and a state');

    await searchFor(page, { 'Duration to (s)': '3.9', 'Duration from (s)': '2' });
    await expectRows(page, ['A'], 'a duration range');

    await searchFor(page, { 'Number or device': 'nobody' });
    await page.locator('#no-sessions').waitFor();
    assert.match(await page.locator('#no-sessions').innerText(), /No session matches this search/);

    // A custom range, typed as local date and time: around the calls, then one ending before it starts.
    const local = (ms: number) => {
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
      return d.toISOString().slice(0, 16);
    };
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.locator('form[data-search=""]').waitFor();
    await page.getByLabel('Custom').check();
    await page.getByLabel('From', { exact: true }).fill(local(Date.now() - 15 * 60_000));
    await page.getByLabel('To', { exact: true }).fill(local(Date.now() + 15 * 60_000));
    await page.getByLabel('To', { exact: true }).press('Enter');
    await expectRows(page, ['A', 'B', 'C', 'D'].sort(newestFirst), 'a custom range around the calls');
    await page.getByLabel('From', { exact: true }).fill(local(Date.now() + 15 * 60_000));
    await page.getByLabel('To', { exact: true }).fill(local(Date.now() - 15 * 60_000));
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'The custom range starts after it ends.' }).waitFor();

    // The link of a row opens its session page.
    await searchFor(page, { Tag: 'complaint' });
    await expectRows(page, ['B'], 'a tag');
    await page.getByRole('link', { name: new RegExp(idOf('B')) }).click();
    await page.waitForURL(`**/search/sessions/${idOf('B')}`);
    await page.goBack();
    await expectRows(page, ['B'], 'back to the search');
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('sorts by duration both ways, pages with a small page size, and keeps it all in the URL', async () => {
    const { page, errors } = await signedInPage(
      browser,
      server.baseUrl,
      '/?range=hour',
      'admin',
      ADMIN_PASSWORD,
    );
    await expectRows(page, ['C', 'B', 'A', 'D'].sort(newestFirst), 'the last hour, newest first');
    const header = page.locator('th', { hasText: 'Duration' });
    await page.getByRole('link', { name: /^Duration, sort/ }).click();
    await expectRows(page, ['B', 'C', 'A', 'D'], 'longest first');
    assert.equal(await header.getAttribute('aria-sort'), 'descending');
    await page.getByRole('link', { name: /^Duration, sort/ }).press('Enter');
    await expectRows(page, ['D', 'A', 'C', 'B'], 'shortest first');
    assert.equal(await header.getAttribute('aria-sort'), 'ascending');
    assert.equal(await page.locator('th', { hasText: 'Started' }).getAttribute('aria-sort'), 'none');
    await assertNoSeriousAxeViolations(page, 'Search and Play with results');
    await saveScreenshot(page, 'search-and-play');

    // Two rows a page: the next page is known by asking one row more than shown.
    await page.goto(`${server.baseUrl}/?range=hour&sort=sessionDuration&order=asc&size=2`);
    await expectRows(page, ['D', 'A'], 'page 1 of 2');
    assert.equal(await page.getByRole('link', { name: 'Previous page' }).count(), 0);
    await page.getByRole('link', { name: 'Next page' }).click();
    await expectRows(page, ['C', 'B'], 'page 2 of 2');
    assert.match(page.url(), /page=2/);
    assert.equal(await page.getByRole('link', { name: 'Next page' }).count(), 0, 'no third page');
    await page.reload();
    await expectRows(page, ['C', 'B'], 'the same page after a reload');
    await page.goBack();
    await expectRows(page, ['D', 'A'], 'back to page 1');
    await page.goForward();
    await expectRows(page, ['C', 'B'], 'forward to page 2');
    // A page size from the list starts again at page 1.
    await page.getByLabel('Rows per page').selectOption('25');
    await expectRows(page, ['D', 'A', 'C', 'B'], 'all four on one page');
    assert.match(page.url(), /size=25|^(?!.*size=)/);

    // The same page on a wide monitor: nothing runs off the side.
    await page.setViewportSize({ width: 1920, height: 1080 });
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `no horizontal scroll at 1920 wide (${overflow} px over)`);
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('finds the sessions with a health problem, and those without', async () => {
    const { page, errors } = await signedInPage(browser, server.baseUrl, '/', 'admin', ADMIN_PASSWORD);
    await searchFor(page, { Health: 'one-sided' });
    await expectRows(page, ['D'], 'the one-sided call');
    const mark = page.locator(`tr[data-session-id="${idOf('D')}"] .health`);
    assert.match(
      await mark.innerText(),
      /Problems: .*One-sided/,
      'the problem is written, not only coloured',
    );
    await searchFor(page, { Health: 'ok' });
    await expectRows(page, ['C', 'B', 'A'].sort(newestFirst), 'the calls without a problem');
    assert.match(await page.locator(`tr[data-session-id="${idOf('A')}"] .health`).innerText(), /OK/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('shows a new call live, listens to it from the page, and sees it end', async (t) => {
    const opened: AppPage = await signedInPage(
      browser,
      server.baseUrl,
      '/?range=hour',
      'admin',
      ADMIN_PASSWORD,
    );
    const { page, errors } = opened;
    await page.locator('.live-count').filter({ hasText: 'No call in progress.' }).waitFor();
    const holdMs = 14_000;
    let heard: { left: number; right: number; leftRms: number; rightRms: number } | undefined;
    let liveId = '';
    const refCi = await runCucmCall(server, work, {
      numbers: { near: '2005', far: '3005' },
      near: { pcapPath: capture(work, 'near-live', 'PCMU', NEAR_HZ, holdMs / 1000 + 1), holdMs },
      far: { pcapPath: capture(work, 'far-live', 'PCMU', FAR_HZ, holdMs / 1000 + 1), holdMs },
      duringCall: async (refCi) => {
        const active = await findSessionByRefCi(
          server,
          refCi,
          (s) => s.sessionState === 'ACTIVE' && s.tracks.length === 2,
        );
        liveId = active.sessionId;
        // It appears without a reload: in the live list, and as an ACTIVE row of the results.
        const item = page.locator(`.live-list li[data-session-id="${liveId}"]`);
        await item.waitFor({ timeout: 10_000 });
        await page
          .locator(`tr[data-session-id="${liveId}"] .state`)
          .filter({ hasText: 'Active' })
          .waitFor({ timeout: 10_000 });
        // One click listens.
        await item.getByRole('button', { name: /Listen live to 2005/ }).click();
        const start = page.getByRole('button', { name: 'Start audio' });
        if (await start.isVisible()) {
          await start.click();
        }
        await page.locator('#live-state').filter({ hasText: 'Live' }).waitFor({ timeout: 10_000 });
        await waitFor(
          async () => {
            const frames = await page.evaluate(
              () =>
                (globalThis as unknown as { verbatimLive?: LiveTestStatus }).verbatimLive?.frames ?? [0, 0],
            );
            return frames[0]! >= 60 && frames[1]! >= 60;
          },
          { timeoutMs: 15_000, what: 'three seconds of audio on both channels' },
        );
        assert.match(await page.locator('#live-delay').innerText(), /^\d+ ms$/, 'the delay is shown');
        const status = await page.evaluate(() => {
          // Runs in the page (this file is compiled without the DOM's types).
          const s = (globalThis as unknown as { verbatimLive?: LiveTestStatus }).verbatimLive;
          if (s === undefined) {
            throw new Error('no live player on the page');
          }
          return {
            audioState: s.audioState,
            rates: [...s.sampleRateHz],
            delays: [...s.delaysMs],
            left: s.samples(0).slice(-16_000),
            right: s.samples(1).slice(-16_000),
          };
        });
        assert.equal(status.audioState, 'running', 'the page plays (its audio context runs)');
        assert.deepEqual(status.rates, [8000, 8000]);
        const left = Int16Array.from(status.left);
        const right = Int16Array.from(status.right);
        heard = {
          left: dominantFrequencyHz(left, 8000),
          right: dominantFrequencyHz(right, 8000),
          leftRms: rmsLevel(left),
          rightRms: rmsLevel(right),
        };
        const worst = Math.max(...status.delays);
        t.diagnostic(`live delay over ${status.delays.length} frames: worst ${Math.round(worst)} ms`);
        assert.ok(worst < 1000, `every frame plays within a second of reaching the recorder: ${worst} ms`);
        await assertNoSeriousAxeViolations(page, 'Search and Play with the live player');
        await saveScreenshot(page, 'search-live');
        await page
          .locator('#live-state')
          .filter({ hasText: 'Ended' })
          .waitFor({ timeout: holdMs + 15_000 });
      },
    });
    assert.ok(heard !== undefined);
    assert.ok(
      heard.leftRms > 500 && heard.rightRms > 500,
      `both channels carry sound: ${JSON.stringify(heard)}`,
    );
    assert.ok(Math.abs(heard.left - NEAR_HZ) <= 10, `left is the near end's ${NEAR_HZ} Hz: ${heard.left} Hz`);
    assert.ok(Math.abs(heard.right - FAR_HZ) <= 10, `right is the far end's ${FAR_HZ} Hz: ${heard.right} Hz`);

    // Once it ends: out of the live list, and closed in the results, without a reload.
    const closed = await findSessionByRefCi(
      server,
      refCi,
      (s: SessionJson) => s.sessionState === 'CLOSED_NORMAL',
    );
    assert.equal(closed.sessionId, liveId);
    await page
      .locator(`.live-list li[data-session-id="${liveId}"]`)
      .waitFor({ state: 'detached', timeout: 10_000 });
    await page.locator('.live-count').filter({ hasText: 'No call in progress.' }).waitFor();
    await page
      .locator(`tr[data-session-id="${liveId}"] .state`)
      .filter({ hasText: 'Closed' })
      .waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: 'Close player' }).click();
    assert.equal(await page.locator('.live-player').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
