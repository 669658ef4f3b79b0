import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capture } from '../support/cucm-calls.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { serverForSuite, type RunningServer, type ApiResponse } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Tags on a session being recorded (issue 10): SIPp places a plain SIP call; while it is ACTIVE a
 * client finds it with getSessionsByDeviceRef, adds a session tag and a time-bound tag, deletes
 * one, and finds the session by its tag; the tags stay with the session once the call has ended.
 */

interface TagJson {
  tagName: string;
  tagType: string;
  tagOffset?: number;
}
interface SessionJson {
  sessionId: string;
  sessionState: string;
  tags: TagJson[];
}

let server: RunningServer;
let work: string;

const QUERY = '/ora/queryService/query';
const MANAGE = '/ora/managementService/manage';

function sessionsOf(answer: ApiResponse): SessionJson[] {
  return (answer.responseBody?.['sessions'] as SessionJson[] | undefined) ?? [];
}

async function byDevice(deviceRef: string): Promise<SessionJson[]> {
  return sessionsOf(await server.api(`${QUERY}/getSessionsByDeviceRef?value=${deviceRef}`));
}

describe('session tags on a recording in progress (sipp, verbatim serve)', { timeout: 120_000 }, () => {
  serverForSuite('tags', { mediaTimeoutSeconds: 10 }, (suite) => {
    ({ server, work } = suite);
  });

  it('adds and deletes user tags while the call is ACTIVE; they stay after it ends', async () => {
    const fromUser = `7${String(Date.now() % 1_000_000).padStart(6, '0')}`;
    const call = runGenericCall(server, work, {
      name: 'tags',
      scenario: genericSipScenario({
        fromUser,
        toUser: '4000',
        audioLines: 1,
        pcapPath: capture(work, 'tags', 'PCMU', 700, 6),
        holdMs: 6500,
      }),
      holdMs: 6500,
    });
    const active = await waitFor(
      async () => (await byDevice(fromUser)).find((s) => s.sessionState === 'ACTIVE'),
      {
        timeoutMs: 15_000,
        what: `the ACTIVE session of ${fromUser}`,
      },
    );
    const { sessionId } = active;
    const tag = (api: string, requestParameters: Record<string, unknown>) =>
      server.api(`${MANAGE}/${api}`, { requestParameters: { sessionId, ...requestParameters } });

    assert.equal((await tag('addSessionTag', { tagName: 'QM:Review' })).responseCode, 2000);
    assert.equal((await tag('addSessionTag', { tagName: 'QM:Moment', tagOffset: 1200 })).responseCode, 2000);
    assert.equal((await tag('addSessionTag', { tagName: 'QM:Drop', tagOffset: 900 })).responseCode, 2000);
    assert.equal((await tag('deleteSessionTag', { tagName: 'qm:drop' })).responseCode, 2000);
    const tagged = sessionsOf(await server.api(`${QUERY}/getSessionsByTag?value=qm:review`));
    assert.deepEqual(
      tagged.map((s) => [s.sessionId, s.sessionState]),
      [[sessionId, 'ACTIVE']],
    );

    const { callId } = await call;
    assert.match(callId, /^tags-/);
    const closed = await waitFor(
      async () => (await byDevice(fromUser)).find((s) => s.sessionState !== 'ACTIVE'),
      {
        timeoutMs: 15_000,
        what: 'the closed session',
      },
    );
    assert.equal(closed.sessionId, sessionId);
    assert.equal(closed.sessionState, 'CLOSED_NORMAL');
    assert.deepEqual(
      closed.tags.map((t) => [t.tagName, t.tagType, t.tagOffset]),
      [
        ['QM:Review', 'USER_DEFINED', undefined],
        ['QM:Moment', 'USER_DEFINED', 1200],
      ],
    );
    // On the closed session too: delete the time-bound one at its offset.
    assert.equal(
      (await tag('deleteSessionTag', { tagName: 'QM:MOMENT', tagOffset: 1200 })).responseCode,
      2000,
    );
    const after = sessionsOf(await server.api(`${QUERY}/getSessionBySessionId?value=${sessionId}`));
    assert.deepEqual(
      after[0]?.tags.map((t) => t.tagName),
      ['QM:Review'],
    );
  });
});
