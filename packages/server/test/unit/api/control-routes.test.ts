import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { ControlResult } from '../../../src/recording/recording-service.js';
import { FakeRepository } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

/**
 * pauseRecording / resumeRecording over HTTP (fastify inject) in front of a fake recording
 * domain: the envelope of each outcome and of every malformed body, which never reaches the
 * domain. The domain itself is tested in test/unit/recording/recording-control.test.ts.
 */

const PAUSE = '/ora/controlService/control/pauseRecording';
const RESUME = '/ora/controlService/control/resumeRecording';

void describe('controlService: pauseRecording / resumeRecording', () => {
  let app: FastifyInstance;
  let cookie: string;
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
    app = await buildTestHttpApi({ repository, recordingControl: control });
    const signIn = await app.inject({
      method: 'POST',
      url: '/ora/authenticationService/authentication/signIn',
      payload: { requestParameters: { username: 'alice', password: 'pw-alice' } },
    });
    cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';
  });
  after(() => app.close());

  async function post(url: string, payload: unknown, withCookie = true): Promise<Record<string, unknown>> {
    const response = await app.inject({
      method: 'POST',
      url,
      headers: withCookie ? { cookie } : {},
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
    for (const [refusal, url, code, message, detail] of [
      ['not-found', PAUSE, 4060, 'Failure: No session has this sessionId.', 'no session "s1"'],
      [
        'not-active',
        RESUME,
        4061,
        'Failure: The session is not ACTIVE: only an active recording can be paused or resumed.',
        'session "s1" is not ACTIVE; resumeRecording acts on a recording in progress',
      ],
      [
        'already-paused',
        PAUSE,
        4062,
        'Failure: The recording is already paused.',
        'session "s1" is already paused; resumeRecording resumes it',
      ],
      [
        'not-paused',
        RESUME,
        4063,
        'Failure: The recording is not paused: only a paused recording can be resumed.',
        'session "s1" is not paused by pauseRecording',
      ],
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
      [{}, 4002, 'requestParameters with sessionId is required'],
      [[1, 2], 4002, 'requestParameters with sessionId is required'],
      [{ requestParameters: 'abc' }, 4002, 'requestParameters with sessionId is required'],
      [{ requestParameters: [{ sessionId: 'abc' }] }, 4002, 'requestParameters with sessionId is required'],
      [{ requestParameters: {} }, 4002, 'requestParameters.sessionId is required'],
      [{ requestParameters: { sessionId: '' } }, 4002, 'requestParameters.sessionId is required'],
      [{ requestParameters: { sessionId: null } }, 4002, 'requestParameters.sessionId is required'],
      [
        { requestParameters: { sessionId: 1234567890123456 } },
        4001,
        'requestParameters.sessionId must be a string, got 1234567890123456',
      ],
      [
        { requestParameters: { sessionId: { id: 'x' } } },
        4001,
        'requestParameters.sessionId must be a string, got an object',
      ],
      [
        { requestParameters: { sessionId: ['a', 'b'] } },
        4001,
        'requestParameters.sessionId must be a string, got an array of 2',
      ],
      [
        { requestParameters: { sessionId: 'f'.repeat(100_000) } },
        4001,
        'requestParameters.sessionId must be at most 64 characters, got 100000',
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

  void it('answers 4021 without a signed-in session', async () => {
    calls.length = 0;
    const answer = await post(PAUSE, { requestParameters: { sessionId: 's1' } }, false);
    assert.equal(answer.responseCode, 4021);
    assert.deepEqual(calls, []);
  });
});
