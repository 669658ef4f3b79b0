import { describe, it, before, after, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import type { HttpApiOptions } from '../../../src/api/http-api.js';
import { hashPassword } from '../../../src/api/passwords.js';
import { FakeRepository, sampleSession } from '../../support/fake-repository.js';
import { CLOSED_STATES_CLAUSE, startedBetween } from '../../support/get-sessions-bodies.js';
import { buildTestHttpApi } from '../../support/http-api-harness.js';

const INVALID_SESSION =
  'Failure: Invalid session. The session may have expired. Sign in again or enter a valid JSESSIONID.';
const SIGN_IN = '/ora/authenticationService/authentication/signIn';
const SIGN_OUT = '/ora/authenticationService/authentication/signOut';
const SYSTEM_TIME = '/ora/infoService/info/getSystemTime';
const BY_ID = '/ora/queryService/query/getSessionBySessionId';
const ACTIVE = '/ora/queryService/query/getAllActiveSessions';
const GET_SESSIONS = '/ora/queryService/query/getSessions';
const T0 = 1_700_000_000_000;
const MINUTE_MS = 60_000;

let passwordHash = '';
before(async () => {
  passwordHash = await hashPassword('pw-alice');
});

interface Harness {
  app: FastifyInstance;
  repository: FakeRepository;
  clock: { nowMs: number };
}

async function harness(overrides: Partial<HttpApiOptions> = {}): Promise<Harness> {
  const repository = new FakeRepository();
  await repository.createUser({ username: 'alice', role: 'api', passwordHash, createdAt: 0 });
  const clock = { nowMs: T0 + 10 * MINUTE_MS };
  const app = await buildTestHttpApi({
    repository,
    advertise: '192.0.2.10',
    now: () => clock.nowMs,
    ...overrides,
  });
  return { app, repository, clock };
}

function json(response: LightMyRequestResponse): Record<string, unknown> {
  assert.match(String(response.headers['content-type']), /^application\/json/);
  return response.json<Record<string, unknown>>();
}

async function signIn(
  app: FastifyInstance,
  username = 'alice',
  password = 'pw-alice',
): Promise<LightMyRequestResponse> {
  return app.inject({ method: 'POST', url: SIGN_IN, payload: { requestParameters: { username, password } } });
}

/** Signs in and returns the JSESSIONID from the Set-Cookie header. */
async function sessionId(app: FastifyInstance): Promise<string> {
  const response = await signIn(app);
  const match = /^JSESSIONID=([0-9a-f]{32});/.exec(String(response.headers['set-cookie']));
  assert.ok(match?.[1], `no JSESSIONID cookie in ${String(response.headers['set-cookie'])}`);
  return match[1];
}

void describe('HTTP API: authentication', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => {
    await h.app.close();
  });

  void it('signs in with 2000 "Successful", the client hints and a JSESSIONID cookie', async () => {
    const response = await signIn(h.app);
    assert.equal(response.statusCode, 200);
    // No agent has signed in (AgentInfo gadget): agentDataDisplayConfig is omitted, as false.
    assert.deepEqual(json(response), {
      responseCode: 2000,
      responseMessage: 'Successful',
      archiveSearchEnabled: true,
      inbrowserPlaybackEnabled: true,
    });
    assert.match(String(response.headers['set-cookie']), /^JSESSIONID=[0-9a-f]{32}; Path=\/; HttpOnly$/);
  });

  void it('marks the cookie Secure when the node serves TLS', async () => {
    await h.app.close();
    h = await harness({ tls: true });
    const response = await signIn(h.app);
    assert.match(String(response.headers['set-cookie']), /; HttpOnly; Secure$/);
  });

  void it('reads the sign-in parameter names case-insensitively', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: SIGN_IN,
      payload: { RequestParameters: { UserName: 'alice', PASSWORD: 'pw-alice' } },
    });
    assert.equal(json(response).responseCode, 2000);
  });

  for (const [name, username, password] of [
    ['a wrong password', 'alice', 'nope'],
    ['an unknown user', 'mallory', 'pw-alice'],
  ] as const) {
    void it(`refuses ${name} with 4020 and no cookie`, async () => {
      const response = await signIn(h.app, username, password);
      assert.equal(response.statusCode, 200);
      assert.deepEqual(json(response), {
        responseCode: 4020,
        responseMessage: 'Failure: Sign in failed. The username or password is incorrect.',
      });
      assert.equal(response.headers['set-cookie'], undefined);
    });
  }

  void it('answers a sign-in without credentials with 4002 naming the parameter', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: SIGN_IN,
      payload: { requestParameters: { username: 'alice' } },
    });
    const body = json(response);
    assert.equal(body.responseCode, 4002);
    assert.match(String(body.detail), /password/);
  });

  void it('answers malformed JSON with an envelope and HTTP 200, not a fastify error page', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: SIGN_IN,
      headers: { 'content-type': 'application/json' },
      payload: '{"requestParameters": {',
    });
    assert.equal(response.statusCode, 200);
    const body = json(response);
    assert.equal(body.responseCode, 4000);
    assert.equal(body.responseMessage, 'Failure: The request is malformed.');
    assert.match(String(body.detail), /not valid JSON/);
  });

  void it('parses a JSON body sent with another content type', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: SIGN_IN,
      headers: { 'content-type': 'text/plain' },
      payload: JSON.stringify({ requestParameters: { username: 'alice', password: 'pw-alice' } }),
    });
    assert.equal(json(response).responseCode, 2000);
  });

  void describe('4021 for a missing, unknown or expired session', () => {
    void it('without any JSESSIONID', async () => {
      const response = await h.app.inject({ method: 'GET', url: SYSTEM_TIME });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(json(response), { responseCode: 4021, responseMessage: INVALID_SESSION });
    });

    void it('with an unknown JSESSIONID cookie', async () => {
      await sessionId(h.app);
      const response = await h.app.inject({
        method: 'GET',
        url: SYSTEM_TIME,
        headers: { cookie: `JSESSIONID=${'0'.repeat(32)}` },
      });
      assert.deepEqual(json(response), { responseCode: 4021, responseMessage: INVALID_SESSION });
    });

    void it('with an unknown bare JSESSIONID header', async () => {
      const response = await h.app.inject({
        method: 'GET',
        url: SYSTEM_TIME,
        headers: { jsessionid: 'deadbeef' },
      });
      assert.equal(json(response).responseCode, 4021);
    });

    void it('after 30 minutes idle by the injected clock, the expiry sliding with each request', async () => {
      const id = await sessionId(h.app);
      const ask = async (): Promise<unknown> =>
        json(await h.app.inject({ method: 'GET', url: SYSTEM_TIME, headers: { cookie: `JSESSIONID=${id}` } }))
          .responseCode;
      h.clock.nowMs += 29 * MINUTE_MS;
      assert.equal(await ask(), 2000);
      h.clock.nowMs += 29 * MINUTE_MS;
      assert.equal(await ask(), 2000, 'the idle timer restarts on each request');
      h.clock.nowMs += 30 * MINUTE_MS;
      assert.equal(await ask(), 4021);
    });

    void it('after signOut', async () => {
      const id = await sessionId(h.app);
      const out = await h.app.inject({ method: 'POST', url: SIGN_OUT, headers: { jsessionid: id } });
      assert.deepEqual(json(out), { responseCode: 2000, responseMessage: 'Successful' });
      assert.match(String(out.headers['set-cookie']), /^JSESSIONID=; Path=\/; Max-Age=0/);
      const response = await h.app.inject({ method: 'GET', url: SYSTEM_TIME, headers: { jsessionid: id } });
      assert.equal(json(response).responseCode, 4021);
    });

    void it('on signOut itself without a session', async () => {
      const response = await h.app.inject({ method: 'POST', url: SIGN_OUT });
      assert.equal(json(response).responseCode, 4021);
    });
  });

  void it('accepts the session as a cookie among others or as a bare JSESSIONID header', async () => {
    const id = await sessionId(h.app);
    for (const headers of [{ cookie: `lang=en; JSESSIONID=${id}` }, { jsessionid: id }]) {
      const response = await h.app.inject({ method: 'GET', url: SYSTEM_TIME, headers });
      assert.deepEqual(json(response), {
        responseCode: 2000,
        responseMessage: 'Success: Your request was successfully completed.',
        responseBody: { currentSystemTime: String(h.clock.nowMs) },
      });
    }
  });

  void it('answers an unknown API with HTTP 404 and a 4004 envelope', async () => {
    const response = await h.app.inject({
      method: 'GET',
      url: '/ora/queryService/query/getSessionsByColour',
    });
    assert.equal(response.statusCode, 404);
    assert.equal(json(response).responseCode, 4004);
  });

  void it('answers an undecodable URL with a 4000 envelope instead of the default error page', async () => {
    const response = await h.app.inject({ method: 'GET', url: '/ora/infoService/info/getSystemTime%zz' });
    assert.equal(response.statusCode, 400);
    const body = json(response);
    assert.equal(body.responseCode, 4000);
    assert.match(String(body.detail), /not a valid url/);
  });
});

