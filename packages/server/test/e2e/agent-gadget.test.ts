import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page } from 'playwright-core';

import { capture } from '../support/cucm-calls.js';
import { EventReceiver } from '../support/event-receiver.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { sessionsQuery, type SessionJson } from '../support/session-api.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';
import { launchChromium } from '../support/chromium.js';

/**
 * The Finesse AgentInfo gadget (issue 11) as served by a real node, run in Chromium inside a page
 * that stands in for the Finesse container: a fake `finesse` library (the agent, its state and
 * its handlers) and the gadgets.* calls the gadget uses, whose makeRequest goes through Node as
 * Finesse's gadget proxy would (server side: no CORS, `set-cookie` handed back). The gadget signs
 * in, sends START, KEEPALIVE (every second here, by its keepAliveSeconds preference) and STOP; a
 * sipp call on the agent's extension meanwhile is found by the agent's login id and carries it.
 * It retries each period while the node is unreachable, signs in again when its API session ends
 * (4021), and stops for good on bad credentials (4020).
 */

const AGENT_USER = 'finesse-gadget';
const AGENT_PASSWORD = 'gadget-password-1';
let server: RunningServer;
let work: string;
let browser: Browser;
let receiver: EventReceiver | undefined;
/** What the gadget sent through the proxy and the node answered (responseCode; 502 when failed). */
const proxied: { api: string; jsessionId?: string; code: number }[] = [];

interface AuditRecord {
  action: string;
  username: string;
  target?: string;
  outcome: number;
}

async function auditOf(username: string): Promise<AuditRecord[]> {
  const answer = await server.api(
    `/ora/auditService/audit/getAuditRecords?username=${encodeURIComponent(username)}&limit=500`,
  );
  return ((answer.responseBody?.records ?? []) as AuditRecord[]).reverse();
}

/** The container page: the shims, then the gadget's own Content HTML, then the hub's onConnect. */
function containerPage(
  content: string,
  prefs: Record<string, string>,
  agent: Record<string, string>,
): string {
  // finesse.js and jQuery come from the Finesse server; the fake below stands in for them.
  const gadgetHtml = content.replace(/<script[^>]*\bsrc="[^"]*"[^>]*><\/script>/g, '');
  const shim = `
    window.PREFS = ${JSON.stringify(prefs)};
    window.AGENT = ${JSON.stringify(agent)};
    window.agentState = 'NOT_READY';
    window.gadgets = {
      Prefs: function () { this.getString = function (name) { return window.PREFS[name] || ''; }; },
      io: {
        RequestParameters: { METHOD: 'METHOD', CONTENT_TYPE: 'CONTENT_TYPE', HEADERS: 'HEADERS', POST_DATA: 'POST_DATA' },
        MethodType: { POST: 'POST' },
        ContentType: { JSON: 'JSON' },
        makeRequest: function (url, callback, options) {
          window.finesseProxy(url, options.METHOD, options.HEADERS, options.POST_DATA).then(function (r) {
            var data = null;
            try { data = JSON.parse(r.text); } catch (e) { data = null; }
            callback({ rc: r.status, data: data, text: r.text, headers: r.setCookie ? { 'set-cookie': [r.setCookie] } : {} });
          }, function (error) { callback({ rc: 500, data: null, errors: [String(error)] }); });
        }
      },
      HubSettings: {}
    };
    window.finesse = {
      gadget: { Config: { id: window.AGENT.id } },
      clientservices: { ClientServices: { init: function () {} } },
      restservices: {
        User: function (options) {
          var user = this;
          user.getId = function () { return window.AGENT.id; };
          user.getLoginName = function () { return window.AGENT.loginName; };
          user.getFirstName = function () { return window.AGENT.firstName; };
          user.getLastName = function () { return window.AGENT.lastName; };
          user.getExtension = function () { return window.AGENT.extension; };
          user.getState = function () { return window.agentState; };
          window.setAgentState = function (state) { window.agentState = state; options.onChange(user); };
          setTimeout(function () { options.onLoad(user); }, 0);
        }
      }
    };`;
  return `<!DOCTYPE html><html><body><script>${shim}</script>${gadgetHtml}<script>gadgets.HubSettings.onConnect();</script></body></html>`;
}

