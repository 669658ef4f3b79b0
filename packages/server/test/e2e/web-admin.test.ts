import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';

import { launchChromium } from '../support/chromium.js';
import { capture, runCucmCall } from '../support/cucm-calls.js';
import { sessionsWhere } from '../support/session-api.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import {
  assertNoSeriousAxeViolations,
  openAppPage,
  saveScreenshot,
  signedInPage,
  type AppPage,
} from '../support/web.js';

/**
 * Administration's users, storage, event subscriptions and audit log sections (issue 14 point 6)
 * in Chromium against a real node: every change made through the pages and read back through the
 * API; a user added signs in elsewhere and sees their role's view, changes role and is deleted;
 * the storage chart draws the samples the node kept (`--storage-history-interval 1`); a
 * subscription to a receiver this test runs gets the events of a sipp call and its delivery log
 * shows them; the audit log finds those changes by user and action; an auditor reaches only what
 * the role may. Each section is scanned by axe and photographed; no console error anywhere.
 */

const USER = 'sup-anna';
const USER_PASSWORD = 'anna-password-1';
/** Tags added to the recorded call: more TAG_ADDED deliveries than a page of the log. */
const TAGS = 55;

let server: RunningServer;
let work: string;
let browser: Browser;

/** What the receiver got: one JSON body per POST. */
const received: { eventType?: string; eventAction?: string }[] = [];
let receiver: Server;
let receiverUrl: string;
/** When the events test began adding its many tags (the audit screenshot shows what came before). */
let beforeTagsAt: number;

async function apiGet(path: string): Promise<Record<string, unknown>> {
  const answer = await server.api(path);
  assert.ok(answer.responseCode === 2000, `${path}: ${JSON.stringify(answer)}`);
  return answer.responseBody ?? {};
}

/** Asserts the page has no console error and closes it. */
async function done(opened: AppPage): Promise<void> {
  assert.deepEqual(opened.errors, [], 'no console errors');
  await opened.page.close();
}

function navLinks(page: Page): Promise<string[]> {
  return page.getByRole('navigation', { name: 'Administration' }).getByRole('link').allInnerTexts();
}