void describe('HTTP API: session queries', () => {
  let h: Harness;
  let headers: { jsessionid: string };
  before(async () => {
    h = await harness();
    headers = { jsessionid: await sessionId(h.app) };
    await h.repository.createSession(sampleSession({ sessionId: 'closed01', sessionStartDate: T0 }));
    await h.repository.createSession(
      sampleSession({
        sessionId: 'closed02',
        sessionStartDate: T0 + MINUTE_MS,
        sessionState: 'CLOSED_ERROR',
      }),
    );
    for (const [index, id] of ['active01', 'active02', 'active03'].entries()) {
      const session = sampleSession({
        sessionId: id,
        sessionState: 'ACTIVE',
        sessionStartDate: T0 + (index + 2) * MINUTE_MS,
      });
      await h.repository.createSession(session);
    }
  });
  after(async () => {
    await h.app.close();
  });

  async function get(url: string): Promise<Record<string, unknown>> {
    return json(await h.app.inject({ method: 'GET', url, headers }));
  }

  function ids(body: Record<string, unknown>): string[] {
    const sessions = (body.responseBody as { sessions: { sessionId: string }[] }).sessions;
    return sessions.map((s) => s.sessionId);
  }

  void it('getSessionBySessionId finds a session by value=, sessionId= or any case of the name', async () => {
    for (const query of ['value=closed01', 'sessionId=closed01', 'VALUE=closed01']) {
      const body = await get(`${BY_ID}?${query}`);
      assert.equal(body.responseCode, 2000, query);
      assert.deepEqual(ids(body), ['closed01']);
    }
    const body = await get(`${BY_ID}?value=closed01`);
    const session = (body.responseBody as { sessions: Record<string, unknown>[] }).sessions[0];
    assert.equal(session?.sessionState, 'CLOSED_NORMAL');
    assert.equal(session.sessionDuration, 60_000);
    // The signed-in user's media token rides in rtspUrl, for players that cannot send the cookie.
    const { rtspUrl, ...others } = session.urls as Record<string, string>;
    assert.match(
      String(rtspUrl),
      /^rtsp:\/\/192\.0\.2\.10:8554\/archive\/closed01\?token=[0-9a-z]+\.[\w-]+\.[\w-]+$/,
    );
    assert.deepEqual(others, {
      wavUrl: 'http://192.0.2.10:8440/recordedMedia/oramedia/wav/closed01.wav',
      mp4Url: 'http://192.0.2.10:8440/recordedMedia/oramedia/mp4/closed01.mp4',
      httpUrl: 'http://192.0.2.10:8440/recordedMedia/oramedia/mp4/closed01.mp4',
    });
  });

  void it('getSessionBySessionId answers 2001 for an unknown id and 4002 without one', async () => {
    assert.deepEqual(await get(`${BY_ID}?value=nope`), {
      responseCode: 2001,
      responseMessage: 'Success: No matching sessions were found.',
    });
    const missing = await get(BY_ID);
    assert.equal(missing.responseCode, 4002);
    assert.match(String(missing.detail), /value/);
  });

  void it('getAllActiveSessions lists ACTIVE sessions, newest first, without durations', async () => {
    const body = await get(ACTIVE);
    assert.deepEqual(ids(body), ['active03', 'active02', 'active01']);
    const sessions = (body.responseBody as { sessions: Record<string, unknown>[] }).sessions;
    assert.equal(
      sessions.some((s) => 'sessionDuration' in s),
      false,
    );
    const urls = sessions[0]?.urls as { rtspUrl: string; listenUrl?: string };
    assert.match(urls.rtspUrl, /^rtsp:\/\/192\.0\.2\.10:8554\/live\/active03\?token=[\w.-]+$/);
    assert.match(String(urls.listenUrl), /^http:\/\/192\.0\.2\.10:8440\/listen\/active03\?token=[\w.-]+$/);
  });

  void it('getAllActiveSessions pages with limit and offset and filters by start date', async () => {
    assert.deepEqual(ids(await get(`${ACTIVE}?limit=1&offset=1`)), ['active02']);
    assert.deepEqual(ids(await get(`${ACTIVE}?maxSessionStartDate=${T0 + 3 * MINUTE_MS}`)), [
      'active02',
      'active01',
    ]);
    assert.equal((await get(`${ACTIVE}?offset=3`)).responseCode, 2001);
  });

  // Issue 10: the getSessions leniencies apply to every GET query; limit 1001 and offset -1 are
  // read as 1000 and 0 instead of being refused.
  for (const query of ['limit=0', 'limit=-3', 'offset=1.5', 'limit=ten']) {
    void it(`getAllActiveSessions rejects ${query} with 4001`, async () => {
      const body = await get(`${ACTIVE}?${query}`);
      assert.equal(body.responseCode, 4001);
      assert.match(String(body.detail), /limit|offset/);
    });
  }

  void it('getAllActiveSessions reads offset -1 as 0 and caps limit 1001 at 1000', async () => {
    assert.deepEqual(ids(await get(`${ACTIVE}?offset=-1&limit=1001`)), ids(await get(ACTIVE)));
  });

  const window = startedBetween(T0, T0 + 10 * MINUTE_MS);

  async function getSessions(payload: unknown): Promise<Record<string, unknown>> {
    const response = await h.app.inject({
      method: 'POST',
      url: GET_SESSIONS,
      headers,
      payload: payload as object,
    });
    assert.equal(response.statusCode, 200);
    return json(response);
  }

  void it('getSessions answers the query, sorted and paged as asked', async () => {
    const body = await getSessions({ requestParameters: [window] });
    assert.equal(body.responseMessage, 'Success: Your request was successfully completed.');
    assert.deepEqual(ids(body), ['active03', 'active02', 'active01', 'closed02', 'closed01']);
    const page = await getSessions({
      requestParameters: [window],
      pageParameters: { offset: '1', limit: '2' },
      sortParameters: { byFieldName: 'sessionStartDate', order: 'ASC' },
    });
    assert.deepEqual(ids(page), ['closed02', 'active01']);
    assert.deepEqual(h.repository.queries.at(-1)?.sort, [{ field: 'sessionStartDate', order: 'ASC' }]);
  });

  void it('getSessions filters with the translated conditions', async () => {
    const body = await getSessions({
      requestParameters: [CLOSED_STATES_CLAUSE, window],
    });
    assert.deepEqual(ids(body), ['closed02', 'closed01']);
  });

  void it('getSessions answers 2001 when nothing matches and when paging past the end', async () => {
    const none = await getSessions({
      requestParameters: [
        { ...window, fieldConditions: [{ fieldOperator: 'between', fieldValues: [1, 2] }] },
      ],
    });
    assert.equal(none.responseCode, 2001);
    const past = await getSessions({ requestParameters: [window], pageParameters: { offset: 5, limit: 10 } });
    assert.equal(past.responseCode, 2001);
  });

  void it('getSessions answers a rejected query with its code and a detail naming the problem', async () => {
    const body = await getSessions({ requestParameters: [window], pageParameters: { offset: 0, limit: 0 } });
    assert.equal(body.responseCode, 4037);
    assert.equal(body.responseMessage, 'Failure: The paging parameters are invalid.');
    assert.match(String(body.detail), /limit must be an integer from 1 to 1000, got 0/);
    const noDate = await getSessions({
      requestParameters: [
        { fieldName: 'deviceRef', fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['1000'] }] },
      ],
    });
    assert.equal(noDate.responseCode, 4035);
  });

  void it('getSessions answers malformed JSON with 4000', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: GET_SESSIONS,
      headers: { ...headers, 'content-type': 'application/json' },
      payload: '{"requestParameters": [',
    });
    assert.equal(response.statusCode, 200);
    assert.equal(json(response).responseCode, 4000);
  });

  void it('getSessions without a session answers 4021 before reading the query', async () => {
    const response = await h.app.inject({
      method: 'POST',
      url: GET_SESSIONS,
      payload: { requestParameters: [window] },
    });
    assert.equal(json(response).responseCode, 4021);
  });
});

