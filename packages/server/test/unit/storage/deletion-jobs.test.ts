import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import BetterSqlite3 from 'better-sqlite3';
import { pino } from 'pino';
import { openRepository } from '../../../src/db/index.js';
import type { Repository } from '../../../src/db/repository.js';
import type { VerbatimEvent } from '../../../src/model/events.js';
import type { Job } from '../../../src/model/job.js';
import { DELETED_EVENT_MAX_IDS } from '../../../src/storage/deleted-events.js';
import {
  DeletionJobRunner,
  MAX_SESSIONS_PER_JOB,
  type CancelJobResult,
  type DeletionJobRunnerOptions,
  MAX_UNFINISHED_JOBS,
} from '../../../src/storage/deletion-jobs.js';
import { Mp4Cache } from '../../../src/playback/mp4-cache.js';
import { WaveformCache } from '../../../src/playback/waveform.js';
import { sampleSession } from '../../support/fake-repository.js';
import { exists, seedRecordedSession, type SeededSession } from '../../support/deletion-seed.js';
import { waitFor } from '../../support/wait.js';

/**
 * The deletion job runner over a real SQLite repository and real files in a temporary folder:
 * what a job removes from disk and from the database, the job's states and counters, batched
 * DELETED events, cancel, deleteJob, the limits, and resuming after a stop.
 */

type DeletedEvent = Extract<VerbatimEvent, { eventAction: 'DELETED' }>;

