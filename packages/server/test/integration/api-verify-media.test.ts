import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ensureAdminUser } from '../../src/api/admin-bootstrap.js';
import { jobRoutes } from '../../src/api/job-routes.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { verifyStoreOf } from '../../src/db/verify-store.js';
import { DeletionJobRunner } from '../../src/storage/deletion-jobs.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';
import { seedDamagedStore, VERIFY_DAY } from '../support/verify-seed.js';
import { waitFor } from '../support/wait.js';

/**
 * verifyMedia over a real socket, against the real SQLite repository and the damaged store of
 * `verbatim verify`'s test: the job finds the same files, shows them in getJobById, and is audited.
 */

interface Answer {
  readonly responseCode: number;
  readonly responseBody?: Record<string, unknown>;
  readonly detail?: string;
}

interface VerifyJobJson {
  readonly jobId: number;
  readonly jobType: string;
  readonly jobState: string;
  readonly operationsCompleted: number;
  readonly operationsRemaining: number;
  readonly operationsFailed: number;
  readonly verifyWindow?: { since: number; until: number };
  readonly verifyResult?: {
    tracks: number;
    intact: number;
    counts: Record<string, number>;
    findings: { kind: string; path: string; sessionId?: string }[];
  };
}

void describe('verifyMedia job over the HTTP API (integration)', () => {
  let dir: string;
  let repository: Repository;
  let runner: DeletionJobRunner;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;
  let expected: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-verify-'));
    const mediaDir = join(dir, 'media');
    await mkdir(mediaDir);
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    await ensureAdminUser(repository, 'admin-pw');
    expected = (await seedDamagedStore(repository, mediaDir)).expected;
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
      verify: { store: repository, sessions: verifyStoreOf(repository) },
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

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', cookie },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as Answer;
  }

  async function finished(jobId: number): Promise<VerifyJobJson> {
    return waitFor(
      async () => {
        const answer = await call('GET', `/ora/queryService/query/getJobById?jobId=${jobId}`);
        assert.equal(answer.responseCode, 2000, answer.detail);
        const job = (answer.responseBody as { jobs: VerifyJobJson[] }).jobs[0];
        return job === undefined || job.jobState === 'RUNNING' || job.jobState === 'QUEUED' ? undefined : job;
      },
      { what: `job ${jobId} to finish` },
    );
  }

  void it('finds the same missing, truncated, altered and orphaned files as verbatim verify', async () => {
    const since = Date.parse(`${VERIFY_DAY}T00:00:00Z`);
    const until = since + 86_400_000;
    const answer = await call('POST', '/ora/managementService/manage/verifyMedia', {
      requestParameters: { since, until },
    });
    assert.equal(answer.responseCode, 2000, answer.detail);
    const jobId = answer.responseBody?.jobId as number;
    const job = await finished(jobId);
    assert.equal(job.jobType, 'VERIFY_MEDIA');
    assert.equal(job.jobState, 'COMPLETED');
    assert.deepEqual(job.verifyWindow, { since, until });
    const result = job.verifyResult;
    assert.ok(result !== undefined);
    assert.deepEqual(result.findings.map((f) => `${f.kind} ${f.path}`).sort(), expected);
    assert.deepEqual(result.counts, {
      missing: 1,
      truncated: 2,
      altered: 1,
      unreadable: 0,
      'not-digested': 3,
      orphaned: 2,
    });
    // Operations are tracks: every one checked, the problems counted (orphans included).
    assert.equal(job.operationsCompleted, result.tracks);
    assert.equal(job.operationsRemaining, 0);
    assert.equal(job.operationsFailed, 6);
    const audit = await repository.queryAudit({ limit: 10 });
    const record = audit.find((r) => r.action.includes('verifyMedia'));
    assert.ok(record !== undefined, JSON.stringify(audit));
    assert.equal(record.target, `job ${jobId}`);
  });

  void it('refuses an empty window', async () => {
    const answer = await call('POST', '/ora/managementService/manage/verifyMedia', {
      requestParameters: { since: 2000, until: 1000 },
    });
    assert.equal(answer.responseCode, 4001);
  });
});
