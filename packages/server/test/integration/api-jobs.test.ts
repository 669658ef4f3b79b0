import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ensureAdminUser } from '../../src/api/admin-bootstrap.js';
import { jobRoutes } from '../../src/api/job-routes.js';
import { hashPassword } from '../../src/api/passwords.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import { DeletionJobRunner, MAX_SESSIONS_PER_JOB } from '../../src/storage/deletion-jobs.js';
import { exists, seedRecordedSession, type SeededSession } from '../support/deletion-seed.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';
import { waitFor } from '../support/wait.js';

/**
 * deleteSessions and the job calls over a real socket, against the real SQLite repository and real
 * pcap files: what a client sees of a job from creation to its end, what is gone from disk and
 * from the answers afterwards, cancel, deleteJob's rule and the batched DELETED events.
 */

interface Answer {
  readonly responseCode: number;
  readonly responseMessage: string;
  readonly responseBody?: Record<string, unknown>;
  readonly detail?: string;
}

interface JobJson {
  readonly jobId: number;
  readonly jobType: string;
  readonly jobState: string;
  readonly jobStartTime: number;
  readonly jobDuration: number;
  readonly operationsCompleted: number;
  readonly operationsRemaining: number;
  readonly operationsFailed: number;
  readonly failedOperations: { sessionId: string; reason: string }[];
}

type DeletedEvent = Extract<VerbatimEvent, { eventAction: 'DELETED' }>;

const MANAGE = '/ora/managementService/manage';