describe('DeletionJobRunner', () => {
  let dir: string;
  let mediaDir: string;
  let dbPath: string;
  let repository: Repository;
  let events: VerbatimEvent[];
  let runners: DeletionJobRunner[];
  /** Called on each DELETED event as it is published: the job is then between two sessions. */
  let onDeleted: ((event: DeletedEvent) => void) | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-jobs-'));
    mediaDir = join(dir, 'media');
    dbPath = join(dir, 'verbatim.db');
    await mkdir(mediaDir);
    repository = await openRepository({ kind: 'sqlite', path: dbPath });
    await repository.migrate();
    events = [];
    runners = [];
    onDeleted = undefined;
  });

  afterEach(async () => {
    for (const runner of runners) {
      await runner.close();
    }
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  function newRunner(extra: Pick<DeletionJobRunnerOptions, 'discardDerived'> = {}): DeletionJobRunner {
    const runner = new DeletionJobRunner({
      ...extra,
      store: repository,
      mediaDir,
      events: {
        publish: (event) => {
          events.push(event);
          if (event.eventType === 'SESSION_EVENT' && event.eventAction === 'DELETED') {
            onDeleted?.(event);
          }
        },
      },
      logger: pino({ level: 'silent' }),
    });
    runners.push(runner);
    return runner;
  }

  function deletedEvents(): DeletedEvent[] {
    return events.filter(
      (e): e is DeletedEvent => e.eventType === 'SESSION_EVENT' && e.eventAction === 'DELETED',
    );
  }

  async function finished(jobId: number): Promise<Job> {
    return waitFor(
      async () => {
        const job = await repository.getJob(jobId);
        return job !== undefined && job.jobState !== 'RUNNING' && job.jobState !== 'QUEUED' ? job : undefined;
      },
      { what: `job ${jobId} to finish` },
    );
  }

  async function createJob(runner: DeletionJobRunner, sessionIds: readonly string[]): Promise<Job> {
    const created = await runner.createDeleteJob(sessionIds);
    assert.ok(created.ok, 'the job is accepted');
    return created.job;
  }

  async function seedMany(count: number, prefix = 's'): Promise<SeededSession[]> {
    const seeded: SeededSession[] = [];
    for (let i = 0; i < count; i++) {
      seeded.push(await seedRecordedSession(repository, mediaDir, `${prefix}${String(i).padStart(5, '0')}`));
    }
    return seeded;
  }

  it("removes the session's MP4 and waveforms the caches kept outside a folder of its own", async () => {
    // A session whose tracks share a folder with others' (not `<day>/<sessionId>/`): what the caches
    // make from it is kept in their fallback folders, which removing its media does not touch.
    const session = sampleSession({ sessionId: 'shared-folder' });
    const shared = {
      ...session,
      tracks: session.tracks.map((t) => ({
        ...t,
        mediaPath: `legacy/shared-folder-track${t.trackNumber}.pcap`,
      })),
    };
    for (const track of shared.tracks) {
      await mkdir(join(mediaDir, 'legacy'), { recursive: true });
      await writeFile(join(mediaDir, track.mediaPath), 'pcap');
    }
    await repository.createSession(shared);
    const logger = pino({ level: 'silent' });
    const mp4 = new Mp4Cache({ mediaDir, fallbackDir: join(dir, 'cache', 'mp4'), logger });
    const waveforms = new WaveformCache({ mediaDir, fallbackDir: join(dir, 'cache', 'peaks'), logger });
    // The waveform as the peaks route keeps it; an MP4 under the cache's name for it; another session's.
    await waveforms.get(shared, 100, () =>
      Promise.resolve({
        sessionId: shared.sessionId,
        sampleRateHz: 8000,
        durationMs: 1,
        frames: 8,
        buckets: 1,
        channels: [],
      }),
    );
    await mkdir(join(dir, 'cache', 'mp4'), { recursive: true });
    await writeFile(join(dir, 'cache', 'mp4', 'shared-folder.0123456789abcdef.mp4'), 'mp4');
    await writeFile(join(dir, 'cache', 'mp4', 'another.0123456789abcdef.mp4'), 'mp4');
    const kept = async () => [
      ...(await readdir(join(dir, 'cache', 'mp4'))),
      ...(await readdir(join(dir, 'cache', 'peaks'))),
    ];
    assert.equal((await kept()).filter((name) => name.startsWith('shared-folder.')).length, 2);

    const runner = newRunner({
      discardDerived: async (s) => {
        await mp4.discard(s);
        await waveforms.discard(s);
      },
    });
    runner.start();
    const job = await finished((await createJob(runner, [shared.sessionId])).jobId);
    assert.equal(job.operationsCompleted, 1);
    assert.equal((await repository.getSession(shared.sessionId))?.sessionState, 'DELETED');
    assert.deepEqual(await kept(), ['another.0123456789abcdef.mp4']);
    await mp4.close();
  });

  it('deletes closed sessions: files and folder gone, DELETED tombstones, the others failed', async () => {
    const closed = await seedRecordedSession(repository, mediaDir, 'closed-normal');
    const closedError = await seedRecordedSession(repository, mediaDir, 'closed-error', {
      state: 'CLOSED_ERROR',
    });
    const active = await seedRecordedSession(repository, mediaDir, 'active', { state: 'ACTIVE' });
    const runner = newRunner();
    runner.start();
    // Deleted once by a first job, so the second job finds it DELETED.
    const first = await createJob(runner, ['closed-error']);
    assert.equal((await finished(first.jobId)).jobState, 'COMPLETED');

    const job = await createJob(runner, ['closed-normal', 'active', 'no-such-session', 'closed-error']);
    assert.equal(job.operationsTotal, 4);
    const done = await finished(job.jobId);
    assert.equal(done.jobState, 'COMPLETED', 'COMPLETED: every operation attempted, not all succeeded');
    assert.equal(done.operationsCompleted, 4);
    assert.equal(done.operationsFailed, 3);
    assert.ok(done.endedAt !== undefined && done.endedAt >= done.createdAt);

    for (const seeded of [closed, closedError]) {
      for (const file of seeded.files) {
        assert.equal(await exists(file), false, `${file} removed`);
      }
      assert.equal(await exists(seeded.folder), false, 'the session folder (and its cached export) removed');
      const tombstone = await repository.getSession(seeded.session.sessionId);
      assert.equal(tombstone?.sessionState, 'DELETED');
      assert.deepEqual(tombstone.tracks, [], 'tracks and their participants are gone');
      assert.deepEqual(tombstone.tags, [], 'tags are gone');
      assert.equal(
        tombstone.sessionStartDate,
        seeded.session.sessionStartDate,
        'the tombstone keeps its times',
      );
      assert.equal(tombstone.sessionDuration, seeded.session.sessionDuration);
    }
    assert.deepEqual(
      await repository.getSession('active'),
      active.session,
      'the ACTIVE session is untouched',
    );
    for (const file of active.files) {
      assert.equal(await exists(file), true);
    }

    const report = await runner.getJob(job.jobId);
    assert.deepEqual(
      report?.failed.map((item) => [item.sessionId, item.failureReason]),
      [
        ['active', 'ACTIVE'],
        ['no-such-session', 'NOT_FOUND'],
        ['closed-error', 'ALREADY_DELETED'],
      ],
    );
    assert.deepEqual(
      deletedEvents().map((e) => [e.jobId, e.sessionIds]),
      [
        [first.jobId, ['closed-error']],
        [job.jobId, ['closed-normal']],
      ],
    );
  });

  it('batches DELETED events: at most 100 ids each, every session once, in order', async () => {
    const seeded = await seedMany(250);
    const runner = newRunner();
    runner.start();
    const job = await createJob(
      runner,
      seeded.map((s) => s.session.sessionId),
    );
    const done = await finished(job.jobId);
    assert.equal(done.operationsCompleted, 250);
    assert.equal(done.operationsFailed, 0);
    const batches = deletedEvents();
    assert.ok(batches.every((e) => e.sessionIds.length <= DELETED_EVENT_MAX_IDS && e.sessionIds.length > 0));
    assert.ok(batches.length <= 10, `${batches.length} events for 250 sessions`);
    assert.deepEqual(
      batches.flatMap((e) => e.sessionIds),
      seeded.map((s) => s.session.sessionId),
    );
  });

  it('yields to the event loop between sessions', async () => {
    const seeded = await seedMany(40);
    const runner = newRunner();
    runner.start();
    let turns = 0;
    let counting = true;
    const tick = (): void => {
      turns++;
      if (counting) {
        setImmediate(tick);
      }
    };
    setImmediate(tick);
    const job = await createJob(
      runner,
      seeded.map((s) => s.session.sessionId),
    );
    await finished(job.jobId);
    counting = false;
    assert.ok(turns >= 40, `other work ran ${turns} times while 40 sessions were deleted`);
  });

  it('keeps a session whose media cannot be removed, fails its operation and goes on', async () => {
    const blocked = await seedRecordedSession(repository, mediaDir, 'blocked');
    const fine = await seedRecordedSession(repository, mediaDir, 'fine');
    // The track "file" is a folder with a file in it: unlink fails (EISDIR), as it would on EACCES.
    const trackPath = join(mediaDir, blocked.session.tracks[1]!.mediaPath);
    await rm(trackPath);
    await mkdir(trackPath);
    await writeFile(join(trackPath, 'inside'), 'x');
    const runner = newRunner();
    runner.start();
    const job = await createJob(runner, ['blocked', 'fine']);
    const done = await finished(job.jobId);
    assert.deepEqual([done.jobState, done.operationsCompleted, done.operationsFailed], ['COMPLETED', 2, 1]);
    assert.deepEqual(
      (await runner.getJob(job.jobId))?.failed.map((i) => [i.sessionId, i.failureReason]),
      [['blocked', 'MEDIA_NOT_REMOVED']],
    );
    const kept = await repository.getSession('blocked');
    assert.equal(kept?.sessionState, 'CLOSED_NORMAL', 'the session is kept as it was');
    assert.equal(kept.tracks.length, 2);
    assert.equal(await exists(join(trackPath, 'inside')), true);
    assert.equal((await repository.getSession('fine'))?.sessionState, 'DELETED');
    assert.equal(await exists(fine.folder), false);
  });

  it('finishes a deletion a stop cut between removing the files and writing the tombstone', async () => {
    const halfway = await seedRecordedSession(repository, mediaDir, 'halfway');
    const job = await repository.createJob({
      jobType: 'DELETE_SESSIONS',
      createdAt: 1,
      sessionIds: ['halfway'],
    });
    assert.ok(await repository.updateJobState(job.jobId, ['QUEUED'], 'RUNNING', { at: 1 }));
    // What the previous run managed before it died: the files, not the database.
    await rm(halfway.folder, { recursive: true });
    const runner = newRunner();
    runner.start();
    const done = await finished(job.jobId);
    assert.deepEqual([done.jobState, done.operationsCompleted, done.operationsFailed], ['COMPLETED', 1, 0]);
    assert.equal((await repository.getSession('halfway'))?.sessionState, 'DELETED');
    assert.deepEqual(
      deletedEvents().flatMap((e) => e.sessionIds),
      ['halfway'],
    );
  });

  it('stops at close with the job RUNNING, and the next runner resumes it where it stopped', async () => {
    const seeded = await seedMany(300);
    const first = newRunner();
    first.start();
    const job = await createJob(
      first,
      seeded.map((s) => s.session.sessionId),
    );
    // Stopped right after the first batch of 100, so the job is surely not done.
    let closing: Promise<void> | undefined;
    onDeleted = () => {
      closing ??= first.close();
    };
    await waitFor(() => closing !== undefined, { what: 'the first deletions' });
    await closing;
    const paused = await repository.getJob(job.jobId);
    assert.equal(paused?.jobState, 'RUNNING', 'a stop is no end: the job stays RUNNING');
    assert.ok(paused.operationsCompleted > 0 && paused.operationsCompleted < 300);
    const deletedBefore = deletedEvents().flatMap((e) => e.sessionIds);
    assert.equal(deletedBefore.length, paused.operationsCompleted, 'every deletion done was announced');

    const second = newRunner();
    second.start();
    const done = await finished(job.jobId);
    assert.deepEqual([done.jobState, done.operationsCompleted, done.operationsFailed], ['COMPLETED', 300, 0]);
    assert.deepEqual(
      deletedEvents().flatMap((e) => e.sessionIds),
      seeded.map((s) => s.session.sessionId),
      'each session deleted and announced once, across both runs',
    );
    for (const s of seeded) {
      assert.equal(await exists(s.folder), false);
    }
  });

  it('cancels a RUNNING job after the session in progress, and a QUEUED one before it starts', async () => {
    const seeded = await seedMany(300);
    const later = await seedRecordedSession(repository, mediaDir, 'later');
    const runner = newRunner();
    runner.start();
    const running = await createJob(
      runner,
      seeded.map((s) => s.session.sessionId),
    );
    const queued = await createJob(runner, ['later']);
    let canceling: Promise<CancelJobResult> | undefined;
    onDeleted = () => {
      canceling ??= runner.cancel(running.jobId);
    };
    await waitFor(() => canceling !== undefined, { what: 'the first deletions' });
    const canceled = await canceling!;
    assert.ok(canceled.ok);
    assert.equal(canceled.job.jobState, 'CANCELED');
    assert.ok(canceled.job.operationsCompleted < 300);
    const deleted = new Set(
      deletedEvents()
        .filter((e) => e.jobId === running.jobId)
        .flatMap((e) => e.sessionIds),
    );
    assert.equal(deleted.size, canceled.job.operationsCompleted, 'announced up to the stop, nothing after');
    for (const s of seeded) {
      const state = (await repository.getSession(s.session.sessionId))?.sessionState;
      assert.equal(state, deleted.has(s.session.sessionId) ? 'DELETED' : 'CLOSED_NORMAL');
      assert.equal(await exists(s.folder), !deleted.has(s.session.sessionId));
    }

    // The queued job then runs; a cancel once it finished is refused.
    assert.equal((await finished(queued.jobId)).jobState, 'COMPLETED');
    assert.equal(await exists(later.folder), false);
    const again = await runner.cancel(queued.jobId);
    assert.deepEqual(again.ok || again.reason === 'not-found' ? again : [again.reason, again.job.jobState], [
      'finished',
      'COMPLETED',
    ]);
    assert.deepEqual(await runner.cancel(9999), { ok: false, reason: 'not-found' });
  });

  it('cancels a QUEUED job without touching its sessions', async () => {
    const seeded = await seedMany(200);
    const waiting = await seedRecordedSession(repository, mediaDir, 'waiting');
    const runner = newRunner();
    runner.start();
    const running = await createJob(
      runner,
      seeded.map((s) => s.session.sessionId),
    );
    const queued = await createJob(runner, ['waiting']);
    assert.equal((await repository.getJob(queued.jobId))?.jobState, 'QUEUED');
    const canceled = await runner.cancel(queued.jobId);
    assert.ok(canceled.ok);
    assert.deepEqual([canceled.job.jobState, canceled.job.operationsCompleted], ['CANCELED', 0]);
    await finished(running.jobId);
    assert.equal((await repository.getSession('waiting'))?.sessionState, 'CLOSED_NORMAL');
    assert.equal(await exists(waiting.folder), true);
  });

  it('deletes only finished jobs', async () => {
    const seeded = await seedMany(200);
    const runner = newRunner();
    runner.start();
    const job = await createJob(
      runner,
      seeded.map((s) => s.session.sessionId),
    );
    let deleting: Promise<string> | undefined;
    onDeleted = () => {
      deleting ??= runner.deleteJob(job.jobId);
    };
    await waitFor(() => deleting !== undefined, { what: 'the job to run' });
    assert.equal(await deleting, 'unfinished');
    assert.ok((await runner.cancel(job.jobId)).ok);
    assert.equal(await runner.deleteJob(job.jobId), 'deleted');
    assert.equal(await runner.getJob(job.jobId), undefined);
    assert.equal(await runner.deleteJob(job.jobId), 'not-found');
  });

  it('refuses an empty job, one over the session limit and one over the waiting-job limit', async () => {
    const runner = newRunner();
    // Not started: the jobs stay QUEUED.
    const empty = await runner.createDeleteJob([]);
    assert.deepEqual(empty.ok ? 'ok' : empty.reason, 'no-sessions');
    const tooMany = await runner.createDeleteJob(
      Array.from({ length: MAX_SESSIONS_PER_JOB + 1 }, (_, i) => `x${i}`),
    );
    assert.deepEqual(tooMany.ok ? 'ok' : [tooMany.reason, tooMany.detail], [
      'too-many-sessions',
      `a job takes at most ${MAX_SESSIONS_PER_JOB} sessionIds, got ${MAX_SESSIONS_PER_JOB + 1}`,
    ]);
    const full = await runner.createDeleteJob(
      Array.from({ length: MAX_SESSIONS_PER_JOB }, (_, i) => `x${i}`),
    );
    assert.ok(full.ok, 'exactly the limit is accepted');
    assert.equal(full.job.operationsTotal, MAX_SESSIONS_PER_JOB);
    const duplicates = await runner.createDeleteJob(['a', 'b', 'a']);
    assert.ok(duplicates.ok);
    assert.equal(duplicates.job.operationsTotal, 2, 'a session listed twice is one operation');
    for (let i = 2; i < MAX_UNFINISHED_JOBS; i++) {
      assert.ok((await runner.createDeleteJob(['a'])).ok);
    }
    const over = await runner.createDeleteJob(['a']);
    assert.deepEqual(over.ok ? 'ok' : over.reason, 'too-many-jobs');
  });

  it('ends a job it cannot resume in ERROR with the reason', async () => {
    const job = await repository.createJob({ jobType: 'DELETE_SESSIONS', createdAt: 1, sessionIds: ['a'] });
    await repository.updateJobState(job.jobId, ['QUEUED'], 'RUNNING', { at: 1 });
    // As a newer version of Verbatim would have left it.
    const sqlite = new BetterSqlite3(dbPath);
    sqlite.prepare("UPDATE jobs SET job_type = 'ARCHIVE_SESSIONS' WHERE job_id = ?").run(job.jobId);
    sqlite.close();
    newRunner().start();
    const done = await finished(job.jobId);
    assert.equal(done.jobState, 'ERROR');
    assert.match(done.errorReason ?? '', /unknown job type ARCHIVE_SESSIONS/);
  });
});