void describe('HTTP API: session health', () => {
  void it('says a session is degraded when a track lost more than 1 % of its packets, and ok otherwise', async () => {
    const h = await harness();
    const headers = { jsessionid: await sessionId(h.app) };
    const base = sampleSession({ sessionId: 'clean01', sessionStartDate: T0 });
    // Both parties sent packets: a closed session whose tracks stored none is degraded too.
    const clean = sampleSession({
      sessionId: 'clean01',
      sessionStartDate: T0,
      tracks: base.tracks.map((track) => ({ ...track, stats: { ...track.stats, packets: 1000 } })),
    });
    const lossy = sampleSession({
      sessionId: 'lossy01',
      sessionStartDate: T0,
      tracks: clean.tracks.map((track) =>
        track.trackNumber === 1
          ? {
              ...track,
              stats: {
                ...track.stats,
                packets: 960,
                lost: 10,
                kernelDropped: 20,
                unreadAtClose: 10,
                unstored: 10,
              },
            }
          : track,
      ),
    });
    await h.repository.createSession(clean);
    await h.repository.createSession(lossy);
    const sessionOf = async (id: string): Promise<Record<string, unknown>> => {
      const body = json(await h.app.inject({ method: 'GET', url: `${BY_ID}?value=${id}`, headers }));
      const [session] = (body.responseBody as { sessions: Record<string, unknown>[] }).sessions;
      assert.ok(session !== undefined, id);
      return session;
    };

    const cleanHealth = (await sessionOf('clean01')).health as { status: string; problems: unknown[] };
    assert.equal(cleanHealth.status, 'ok');
    assert.deepEqual(cleanHealth.problems, []);
    const session = await sessionOf('lossy01');
    const health = session.health as { status: string; problems: unknown[] };
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.problems, [
      { trackNumber: 1, kind: 'packet-loss', lost: 40, expected: 1000, percent: 4 },
    ]);
    const tracks = session.tracks as { trackNumber: number; stats: Record<string, unknown> }[];
    const lossyTrack = tracks.find((track) => track.trackNumber === 1);
    assert.equal(lossyTrack?.stats.kernelDropped, 20);
    assert.equal(lossyTrack.stats.unreadAtClose, 10);
    assert.equal(lossyTrack.stats.unstored, 10);
    await h.app.close();
  });
});