/**
 * Opens the gadget in a new page; the proxy fails the first `failFirst` requests (the node seems
 * down: HTTP 502 without an envelope), as Finesse's proxy answers when it cannot reach the node.
 */
async function openGadget(
  prefs: Record<string, string>,
  agent: Record<string, string>,
  failFirst = 0,
): Promise<Page> {
  let failures = failFirst;
  const xml = await (await fetch(`${server.baseUrl}/ora/gadget_agentInfo/MSAgentInfoGadget.xml`)).text();
  const content = /<Content type="html"><!\[CDATA\[([\s\S]*)\]\]><\/Content>/.exec(xml)?.[1];
  assert.ok(content !== undefined, 'the gadget has HTML content');
  const defaultUrl = /<UserPref name="verbatimUrl" datatype="hidden" default_value="([^"]*)"/.exec(xml)?.[1];
  const page = await browser.newPage();
  // Finesse's gadget proxy: the request is made by the server, which hands back set-cookie.
  await page.exposeFunction(
    'finesseProxy',
    async (url: string, method: string, headers: Record<string, string>, body: string) => {
      const api = url.split('/').at(-1) ?? url;
      const jsessionId = headers['JSESSIONID'];
      if (failures > 0) {
        failures--;
        proxied.push({ api, code: 502 });
        return { status: 502, text: 'Bad Gateway', setCookie: null };
      }
      const response = await fetch(url, { method, headers, body });
      const text = await response.text();
      const code = /"responseCode":\s*(\d+)/.exec(text)?.[1];
      proxied.push({ api, code: Number(code ?? 0), ...(jsessionId === undefined ? {} : { jsessionId }) });
      return { status: response.status, text, setCookie: response.headers.get('set-cookie') };
    },
  );
  await page.setContent(containerPage(content, { verbatimUrl: defaultUrl ?? '', ...prefs }, agent));
  return page;
}

const statusOf = (page: Page) => page.locator('#verbatim-agent-status').innerText();