describe('jobs in the SQLite repository', () => {
  let dir: string;
  let repository: Repository;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-jobs-db-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
  });

  afterEach(async () => {
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function finishedJob(): Promise<Job> {
    const job = await repository.createJob({
      jobType: 'DELETE_SESSIONS',
      createdAt: 5,
      sessionIds: ['a', 'b'],
    });
    assert.ok(await repository.updateJobState(job.jobId, ['QUEUED'], 'CANCELED', { at: 7 }));
    return job;
  }

  it('never reuses a job id, even the newest one deleted', async () => {
    const first = await finishedJob();
    const second = await finishedJob();
    assert.equal(await repository.deleteJob(second.jobId), 'deleted');
    const third = await finishedJob();
    assert.deepEqual([first.jobId, second.jobId, third.jobId], [1, 2, 3]);
    assert.deepEqual(await repository.getJob(third.jobId), {
      jobId: 3,
      jobType: 'DELETE_SESSIONS',
      jobState: 'CANCELED',
      createdAt: 5,
      endedAt: 7,
      operationsTotal: 2,
      operationsCompleted: 0,
      operationsFailed: 0,
    });
  });

  it('prunes the oldest finished jobs, never an unfinished one', async () => {
    const queued = await repository.createJob({
      jobType: 'DELETE_SESSIONS',
      createdAt: 1,
      sessionIds: ['a'],
    });
    const old = await finishedJob();
    const recent = await finishedJob();
    assert.equal(await repository.pruneFinishedJobs(2), 1);
    assert.equal(await repository.getJob(old.jobId), undefined);
    assert.equal((await repository.getJob(queued.jobId))?.jobState, 'QUEUED');
    assert.equal((await repository.getJob(recent.jobId))?.jobState, 'CANCELED');
    assert.deepEqual(await repository.countJobs(), { total: 2, unfinished: 1 });
    assert.equal(await repository.pruneFinishedJobs(0), 1, 'down to the QUEUED job, which stays');
    assert.deepEqual(await repository.countJobs(), { total: 1, unfinished: 1 });
    assert.deepEqual(await repository.pendingJobItems(queued.jobId, -1, 10), [
      { jobId: queued.jobId, position: 0, sessionId: 'a', status: 'PENDING' },
    ]);
  });
});
