import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Session } from '../../src/model/session.js';
import { AGENT_LIMITS } from '../../src/api/agent-routes.js';
import { AGENT_KEEPALIVE_TIMEOUT_MS } from '../../src/model/agent.js';
import { idsOf, startApiOverSqlite, type ApiOverSqlite, type EnvelopeJson } from '../support/api-client.js';
import { startedBetween } from '../support/get-sessions-bodies.js';
import { sampleSession } from '../support/fake-repository.js';

/**
 * Agent information (issue 11) over real HTTP on SQLite: the gadget's START / KEEPALIVE / STOP
 * calls, the interval rules (a new START ends the previous one, an interval without KEEPALIVE
 * ends at its last one), the link to participants by extension and time (before, during and
 * after a sign-in, a call already recording at START, two agents one after the other), the
 * agent fields of the session JSON, queries by agent, the signIn hints and hostile input.
 */

const MINUTE = 60_000;
// Two hours ago: every interval below is over (or expired) by now, except where a test says.
const T = Date.now() - 120 * MINUTE;
const AGENT = '/ora/agentService/agent';
const QUERY = '/ora/queryService/query';
const SIGN_IN = '/ora/authenticationService/authentication/signIn';

interface ParticipantOut {
  deviceRef: string;
  loginId?: string;
  loginName?: string;
  agentFirstName?: string;
  agentLastName?: string;
}

/** A session with one participant, `ext`, from minute `from` to minute `to` after T (open: ACTIVE). */
function call(id: string, ext: string, from: number, to?: number): Session {
  const base: Session = sampleSession({
    sessionId: id,
    sessionStartDate: T + from * MINUTE,
    ccid: id,
    ...(to === undefined ? { sessionState: 'ACTIVE' as const } : {}),
  });
  const [track] = base.tracks;
  assert.ok(track !== undefined);
  return {
    ...base,
    ...(to === undefined ? {} : { sessionDuration: (to - from) * MINUTE }),
    tracks: [
      {
        ...track,
        participants: [
          {
            deviceRef: ext,
            isConference: false,
            participantStartDate: T + from * MINUTE,
            ...(to === undefined ? {} : { participantDuration: (to - from) * MINUTE }),
          },
        ],
      },
    ],
  };
}

const identity = (loginId: string, extension: string) => ({
  loginId,
  loginName: `${loginId}.name`,
  firstName: `First${loginId}`,
  lastName: `Last${loginId}`,
  extension,
});

