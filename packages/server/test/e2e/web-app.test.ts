import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify from 'fastify';
import type { Browser } from 'playwright-core';

import { registerWebApp } from '../../src/api/web-app.js';

import { capture, runCucmCall } from '../support/cucm-calls.js';
import { sessionsWhere } from '../support/session-api.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from '../support/chromium.js';
import { assertNoSeriousAxeViolations, openAppPage, saveScreenshot, signInWithForm } from '../support/web.js';

/**
 * The web app (issue 14, first increment) as a real node serves it, in Chromium: the static files
 * and their cache headers, sign-in refused then accepted, the signed-in user and the recent
 * sessions (one recorded from a sipp call), the idle warning and idle sign-out (idle time
 * shortened with `?idleSeconds=`), sign-out, and no console error on the way.
 */

let server: RunningServer;
let work: string;
let browser: Browser;

void describe('the web app in Chromium against a real node', { timeout: 60_000 }, () => {
  // The browser's hooks first: after() hooks run in order, so it is closed before the node stops
  // (a node also stops with browsers connected: api-shutdown.test.ts).
  before(async () => {
    browser = await launchChromium();
  });

  after(async () => {
    await browser.close();
  });

  serverForSuite('web-app', {}, (suite) => {
    ({ server, work } = suite);
  });

  void it('serves the app at / and /admin with its cache headers, beside the API', async () => {
    for (const path of ['/', '/admin', '/admin/users', '/search/x']) {
      const response = await fetch(`${server.baseUrl}${path}`);
      assert.equal(response.status, 200, path);
      assert.match(response.headers.get('content-type') ?? '', /^text\/html/, path);
      assert.equal(response.headers.get('cache-control'), 'no-cache', path);
      const html = await response.text();
      assert.match(html, /<div id="app">/, path);
      const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
      assert.ok(script !== undefined, `${path} names its bundle`);
      const asset = await fetch(`${server.baseUrl}${script}`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('content-type') ?? '', /^text\/javascript/);
      assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    }
    const traversal = await fetch(`${server.baseUrl}/assets/..%2f..%2fpackage.json`);
    assert.equal(traversal.status, 404);
    // The API is still there, next to the app.
    const openapi = await fetch(`${server.baseUrl}/ora/openapi.json`);
    assert.equal(openapi.status, 200);
    const unknown = await fetch(`${server.baseUrl}/nothing-here`);
    assert.equal(unknown.status, 404);
  });

  void it('answers a page saying how to build the app when it was not built', async () => {
    const app = Fastify();
    registerWebApp(app, `${work}/no-such-dist`);
    try {
      for (const url of ['/', '/admin']) {
        const response = await app.inject({ url });
        assert.equal(response.statusCode, 503);
        assert.match(String(response.headers['content-type']), /^text\/html/);
        assert.match(response.body, /The web app was not built/);
        assert.match(response.body, /npm run build/);
      }
    } finally {
      await app.close();
    }
  });

  void it('refuses a wrong password, signs in, lists a recorded session and signs out', async () => {
    const refCi = await runCucmCall(server, work, {
      near: { pcapPath: capture(work, 'near', 'PCMU', 440, 1) },
      far: { pcapPath: capture(work, 'far', 'PCMU', 880, 1) },
    });
    const [recorded] = await sessionsWhere(server, 'xRefCi', refCi);
    assert.ok(recorded !== undefined, 'the call was recorded');

    const { page, errors } = await openAppPage(browser, server.baseUrl, '/');
    await page.getByLabel('User name').waitFor();
    await assertNoSeriousAxeViolations(page, 'sign-in page');
    await signInWithForm(page, 'admin', 'not-the-password');
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    await assertNoSeriousAxeViolations(page, 'sign-in page with an error');
    await saveScreenshot(page, 'sign-in-refused');

    await signInWithForm(page, 'admin', ADMIN_PASSWORD);
    assert.equal(await page.locator('#signed-in-user').innerText(), 'admin');
    await page.getByRole('heading', { name: 'Search and Play' }).waitFor();
    await page.getByRole('link', { name: recorded.sessionId }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('status').filter({ hasText: 'You have signed out.' }).waitFor();
    // The server ended the API session too: the cookie the page held is refused now.
    const cookie = (await page.context().cookies()).find((c) => c.name === 'JSESSIONID');
    assert.ok(cookie === undefined || cookie.value === '' || !(await sessionAccepted(cookie.value)));
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it('sends a page whose API session ended elsewhere back to sign-in, saying it expired', async () => {
    const { page, errors } = await openAppPage(browser, server.baseUrl, '/');
    await signInWithForm(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('heading', { name: 'Search and Play' }).waitFor();
    // The API session ends behind the page's back (another tab signed out, or the node forgot it).
    const cookie = (await page.context().cookies()).find((c) => c.name === 'JSESSIONID');
    assert.ok(cookie !== undefined && cookie.value !== '');
    const ended = await fetch(`${server.baseUrl}/ora/authenticationService/authentication/signOut`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        cookie: `JSESSIONID=${cookie.value}`,
      },
      body: '{"requestParameters":{}}',
    });
    assert.equal(((await ended.json()) as { responseCode: number }).responseCode, 2000);
    assert.equal(await sessionAccepted(cookie.value), false);
    // The page still believes it is signed in; its next API call is refused with 4021.
    await page.reload();
    await page
      .getByRole('status')
      .filter({ hasText: 'Your session has expired. Please sign in again.' })
      .waitFor();
    assert.equal(await page.getByLabel('User name').count(), 1, 'the sign-in form again');
    assert.deepEqual(
      errors.filter((error) => !/status of 401/.test(error)),
      [],
      'no console error but the refused request itself',
    );
    await page.close();
  });

  void it('warns before the idle sign-out, then signs out', async () => {
    const { page, errors } = await openAppPage(browser, server.baseUrl, '/admin?idleSeconds=3');
    await signInWithForm(page, 'admin', ADMIN_PASSWORD);
    await page.getByRole('navigation', { name: 'Administration' }).waitFor();
    const signedInAt = Date.now();
    await page.locator('#idle-warning').waitFor({ timeout: 5_000 });
    await page
      .getByRole('status')
      .filter({ hasText: 'You were signed out after a period of inactivity.' })
      .waitFor({ timeout: 5_000 });
    assert.ok(Date.now() - signedInAt >= 2_500, 'not signed out before the idle time');
    await waitFor(async () => (await page.getByLabel('User name').count()) === 1, {
      what: 'the sign-in form again',
    });
    assert.deepEqual(errors, []);
    await page.close();
  });
});

/** Whether the node still accepts this JSESSIONID. */
async function sessionAccepted(jsessionId: string): Promise<boolean> {
  const response = await fetch(`${server.baseUrl}/ora/queryService/query/getSessions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie: `JSESSIONID=${jsessionId}` },
    body: '{"requestParameters":[]}',
  });
  const envelope = (await response.json()) as { responseCode: number };
  return envelope.responseCode !== 4021;
}