void describe('deletion jobs over the HTTP API (integration)', () => {
  let dir: string;
  let mediaDir: string;
  let repository: Repository;
  let runner: DeletionJobRunner;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;
  const events: DeletedEvent[] = [];
  let onDeleted: ((event: DeletedEvent) => void) | undefined;
  const basic = `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-jobs-'));
    mediaDir = join(dir, 'media');
    await mkdir(mediaDir);
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    await ensureAdminUser(repository, 'admin-pw');
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: {
        publish: (event) => {
          if (event.eventType === 'SESSION_EVENT' && event.eventAction === 'DELETED') {
            events.push(event);
            onDeleted?.(event);
          }
        },
      },
      logger: pino({ level: 'silent' }),
    });
    runner.start();
    app = await buildTestHttpApi({
      repository,
      mediaDir,
      extraRoutes: [(deps) => jobRoutes({ jobs: runner, now: deps.now })],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username: 'admin', password: 'admin-pw' } }),
    });
    assert.equal(((await response.json()) as Answer).responseCode, 2000);
    cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  });

  after(async () => {
    await app.close();
    await runner.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(path: string, body: unknown, withCookie = true): Promise<Answer> {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(withCookie ? { cookie } : {}) },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as Answer;
  }

  async function get(path: string): Promise<Answer> {
    const response = await fetch(`${base}${path}`, { headers: { cookie } });
    assert.equal(response.status, 200);
    return (await response.json()) as Answer;
  }

  async function jobById(jobId: number): Promise<JobJson> {
    const answer = await get(`/ora/queryService/query/getJobById?jobId=${jobId}`);
    assert.equal(answer.responseCode, 2000, answer.detail);
    const [job] = (answer.responseBody as { jobs: JobJson[] }).jobs;
    assert.ok(job !== undefined);
    return job;
  }

  async function finished(jobId: number): Promise<JobJson> {
    return waitFor(
      async () => {
        const job = await jobById(jobId);
        return job.jobState === 'RUNNING' || job.jobState === 'QUEUED' ? undefined : job;
      },
      { what: `job ${jobId} to finish` },
    );
  }

  async function deleteSessions(sessionIds: readonly string[]): Promise<number> {
    const answer = await post(`${MANAGE}/deleteSessions`, { requestParameters: { sessionIds } });
    assert.equal(answer.responseCode, 2000, answer.detail);
    const jobId = answer.responseBody?.jobId;
    assert.equal(typeof jobId, 'number');
    return jobId as number;
  }

  async function seedMany(prefix: string, count: number): Promise<SeededSession[]> {
    const seeded: SeededSession[] = [];
    for (let i = 0; i < count; i++) {
      seeded.push(await seedRecordedSession(repository, mediaDir, `${prefix}-${String(i).padStart(4, '0')}`));
    }
    return seeded;
  }

  void it('deletes closed sessions: media gone from disk and downloads, DELETED in queries', async () => {
    const doomed = await seedRecordedSession(repository, mediaDir, 'doomed');
    const live = await seedRecordedSession(repository, mediaDir, 'live', { state: 'ACTIVE' });
    const wavBefore = await fetch(`${base}/recordedMedia/oramedia/wav/doomed.wav`, {
      headers: { authorization: basic },
    });
    assert.equal(wavBefore.status, 200, 'the WAV is served before the deletion');
    await wavBefore.arrayBuffer();

    const started = Date.now();
    const jobId = await deleteSessions(['doomed', 'live', 'ghost']);
    const job = await finished(jobId);
    assert.equal(job.jobType, 'DELETE_SESSIONS');
    assert.equal(job.jobState, 'COMPLETED');
    assert.deepEqual([job.operationsCompleted, job.operationsRemaining, job.operationsFailed], [3, 0, 2]);
    assert.deepEqual(job.failedOperations, [
      { sessionId: 'live', reason: 'ACTIVE' },
      { sessionId: 'ghost', reason: 'NOT_FOUND' },
    ]);
    assert.ok(job.jobStartTime >= started - 1000 && job.jobDuration >= 0);

    for (const file of doomed.files) {
      assert.equal(await exists(file), false);
    }
    assert.equal(await exists(doomed.folder), false);
    for (const file of live.files) {
      assert.equal(await exists(file), true, 'an ACTIVE session keeps its media');
    }
    const query = await get('/ora/queryService/query/getSessionBySessionId?value=doomed');
    const [session] = (query.responseBody as { sessions: { sessionState: string; tracks: unknown[] }[] })
      .sessions;
    assert.equal(session?.sessionState, 'DELETED');
    assert.deepEqual(session.tracks, []);

    const wav = await fetch(`${base}/recordedMedia/oramedia/wav/doomed.wav`, {
      headers: { authorization: basic },
    });
    assert.equal(wav.status, 404);
    assert.equal(((await wav.json()) as Answer).responseCode, 4040);
    const raw = await fetch(`${base}/mma/ExportRaw?recording=doomed-TRACK0`, {
      headers: { authorization: basic },
    });
    assert.equal(raw.status, 404);
    await raw.arrayBuffer();
    assert.deepEqual(
      events.filter((e) => e.jobId === jobId).map((e) => e.sessionIds),
      [['doomed']],
    );
  });

  void it('reports progress, cancels a RUNNING job after the session in progress, then deletes it', async () => {
    const seeded = await seedMany('cancel', 300);
    let canceling: Promise<Answer> | undefined;
    let progress: JobJson | undefined;
    let jobId = 0;
    onDeleted = (event) => {
      if (event.jobId === jobId && canceling === undefined) {
        canceling = (async () => {
          progress = await jobById(jobId);
          const refused = await post(`${MANAGE}/deleteJob`, { requestParameters: { jobId } });
          assert.deepEqual(
            [refused.responseCode, refused.detail],
            [4042, `job ${jobId} is QUEUED or RUNNING: cancel it first (cancelJob), then delete it`],
          );
          return post(`${MANAGE}/cancelJob`, { requestParameters: { jobId: String(jobId) } });
        })();
      }
    };
    jobId = await deleteSessions(seeded.map((s) => s.session.sessionId));
    await waitFor(() => canceling !== undefined, { what: 'the first DELETED event' });
    const canceled = await canceling!;
    onDeleted = undefined;
    assert.equal(canceled.responseCode, 2000, canceled.detail);
    const [stopped] = (canceled.responseBody as { jobs: JobJson[] }).jobs;
    assert.equal(stopped?.jobState, 'CANCELED');
    assert.ok(progress !== undefined && progress.jobState === 'RUNNING');
    assert.ok(progress.operationsCompleted > 0 && progress.operationsRemaining > 0, 'progress while RUNNING');
    assert.equal(progress.operationsCompleted + progress.operationsRemaining, 300);
    assert.ok(stopped.operationsRemaining > 0, 'stopped before the end');

    const after = await jobById(jobId);
    assert.deepEqual([after.jobState, after.operationsCompleted], ['CANCELED', stopped.operationsCompleted]);
    const deleted = events.filter((e) => e.jobId === jobId).flatMap((e) => e.sessionIds);
    assert.equal(deleted.length, stopped.operationsCompleted);
    assert.deepEqual(
      deleted,
      seeded.slice(0, deleted.length).map((s) => s.session.sessionId),
    );
    assert.equal(await exists(seeded.at(-1)!.folder), true, 'the sessions after the stop are kept');

    const gone = await post(`${MANAGE}/deleteJob`, { requestParameters: { jobId } });
    assert.deepEqual(gone, { responseCode: 2000, responseMessage: 'Successful' });
    const missing = await get(`/ora/queryService/query/getJobById?jobId=${jobId}`);
    assert.deepEqual([missing.responseCode, missing.detail], [4041, `no job ${jobId}`]);
  });

  void it('runs createJob DELETE_SESSIONS and batches the events of a large job', async () => {
    const seeded = await seedMany('bulk', 250);
    const answer = await post(`${MANAGE}/createJob`, {
      requestParameters: {
        jobType: 'DELETE_SESSIONS',
        jobParameters: { sessionIds: seeded.map((s) => s.session.sessionId) },
      },
    });
    assert.equal(answer.responseCode, 2000, answer.detail);
    const jobId = answer.responseBody?.jobId as number;
    const job = await finished(jobId);
    assert.deepEqual([job.jobState, job.operationsCompleted, job.operationsFailed], ['COMPLETED', 250, 0]);
    const batches = events.filter((e) => e.jobId === jobId);
    assert.ok(
      batches.length <= 10 && batches.every((e) => e.sessionIds.length <= 100),
      `${batches.length} events`,
    );
    assert.equal(batches.flatMap((e) => e.sessionIds).length, 250);
  });

  void it('accepts a full job of 10,000 ids, beyond the 128 KiB body limit of other calls', async () => {
    const sessionIds = Array.from(
      { length: MAX_SESSIONS_PER_JOB },
      (_, i) => `absent${String(i).padStart(10, '0')}`,
    );
    assert.ok(JSON.stringify({ requestParameters: { sessionIds } }).length > 128 * 1024);
    const jobId = await deleteSessions(sessionIds);
    const canceled = await post(`${MANAGE}/cancelJob`, { requestParameters: { jobId } });
    assert.equal(canceled.responseCode, 2000);
    const over = await post(`${MANAGE}/deleteSessions`, {
      requestParameters: { sessionIds: [...sessionIds, 'x'] },
    });
    assert.equal(over.responseCode, 4001);
  });

  void it('lets admin and api delete; supervisor and auditor may only follow a job', async () => {
    const jobId = await deleteSessions(['nothing-here']);
    await finished(jobId);
    for (const role of ['supervisor', 'auditor'] as const) {
      await repository.createUser({
        username: `a-${role}`,
        role,
        passwordHash: await hashPassword('pw-of-a-role'),
        createdAt: 0,
      });
      const signIn = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
        method: 'POST',
        body: JSON.stringify({ requestParameters: { username: `a-${role}`, password: 'pw-of-a-role' } }),
      });
      const roleCookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
      await signIn.arrayBuffer();
      for (const [api, params] of [
        ['deleteSessions', { sessionIds: ['x'] }],
        ['createJob', { jobType: 'DELETE_SESSIONS', jobParameters: { sessionIds: ['x'] } }],
        ['cancelJob', { jobId }],
        ['deleteJob', { jobId }],
      ] as const) {
        const response = await fetch(`${base}${MANAGE}/${api}`, {
          method: 'POST',
          headers: { cookie: roleCookie },
          body: JSON.stringify({ requestParameters: params }),
        });
        assert.equal(((await response.json()) as Answer).responseCode, 4022, `${role} ${api}`);
      }
      const status = await fetch(`${base}/ora/queryService/query/getJobById?jobId=${jobId}`, {
        headers: { cookie: roleCookie },
      });
      assert.equal(((await status.json()) as Answer).responseCode, 2000, `${role} follows the job`);
    }
    assert.equal((await jobById(jobId)).jobState, 'COMPLETED', 'the refused calls changed nothing');
  });

  void it('describes the five job calls in a valid OpenAPI document', async () => {
    const response = await fetch(`${base}/ora/openapi.json`);
    const document = (await response.json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify({ errors: result.errors }).slice(0, 2000));
    const names = Object.values(document.paths).flatMap((item) =>
      Object.values(item).map((op) => op.operationId),
    );
    for (const name of ['deleteSessions', 'createJob', 'getJobById', 'cancelJob', 'deleteJob']) {
      assert.ok(names.includes(name), `${name} is documented`);
    }
  });

  void it('refuses the job calls without a signed-in session', async () => {
    for (const path of ['deleteSessions', 'createJob', 'cancelJob', 'deleteJob']) {
      assert.equal((await post(`${MANAGE}/${path}`, { requestParameters: {} }, false)).responseCode, 4021);
    }
    const response = await fetch(`${base}/ora/queryService/query/getJobById?jobId=1`);
    assert.equal(((await response.json()) as Answer).responseCode, 4021);
  });
});
