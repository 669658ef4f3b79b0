import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import { DeletionJobRunner } from '../../src/storage/deletion-jobs.js';
import { RetentionService, STORAGE_EMERGENCY_REASON } from '../../src/storage/retention.js';
import type { StorageSample } from '../../src/storage/storage-agent.js';
import type { StorageLevel } from '../../src/storage/storage-thresholds.js';
import { exists, seedRecordedSession, type SeededSession } from '../support/deletion-seed.js';
import { runCli } from '../support/cli-process.js';
import { waitFor } from '../support/wait.js';

/**
 * Issue 13 point 2 on a real SQLite repository and real files: the retention service prunes by
 * age and under pressure (oldest first, legal hold untouched), removes media and the cached
 * export in the session folder, flags sessions pruned or tombstones them, publishes batched
 * PRUNED events; retention priority refuses and ends instead; deletion jobs refuse sessions on
 * legal hold; the command line changes the stored policy and audits it. The storage level is a
 * stand-in here (the agent itself is tested on a tmpfs in test/e2e/storage-thresholds.test.ts).
 */

const DAY = 24 * 60 * 60 * 1000;
const NOW = 1_780_000_000_000;
const silent = pino({ level: 'silent' });

/** A storage level the test sets; check() computes it again from `levelFor`. */
class FakeStorage {
  level: StorageLevel = 'NORMAL';
  levelFor: () => Promise<StorageLevel> = () => Promise.resolve(this.level);
  checks = 0;
  readonly #listeners: ((sample: StorageSample, level: StorageLevel, previous: StorageLevel) => void)[] = [];

  onSample(listener: (sample: StorageSample, level: StorageLevel, previous: StorageLevel) => void): void {
    this.#listeners.push(listener);
  }

  async check(): Promise<StorageSample | undefined> {
    this.checks++;
    const previous = this.level;
    this.level = await this.levelFor();
    const sample = { totalBytes: 1, usedBytes: 1, freeBytes: 0, percentUsed: 0, sampledAt: NOW };
    for (const listener of this.#listeners) {
      listener(sample, this.level, previous);
    }
    return sample;
  }

  async set(level: StorageLevel): Promise<void> {
    this.levelFor = () => Promise.resolve(level);
    await this.check();
  }
}