void describe('the Finesse AgentInfo gadget in Chromium against a real node', { timeout: 60_000 }, () => {
  serverForSuite('agent-gadget', { mediaTimeoutSeconds: 10 }, (suite) => {
    ({ server, work } = suite);
  });

  before(async () => {
    browser = await launchChromium();
    const added = await server.api('/ora/userService/user/addUser', {
      requestParameters: { username: AGENT_USER, role: 'api', password: AGENT_PASSWORD },
    });
    assert.equal(added.responseCode, 2000, JSON.stringify(added));
  });

  after(async () => {
    await browser.close();
    await receiver?.stop();
  });

  void it('START on sign-in, KEEPALIVE, STOP on sign-out; a call on the extension is found by login id and carries the agent', async () => {
    const loginId = `agent${Date.now() % 1_000_000}`;
    const extension = `7${String(Date.now() % 100_000).padStart(5, '0')}`;
    const page = await openGadget(
      { username: AGENT_USER, password: AGENT_PASSWORD, keepAliveSeconds: '1' },
      { id: loginId, loginName: `${loginId}@example`, firstName: 'Ada', lastName: 'Lovelace', extension },
    );
    await waitFor(async () => (await statusOf(page)).includes(`linked to ${loginId}`), {
      what: 'START answered',
    });
    await waitFor(
      async () =>
        (await auditOf(AGENT_USER)).some((r) => r.action === 'keepAliveAgentSession' && r.outcome === 2000),
      { what: 'a KEEPALIVE', timeoutMs: 10_000 },
    );

    // An integrator's receiver takes the session events of the call.
    receiver = await EventReceiver.start();
    const subscribed = await server.api('/ora/eventService/event/subscribeToEvents', {
      requestParameters: {
        subscriptionUri: receiver.url('/agent'),
        subscriptionFilters: ['RECORDING_EVENTS'],
      },
    });
    assert.equal(subscribed.responseCode, 2000, JSON.stringify(subscribed));

    const { callId } = await runGenericCall(server, work, {
      name: 'agent-gadget',
      scenario: genericSipScenario({
        fromUser: extension,
        toUser: '8005550100',
        audioLines: 1,
        pcapPath: capture(work, 'agent-gadget', 'PCMU', 700, 2),
        holdMs: 2300,
      }),
      holdMs: 2300,
    });

    // The agent signs out on the desktop (a string: the test's TypeScript has no DOM types).
    await page.evaluate("window.setAgentState('LOGOUT')");
    await waitFor(async () => (await statusOf(page)).startsWith('Signed out'), { what: 'STOP answered' });

    const records = await auditOf(AGENT_USER);
    const actions = records.filter((r) => r.target === loginId).map((r) => r.action);
    assert.equal(actions[0], 'startAgentSession');
    assert.equal(actions.at(-1), 'stopAgentSession');
    assert.ok(actions.includes('keepAliveAgentSession'));
    assert.ok(
      records.every((r) => r.outcome === 2000),
      JSON.stringify(records),
    );

    // Found by the agent's login id, through getSessions and the simple query, after the STOP.
    const query = sessionsQuery() as { requestParameters: Record<string, unknown>[] };
    const byLogin = await waitFor(
      async () => {
        const answer = await server.api('/ora/queryService/query/getSessions', {
          requestParameters: [
            { ...query.requestParameters[0], paramConnector: 'AND' },
            { fieldName: 'loginId', fieldConditions: [{ fieldOperator: 'equals', fieldValues: [loginId] }] },
          ],
        });
        const sessions = (answer.responseBody?.sessions ?? []) as SessionJson[];
        return sessions.length > 0 && sessions.every((s) => s.sessionState !== 'ACTIVE')
          ? sessions
          : undefined;
      },
      { what: `the closed session of ${loginId}`, timeoutMs: 15_000 },
    );
    assert.deepEqual(
      byLogin.map((s) => s.ccid),
      [callId],
    );
    const simple = await server.api(`/ora/queryService/query/getSessionsByLoginId?value=${loginId}`);
    assert.deepEqual(
      ((simple.responseBody?.sessions ?? []) as SessionJson[]).map((s) => s.ccid),
      [callId],
    );

    const participants = byLogin[0]!.tracks.flatMap((t) => t.participants) as unknown as Record<
      string,
      unknown
    >[];
    const agentSide = participants.find((p) => p.deviceRef === extension);
    assert.deepEqual(
      agentSide && [
        agentSide.loginId,
        agentSide.loginName,
        agentSide.agentFirstName,
        agentSide.agentLastName,
      ],
      [loginId, `${loginId}@example`, 'Ada', 'Lovelace'],
    );
    const farSide = participants.find((p) => p.deviceRef === '8005550100');
    assert.ok(farSide !== undefined && !('loginId' in farSide), 'the far end carries no agent');

    // The call's events carry the agent too: STARTED came while the agent was signed in.
    const events = await receiver.waitFor(
      '/agent',
      (received) =>
        received.some((e) => e.json.eventAction === 'ENDED' && e.json.eventBody['ccid'] === callId),
      'SESSION_EVENT ENDED of the agent call',
    );
    for (const action of ['STARTED', 'ENDED']) {
      const event = events.find((e) => e.json.eventAction === action && e.json.eventBody['ccid'] === callId);
      const tracks = (event?.json.eventBody['tracks'] ?? []) as { participants: Record<string, unknown>[] }[];
      const agent = tracks.flatMap((t) => t.participants).find((p) => p['deviceRef'] === extension);
      assert.deepEqual(
        agent && [agent['loginId'], agent['loginName']],
        [loginId, `${loginId}@example`],
        action,
      );
    }

    // The signIn hints now show agent data.
    const signIn = await fetch(`${server.baseUrl}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: AGENT_USER, password: AGENT_PASSWORD } }),
    });
    assert.deepEqual(((await signIn.json()) as Record<string, unknown>).agentDataDisplayConfig, {
      loginIdDisplayConfig: true,
      loginNameDisplayConfig: true,
    });
    await page.close();
  });

  void it('the node unreachable at first (502): the gadget says so, retries each period, then signs the agent in', async () => {
    proxied.length = 0;
    const opened = Date.now();
    const page = await openGadget(
      { username: AGENT_USER, password: AGENT_PASSWORD, keepAliveSeconds: '1' },
      { id: 'retrier', loginName: 'retrier', firstName: 'Re', lastName: 'Try', extension: '7998' },
      2,
    );
    await waitFor(async () => (await statusOf(page)).includes('retrying in 1 s'), {
      what: 'the retry message',
    });
    assert.match(await statusOf(page), /^Verbatim START failed \(sign-in failed\); retrying in 1 s\.$/);
    await waitFor(async () => (await statusOf(page)).includes('linked to retrier'), {
      what: 'START after the retries',
      timeoutMs: 10_000,
    });
    // Two failed sign-ins, one period apart each, then the sign-in and START: no hot loop.
    assert.deepEqual(
      proxied.slice(0, 4).map((r) => [r.api, r.code]),
      [
        ['signIn', 502],
        ['signIn', 502],
        ['signIn', 2000],
        ['startAgentSession', 2000],
      ],
    );
    assert.ok(Date.now() - opened >= 2000, 'two retry periods passed before the START');
    await page.evaluate("window.setAgentState('LOGOUT')");
    await waitFor(async () => (await statusOf(page)).startsWith('Signed out'), { what: 'STOP answered' });
    await page.close();
  });

  void it('its API session ended on the node (4021): the gadget signs in again and carries on', async () => {
    proxied.length = 0;
    const page = await openGadget(
      { username: AGENT_USER, password: AGENT_PASSWORD, keepAliveSeconds: '1' },
      { id: 'resigner', loginName: 'resigner', firstName: 'Re', lastName: 'Sign', extension: '7997' },
    );
    await waitFor(async () => (await statusOf(page)).includes('linked to resigner'), { what: 'START' });
    const first = proxied.find((r) => r.api === 'startAgentSession')?.jsessionId;
    assert.ok(first !== undefined, JSON.stringify(proxied));
    // The session expires on the node as an idle one would: signed out behind the gadget's back.
    const signOut = await fetch(`${server.baseUrl}/ora/authenticationService/authentication/signOut`, {
      method: 'POST',
      headers: { cookie: `JSESSIONID=${first}` },
      body: JSON.stringify({ requestParameters: {} }),
    });
    assert.equal(((await signOut.json()) as { responseCode: number }).responseCode, 2000);
    const resumed = await waitFor(
      () => {
        const at = proxied.findIndex((r) => r.code === 4021);
        return at >= 0 && proxied.length >= at + 3 ? proxied.slice(at) : undefined;
      },
      { what: 'a KEEPALIVE refused with 4021, a sign-in and the KEEPALIVE again', timeoutMs: 10_000 },
    );
    assert.deepEqual(
      resumed.slice(0, 3).map((r) => [r.api, r.code]),
      [
        ['keepAliveAgentSession', 4021],
        ['signIn', 2000],
        ['keepAliveAgentSession', 2000],
      ],
    );
    assert.notEqual(resumed[2]?.jsessionId, first, 'a new API session');
    assert.match(await statusOf(page), /linked to resigner/);
    await page.evaluate("window.setAgentState('LOGOUT')");
    await waitFor(async () => (await statusOf(page)).startsWith('Signed out'), { what: 'STOP answered' });
    await page.close();
  });

  void it('bad credentials (4020): the gadget stops, says why, and does not retry', async () => {
    const page = await openGadget(
      { username: AGENT_USER, password: 'wrong', keepAliveSeconds: '1' },
      { id: 'refused', loginName: 'refused', firstName: '', lastName: '', extension: '7999' },
    );
    await waitFor(async () => (await statusOf(page)).includes('4020'), { what: 'the 4020 message' });
    const refusedSignIns = async () =>
      (await auditOf(AGENT_USER)).filter((r) => r.action === 'signIn' && r.outcome === 4020).length;
    assert.equal(await refusedSignIns(), 1);
    // A retry would come after the one-second period; three periods pass without one.
    await page.waitForTimeout(3000);
    assert.equal(await refusedSignIns(), 1, 'no retry after 4020');
    assert.match(await statusOf(page), /refused the gadget credentials \(4020\)/);
    await page.close();
  });
});
