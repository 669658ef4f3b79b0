import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { outboundRoutes } from '../../src/api/outbound-routes.js';
import { hashPassword } from '../../src/api/passwords.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { ROLES, type Role } from '../../src/model/user.js';
import { encodeUtf8 } from '../../src/protocol/text.js';
import type {
  OutboundCallOutcome,
  OutboundCaller,
  OutboundCallRequest,
} from '../../src/sip/outbound-types.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';
import { setUp } from '../support/recording-fakes.js';

/**
 * startRecording / stopRecording over real HTTP: roles, parameters, the envelopes of each outcome,
 * the audit records and the OpenAPI description. The SIP client side is a caller whose outcome
 * each test chooses; the recording domain runs on the recording fakes.
 */

const PASSWORD = 'correct horse battery';
const CONTROL = '/ora/controlService/control';
const ANSWER =
  'v=0\r\no=- 1 1 IN IP4 10.0.0.77\r\ns=-\r\nc=IN IP4 10.0.0.77\r\nt=0 0\r\nm=audio 24000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n';

interface Envelope {
  responseCode: number;
  responseMessage: string;
  responseBody?: Record<string, unknown>;
  detail?: string;
}

/** Answers every call at once with the outcome the test set. */
class ScriptedCaller implements OutboundCaller {
  next: (request: OutboundCallRequest) => OutboundCallOutcome = () => ({
    kind: 'failed',
    reason: 'unreachable',
    detail: 'no script',
  });
  readonly requests: OutboundCallRequest[] = [];

  call(request: OutboundCallRequest) {
    this.requests.push(request);
    return {
      callId: request.callId ?? 'x',
      outcome: Promise.resolve(this.next(request)),
      cancel: () => undefined,
    };
  }
}