describe('retention on SQLite and real files', () => {
  let dir: string;
  let mediaDir: string;
  let repository: Repository;

  // A fresh database and media directory for each test.
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-retention-'));
    mediaDir = join(dir, 'data', 'media');
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'data', 'verbatim.db') });
    await repository.migrate();
  });

  afterEach(async () => {
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  function service(storage: FakeStorage, events: VerbatimEvent[], ended: string[] = []): RetentionService {
    return new RetentionService({
      store: repository,
      mediaDir,
      storage,
      events: { publish: (event) => events.push(event) },
      endAllRecordings: (reason) => {
        ended.push(reason);
        return Promise.resolve(2);
      },
      logger: silent,
      now: () => NOW,
    });
  }

  async function seed(id: string, ageDays: number, options: { hold?: string; active?: boolean } = {}) {
    const seeded = await seedRecordedSession(repository, mediaDir, id, {
      startMs: NOW - ageDays * DAY,
      ...(options.active === true ? { state: 'ACTIVE' as const } : {}),
    });
    if (options.hold !== undefined) {
      await repository.addSessionTag(id, {
        tagName: options.hold,
        tagType: 'USER_DEFINED',
        tagCreateDate: NOW,
      });
    }
    return seeded;
  }

  async function pruned(seeded: SeededSession): Promise<boolean> {
    const session = await repository.getSession(seeded.session.sessionId);
    const filesGone = !(await exists(seeded.folder));
    assert.equal(
      session?.prunedAt !== undefined,
      filesGone,
      `${seeded.session.sessionId}: flag and files agree`,
    );
    return filesGone;
  }

  function prunedIds(events: VerbatimEvent[]): string[][] {
    return events.flatMap((e) =>
      e.eventType === 'SESSION_EVENT' && e.eventAction === 'PRUNED' ? [[...e.sessionIds]] : [],
    );
  }

  it('prunes by age in recording priority: past 60 days only, closed only, never on legal hold', async () => {
    const old = await seed('age-old', 100);
    const held = await seed('age-held', 90, { hold: 'legalhold' });
    const young = await seed('age-young', 59);
    const active = await seed('age-active', 120, { active: true });
    const events: VerbatimEvent[] = [];
    const retention = service(new FakeStorage(), events);
    await retention.start();
    await retention.settled();
    await retention.close();
    assert.equal(await pruned(old), true);
    assert.equal(await pruned(held), false);
    assert.equal(await pruned(young), false);
    assert.equal(await pruned(active), false);
    assert.deepEqual(prunedIds(events), [['age-old']]);
    // The metadata stays: state and participants as they were, found by the pruned query.
    const session = await repository.getSession('age-old');
    assert.equal(session?.sessionState, 'CLOSED_NORMAL');
    assert.equal(session.tracks.length, 2);
    const found = await repository.querySessions({
      where: { kind: 'and', items: [] },
      sort: [],
      offset: 0,
      limit: 100,
      prunedOnly: true,
    });
    assert.deepEqual(
      found.map((s) => s.sessionId),
      ['age-old'],
    );
    assert.equal(retention.counters.pruned, 1);
  });

  it('under CRITICAL prunes the oldest closed sessions first until the level falls, skipping legal hold', async () => {
    const ids = ['p-1', 'p-2', 'p-3', 'p-4', 'p-5', 'p-6'];
    // p-1 is the oldest and on hold (any case); p-6 the newest. Seeded newest first, so that
    // the order comes from the start dates, not from the insertion.
    await seed('p-6', 5);
    await seed('p-5', 10);
    await seed('p-4', 15);
    await seed('p-3', 20);
    await seed('p-2', 25);
    await seed('p-1', 30, { hold: 'LEGALHOLD' });
    const seeded = await Promise.all(
      ids.map(async (id) => {
        const session = await repository.getSession(id);
        assert.ok(session !== undefined);
        const day = new Date(session.sessionStartDate).toISOString().slice(0, 10);
        return { session, folder: join(mediaDir, day, id), files: [] };
      }),
    );
    const storage = new FakeStorage();
    const events: VerbatimEvent[] = [];
    const retention = service(storage, events);
    await retention.start();
    await retention.settled();
    // CRITICAL while more than one of p-2…p-6 is left.
    storage.levelFor = async () => {
      const left = await Promise.all(seeded.slice(1).map((s) => exists(s.folder)));
      return left.filter(Boolean).length > 1 ? 'CRITICAL' : 'LOW';
    };
    assert.equal(retention.refusesNewCalls(), false);
    await storage.check();
    assert.equal(storage.level, 'CRITICAL');
    assert.equal(retention.refusesNewCalls(), false, 'recording priority accepts calls at CRITICAL');
    await waitFor(() => storage.level === 'LOW', { what: 'the level to fall below CRITICAL' });
    await retention.settled();
    await retention.close();
    const states = await Promise.all(seeded.map((s) => pruned(s)));
    assert.deepEqual(Object.fromEntries(ids.map((id, i) => [id, states[i]])), {
      'p-1': false,
      'p-2': true,
      'p-3': true,
      'p-4': true,
      'p-5': true,
      'p-6': false,
    });
    // One at a time, oldest first, a new sample after each; the ids batched in one PRUNED event.
    assert.deepEqual(prunedIds(events), [['p-2', 'p-3', 'p-4', 'p-5']]);
    assert.ok(storage.checks >= 5, `a sample after each session (${storage.checks})`);
  });

  it('deletes the metadata too when the policy says so, and refuses bad values', async () => {
    const gone = await seed('meta-old', 400);
    const events: VerbatimEvent[] = [];
    const retention = service(new FakeStorage(), events);
    assert.deepEqual(await retention.setPolicy({ maxAgeDays: 0 }, 'test'), {
      ok: false,
      detail: 'maxAgeDays must be a whole number of days from 1 to 3650',
    });
    const changed = await retention.setPolicy({ deleteMetadata: true, maxAgeDays: 365 }, 'test');
    assert.equal(changed.ok, true);
    await retention.start();
    await retention.settled();
    await retention.close();
    const session = await repository.getSession('meta-old');
    assert.equal(session?.sessionState, 'DELETED');
    assert.notEqual(session.prunedAt, undefined);
    assert.deepEqual(session.tracks, []);
    assert.equal(await exists(gone.folder), false);
    assert.deepEqual(prunedIds(events), [['meta-old']]);
  });

  it('in retention priority prunes nothing, refuses from CRITICAL and ends recordings on entering EMERGENCY', async () => {
    const old = await seed('ret-old', 500);
    const storage = new FakeStorage();
    const events: VerbatimEvent[] = [];
    const ended: string[] = [];
    const retention = service(storage, events, ended);
    await retention.setPolicy({ mode: 'RETENTION_PRIORITY' }, 'test');
    await retention.start();
    await storage.set('LOW');
    assert.equal(retention.refusesNewCalls(), false);
    await storage.set('CRITICAL');
    assert.equal(retention.refusesNewCalls(), true);
    assert.deepEqual(ended, []);
    await storage.set('EMERGENCY');
    await storage.set('EMERGENCY');
    await retention.settled();
    assert.deepEqual(ended, [STORAGE_EMERGENCY_REASON], 'ended once, on entering');
    assert.equal(retention.counters.recordingsEnded, 2);
    await retention.pruneByAgeNow();
    await retention.close();
    assert.equal(await pruned(old), false);
    assert.deepEqual(prunedIds(events), []);
    await repository.setStoragePolicy({
      mode: 'RECORDING_PRIORITY',
      maxAgeDays: 60,
      deleteMetadata: false,
      legalHoldTag: 'LegalHold',
    });
    await rm(old.folder, { recursive: true, force: true });
    await repository.markSessionPruned('ret-old', NOW);
  });

  it('deletion jobs refuse sessions on legal hold, whole, until the tag is removed', async () => {
    const held = await seed('del-held', 5, { hold: 'Legalhold' });
    const free = await seed('del-free', 5);
    const late = await seed('del-late', 5);
    const events: VerbatimEvent[] = [];
    const jobs = new DeletionJobRunner({
      store: repository,
      mediaDir,
      events: { publish: (event) => events.push(event) },
      logger: silent,
      legalHold: { tag: () => 'LegalHold', tagged: (ids, tag) => repository.sessionsTagged(ids, tag) },
    });
    const refused = await jobs.createDeleteJob(['del-free', 'del-held']);
    assert.ok(!refused.ok && refused.reason === 'legal-hold', JSON.stringify(refused));
    assert.deepEqual(refused.sessionIds, ['del-held']);
    assert.match(refused.detail, /legal hold tag 'LegalHold'.*del-held.*nothing was deleted/);

    // Tagged after the job was made: that operation fails as LEGAL_HOLD, the other goes.
    const created = await jobs.createDeleteJob(['del-late', 'del-free']);
    assert.ok(created.ok);
    await repository.addSessionTag('del-late', {
      tagName: 'LEGALHOLD',
      tagType: 'USER_DEFINED',
      tagCreateDate: NOW,
    });
    jobs.start();
    const report = await waitFor(
      async () => {
        const r = await jobs.getJob(created.job.jobId);
        return r?.job.jobState === 'COMPLETED' || r?.job.jobState === 'ERROR' ? r : undefined;
      },
      { what: 'the deletion job to finish' },
    );
    assert.deepEqual(
      report.failed.map((item) => [item.sessionId, item.failureReason]),
      [['del-late', 'LEGAL_HOLD']],
    );
    assert.equal(await exists(late.folder), true);
    assert.equal(await exists(free.folder), false);

    // The tag removed, the held session can go.
    await repository.deleteSessionTags('del-held', { tagName: 'legalhold', tagType: 'USER_DEFINED' });
    const again = await jobs.createDeleteJob(['del-held']);
    assert.ok(again.ok);
    await waitFor(async () => (await repository.getSession('del-held'))?.sessionState === 'DELETED', {
      what: 'del-held deleted',
    });
    assert.equal(await exists(held.folder), false);
    await jobs.close();
  });

  it('verbatim storage policy show and set read and change the stored policy, audited', async () => {
    const cwd = dir;
    // The command line opens the same database: close the test's connection meanwhile.
    await repository.close();
    const show = await runCli(['storage', 'policy', 'show'], cwd);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /mode:\s+recording priority/);
    assert.match(show.stdout, /legal hold tag:\s+LegalHold/);

    const bad = await runCli(
      ['storage', 'policy', 'set', '--max-age-days', '4000', '--mode', 'archive'],
      cwd,
    );
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--mode: 'archive' is neither recording nor retention/);
    assert.match(bad.stderr, /--max-age-days: '4000' is not a whole number of days \(1-3650\)/);

    const set = await runCli(
      [
        'storage',
        'policy',
        'set',
        '--mode',
        'retention',
        '--max-age-days',
        '90',
        '--legal-hold-tag',
        'Litigation',
      ],
      cwd,
    );
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /mode:\s+retention priority/);
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'data', 'verbatim.db') });
    const stored = await repository.getStoragePolicy();
    assert.equal(stored?.mode, 'RETENTION_PRIORITY');
    assert.equal(stored.maxAgeDays, 90);
    assert.equal(stored.legalHoldTag, 'Litigation');
    const [record] = await repository.queryAudit({ action: 'setStoragePolicy', limit: 1 });
    assert.equal(record?.source, 'cli');
    assert.deepEqual(record.detail, {
      mode: 'RECORDING_PRIORITY -> RETENTION_PRIORITY',
      maxAgeDays: '60 -> 90',
      legalHoldTag: 'LegalHold -> Litigation',
    });
  });
});
