import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { controlRoutes } from '../../../src/api/control-routes.js';
import { hashPassword } from '../../../src/api/passwords.js';
import type { ControlResult } from '../../../src/recording/recording-service.js';
import { FakeRepository } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

/**
 * pauseRecording / resumeRecording over HTTP (fastify inject), declared in the route table, in
 * front of a fake recording domain: the envelope of each outcome and of every malformed body,
 * which never reaches the domain, and the role check. The domain itself is tested in
 * test/unit/recording/recording-control.test.ts.
 */

const PAUSE = '/ora/controlService/control/pauseRecording';
const RESUME = '/ora/controlService/control/resumeRecording';

void describe('controlService: pauseRecording / resumeRecording', () => {
  let app: FastifyInstance;
  let cookie: string;
  let supervisorCookie: string;
  const calls: string[] = [];
  let next: ControlResult = { ok: true };
  const control = {
    pauseRecording(sessionId: string): Promise<ControlResult> {
      calls.push(`pause ${sessionId}`);
      return Promise.resolve(next);
    },
    resumeRecording(sessionId: string): Promise<ControlResult> {
      calls.push(`resume ${sessionId}`);
      return Promise.resolve(next);
    },
  };

  before(async () => {
    const repository = new FakeRepository();
    await addApiUser(repository, 'alice', 'pw-alice');
    await repository.createUser({
      username: 'sam',
      role: 'supervisor',
      passwordHash: await hashPassword('pw-sam'),
      createdAt: 0,
    });
    app = await buildTestHttpApi({ repository, extraRoutes: [() => controlRoutes({ recording: control })] });
    const signIn = async (username: string, password: string): Promise<string> => {
      const answer = await app.inject({
        method: 'POST',
        url: '/ora/authenticationService/authentication/signIn',
        payload: { requestParameters: { username, password } },
      });
      return String(answer.headers['set-cookie']).split(';')[0] ?? '';
    };
    cookie = await signIn('alice', 'pw-alice');
    supervisorCookie = await signIn('sam', 'pw-sam');
  });
  after(() => app.close());

  async function post(
    url: string,
    payload: unknown,
    as: string | null = cookie,
  ): Promise<Record<string, unknown>> {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: as === null ? {} : { cookie: as },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });
    assert.equal(response.statusCode, 200, 'application errors come with HTTP 200');
    return response.json();
  }

  void it('answers 2000 "Successful" and hands the sessionId over (names case-insensitive)', async () => {
    calls.length = 0;
    next = { ok: true };
    assert.deepEqual(await post(PAUSE, { requestParameters: { sessionId: 'a1b2c3d4e5f60718' } }), {
      responseCode: 2000,
      responseMessage: 'Successful',
    });
    assert.deepEqual(await post(RESUME, { RequestParameters: { SESSIONID: 'a1b2c3d4e5f60718' } }), {
      responseCode: 2000,
      responseMessage: 'Successful',
    });
    assert.deepEqual(calls, ['pause a1b2c3d4e5f60718', 'resume a1b2c3d4e5f60718']);
  });

  void it('gives each refusal of the domain its code, message and a detail naming the session', async () => {
    const notAllowed = 'Failure: The request is not allowed in the current state.';
    for (const [refusal, url, code, message, detail] of [
      ['not-found', PAUSE, 4041, 'Failure: The requested item was not found.', 'no session "s1"'],
      [
        'not-active',
        RESUME,
        4042,
        notAllowed,
        'session "s1" is not ACTIVE; resumeRecording acts on a recording in progress',
      ],
      [
        'already-paused',
        PAUSE,
        4042,
        notAllowed,
        'session "s1" is already paused; resumeRecording resumes it',
      ],
      ['not-paused', RESUME, 4042, notAllowed, 'session "s1" is not paused; pauseRecording pauses it'],
    ] as const) {
      next = { ok: false, refusal };
      assert.deepEqual(
        await post(url, { requestParameters: { sessionId: 's1' } }),
        { responseCode: code, responseMessage: message, detail },
        refusal,
      );
    }
  });

  void it('refuses hostile and malformed bodies with 4000, 4001 or 4002 and a detail, before the domain', async () => {
    calls.length = 0;
    const cases: [unknown, number, string][] = [
      [{}, 4002, 'requestParameters.sessionId is required'],
      [[1, 2], 4000, 'the body must be a JSON object'],
      [{ requestParameters: 'abc' }, 4001, 'requestParameters must be an object'],
      [{ requestParameters: [{ sessionId: 'abc' }] }, 4001, 'requestParameters must be an object'],
      [{ requestParameters: {} }, 4002, 'requestParameters.sessionId is required'],
      [
        { requestParameters: { sessionId: '' } },
        4001,
        'requestParameters.sessionId must not have fewer than 1 characters',
      ],
      [{ requestParameters: { sessionId: { id: 'x' } } }, 4001, 'requestParameters.sessionId must be string'],
      [{ requestParameters: { sessionId: ['a', 'b'] } }, 4001, 'requestParameters.sessionId must be string'],
      [
        { requestParameters: { sessionId: 'f'.repeat(100_000) } },
        4001,
        'requestParameters.sessionId must not have more than 128 characters',
      ],
    ];
    for (const [body, code, detail] of cases) {
      const answer = await post(PAUSE, body);
      assert.deepEqual(
        [answer.responseCode, answer.detail],
        [code, detail],
        JSON.stringify(body).slice(0, 80),
      );
    }
    const malformed = await post(RESUME, '{"requestParameters": {"sessionId": ');
    assert.equal(malformed.responseCode, 4000);
    assert.deepEqual(calls, [], 'no malformed body reaches the recording domain');
  });

  void it('takes a number for the sessionId as its decimal text (the registrar reads scalars leniently)', async () => {
    calls.length = 0;
    next = { ok: false, refusal: 'not-found' };
    const answer = await post(PAUSE, { requestParameters: { sessionId: 1234567890123456 } });
    assert.deepEqual([answer.responseCode, answer.detail], [4041, 'no session "1234567890123456"']);
    assert.deepEqual(calls, ['pause 1234567890123456']);
  });

  void it('answers 4021 without a signed-in session', async () => {
    calls.length = 0;
    const answer = await post(PAUSE, { requestParameters: { sessionId: 's1' } }, null);
    assert.equal(answer.responseCode, 4021);
    assert.deepEqual(calls, []);
  });

  void it('answers 4022 to a role without the control permission (a supervisor)', async () => {
    calls.length = 0;
    for (const url of [PAUSE, RESUME]) {
      const answer = await post(url, { requestParameters: { sessionId: 's1' } }, supervisorCookie);
      assert.equal(answer.responseCode, 4022, url);
    }
    assert.deepEqual(calls, []);
  });
});