void describe(
  'Administration: users, storage, events, audit (Chromium, real node)',
  { timeout: 180_000 },
  () => {
    // The browser and the receiver close before the node stops (after() hooks run in order).
    before(async () => {
      browser = await launchChromium();
      receiver = createServer((request, response) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as (typeof received)[number]);
          response.writeHead(200).end();
        });
      });
      await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
      receiverUrl = `http://127.0.0.1:${String((receiver.address() as AddressInfo).port)}/events`;
    });

    after(async () => {
      await browser.close();
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    });

    // A sample of the media partition kept every second (and the agent sampling twice a second),
    // so the storage chart has points within the test's time.
    serverForSuite(
      'web-admin',
      { extraArgs: ['--storage-history-interval', '1', '--storage-interval', '0.5'] },
      (suite) => {
        ({ server, work } = suite);
      },
    );

    void it('adds a user who signs in elsewhere, changes their role, refuses what the server refuses, deletes them', async () => {
      const admin = await signedInPage(browser, server.baseUrl, '/admin/users', 'admin', ADMIN_PASSWORD);
      const { page } = admin;
      await page.getByRole('rowheader', { name: /^admin/ }).waitFor();
      assert.deepEqual(await navLinks(page), [
        'Node status',
        'Users and roles',
        'Storage',
        'Event subscriptions',
        'Call controllers',
        'Audit log',
      ]);
      await assertNoSeriousAxeViolations(page, 'users section');

      // Add a supervisor, with the keyboard's Enter in the form.
      await page.getByLabel('Name', { exact: true }).fill(USER);
      await page.getByLabel('Role', { exact: true }).selectOption('supervisor');
      await page.getByLabel('Password', { exact: true }).fill(USER_PASSWORD);
      await page.getByLabel('Password', { exact: true }).press('Enter');
      await page
        .getByRole('status')
        .filter({ hasText: `User ${USER} added with the role supervisor.` })
        .waitFor();
      await page.getByRole('rowheader', { name: USER }).waitFor();
      const users = (await apiGet('/ora/userService/user/listUsers')).users as {
        username: string;
        role: string;
      }[];
      assert.equal(users.find((u) => u.username === USER)?.role, 'supervisor');

      // The same name again: 4043, in words.
      await page.getByLabel('Name', { exact: true }).fill(USER);
      await page.getByLabel('Password', { exact: true }).fill(USER_PASSWORD);
      await page.getByRole('button', { name: 'Add user' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: `The name ${USER} is taken` })
        .waitFor();

      // The new user, in another browser context: a supervisor has no administration page.
      const other = await signedInPage(browser, server.baseUrl, '/admin', USER, USER_PASSWORD);
      await other.page.getByText('Your role (supervisor) has no administration pages.').waitFor();
      assert.equal(await other.page.locator('#signed-in-user').innerText(), USER);

      // Their role becomes auditor: after a reload they see Storage and the Audit log, not Users.
      await page.getByLabel(`Role of ${USER}`).selectOption('auditor');
      await page.getByRole('button', { name: `Change role of ${USER}` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `${USER} now has the role auditor.` })
        .waitFor();
      const changed = (await apiGet('/ora/userService/user/listUsers')).users as {
        username: string;
        role: string;
      }[];
      assert.equal(changed.find((u) => u.username === USER)?.role, 'auditor');

      await other.page.goto(`${server.baseUrl}/admin`);
      await other.page.getByRole('navigation', { name: 'Administration' }).waitFor();
      const auditorLinks = await navLinks(other.page);
      assert.ok(auditorLinks.includes('Storage') && auditorLinks.includes('Audit log'), auditorLinks.join());
      assert.ok(!auditorLinks.includes('Users and roles') && !auditorLinks.includes('Event subscriptions'));
      await other.page.goto(`${server.baseUrl}/admin/users`);
      await other.page.getByText('There is no such section, or your role may not see it.').waitFor();
      await other.page.goto(`${server.baseUrl}/admin/events`);
      await other.page.getByText('There is no such section, or your role may not see it.').waitFor();
      // Storage read-only: the policy is shown, no form to change it.
      await other.page.goto(`${server.baseUrl}/admin/storage`);
      await other.page.getByText('Your role (auditor) may read the policy but not change it.').waitFor();
      assert.equal(await other.page.getByRole('button', { name: 'Save policy' }).count(), 0);
      await assertNoSeriousAxeViolations(other.page, 'storage section as an auditor');
      // The audit log: the auditor finds their own sign-in.
      await other.page.goto(`${server.baseUrl}/admin/audit`);
      await other.page.getByLabel('User').fill(USER);
      await other.page.getByLabel('Action').fill('signIn');
      await other.page.getByRole('button', { name: 'Search' }).click();
      await other.page
        .getByRole('table', { name: 'Audit records' })
        .getByRole('cell', { name: 'signIn' })
        .first()
        .waitFor();
      await assertNoSeriousAxeViolations(other.page, 'audit section as an auditor');

      // An admin cannot take the admin role from themself (4042, in words); the choice goes back.
      await page.getByLabel('Role of admin').selectOption('api');
      await page.getByRole('button', { name: 'Change role of admin' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: 'You cannot take the admin role from yourself' })
        .waitFor();
      assert.equal(await page.getByLabel('Role of admin').inputValue(), 'admin');

      // A password change, then the deletion after a confirmation (Escape cancels it first).
      await page.getByRole('button', { name: `Set password of ${USER}` }).click();
      await page.getByLabel(`New password for ${USER}`).fill('anna-password-2');
      await page.getByRole('button', { name: 'Save password' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `The password of ${USER} was changed.` })
        .waitFor();

      await page.getByRole('button', { name: `Delete ${USER}` }).click();
      const dialog = page.getByRole('dialog', { name: `Delete ${USER}?` });
      await dialog.waitFor();
      await assertNoSeriousAxeViolations(page, 'users section, delete confirmation');
      await page.keyboard.press('Escape');
      await dialog.waitFor({ state: 'hidden' });
      assert.equal(await page.getByRole('rowheader', { name: USER }).count(), 1, 'Escape deleted nothing');
      await saveScreenshot(page, 'admin-users');

      await page.getByRole('button', { name: `Delete ${USER}` }).click();
      await dialog.getByRole('button', { name: `Delete ${USER}` }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `User ${USER} deleted.` })
        .waitFor();
      await waitFor(async () => (await page.getByRole('rowheader', { name: USER }).count()) === 0, {
        what: 'the row to go',
      });
      const left = (await apiGet('/ora/userService/user/listUsers')).users as { username: string }[];
      assert.deepEqual(
        left.map((u) => u.username),
        ['admin'],
      );
      // The deleted user's page is signed out at its next call.
      await other.page.goto(`${server.baseUrl}/admin`);
      await other.page.getByLabel('User name').waitFor();
      assert.deepEqual(
        other.errors.filter((e) => !/status of 401/.test(e)),
        [],
        'no console error but the refused request itself',
      );
      await other.page.close();
      await done(admin);
    });

    void it('shows the storage state, changes the policy (read back through the API) and charts the samples', async () => {
      const opened = await signedInPage(browser, server.baseUrl, '/admin/storage', 'admin', ADMIN_PASSWORD);
      const { page } = opened;
      await page.getByText('Level', { exact: true }).waitFor();
      await page.getByRole('heading', { name: 'Retention policy' }).waitFor();

      // A maximum age out of range cannot be sent.
      await page.getByLabel('Maximum age (days)').fill('0');
      assert.equal(await page.getByLabel('Maximum age (days)').getAttribute('aria-invalid'), 'true');
      assert.ok(await page.getByRole('button', { name: 'Save policy' }).isDisabled());

      await page.getByLabel(/^Retention priority/).check();
      await page.getByLabel('Maximum age (days)').fill('45');
      await page.getByLabel('Legal hold tag').fill('Keep-Forever');
      await page.getByRole('button', { name: 'Save policy' }).click();
      await page.getByRole('status').filter({ hasText: 'Retention policy saved' }).waitFor();
      const policy = await apiGet('/ora/storageService/storage/getStoragePolicy');
      assert.equal(policy.mode, 'RETENTION_PRIORITY');
      assert.equal(policy.maxAgeDays, 45);
      assert.equal(policy.legalHoldTag, 'Keep-Forever');
      assert.equal(policy.deleteMetadata, false);
      assert.equal(policy.updatedBy, 'admin');
      await page.getByText('45 days (recording priority prunes older sessions)').waitFor();

      // The chart of the last hour: the node kept a sample at start and then every second.
      await page.getByLabel('Window').selectOption({ label: 'Last hour' });
      await waitFor(
        async () => {
          await page.getByRole('button', { name: 'Refresh the chart' }).click();
          await page.locator('#history-count').waitFor();
          const points = Number(/^(\d+)/.exec(await page.locator('#history-count').innerText())?.[1] ?? 0);
          return points >= 3;
        },
        { timeoutMs: 20_000, what: 'three samples in the chart' },
      );
      const figure = page.getByRole('figure').filter({ hasText: 'Media partition: used and free' });
      // The chart is drawn again when the last refresh answers: its canvas may be replaced meanwhile.
      await waitFor(
        async () => {
          const box = await figure.locator('canvas').first().boundingBox();
          return box !== null && box.width > 300 && box.height > 100;
        },
        { what: 'the chart drawn' },
      );
      // Its values, also as a table: bytes used as the API answers them.
      const history = await apiGet(
        `/ora/storageService/storage/getStorageHistory?from=${Date.now() - 3_600_000}`,
      );
      const samples = history.samples as { usedBytes: number }[];
      assert.ok(samples.length >= 3 && samples.every((s) => s.usedBytes > 0));
      await figure.getByText('Media partition: used and free: the values').click();
      assert.ok((await figure.getByRole('row').count()) >= 4, 'a header and three rows at least');

      await assertNoSeriousAxeViolations(page, 'storage section');
      await saveScreenshot(page, 'admin-storage');
      await done(opened);

      // One page at a wide monitor's size.
      const wide = await openAppPage(browser, server.baseUrl, '/admin/storage', {
        width: 1920,
        height: 1080,
      });
      await wide.page.getByLabel('User name').fill('admin');
      await wide.page.getByLabel('Password').fill(ADMIN_PASSWORD);
      await wide.page.getByLabel('Password').press('Enter');
      await wide.page
        .getByRole('figure')
        .filter({ hasText: 'Media partition: used and free' })
        .locator('canvas')
        .first()
        .waitFor();
      await assertNoSeriousAxeViolations(wide.page, 'storage section at 1920 wide');
      await saveScreenshot(wide.page, 'admin-storage-1920');
      await done(wide);
    });

    void it('adds a subscription whose delivery log fills with the events of a call, then removes it', async () => {
      const opened = await signedInPage(browser, server.baseUrl, '/admin/events', 'admin', ADMIN_PASSWORD);
      const { page } = opened;
      await page.locator('#no-subscriptions').waitFor();
      await assertNoSeriousAxeViolations(page, 'events section, empty');

      // A URL with credentials in it: the server's refusal (4001), in words.
      await page.getByLabel('Receiver URL').fill('http://user:secret@127.0.0.1/events');
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page
        .getByRole('alert')
        .filter({ hasText: 'Not accepted: subscriptionUri must not carry a user name or password' })
        .waitFor();

      // Nothing checked: every type.
      await page.getByLabel('Receiver URL').fill(receiverUrl);
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Subscribed ${receiverUrl}` })
        .waitFor();
      const all = (await apiGet('/ora/eventService/event/getSubscriptions')).subscriptions as {
        subscriptionFilters: string[];
      }[];
      assert.equal(all[0]?.subscriptionFilters.length, 9, 'every event type');

      // The same URL with three types: they replace the others.
      await page.getByLabel('Receiver URL').fill(receiverUrl);
      await page.getByLabel('session started').check();
      await page.getByLabel('session ended').check();
      await page.getByLabel('tag added').check();
      await page.getByRole('button', { name: 'Subscribe' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Subscribed ${receiverUrl}` })
        .waitFor();
      await page.getByRole('rowheader', { name: new RegExp(receiverUrl) }).waitFor();
      const listed = (await apiGet('/ora/eventService/event/getSubscriptions')).subscriptions as {
        subscriptionUri: string;
        subscriptionFilters: string[];
        createdBy: string;
      }[];
      assert.deepEqual(
        listed.map((s) => [s.subscriptionUri, [...s.subscriptionFilters].sort(), s.createdBy]),
        [[receiverUrl, ['SESSION_ENDED_EVENT', 'SESSION_STARTED_EVENT', 'TAG_ADDED_EVENT'], 'admin']],
      );

      // A recorded call: STARTED and ENDED reach the receiver.
      const refCi = await runCucmCall(server, work, {
        near: { pcapPath: capture(work, 'near', 'PCMU', 440, 1) },
        far: { pcapPath: capture(work, 'far', 'PCMU', 880, 1) },
      });
      const [recorded] = await sessionsWhere(server, 'xRefCi', refCi);
      assert.ok(recorded !== undefined, 'the call was recorded');
      // Then more tags than a page of the delivery log (50): TAG_ADDED each.
      beforeTagsAt = Date.now();
      for (let i = 1; i <= TAGS; i++) {
        const tagged = await server.api('/ora/managementService/manage/addSessionTag', {
          requestParameters: { sessionId: recorded.sessionId, tagName: `Review-${String(i)}` },
        });
        assert.equal(tagged.responseCode, 2000);
      }
      await waitFor(
        () =>
          received.some((e) => e.eventAction === 'STARTED') &&
          received.some((e) => e.eventAction === 'ENDED') &&
          received.filter((e) => e.eventType === 'TAG_EVENT').length === TAGS,
        { timeoutMs: 30_000, what: 'STARTED, ENDED and the tags at the receiver' },
      );

      // The delivery log opens from the keyboard.
      await page.getByRole('button', { name: `Delivery log of ${receiverUrl}` }).focus();
      await page.keyboard.press('Enter');
      const log = page.getByRole('region', { name: `Delivery log of ${receiverUrl}` });
      // Newest first: the first page is 50 tag deliveries.
      await log.getByRole('cell', { name: 'TAG_EVENT/ADDED' }).first().waitFor();
      assert.equal(await log.locator('tbody tr').count(), 50);
      assert.equal(await log.getByRole('cell', { name: 'Delivered (HTTP 200)' }).count(), 50);
      assert.equal(
        await page
          .getByRole('button', { name: `Delivery log of ${receiverUrl}` })
          .getAttribute('aria-expanded'),
        'true',
      );
      await assertNoSeriousAxeViolations(page, 'events section with a delivery log');
      await saveScreenshot(page, 'admin-events');
      // The older page (beforeId): the rest of the tags, then the call's ENDED and STARTED.
      await log.getByRole('button', { name: 'Older attempts' }).click();
      await log.getByRole('cell', { name: 'SESSION_EVENT/STARTED' }).waitFor();
      await log.getByRole('cell', { name: 'SESSION_EVENT/ENDED' }).waitFor();
      assert.equal(await log.locator('tbody tr').count(), TAGS + 2);
      await log.getByText('That is every attempt kept').waitFor();

      await page.getByRole('button', { name: `Remove ${receiverUrl}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Remove this subscription?' });
      await dialog.getByRole('button', { name: 'Remove subscription' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Subscription of ${receiverUrl} removed` })
        .waitFor();
      await page.locator('#no-subscriptions').waitFor();
      const after = await server.api('/ora/eventService/event/getSubscriptions');
      assert.deepEqual(after.responseBody?.subscriptions, []);
      await done(opened);
    });

    void it('finds those changes in the audit log by user and action, newest first', async () => {
      const opened = await signedInPage(browser, server.baseUrl, '/admin/audit', 'admin', ADMIN_PASSWORD);
      const { page } = opened;
      const table = page.getByRole('table', { name: 'Audit records' });
      await table.waitFor();

      // The log up to the many tags, by a link with the search in it: the users, storage and
      // subscription changes, and the refusals.
      await page.goto(`${server.baseUrl}/admin/audit?to=${String(beforeTagsAt)}`);
      await table.getByRole('cell', { name: 'setStoragePolicy' }).waitFor();
      assert.notEqual(await page.getByLabel('To', { exact: true }).inputValue(), '');
      assert.equal(await table.getByRole('cell', { name: 'addSessionTag' }).count(), 0);
      await assertNoSeriousAxeViolations(page, 'audit section');
      await saveScreenshot(page, 'admin-audit');
      await page.getByRole('button', { name: 'Clear' }).click();
      await table.getByRole('cell', { name: 'addSessionTag' }).first().waitFor();

      const search = async (username: string, action: string) => {
        await page.getByLabel('User').fill(username);
        await page.getByLabel('Action').fill(action);
        await page.getByRole('button', { name: 'Search' }).click();
      };

      /** Waits for the answer to the search: rows of admin's `action` only (the server filters). */
      const onlyRows = (action: string) =>
        waitFor(
          async () => {
            const users = await table.locator('tbody tr td:nth-child(2)').allInnerTexts();
            const actions = await table.locator('tbody tr td:nth-child(3)').allInnerTexts();
            return (
              actions.length > 0 &&
              actions.every((a) => a === action) &&
              users.every((u) => u === 'admin (admin)')
            );
          },
          { what: `only admin's ${action} rows` },
        );

      await search('admin', 'addUser');
      await onlyRows('addUser');
      await table.getByRole('cell', { name: USER }).first().waitFor();
      const outcomes = await table.locator('tbody tr td:nth-child(5)').allInnerTexts();
      assert.deepEqual(
        [...outcomes].sort(),
        ['2000 ok', '4043 failed'],
        'the add, and the refused second one',
      );

      await search('admin', 'setStoragePolicy');
      await onlyRows('setStoragePolicy');
      await table.getByRole('cell', { name: /maxAgeDays: 60 -> 45/ }).waitFor();
      // The search is in the address: a reload (or a shared link) shows the same records.
      assert.match(page.url(), /\/admin\/audit\?user=admin&action=setStoragePolicy$/);
      await page.reload();
      await onlyRows('setStoragePolicy');
      assert.equal(await page.getByLabel('Action').inputValue(), 'setStoragePolicy');
      await search('admin', 'updateUser');
      await onlyRows('updateUser');
      await table.getByRole('cell', { name: /role: auditor/ }).waitFor();
      await table.getByRole('cell', { name: 'password: changed' }).waitFor();
      await search('admin', 'deleteUser');
      await onlyRows('deleteUser');
      await table.getByRole('cell', { name: USER }).waitFor();
      await search('admin', 'subscribeToEvents');
      await onlyRows('subscribeToEvents');
      await table.getByRole('cell', { name: /outcome: created/ }).waitFor();
      await table.getByRole('cell', { name: /TAG_ADDED_EVENT; outcome: replaced/ }).waitFor();
      await search('admin', 'removeSubscription');
      await onlyRows('removeSubscription');

      // More records than a page (100): the next page is asked for with beforeId.
      // (getSessionBySessionId: every call is recorded; a polled getAllActiveSessions is not.)
      for (let i = 0; i < 130; i++) {
        const answer = await server.api(
          '/ora/queryService/query/getSessionBySessionId?value=00000000000000ff',
        );
        assert.equal(answer.responseCode, 2001);
      }
      await search('admin', 'getSessionBySessionId');
      await onlyRows('getSessionBySessionId');
      await page.getByText('100 records, newest first; more are older.').waitFor();
      const firstPage = await table.locator('tbody tr').count();
      assert.equal(firstPage, 100);
      await page.getByRole('button', { name: 'Older records' }).click();
      await page.getByText('130 records, newest first.').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Older records' }).count(), 0);
      assert.equal(await table.locator('tbody tr').count(), 130, 'the older page appended');

      // Nothing for an unknown user: the empty state.
      await search('nobody-at-all', '');
      await page.locator('#no-audit-records').waitFor();

      // A time window: the last hour holds the policy change, one from 2099 nothing.
      await page.getByLabel('Quick range').selectOption({ label: 'Last hour' });
      assert.notEqual(await page.getByLabel('From', { exact: true }).inputValue(), '');
      await search('admin', 'setStoragePolicy');
      await table.getByRole('cell', { name: /maxAgeDays: 60 -> 45/ }).waitFor();
      await page.getByLabel('From', { exact: true }).fill('2099-01-01T00:00:00');
      await search('admin', 'setStoragePolicy');
      await page.locator('#no-audit-records').waitFor();

      await page.getByRole('button', { name: 'Clear' }).click();
      await table.locator('tbody tr').first().waitFor();
      const times = await table.locator('tbody tr td:nth-child(1)').allInnerTexts();
      assert.ok(times.length > 5);
      await assertNoSeriousAxeViolations(page, 'audit section, two pages');
      await done(opened);
    });
  },
);
