import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { Job } from '../../src/model/job.js';
import { capture } from '../support/cucm-calls.js';
import { exists, seedRecordedSession, type SeededSession } from '../support/deletion-seed.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { stopAll } from '../support/processes.js';
import { findSessionBy } from '../support/session-api.js';
import { ADMIN_PASSWORD, startServer, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * A deletion job outlives its node: `verbatim serve` is killed (kill -9) in the middle of a job,
 * then stopped politely (SIGTERM) in the middle of it again, and each time the next start resumes
 * the job where it stopped, until it completes with every session deleted exactly once. The job
 * holds a call recorded through SIP by this very node, and thousands of seeded sessions.
 */

const SEEDED = 3000;
const MANAGE = '/ora/managementService/manage';

interface JobJson {
  readonly jobState: string;
  readonly operationsCompleted: number;
  readonly operationsRemaining: number;
  readonly operationsFailed: number;
}

let work: string;
let dataDir: string;
let servers: RunningServer[] = [];

async function jobOf(server: RunningServer, jobId: number): Promise<JobJson> {
  const answer = await server.api(`/ora/queryService/query/getJobById?jobId=${jobId}`);
  assert.equal(answer.responseCode, 2000, answer.detail);
  const [job] = (answer.responseBody as { jobs: JobJson[] }).jobs;
  assert.ok(job !== undefined);
  return job;
}

/** The job as the database holds it while no node runs. */
async function storedJob(jobId: number): Promise<{ job: Job | undefined; repository: Repository }> {
  const repository = await openRepository({ kind: 'sqlite', path: join(dataDir, 'verbatim.db') });
  return { job: await repository.getJob(jobId), repository };
}

/**
 * The first `done` seeded sessions are DELETED with their media gone, the others are as they were:
 * at most one of them (cut between its files and its tombstone by the kill) has lost its files
 * already, which the resumed job finishes.
 */
async function assertDeletedPrefix(
  repository: Repository,
  seeded: readonly SeededSession[],
  done: number,
): Promise<void> {
  let cutHalfway = 0;
  for (const [i, s] of seeded.entries()) {
    const state = (await repository.getSession(s.session.sessionId))?.sessionState;
    const folderThere = await exists(s.folder);
    assert.equal(state, i < done ? 'DELETED' : 'CLOSED_NORMAL', s.session.sessionId);
    if (i < done) {
      assert.equal(folderThere, false, `${s.session.sessionId} is DELETED and its media gone`);
    } else if (!folderThere) {
      cutHalfway++;
    }
  }
  assert.ok(cutHalfway <= 1, `${cutHalfway} sessions lost their files without their tombstone`);
}

describe('a deletion job across restarts of verbatim serve', { timeout: 300_000 }, () => {
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'verbatim-jobs-restart-'));
    dataDir = join(work, 'data');
    await mkdir(join(dataDir, 'media'), { recursive: true });
  });

  after(async () => {
    await stopAll();
    for (const server of servers) {
      await server.stop({ keepData: true }).catch(() => undefined);
    }
    servers = [];
    await rm(work, { recursive: true, force: true });
  });

  async function start(): Promise<RunningServer> {
    const server = await startServer({ dataDir });
    servers.push(server);
    return server;
  }

  async function stop(server: RunningServer, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | string> {
    servers = servers.filter((s) => s !== server);
    return server.stop({ keepData: true, signal });
  }

  it('resumes after kill -9 and after SIGTERM, and completes with every session deleted once', async () => {
    const seeding = await openRepository({ kind: 'sqlite', path: join(dataDir, 'verbatim.db') });
    await seeding.migrate();
    const seeded: SeededSession[] = [];
    // Recorded yesterday: well inside the default retention (60 days), so that no pruning by age
    // at the node's start takes files away from the job under test.
    const startMs = Date.now() - 24 * 3600_000;
    for (let i = 0; i < SEEDED; i++) {
      seeded.push(
        await seedRecordedSession(seeding, join(dataDir, 'media'), `seed${String(i).padStart(5, '0')}`, {
          packets: 3,
          startMs: startMs + i,
        }),
      );
    }
    await seeding.close();

    let server = await start();
    // A call this node records, through SIP, goes first in the job.
    const { callId } = await runGenericCall(server, work, {
      name: 'to-delete',
      scenario: genericSipScenario({
        fromUser: '2001',
        toUser: '3001',
        audioLines: 1,
        pcapPath: capture(work, 'to-delete', 'PCMU', 600, 1),
        holdMs: 1300,
      }),
      holdMs: 1300,
    });
    const recorded = await findSessionBy(server, 'ccid', callId, (s) => s.sessionState === 'CLOSED_NORMAL');
    const recordedFiles = (await readdir(join(dataDir, 'media'), { recursive: true })).filter((path) =>
      path.includes(`${recorded.sessionId}/track`),
    );
    assert.equal(recordedFiles.length, 1, 'the recorded call has its track file');

    const created = await server.api(`${MANAGE}/deleteSessions`, {
      requestParameters: { sessionIds: [recorded.sessionId, ...seeded.map((s) => s.session.sessionId)] },
    });
    assert.equal(created.responseCode, 2000, created.detail);
    const jobId = created.responseBody?.jobId as number;
    const total = SEEDED + 1;

    // kill -9 mid-job.
    await waitFor(async () => (await jobOf(server, jobId)).operationsCompleted > 0, { what: 'progress' });
    assert.equal(await stop(server, 'SIGKILL'), 'SIGKILL');
    let stored = await storedJob(jobId);
    const afterKill = stored.job;
    assert.equal(afterKill?.jobState, 'RUNNING', 'a killed job is still RUNNING in the database');
    assert.ok(afterKill.operationsCompleted > 0 && afterKill.operationsCompleted < total, 'killed mid-job');
    await assertDeletedPrefix(stored.repository, seeded, afterKill.operationsCompleted - 1);
    await stored.repository.close();

    // SIGTERM mid-job.
    server = await start();
    await waitFor(
      async () => (await jobOf(server, jobId)).operationsCompleted > afterKill.operationsCompleted,
      {
        what: 'the job to resume after kill -9',
      },
    );
    assert.equal(await stop(server, 'SIGTERM'), 0, 'a node with a job running shuts down cleanly');
    stored = await storedJob(jobId);
    const afterTerm = stored.job;
    assert.equal(afterTerm?.jobState, 'RUNNING', 'a job stopped by SIGTERM waits RUNNING for the next start');
    assert.ok(afterTerm.operationsCompleted > afterKill.operationsCompleted);
    await stored.repository.close();

    // To the end.
    server = await start();
    const done = await waitFor(
      async () => {
        const job = await jobOf(server, jobId);
        return job.jobState === 'RUNNING' ? undefined : job;
      },
      { timeoutMs: 120_000, what: 'the job to complete' },
    );
    assert.deepEqual(done, {
      ...done,
      jobState: 'COMPLETED',
      operationsCompleted: total,
      operationsRemaining: 0,
      operationsFailed: 0,
    });
    const wav = await fetch(`${server.baseUrl}/recordedMedia/oramedia/wav/${recorded.sessionId}.wav`, {
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}` },
    });
    assert.equal(wav.status, 404, 'the recorded call is no longer served');
    await wav.arrayBuffer();
    const state = await server.api(
      `/ora/queryService/query/getSessionBySessionId?value=${recorded.sessionId}`,
    );
    assert.equal(
      (state.responseBody as { sessions: { sessionState: string }[] }).sessions[0]?.sessionState,
      'DELETED',
    );
    assert.equal(await stop(server, 'SIGTERM'), 0);

    const left = (await readdir(join(dataDir, 'media'), { recursive: true })).filter((path) =>
      path.endsWith('.pcap'),
    );
    assert.deepEqual(left, [], 'no track file is left on disk');
    const final = await openRepository({ kind: 'sqlite', path: join(dataDir, 'verbatim.db') });
    try {
      for (const s of seeded) {
        assert.equal((await final.getSession(s.session.sessionId))?.sessionState, 'DELETED');
      }
    } finally {
      await final.close();
    }
  });
});
