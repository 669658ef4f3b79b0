import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import {
  cancelJob,
  createJob,
  deleteJob,
  deleteSessions,
  getJobById,
  JOB_BODY_LIMIT_BYTES,
  MAX_SESSION_ID_LENGTH,
} from '../../../src/api/job-routes.js';
import { DeletionJobRunner, MAX_SESSIONS_PER_JOB } from '../../../src/storage/deletion-jobs.js';
import { FakeRepository } from '../../support/fake-repository.js';

/**
 * The job API handlers over a runner that is not started (its jobs stay QUEUED): how each request
 * is read, every refusal with its code and detail, and the shapes of the answers.
 */

function setup(): { jobs: DeletionJobRunner; repository: FakeRepository } {
  const repository = new FakeRepository();
  const jobs = new DeletionJobRunner({
    store: repository,
    mediaDir: '/nonexistent',
    events: { publish: () => undefined },
    logger: pino({ level: 'silent' }),
    now: () => 1_000,
  });
  return { jobs, repository };
}

const NOW = 5_000;

describe('job API handlers', () => {
  it('deleteSessions answers the new job id at once; getJobById reports it in MediaSense shape', async () => {
    const { jobs } = setup();
    const created = await deleteSessions(jobs, { requestParameters: { sessionIds: ['a', 'b', 'a'] } });
    assert.deepEqual(created, {
      responseCode: 2000,
      responseMessage: 'Successful',
      responseBody: { jobId: 1 },
    });
    const report = await getJobById(jobs, { jobId: '1' }, NOW);
    assert.deepEqual(report, {
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
  });

  it('createJob DELETE_SESSIONS is deleteSessions through the generic call', async () => {
    const { jobs } = setup();
    const created = await createJob(jobs, {
      requestParameters: { jobType: 'delete_sessions', jobParameters: { sessionIds: ['x'] } },
    });
    assert.deepEqual(created.responseBody, { jobId: 1 });
    assert.equal((await jobs.getJob(1))?.job.operationsTotal, 1);
  });

  it('refuses bad deletion requests with the code and a detail naming the parameter', async () => {
    const { jobs } = setup();
    const cases: [unknown, number, string][] = [
      [{}, 4002, 'requestParameters is required'],
      [{ requestParameters: {} }, 4002, 'sessionIds is required'],
      [{ requestParameters: { sessionIds: [] } }, 4001, 'sessionIds lists no session'],
      [{ requestParameters: { sessionIds: 7 } }, 4001, 'sessionIds must be an array of session ids, got 7'],
      [
        { requestParameters: { sessionIds: ['a', 3] } },
        4001,
        `sessionIds[1] must be a session id of 1 to ${MAX_SESSION_ID_LENGTH} characters, got 3`,
      ],
      [
        { requestParameters: { sessionIds: ['a', ''] } },
        4001,
        `sessionIds[1] must be a session id of 1 to ${MAX_SESSION_ID_LENGTH} characters, got ""`,
      ],
      [
        { requestParameters: { sessionIds: Array.from({ length: MAX_SESSIONS_PER_JOB + 1 }, () => 'a') } },
        4001,
        `sessionIds lists ${MAX_SESSIONS_PER_JOB + 1} sessions; a job takes at most ${MAX_SESSIONS_PER_JOB}`,
      ],
    ];
    for (const [body, code, detail] of cases) {
      const answer = await deleteSessions(jobs, body);
      assert.deepEqual(
        [answer.responseCode, answer.detail],
        [code, detail],
        JSON.stringify(body).slice(0, 80),
      );
    }
    const createCases: [unknown, number, string][] = [
      [{ requestParameters: { jobParameters: { sessionIds: ['a'] } } }, 4002, 'jobType is required'],
      [
        { requestParameters: { jobType: 'ARCHIVE', jobParameters: { sessionIds: ['a'] } } },
        4001,
        'jobType must be DELETE_SESSIONS, got "ARCHIVE"',
      ],
      [
        { requestParameters: { jobType: 'DELETE_SESSIONS' } },
        4002,
        'jobParameters with sessionIds is required',
      ],
      [
        { requestParameters: { jobType: 'DELETE_SESSIONS', jobParameters: { sessionIds: {} } } },
        4001,
        'jobParameters.sessionIds must be an array of session ids, got an object',
      ],
    ];
    for (const [body, code, detail] of createCases) {
      const answer = await createJob(jobs, body);
      assert.deepEqual([answer.responseCode, answer.detail], [code, detail]);
    }
    assert.equal((await jobs.getJob(1)) ?? 'none', 'none', 'no job was created');
  });

  it('reads a lone session id as a list of one', async () => {
    const { jobs } = setup();
    const answer = await deleteSessions(jobs, { requestParameters: { sessionIds: 'abc' } });
    assert.equal(answer.responseCode, 2000);
    assert.equal((await jobs.getJob(1))?.job.operationsTotal, 1);
  });

  it('answers an unknown or malformed job id on getJobById, cancelJob and deleteJob', async () => {
    const { jobs } = setup();
    assert.deepEqual(await getJobById(jobs, { jobId: '42' }, NOW), {
      responseCode: 4060,
      responseMessage: 'Failure: The job was not found.',
      detail: 'no job 42',
    });
    assert.deepEqual(
      [(await getJobById(jobs, {}, NOW)).detail, (await getJobById(jobs, { jobid: 'x' }, NOW)).detail],
      ['jobId is required', 'jobId must be a positive integer, got "x"'],
    );
    assert.equal((await cancelJob(jobs, { requestParameters: { jobId: 42 } }, NOW)).responseCode, 4060);
    assert.equal((await deleteJob(jobs, { requestParameters: { jobId: '42' } })).responseCode, 4060);
    assert.equal((await deleteJob(jobs, { requestParameters: { jobId: 0 } })).responseCode, 4001);
    assert.equal((await cancelJob(jobs, {}, NOW)).responseCode, 4002);
  });

  it('cancels a QUEUED job, then refuses to cancel it again; deletes only a finished job', async () => {
    const { jobs } = setup();
    await deleteSessions(jobs, { requestParameters: { sessionIds: ['a'] } });
    const refused = await deleteJob(jobs, { requestParameters: { jobId: 1 } });
    assert.deepEqual(refused, {
      responseCode: 4061,
      responseMessage: 'Failure: The job is not in a state that allows this operation.',
      detail: 'job 1 is QUEUED or RUNNING: cancel it first (cancelJob), then delete it',
    });
    const canceled = await cancelJob(jobs, { requestParameters: { jobId: 1 } }, NOW);
    assert.equal(canceled.responseCode, 2000);
    assert.deepEqual(
      (canceled.responseBody as { jobs: { jobState: string; jobEndTime: number }[] }).jobs.map((j) => [
        j.jobState,
        j.jobEndTime,
      ]),
      [['CANCELED', 1_000]],
    );
    const again = await cancelJob(jobs, { requestParameters: { jobId: 1 } }, NOW);
    assert.deepEqual(
      [again.responseCode, again.detail],
      [4061, 'job 1 is CANCELED: only a QUEUED or RUNNING job can be canceled'],
    );
    assert.deepEqual(await deleteJob(jobs, { requestParameters: { jobId: 1 } }), {
      responseCode: 2000,
      responseMessage: 'Successful',
    });
  });

  it('sizes the body limit for a full job of the longest ids', () => {
    const body = JSON.stringify({
      requestParameters: {
        sessionIds: Array.from({ length: MAX_SESSIONS_PER_JOB }, () => 'x'.repeat(MAX_SESSION_ID_LENGTH)),
      },
    });
    assert.ok(Buffer.byteLength(body) <= JOB_BODY_LIMIT_BYTES, `${Buffer.byteLength(body)} bytes fit`);
  });
});
