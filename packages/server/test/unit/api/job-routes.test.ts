import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { jobRoutes, JOB_BODY_LIMIT_BYTES } from '../../../src/api/job-routes.js';
import { DeletionJobRunner, MAX_SESSIONS_PER_JOB } from '../../../src/storage/deletion-jobs.js';
import { FakeRepository } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

/**
 * The job API over fastify's inject, with a runner that is not started (its jobs stay QUEUED):
 * how each request is read, every refusal with its code and detail, and the shapes of the answers.
 */

interface Answer {
  responseCode: number;
  responseMessage: string;
  responseBody?: Record<string, unknown>;
  detail?: string;
}

const MANAGE = '/ora/managementService/manage';
const NOW = 5_000;

describe('job API routes', () => {
  let repository: FakeRepository;
  let app: FastifyInstance;
  let cookie: string;

  beforeEach(async () => {
    repository = new FakeRepository();
    await addApiUser(repository, 'integrator', 'pw-integrator');
    const jobs = new DeletionJobRunner({
      store: repository,
      mediaDir: '/nonexistent',
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
      now: () => 1_000,
    });
    app = await buildTestHttpApi({
      repository,
      now: () => NOW,
      extraRoutes: [(deps) => jobRoutes({ jobs, now: deps.now })],
    });
    const signIn = await app.inject({
      method: 'POST',
      url: '/ora/authenticationService/authentication/signIn',
      payload: { requestParameters: { username: 'integrator', password: 'pw-integrator' } },
    });
    cookie = /JSESSIONID=[0-9a-f]+/.exec(String(signIn.headers['set-cookie']))?.[0] ?? '';
    assert.notEqual(cookie, '');
  });

  async function post(api: string, requestParameters: unknown): Promise<Answer> {
    const response = await app.inject({
      method: 'POST',
      url: `${MANAGE}/${api}`,
      headers: { cookie },
      payload: { requestParameters },
    });
    assert.equal(response.statusCode, 200);
    return response.json<Answer>();
  }

  async function getJob(query: string): Promise<Answer> {
    const response = await app.inject({
      method: 'GET',
      url: `/ora/queryService/query/getJobById${query}`,
      headers: { cookie },
    });
    return response.json<Answer>();
  }

  it('deleteSessions answers the new job id at once; getJobById reports it in MediaSense shape', async () => {
    assert.deepEqual(await post('deleteSessions', { sessionIds: ['a', 'b', 'a'] }), {
      responseCode: 2000,
      responseMessage: 'Successful',
      responseBody: { jobId: 1 },
    });
    assert.deepEqual(await getJob('?jobId=1'), {
      responseCode: 2000,
      responseMessage: 'Success: Your request was successfully completed.',
      responseBody: {
        jobs: [
          {
            jobType: 'DELETE_SESSIONS',
            jobDuration: 4_000,
            jobStartTime: 1_000,
            jobId: 1,
            jobState: 'QUEUED',
            operationsCompleted: 0,
            operationsRemaining: 2,
            operationsFailed: 0,
            failedOperations: [],
          },
        ],
      },
    });
    const [record] = repository.audit.filter((r) => r.action !== 'signIn');
    assert.deepEqual(
      [record?.action, record?.target, record?.outcome, record?.detail],
      ['deleteSessions', 'job 1', 2000, { sessions: '3', sessionIds: 'a,b,a' }],
    );
  });

  it('createJob DELETE_SESSIONS (any case) is deleteSessions through the generic call', async () => {
    const created = await post('createJob', {
      jobType: 'delete_sessions',
      jobParameters: { sessionIds: ['x'] },
    });
    assert.deepEqual(created.responseBody, { jobId: 1 });
    const wrongType = await post('createJob', { jobType: 'ARCHIVE', jobParameters: { sessionIds: ['x'] } });
    assert.deepEqual(
      [wrongType.responseCode, wrongType.detail],
      [4001, 'requestParameters.jobType must be DELETE_SESSIONS, got "ARCHIVE"'],
    );
    assert.equal((await post('createJob', { jobType: 'DELETE_SESSIONS' })).responseCode, 4002);
  });

  it('refuses bad session lists with 4002 or 4001 and a detail naming the parameter', async () => {
    const cases: [unknown, number, RegExp][] = [
      [{}, 4002, /^requestParameters\.sessionIds is required$/],
      [{ sessionIds: [] }, 4001, /^requestParameters\.sessionIds /],
      [{ sessionIds: ['a', 'x'.repeat(129)] }, 4001, /^requestParameters\.sessionIds\.1 /],
      [{ sessionIds: ['a', ''] }, 4001, /^requestParameters\.sessionIds\.1 /],
      [
        { sessionIds: Array.from({ length: MAX_SESSIONS_PER_JOB + 1 }, (_, i) => `s${i}`) },
        4001,
        /^requestParameters\.sessionIds /,
      ],
    ];
    for (const [params, code, detail] of cases) {
      const answer = await post('deleteSessions', params);
      assert.equal(answer.responseCode, code, JSON.stringify(params).slice(0, 60));
      assert.match(answer.detail ?? '', detail);
    }
    assert.equal((await getJob('?jobId=1')).responseCode, 4041, 'no job was created');
  });

  it('reads a lone session id as a list of one', async () => {
    assert.deepEqual((await post('deleteSessions', { sessionIds: 'abc' })).responseBody, { jobId: 1 });
    const job = (await getJob('?jobId=1')).responseBody as { jobs: { operationsRemaining: number }[] };
    assert.equal(job.jobs[0]?.operationsRemaining, 1);
  });

  it('answers an unknown or malformed job id on getJobById, cancelJob and deleteJob', async () => {
    assert.deepEqual(await getJob('?jobId=42'), {
      responseCode: 4041,
      responseMessage: 'Failure: The requested item was not found.',
      detail: 'no job 42',
    });
    assert.equal((await getJob('')).responseCode, 4002);
    assert.equal((await getJob('?jobid=x')).responseCode, 4001);
    assert.equal((await post('cancelJob', { jobId: 42 })).responseCode, 4041);
    assert.equal((await post('deleteJob', { jobId: '42' })).responseCode, 4041);
    assert.equal((await post('deleteJob', { jobId: 0 })).responseCode, 4001);
    assert.equal((await post('cancelJob', {})).responseCode, 4002);
  });

  it('cancels a QUEUED job, then refuses to cancel it again; deletes only a finished job', async () => {
    await post('deleteSessions', { sessionIds: ['a'] });
    assert.deepEqual(await post('deleteJob', { jobId: 1 }), {
      responseCode: 4042,
      responseMessage: 'Failure: The request is not allowed in the current state.',
      detail: 'job 1 is QUEUED or RUNNING: cancel it first (cancelJob), then delete it',
    });
    const canceled = await post('cancelJob', { jobId: 1 });
    assert.equal(canceled.responseCode, 2000);
    assert.deepEqual(
      (canceled.responseBody as { jobs: { jobState: string; jobEndTime: number }[] }).jobs.map((j) => [
        j.jobState,
        j.jobEndTime,
      ]),
      [['CANCELED', 1_000]],
    );
    const again = await post('cancelJob', { jobId: 1 });
    assert.deepEqual(
      [again.responseCode, again.detail],
      [4042, 'job 1 is CANCELED: only a QUEUED or RUNNING job can be canceled'],
    );
    assert.deepEqual(await post('deleteJob', { jobId: 1 }), {
      responseCode: 2000,
      responseMessage: 'Successful',
    });
    assert.deepEqual(
      repository.audit.filter((r) => r.action !== 'signIn').map((r) => [r.action, r.target, r.outcome]),
      [
        ['deleteSessions', 'job 1', 2000],
        ['deleteJob', 'job 1', 4042],
        ['cancelJob', 'job 1', 2000],
        ['cancelJob', 'job 1', 4042],
        ['deleteJob', 'job 1', 2000],
      ],
    );
  });

  it('sizes the body limit for a full job of the longest ids', () => {
    const body = JSON.stringify({
      requestParameters: {
        sessionIds: Array.from({ length: MAX_SESSIONS_PER_JOB }, () => 'x'.repeat(128)),
      },
    });
    assert.ok(Buffer.byteLength(body) <= JOB_BODY_LIMIT_BYTES, `${Buffer.byteLength(body)} bytes fit`);
  });
});
