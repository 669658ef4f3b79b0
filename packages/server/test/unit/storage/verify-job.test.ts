import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRepository } from '../../../src/db/index.js';
import type { Repository } from '../../../src/db/repository.js';
import { verifyStoreOf } from '../../../src/db/verify-store.js';
import type { VerifyStore } from '../../../src/model/media-integrity.js';
import { DeletionJobRunner } from '../../../src/storage/deletion-jobs.js';
import { seedDigested } from '../../support/verify-seed.js';
import { waitFor } from '../../support/wait.js';

/**
 * VERIFY_MEDIA jobs in the job runner, over a real SQLite repository and real files: a job that
 * runs to its end, one canceled while it reads, and one left by a stop that runs again.
 */

void describe('VERIFY_MEDIA jobs', () => {
  let dir: string;
  let mediaDir: string;
  let repository: Repository;
  let runner: DeletionJobRunner | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-verify-job-'));
    mediaDir = join(dir, 'media');
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (let i = 0; i < 3; i++) {
      await seedDigested(repository, mediaDir, `verifyjob00000${i}`, 1_764_583_200_000 + i * 60_000);
    }
  });

  afterEach(async () => {
    await runner?.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  function start(sessions: VerifyStore = verifyStoreOf(repository)): DeletionJobRunner {
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
      verify: { store: repository, sessions },
    });
    return runner;
  }

  const window = { sinceMs: 0, untilMs: 2_000_000_000_000, windowed: false };

  void it('checks every track and stores the result with the job', async () => {
    const jobs = start();
    jobs.start();
    const created = await jobs.createVerifyJob(window);
    assert.ok(created.ok);
    const job = await waitFor(async () => {
      const report = await jobs.getJob(created.job.jobId);
      return report?.job.jobState === 'COMPLETED' && report.job;
    });
    assert.equal(job.operationsTotal, 6);
    assert.equal(job.operationsCompleted, 6);
    assert.equal(job.operationsFailed, 0);
    assert.equal(job.verifyResult?.intact, 6);
    assert.deepEqual(job.verifyWindow, window);
  });

  void it('stops at a cancel, after the file it is reading', async () => {
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store = verifyStoreOf(repository);
    // The second session's read waits: the job is RUNNING, between two tracks, when canceled.
    let reads = 0;
    const jobs = start({
      ...store,
      getSession: async (id) => {
        if (++reads === 2) {
          await held;
        }
        return store.getSession(id);
      },
    });
    jobs.start();
    const created = await jobs.createVerifyJob(window);
    assert.ok(created.ok);
    await waitFor(() => Promise.resolve(reads >= 2));
    const canceling = jobs.cancel(created.job.jobId);
    release();
    const canceled = await canceling;
    assert.ok(canceled.ok, JSON.stringify(canceled));
    assert.equal(canceled.job.jobState, 'CANCELED');
    assert.ok(canceled.job.operationsCompleted < 6);
    assert.equal(canceled.job.verifyResult, undefined);
  });

  void it('runs again from the start a job a stop left RUNNING', async () => {
    const left = await repository.createJob({
      jobType: 'VERIFY_MEDIA',
      createdAt: 1,
      sessionIds: [],
      verifyWindow: window,
    });
    await repository.updateJobState(left.jobId, ['QUEUED'], 'RUNNING', { at: 2 });
    await repository.setJobProgress(left.jobId, 6, 2, 0);
    const jobs = start();
    jobs.start();
    const job = await waitFor(async () => {
      const report = await jobs.getJob(left.jobId);
      return report?.job.jobState === 'COMPLETED' && report.job;
    });
    assert.equal(job.operationsCompleted, 6);
    assert.equal(job.verifyResult?.tracks, 6);
  });

  void it('refuses a job when the node cannot verify', async () => {
    runner = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: { publish: () => undefined },
      logger: pino({ level: 'silent' }),
    });
    const created = await runner.createVerifyJob(window);
    assert.equal(created.ok, false);
  });
});