void describe('startRecording / stopRecording over HTTP (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  const cookies = new Map<Role, string>();
  const caller = new ScriptedCaller();
  const recording = setUp();

  async function call(path: string, cookie: string | undefined, body?: unknown): Promise<Envelope> {
    const response = await fetch(`${base}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: {
        ...(cookie === undefined ? {} : { cookie }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return (await response.json()) as Envelope;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-outbound-routes-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ROLES) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: 0,
      });
    }
    const recorder = recording.service.outboundRecorder(caller, {
      proxy: { uri: 'sip:10.0.0.5', protocol: 'udp', host: '10.0.0.5', port: 5060 },
      answerTimeoutMs: 30_000,
    });
    app = await buildTestHttpApi({ repository, extraRoutes: [() => outboundRoutes({ recorder })] });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const role of ROLES) {
      const response = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestParameters: { username: `${role}-user`, password: PASSWORD } }),
      });
      const cookie = /JSESSIONID=[0-9a-f]+/.exec(response.headers.get('set-cookie') ?? '')?.[0];
      assert.ok(cookie !== undefined);
      cookies.set(role, cookie);
    }
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('lets admin and api control recordings; supervisor and auditor get 4022, nobody signed out', async () => {
    for (const role of ['supervisor', 'auditor'] as const) {
      for (const api of ['startRecording', 'stopRecording']) {
        const answer = await call(`${CONTROL}/${api}`, cookies.get(role), {
          requestParameters: { deviceRef: '1000' },
        });
        assert.equal(answer.responseCode, 4022, `${role} ${api}`);
      }
    }
    assert.equal(
      (await call(`${CONTROL}/startRecording`, undefined, { requestParameters: { deviceRef: '1' } }))
        .responseCode,
      4021,
    );
    assert.equal(caller.requests.length, 0, 'no call was placed');
  });

  void it('starts and stops a recording: 2000 with the sessionId, the session CLOSED_NORMAL, both calls audited', async () => {
    caller.next = () => ({
      kind: 'answered',
      dialog: { callId: 'c', localTag: 'l', remoteTag: 'r', terminated: false, bye: () => undefined },
      response: { type: 'response', status: 200, reason: 'OK', headers: [], body: encodeUtf8(ANSWER) },
    });
    const started = await call(`${CONTROL}/startRecording`, cookies.get('api'), {
      RequestParameters: { DeviceRef: 1000 },
    });
    assert.equal(started.responseCode, 2000, JSON.stringify(started));
    assert.equal(started.responseMessage, 'Success: Your request was successfully completed.');
    const sessionId = started.responseBody?.sessionId as string;
    assert.deepEqual(started.responseBody, { sessionId, deviceRef: '1000' });
    assert.equal(caller.requests.at(-1)?.requestUri, 'sip:1000@10.0.0.5');
    const twice = await call(`${CONTROL}/startRecording`, cookies.get('admin'), {
      requestParameters: { deviceRef: '1000' },
    });
    assert.equal(twice.responseCode, 4043);
    assert.equal(twice.responseBody?.sessionId, sessionId);

    const stopped = await call(`${CONTROL}/stopRecording`, cookies.get('api'), {
      requestParameters: { sessionId },
    });
    assert.deepEqual(stopped.responseBody, { deviceRef: '1000', sessionId });
    assert.equal(recording.repository.sessions.get(sessionId)?.sessionState, 'CLOSED_NORMAL');

    const audit = await call(`/ora/auditService/audit/getAuditRecords?limit=50`, cookies.get('auditor'));
    const records = (audit.responseBody?.records ?? audit.responseBody?.auditRecords) as
      { action: string; username: string; target?: string }[] | undefined;
    assert.ok(Array.isArray(records), JSON.stringify(audit).slice(0, 500));
    assert.ok(
      records.some((r) => r.action === 'startRecording' && r.username === 'api-user' && r.target === '1000'),
    );
    assert.ok(records.some((r) => r.action === 'stopRecording' && r.target === sessionId));
  });

  void it('answers each failed call with its code, the SIP status and a detail', async () => {
    const cases: [OutboundCallOutcome, number][] = [
      [
        {
          kind: 'failed',
          reason: 'busy',
          sipStatus: 486,
          detail: 'the call controller answered 486 Busy Here',
        },
        4072,
      ],
      [{ kind: 'failed', reason: 'no-answer', detail: 'not answered within 30 s' }, 4073],
      [{ kind: 'failed', reason: 'auth-failed', sipStatus: 407, detail: 'refused the credentials' }, 4074],
      [
        {
          kind: 'failed',
          reason: 'rejected',
          sipStatus: 404,
          detail: 'the call controller answered 404 Not Found',
        },
        4075,
      ],
      [
        { kind: 'failed', reason: 'unreachable', detail: 'no response from the call controller within 32 s' },
        4076,
      ],
      [{ kind: 'failed', reason: 'cancelled', detail: 'cancelled before the device answered' }, 4078],
    ];
    for (const [outcome, code] of cases) {
      caller.next = () => outcome;
      const answer = await call(`${CONTROL}/startRecording`, cookies.get('api'), {
        requestParameters: { deviceRef: '2000' },
      });
      assert.equal(answer.responseCode, code, JSON.stringify(answer));
      assert.ok(outcome.kind === 'failed');
      assert.equal(answer.detail, outcome.detail);
      const body = answer.responseBody ?? {};
      assert.equal(body.deviceRef, '2000');
      assert.equal(body.sipStatus, outcome.sipStatus);
      assert.match(String(body.callId), /@/);
    }
  });

  void it('refuses bad parameters with 4002 and 4001, and an unknown device or session with 4041', async () => {
    const api = cookies.get('api');
    assert.equal(
      (await call(`${CONTROL}/startRecording`, api, { requestParameters: {} })).responseCode,
      4002,
    );
    assert.equal((await call(`${CONTROL}/stopRecording`, api, { requestParameters: {} })).responseCode, 4002);
    const bad = await call(`${CONTROL}/startRecording`, api, {
      requestParameters: { deviceRef: 'sip:1000@x' },
    });
    assert.equal(bad.responseCode, 4001);
    assert.match(bad.detail ?? '', /^deviceRef: /);
    const unknown = await call(`${CONTROL}/stopRecording`, api, { requestParameters: { deviceRef: '9999' } });
    assert.equal(unknown.responseCode, 4041);
    assert.match(unknown.detail ?? '', /device 9999/);
  });

  void it('describes both calls in the OpenAPI document, permission control, audited', async () => {
    const document = (await (await fetch(`${base}/ora/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { 'x-verbatim-permission': string; 'x-verbatim-audited': boolean }>
      >;
    };
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify({ errors: result.errors }).slice(0, 2000));
    for (const api of ['startRecording', 'stopRecording']) {
      const operation = document.paths[`${CONTROL}/${api}`]?.post;
      assert.equal(operation?.['x-verbatim-permission'], 'control');
      assert.equal(operation['x-verbatim-audited'], true);
    }
  });
});