void describe('agent information over HTTP and SQLite (issue 11)', () => {
  let api: ApiOverSqlite;

  before(async () => {
    api = await startApiOverSqlite('verbatim-api-agents-');
  });

  after(async () => {
    await api.close();
  });

  const agentOf = async (sessionId: string): Promise<ParticipantOut> => {
    const answer = (await api.get(`${QUERY}/getSessionBySessionId`, {
      value: sessionId,
    })) as unknown as EnvelopeJson<{
      sessions: { tracks: { participants: ParticipantOut[] }[] }[];
    }>;
    const participant = answer.responseBody?.sessions[0]?.tracks[0]?.participants[0];
    assert.ok(participant !== undefined, `session ${sessionId} found`);
    return participant;
  };

  const signInHints = async (): Promise<Record<string, unknown>> => {
    const answer = (await api.anonymous(SIGN_IN, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'client', password: 'client-pw' } }),
    })) as unknown as Record<string, unknown>;
    assert.equal(answer.responseCode, 2000);
    const hints = { ...answer };
    delete hints.responseCode;
    delete hints.responseMessage;
    return hints;
  };

  void it('signIn hints: archive search and in-browser playback; agent data only once an agent signed in', async () => {
    assert.deepEqual(await signInHints(), { archiveSearchEnabled: true, inbrowserPlaybackEnabled: true });
    assert.equal(
      (await api.post(`${AGENT}/startAgentSession`, { requestParameters: identity('hint', '9') }))
        .responseCode,
      2000,
    );
    assert.deepEqual(await signInHints(), {
      archiveSearchEnabled: true,
      inbrowserPlaybackEnabled: true,
      agentDataDisplayConfig: { loginIdDisplayConfig: true, loginNameDisplayConfig: true },
    });
  });

  void it('START, KEEPALIVE and STOP over HTTP: a call recording at the extension carries the agent while signed in', async () => {
    await api.repository.createSession(call('live', '5150', 115));
    assert.deepEqual(await agentOf('live'), {
      deviceRef: '5150',
      isConference: false,
      participantStartDate: T + 115 * MINUTE,
    });
    const start = await api.post(`${AGENT}/startAgentSession`, {
      requestParameters: identity('4711', '5150'),
    });
    assert.deepEqual(start, { responseCode: 2000, responseMessage: 'Successful' });
    const live = await agentOf('live');
    assert.deepEqual(
      [live.loginId, live.loginName, live.agentFirstName, live.agentLastName],
      ['4711', '4711.name', 'First4711', 'Last4711'],
      'a call already recording at START carries the agent',
    );
    const keepAlive = await api.post(`${AGENT}/keepAliveAgentSession`, {
      requestParameters: identity('4711', '5150'),
    });
    assert.deepEqual(keepAlive.responseBody, { restarted: false });
    const stop = await api.post(`${AGENT}/stopAgentSession`, { requestParameters: { loginId: '4711' } });
    assert.deepEqual(stop.responseBody, { closed: 1 });
    const again = await api.post(`${AGENT}/stopAgentSession`, { requestParameters: { loginId: '4711' } });
    assert.deepEqual(
      [again.responseCode, again.responseBody],
      [2000, { closed: 0 }],
      'a repeated STOP is harmless',
    );
    assert.equal(
      (await agentOf('live')).loginId,
      '4711',
      'the call overlapped the interval, and keeps the agent',
    );
    // A KEEPALIVE with nothing open (the node lost the interval) opens a new one.
    const lost = await api.post(`${AGENT}/keepAliveAgentSession`, {
      requestParameters: identity('4711', '5150'),
    });
    assert.deepEqual(lost.responseBody, { restarted: true });
    await api.post(`${AGENT}/stopAgentSession`, { requestParameters: { loginId: '4711' } });
  });

  void describe('linking by extension and time', () => {
    before(async () => {
      const r = api.repository;
      // Agent A at 1000 from minute 10 to 20 (a keepalive at 13); then B at 1000 from 30 to 40.
      await r.startAgentInterval(identity('A', '1000'), T + 10 * MINUTE);
      await r.keepAliveAgentInterval(identity('A', '1000'), T + 13 * MINUTE);
      await r.stopAgentInterval('A', T + 20 * MINUTE);
      await r.startAgentInterval(identity('B', '1000'), T + 30 * MINUTE);
      await r.keepAliveAgentInterval(identity('B', '1000'), T + 36 * MINUTE);
      await r.stopAgentInterval('B', T + 40 * MINUTE);
      // C at 2000 from 50, a keepalive at 52, then silence: the interval ended at 52.
      await r.startAgentInterval(identity('C', '2000'), T + 50 * MINUTE);
      await r.keepAliveAgentInterval(identity('C', '2000'), T + 52 * MINUTE);
      // D at 3000 from 70, again at 3001 from 74: the first interval ended at 74.
      await r.startAgentInterval(identity('D', '3000'), T + 70 * MINUTE);
      await r.startAgentInterval(identity('D', '3001'), T + 74 * MINUTE);
      await r.keepAliveAgentInterval(identity('D', '3001'), T + 77 * MINUTE);
      // A STOP after a silence longer than the timeout: the interval ended at 77, not at 90.
      await r.stopAgentInterval('D', T + 90 * MINUTE);
      for (const session of [
        call('before', '1000', 0, 5),
        call('spans-start', '1000', 8, 12),
        call('during', '1000', 12, 15),
        call('after', '1000', 22, 25),
        call('second-agent', '1000', 32, 35),
        call('spans-both', '1000', 18, 33),
        call('other-ext', '1001', 12, 15),
        call('before-expiry', '2000', 51, 53),
        call('after-expiry', '2000', 60, 62),
        call('first-start', '3000', 72, 73),
        call('after-restart-old-ext', '3000', 75, 76),
        call('after-restart-new-ext', '3001', 75, 76),
        call('after-late-stop', '3001', 85, 86),
      ]) {
        await r.createSession(session);
      }
    });

    void it('gives each participant the agent signed in at its deviceRef during the call, or none', async () => {
      const expected: Record<string, string | undefined> = {
        before: undefined,
        'spans-start': 'A',
        during: 'A',
        after: undefined,
        'second-agent': 'B',
        // Both agents were signed in during the call: the one signed in when it began.
        'spans-both': 'A',
        'other-ext': undefined,
        'before-expiry': 'C',
        'after-expiry': undefined,
        'first-start': 'D',
        'after-restart-old-ext': undefined,
        'after-restart-new-ext': 'D',
        'after-late-stop': undefined,
      };
      const actual: Record<string, string | undefined> = {};
      for (const id of Object.keys(expected)) {
        actual[id] = (await agentOf(id)).loginId;
      }
      assert.deepEqual(actual, expected);
      assert.ok(AGENT_KEEPALIVE_TIMEOUT_MS < 8 * MINUTE, 'C expired: no keepalive for 68 minutes');
    });

    const getSessions = (fieldName: string, fieldOperator: string, value: string) =>
      api.post(`${QUERY}/getSessions`, {
        requestParameters: [
          { ...startedBetween(T, T + 100 * MINUTE), paramConnector: 'AND' },
          { fieldName, fieldConditions: [{ fieldOperator, fieldValues: [value] }] },
        ],
      });

    void it('getSessions finds sessions by loginId and loginName (equals, contains, startsWith, notEquals)', async () => {
      assert.deepEqual(idsOf(await getSessions('loginId', 'equals', 'A')), [
        'spans-both',
        'during',
        'spans-start',
      ]);
      assert.deepEqual(idsOf(await getSessions('loginId', 'equals', 'B')), ['second-agent', 'spans-both']);
      assert.deepEqual(idsOf(await getSessions('LOGINNAME', 'contains', 'C.na')), ['before-expiry']);
      assert.deepEqual(idsOf(await getSessions('loginName', 'startsWith', 'D.')), [
        'after-restart-new-ext',
        'first-start',
      ]);
      assert.equal(idsOf(await getSessions('loginId', 'equals', 'a')), 2001, 'compared case-sensitively');
      const withoutA = idsOf(await getSessions('loginId', 'notEquals', 'A'));
      assert.ok(Array.isArray(withoutA) && withoutA.includes('before') && !withoutA.includes('during'));
      const ranged = await getSessions('loginId', 'greaterThan', 'A');
      assert.equal(ranged.responseCode, 4032, 'no lexicographic ranges on agent fields');
      assert.match(ranged.detail ?? ranged.responseMessage, /loginId|greaterThan/);
    });

    void it('getSessionsByLoginId: by value or loginId, in a window, 2001 for nobody, 4002 without a key', async () => {
      assert.deepEqual(idsOf(await api.get(`${QUERY}/getSessionsByLoginId`, { value: 'A' })), [
        'spans-both',
        'during',
        'spans-start',
      ]);
      assert.deepEqual(
        idsOf(
          await api.get(`${QUERY}/getSessionsByLoginId`, {
            loginId: 'A',
            maxSessionStartDate: T + 10 * MINUTE,
          }),
        ),
        ['spans-start'],
      );
      assert.equal(idsOf(await api.get(`${QUERY}/getSessionsByLoginId`, { value: 'nobody' })), 2001);
      assert.equal((await api.get(`${QUERY}/getSessionsByLoginId`)).responseCode, 4002);
    });
  });

  void describe('hostile input', () => {
    const start = (params: Record<string, unknown>) =>
      api.post(`${AGENT}/startAgentSession`, { requestParameters: params });

    void it('refuses bad identities with 4001 (4002 when a parameter is missing), naming the parameter', async () => {
      const cases: [Record<string, unknown>, number, RegExp][] = [
        [{ ...identity('x', '1'), loginId: 'two words' }, 4001, /loginId/],
        [{ ...identity('x', '1'), loginId: '' }, 4001, /loginId/],
        [{ ...identity('x', '1'), loginId: 'x'.repeat(AGENT_LIMITS.loginId + 1) }, 4001, /loginId/],
        [{ ...identity('x', '1'), loginName: 'n'.repeat(AGENT_LIMITS.loginName + 1) }, 4001, /loginName/],
        [{ ...identity('x', '1'), lastName: 'evil\u0000name' }, 4001, /lastName/],
        [{ ...identity('x', '1'), firstName: 'line\nbreak' }, 4001, /firstName/],
        [{ ...identity('x', '1'), extension: "1000' or 1=1" }, 4001, /extension/],
        [{ ...identity('x', '1'), extension: 'e'.repeat(AGENT_LIMITS.extension + 1) }, 4001, /extension/],
        [{ ...identity('x', '1'), extension: 1000 }, 2000, /.*/],
        [{ ...identity('x', '1'), loginName: { nested: true } }, 4001, /loginName/],
        [{ loginId: 'x', loginName: 'x' }, 4002, /extension/],
      ];
      for (const [params, code, detail] of cases) {
        const answer = await start(params);
        assert.equal(answer.responseCode, code, JSON.stringify(params));
        if (code !== 2000) {
          assert.match(answer.detail ?? '', detail, JSON.stringify(params));
        }
      }
      const stop = await api.post(`${AGENT}/stopAgentSession`, { requestParameters: {} });
      assert.equal(stop.responseCode, 4002);
      const notJson = await api.post(`${AGENT}/keepAliveAgentSession`, 'START');
      assert.ok([4000, 4001, 4002].includes(notJson.responseCode), `got ${notJson.responseCode}`);
    });

    void it('needs the control permission: a supervisor is refused, an anonymous caller must sign in', async () => {
      const supervisor = await api.postAs('supervisor', `${AGENT}/startAgentSession`, {
        requestParameters: identity('sup', '1'),
      });
      assert.equal(supervisor.responseCode, 4022);
      const anonymous = await api.anonymous(`${AGENT}/startAgentSession`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestParameters: identity('anon', '1') }),
      });
      assert.equal(anonymous.responseCode, 4021);
    });
  });
});