void describe('HTTP API: internal errors', () => {
  void it('answers a failing repository with 5000 in an HTTP 200 envelope', async () => {
    const h = await harness();
    try {
      const headers = { jsessionid: await sessionId(h.app) };
      h.repository.getSession = () => Promise.reject(new Error('disk on fire'));
      const response = await h.app.inject({ method: 'GET', url: `${BY_ID}?value=x`, headers });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(json(response), {
        responseCode: 5000,
        responseMessage: 'Failure: An internal error occurred. Try again later.',
      });
    } finally {
      await h.app.close();
    }
  });
});

void describe('HTTP API: logs of refused requests', () => {
  void it('logs malformed requests and refused sign-ins once per reason with a count, without stacks', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, callback) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          callback();
        },
      }),
    );
    const h = await harness({ logger });
    try {
      const headers = { jsessionid: await sessionId(h.app) };
      for (let i = 0; i < 20; i++) {
        const response = await h.app.inject({ method: 'POST', url: GET_SESSIONS, headers, payload: '{"x":' });
        assert.equal(json(response).responseCode, 4000);
        assert.equal(json(await signIn(h.app, 'alice', `wrong-${i}`)).responseCode, 4020);
      }
      h.repository.getSession = () => Promise.reject(new Error('disk on fire'));
      await h.app.inject({ method: 'GET', url: `${BY_ID}?value=x`, headers });
    } finally {
      await h.app.close();
    }
    await new Promise((resolve) => setImmediate(resolve));
    const refusals = lines.filter((l) => l.reason !== undefined);
    assert.deepEqual(
      refusals.map((l) => [l.level, l.reason, l.refused]),
      [
        [40, 'malformed-request', 1],
        [40, 'sign-in-refused', 1],
        // Written at close: the 19 of each held back in the interval.
        [40, 'malformed-request', 19],
        [40, 'sign-in-refused', 19],
      ],
    );
    assert.ok(refusals.every((l) => l.err === undefined));
    // What an operator must act on is still an error, with its stack.
    const errors = lines.filter((l) => l.level === 50);
    assert.equal(errors.length, 1);
    assert.match(String((errors[0]?.err as { stack?: string } | undefined)?.stack), /disk on fire/);
  });
});
