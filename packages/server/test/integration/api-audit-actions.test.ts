import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { controlRoutes, type RecordingControlApi } from '../../src/api/control-routes.js';
import { eventRoutes } from '../../src/api/event-routes.js';
import { jobRoutes } from '../../src/api/job-routes.js';
import { hashPassword } from '../../src/api/passwords.js';
import { tagRoutes } from '../../src/api/tag-routes.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { SubscriptionService } from '../../src/events/subscriptions.js';
import { parseTagNameRegEx } from '../../src/events/tag-name-regex.js';
import type { ControlResult } from '../../src/recording/recording-service.js';
import { ROLES } from '../../src/model/user.js';
import { DeletionJobRunner } from '../../src/storage/deletion-jobs.js';
import { seedRecordedSession } from '../support/deletion-seed.js';
import { sampleSession } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';
import { waitFor } from '../support/wait.js';

/**
 * The audit trail of the calls api-roles-audit.test.ts leaves out, read back through the API
 * (getAuditRecords, as an auditor): a successful signIn, addSessionTag and deleteSessionTag,
 * subscribeToEvents and unsubscribeFromEvents, addUser / updateUser / deleteUser, deleteSessions
 * (with the real deletion job runner and real track files) and resumeRecording. Each record is
 * asserted whole: who, role, what, target, outcome, from where and its detail.
 *
 * resumeRecording of a recording really paused needs a live call (sipp: test/e2e/pause-resume.test.ts);
 * here the recording domain is a stand-in answering what RecordingControl answers (a Resume tag,
 * or a refusal), so what is proven is the route's audit record, not the pause itself.
 */

const PASSWORD = 'correct horse battery';
const T0 = 1_750_000_000_000;
const AUTH = '/ora/authenticationService/authentication';
const MANAGE = '/ora/managementService/manage';
const EVENT = '/ora/eventService/event';
const USERS = '/ora/userService/user';
const CONTROL = '/ora/controlService/control';

interface Envelope {
  responseCode: number;
  responseMessage: string;
  responseBody?: Record<string, unknown>;
  detail?: string;
}

interface AuditRecord {
  id: number;
  at: number;
  username: string;
  role?: string;
  action: string;
  target?: string;
  outcome: number;
  source: string;
  detail?: Record<string, string>;
}

/** What resumeRecording answers for each session id, as RecordingControl.resume would. */
const RESUME_ANSWERS: Readonly<Record<string, ControlResult>> = {
  'live-1': {
    ok: true,
    tag: { tagName: 'Resume', tagType: 'SYSTEM_DEFINED', tagCreateDate: T0 + 9000, tagOffset: 9000 },
  },
  'tag-1': { ok: false, refusal: 'not-active' },
};

void describe('audit records of tags, subscriptions, users, sign-in, deletion and resume (integration)', () => {
  let dir: string;
  let repository: Repository;
  let runner: DeletionJobRunner;
  let app: FastifyInstance;
  let base: string;
  let started: number;
  const cookies = new Map<string, string>();

  async function call(
    path: string,
    options: { cookie?: string; body?: unknown } = {},
  ): Promise<{ envelope: Envelope; headers: Headers }> {
    const response = await fetch(`${base}${path}`, {
      method: options.body === undefined ? 'GET' : 'POST',
      headers: {
        ...(options.cookie === undefined ? {} : { cookie: options.cookie }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    assert.equal(response.status, 200, path);
    return { envelope: (await response.json()) as Envelope, headers: response.headers };
  }

  async function signIn(username: string): Promise<string> {
    const { envelope, headers } = await call(`${AUTH}/signIn`, {
      body: { requestParameters: { username, password: PASSWORD } },
    });
    assert.equal(envelope.responseCode, 2000, `sign-in of ${username}`);
    const cookie = /JSESSIONID=[0-9a-f]+/.exec(headers.get('set-cookie') ?? '')?.[0];
    assert.ok(cookie !== undefined);
    return cookie;
  }

  /** A call as `username` (signed in before), asserting the responseCode it gets. */
  async function as(username: string, path: string, body: unknown, expected: number): Promise<Envelope> {
    const { envelope } = await call(path, { cookie: cookies.get(username) ?? '', body });
    assert.equal(envelope.responseCode, expected, `${path}: ${JSON.stringify(envelope)}`);
    return envelope;
  }

  /** The audit records of `action` since the test started, oldest first, read by the auditor. */
  async function audited(action: string): Promise<Omit<AuditRecord, 'id' | 'at'>[]> {
    const { envelope } = await call(
      `/ora/auditService/audit/getAuditRecords?action=${action}&minTime=${started}&limit=100`,
      { cookie: cookies.get('auditor-user') ?? '' },
    );
    assert.ok(envelope.responseCode === 2000 || envelope.responseCode === 2001, JSON.stringify(envelope));
    const records = (envelope.responseBody?.records ?? []) as AuditRecord[];
    for (const record of records) {
      assert.ok(record.at >= started && record.at <= Date.now(), `${action} stamped with its time`);
    }
    return records.reverse().map(({ id: _id, at: _at, ...rest }) => rest);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-audit-actions-'));
    const mediaDir = join(dir, 'media');
    await mkdir(mediaDir);
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ROLES) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: T0,
      });
    }
    await repository.createSession(sampleSession({ sessionId: 'tag-1', sessionStartDate: T0 }));
    await seedRecordedSession(repository, mediaDir, 'del-1', { startMs: T0 + 1000 });
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    runner.start();
    const subscriptions = new SubscriptionService({ store: repository });
    const recording: RecordingControlApi = {
      pauseRecording: () => Promise.resolve({ ok: false, refusal: 'not-found' }),
      resumeRecording: (sessionId) =>
        Promise.resolve(RESUME_ANSWERS[sessionId] ?? { ok: false, refusal: 'not-found' }),
    };
    app = await buildTestHttpApi({
      repository,
      mediaDir,
      extraRoutes: [
        (deps) => tagRoutes({ ...deps, events: { publish: () => undefined } }),
        () =>
          eventRoutes({
            subscriptions,
            checkTagNameRegEx: (source) => {
              const parsed = parseTagNameRegEx(source);
              return parsed.ok ? undefined : parsed.reason;
            },
          }),
        (deps) => jobRoutes({ jobs: runner, now: deps.now }),
        () => controlRoutes({ recording }),
      ],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    started = Date.now();
    for (const role of ROLES) {
      cookies.set(`${role}-user`, await signIn(`${role}-user`));
    }
  });

  after(async () => {
    await app.close();
    await runner.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('records a successful signIn with the role it gave', async () => {
    const records = await audited('signIn');
    assert.deepEqual(
      records.filter((r) => r.username === 'api-user'),
      [{ username: 'api-user', role: 'api', action: 'signIn', outcome: 2000, source: '127.0.0.1' }],
    );
    assert.deepEqual(
      records.map((r) => [r.username, r.role, r.outcome]),
      ROLES.map((role) => [`${role}-user`, role, 2000]),
    );
  });

  void it('records addSessionTag and deleteSessionTag: the session, the tag and its offset', async () => {
    await as(
      'api-user',
      `${MANAGE}/addSessionTag`,
      { requestParameters: { sessionId: 'tag-1', tagName: 'Review' } },
      2000,
    );
    await as(
      'supervisor-user',
      `${MANAGE}/addSessionTag`,
      { requestParameters: { sessionId: 'tag-1', tagName: 'Coach', tagOffset: 1500 } },
      2000,
    );
    await as(
      'api-user',
      `${MANAGE}/deleteSessionTag`,
      { requestParameters: { sessionId: 'tag-1', tagName: 'review' } },
      2000,
    );
    await as(
      'api-user',
      `${MANAGE}/addSessionTag`,
      { requestParameters: { sessionId: 'nope', tagName: 'Review' } },
      4041,
    );
    // The auditor may not tag: the refusal is on record too.
    await as(
      'auditor-user',
      `${MANAGE}/deleteSessionTag`,
      { requestParameters: { sessionId: 'tag-1', tagName: 'Coach' } },
      4022,
    );

    assert.deepEqual(await audited('addSessionTag'), [
      {
        username: 'api-user',
        role: 'api',
        action: 'addSessionTag',
        target: 'tag-1',
        outcome: 2000,
        source: '127.0.0.1',
        detail: { tagName: 'Review' },
      },
      {
        username: 'supervisor-user',
        role: 'supervisor',
        action: 'addSessionTag',
        target: 'tag-1',
        outcome: 2000,
        source: '127.0.0.1',
        detail: { tagName: 'Coach', tagOffset: '1500' },
      },
      {
        username: 'api-user',
        role: 'api',
        action: 'addSessionTag',
        target: 'nope',
        outcome: 4041,
        source: '127.0.0.1',
        detail: { tagName: 'Review' },
      },
    ]);
    const deletions = await audited('deleteSessionTag');
    assert.deepEqual(deletions[0], {
      username: 'api-user',
      role: 'api',
      action: 'deleteSessionTag',
      target: 'tag-1',
      outcome: 2000,
      source: '127.0.0.1',
      detail: { tagName: 'review' },
    });
    assert.deepEqual(
      deletions.slice(1).map((r) => [r.username, r.role, r.target, r.outcome]),
      [['auditor-user', 'auditor', 'tag-1', 4022]],
    );
  });

  void it('records subscribeToEvents and unsubscribeFromEvents: the subscription, its URL and filters', async () => {
    const uri = 'http://127.0.0.1:9/verbatim-events';
    const subscribed = await as(
      'api-user',
      `${EVENT}/subscribeToEvents`,
      { requestParameters: { subscriptionUri: uri, subscriptionFilters: ['TAG_EVENTS'] } },
      2000,
    );
    const subscriptionId = String(subscribed.responseBody?.subscriptionId);
    await as(
      'api-user',
      `${EVENT}/unsubscribeFromEvents`,
      { requestParameters: { subscriptionId, subscriptionFilters: ['TAG_ADDED_EVENT'] } },
      2000,
    );
    await as('api-user', `${EVENT}/unsubscribeFromEvents`, { requestParameters: { subscriptionId } }, 2000);
    await as('api-user', `${EVENT}/unsubscribeFromEvents`, { requestParameters: { subscriptionId } }, 4041);

    const [subscribe] = await audited('subscribeToEvents');
    assert.ok(subscribe !== undefined);
    assert.deepEqual(subscribe, {
      username: 'api-user',
      role: 'api',
      action: 'subscribeToEvents',
      target: `subscription ${subscriptionId}`,
      outcome: 2000,
      source: '127.0.0.1',
      detail: { uri, filters: subscribe.detail?.filters ?? '', outcome: 'created' },
    });
    assert.match(subscribe.detail.filters, /(^|,)TAG_ADDED_EVENT(,|$)/);
    const common = {
      username: 'api-user',
      role: 'api',
      action: 'unsubscribeFromEvents',
      target: `subscription ${subscriptionId}`,
      source: '127.0.0.1',
    };
    assert.deepEqual(await audited('unsubscribeFromEvents'), [
      { ...common, outcome: 2000, detail: { filters: 'TAG_ADDED_EVENT' } },
      { ...common, outcome: 2000 },
      { ...common, outcome: 4041 },
    ]);
  });

  void it('keeps the password of a refused subscriptionUri out of the audit trail', async () => {
    const refused = await as(
      'api-user',
      `${EVENT}/subscribeToEvents`,
      { requestParameters: { subscriptionUri: 'http://alice:hunter2@127.0.0.1:9/events' } },
      4001,
    );
    assert.doesNotMatch(JSON.stringify(refused), /hunter2/);
    const records = (await audited('subscribeToEvents')).filter((r) => r.outcome === 4001);
    assert.deepEqual(
      records.map((r) => r.detail?.uri),
      ['http://***@127.0.0.1:9/events'],
    );
    assert.doesNotMatch(JSON.stringify(records), /hunter2|alice/);
  });

  void it('records addUser, updateUser and deleteUser over the API, never a password', async () => {
    await as(
      'admin-user',
      `${USERS}/addUser`,
      { requestParameters: { username: 'dave', role: 'supervisor', password: 'a long enough secret' } },
      2000,
    );
    await as(
      'admin-user',
      `${USERS}/updateUser`,
      { requestParameters: { username: 'dave', role: 'auditor' } },
      2000,
    );
    await as(
      'admin-user',
      `${USERS}/updateUser`,
      { requestParameters: { username: 'dave', password: 'another long secret' } },
      2000,
    );
    await as('admin-user', `${USERS}/deleteUser`, { requestParameters: { username: 'dave' } }, 2000);
    await as('api-user', `${USERS}/deleteUser`, { requestParameters: { username: 'admin-user' } }, 4022);

    const admin = { username: 'admin-user', role: 'admin', source: '127.0.0.1', target: 'dave' };
    assert.deepEqual(await audited('addUser'), [
      { ...admin, action: 'addUser', outcome: 2000, detail: { role: 'supervisor' } },
    ]);
    assert.deepEqual(await audited('updateUser'), [
      { ...admin, action: 'updateUser', outcome: 2000, detail: { role: 'auditor' } },
      { ...admin, action: 'updateUser', outcome: 2000, detail: { password: 'changed' } },
    ]);
    assert.deepEqual(await audited('deleteUser'), [
      { ...admin, action: 'deleteUser', outcome: 2000 },
      {
        username: 'api-user',
        role: 'api',
        source: '127.0.0.1',
        action: 'deleteUser',
        // A role refusal comes before the call's handler: the target is read from the parameters.
        target: 'admin-user',
        outcome: 4022,
      },
    ]);
    const everything = JSON.stringify(await audited('updateUser')) + JSON.stringify(await audited('addUser'));
    assert.ok(!everything.includes('secret'), 'no password in the audit trail');
  });

  void it('records deleteSessions over HTTP: the job and the sessions it deletes', async () => {
    const answer = await as(
      'api-user',
      `${MANAGE}/deleteSessions`,
      { requestParameters: { sessionIds: ['del-1'] } },
      2000,
    );
    const jobId = Number(answer.responseBody?.jobId);
    assert.ok(jobId >= 1);
    await as(
      'supervisor-user',
      `${MANAGE}/deleteSessions`,
      { requestParameters: { sessionIds: ['tag-1'] } },
      4022,
    );
    await waitFor(async () => (await repository.getSession('del-1'))?.sessionState === 'DELETED', {
      what: 'del-1 deleted by the job',
    });
    assert.deepEqual(await audited('deleteSessions'), [
      {
        username: 'api-user',
        role: 'api',
        action: 'deleteSessions',
        target: `job ${jobId}`,
        outcome: 2000,
        source: '127.0.0.1',
        detail: { sessions: '1', sessionIds: 'del-1' },
      },
      {
        username: 'supervisor-user',
        role: 'supervisor',
        action: 'deleteSessions',
        outcome: 4022,
        source: '127.0.0.1',
        detail: { sessions: '1', sessionIds: 'tag-1' },
      },
    ]);
  });

  void it('records resumeRecording: the session, the Resume tag or the refusal', async () => {
    await as('api-user', `${CONTROL}/resumeRecording`, { requestParameters: { sessionId: 'live-1' } }, 2000);
    await as('api-user', `${CONTROL}/resumeRecording`, { requestParameters: { sessionId: 'tag-1' } }, 4042);
    await as(
      'supervisor-user',
      `${CONTROL}/resumeRecording`,
      { requestParameters: { sessionId: 'live-1' } },
      4022,
    );
    const api = { username: 'api-user', role: 'api', action: 'resumeRecording', source: '127.0.0.1' };
    assert.deepEqual(await audited('resumeRecording'), [
      { ...api, target: 'live-1', outcome: 2000, detail: { tag: 'Resume', tagOffset: '9000' } },
      { ...api, target: 'tag-1', outcome: 4042, detail: { refused: 'not-active' } },
      {
        username: 'supervisor-user',
        role: 'supervisor',
        action: 'resumeRecording',
        target: 'live-1',
        outcome: 4022,
        source: '127.0.0.1',
      },
    ]);
  });
});
