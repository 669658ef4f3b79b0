import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { hashPassword } from '../../src/api/passwords.js';
import { storageRoutes, type RetentionApi } from '../../src/api/storage-routes.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import { DEFAULT_STORAGE_POLICY } from '../../src/model/storage-policy.js';
import type { Role } from '../../src/model/user.js';
import { StorageAgent, type FileSystemStats } from '../../src/storage/storage-agent.js';
import { StorageHistoryRecorder } from '../../src/storage/storage-history.js';
import { MEDIASENSE_THRESHOLDS } from '../../src/storage/storage-thresholds.js';
import { seedRecordedSession } from '../support/deletion-seed.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';
import { waitFor } from '../support/wait.js';

/**
 * Storage use over time (issue 14, migration 0018) on a real SQLite repository: the recorder keeps
 * the storage agent's first sample and then one per interval, with the count of sessions kept,
 * and prunes samples older than its retention; the repository downsamples a window into equal
 * buckets of averages; getStorageHistory answers them over a real socket to the roles that may
 * read storage.
 */

const MINUTE = 60_000;
const DAY = 86_400_000;
const NOW = 1_780_000_000_000;
const silent = pino({ level: 'silent' });
const PASSWORD = 'correct horse battery';
const HISTORY = '/ora/storageService/storage/getStorageHistory';

/** A file system of 1,000 blocks of 4 KiB whose used blocks the test sets. */
function disk(usedBlocks: () => number): (path: string) => Promise<FileSystemStats> {
  return () =>
    Promise.resolve({ blocks: 1000, bsize: 4096, bfree: 1000 - usedBlocks(), bavail: 1000 - usedBlocks() });
}

describe('storage history on SQLite', () => {
  let dir: string;
  let repository: Repository;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-history-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
  });

  afterEach(async () => {
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the start sample, then one per interval, with the sessions kept, and prunes old ones', async () => {
    let now = NOW;
    let used = 100;
    await seedRecordedSession(repository, join(dir, 'media'), 'kept-1', { startMs: NOW - DAY });
    await seedRecordedSession(repository, join(dir, 'media'), 'kept-2', { startMs: NOW - DAY });
    await seedRecordedSession(repository, join(dir, 'media'), 'pruned-1', { startMs: NOW - DAY });
    await repository.markSessionPruned('pruned-1', NOW);
    // A sample older than the 90 days kept, written by an earlier run.
    await repository.appendStorageSample({
      at: NOW - 91 * DAY,
      nodeId: 'rec-1',
      totalBytes: 1,
      usedBytes: 1,
      freeBytes: 0,
      sessions: 0,
    });
    const agent = new StorageAgent({
      path: dir,
      thresholds: MEDIASENSE_THRESHOLDS,
      nodeId: 'rec-1',
      logger: silent,
      sampler: disk(() => used),
      now: () => now,
    });
    const recorder = new StorageHistoryRecorder({
      store: repository,
      nodeId: 'rec-1',
      logger: silent,
      intervalMs: 5 * MINUTE,
    });
    agent.onSample(recorder.onSample);
    // An hour from NOW in buckets of under 4 s: every sample of the test is its own point.
    const all = () =>
      repository.storageHistory({ from: NOW - MINUTE, to: NOW + 60 * MINUTE, maxPoints: 1000 });
    const older = () => repository.storageHistory({ from: 0, to: NOW - DAY, maxPoints: 1 });

    await agent.check();
    // The start sample is written and the one older than 90 days pruned.
    await waitFor(
      async () => {
        return (await all()).length === 1 && (await older()).length === 0;
      },
      { timeoutMs: 5000 },
    );
    assert.deepEqual(await all(), [
      {
        at: NOW,
        nodeId: 'rec-1',
        totalBytes: 4_096_000,
        usedBytes: 409_600,
        freeBytes: 3_686_400,
        sessions: 2,
      },
    ]);

    // Samples within the interval are not kept; the first one past it is.
    for (const step of [1, 2, 4]) {
      now = NOW + step * MINUTE;
      used = 100 + step;
      await agent.check();
    }
    now = NOW + 5 * MINUTE;
    used = 200;
    await agent.check();
    await waitFor(async () => (await all()).length === 2, { timeoutMs: 5000 });
    const samples = await all();
    assert.deepEqual(
      samples.map((s) => [s.at, s.usedBytes]),
      [
        [NOW, 409_600],
        [NOW + 5 * MINUTE, 819_200],
      ],
    );
    await recorder.close();
    // Closed: later samples are not written.
    now = NOW + 20 * MINUTE;
    await agent.check();
    assert.equal((await all()).length, 2);
    assert.equal(recorder.failures, 0);
  });

  it('downsamples a window into equal buckets of averages per node, oldest first', async () => {
    // Two days of 5-minute samples of two nodes: used grows by 1,000 bytes a sample.
    for (let i = 0; i < 576; i++) {
      for (const nodeId of ['rec-1', 'rec-2']) {
        await repository.appendStorageSample({
          at: NOW + i * 5 * MINUTE,
          nodeId,
          totalBytes: 1_000_000,
          usedBytes: i * 1000 + (nodeId === 'rec-2' ? 1 : 0),
          freeBytes: 1_000_000 - i * 1000,
          sessions: i,
        });
      }
    }
    const to = NOW + 576 * 5 * MINUTE - 1;
    const rec1 = await repository.storageHistory({ from: NOW, to, nodeId: 'rec-1', maxPoints: 48 });
    assert.equal(rec1.length, 48);
    // Each bucket holds 12 samples (an hour): the first averages i = 0…11.
    assert.deepEqual(rec1[0], {
      at: NOW + 11 * 5 * MINUTE,
      nodeId: 'rec-1',
      totalBytes: 1_000_000,
      usedBytes: 5500,
      freeBytes: 994_500,
      sessions: 6,
    });
    assert.ok(
      rec1.every((s, i) => i === 0 || s.at > (rec1[i - 1]?.at ?? 0)),
      'oldest first',
    );
    const both = await repository.storageHistory({ from: NOW, to, maxPoints: 10 });
    assert.equal(both.length, 20);
    assert.deepEqual(new Set(both.map((s) => s.nodeId)), new Set(['rec-1', 'rec-2']));
    // A window smaller than the points asked answers the samples themselves.
    const hour = await repository.storageHistory({
      from: NOW,
      to: NOW + 60 * MINUTE,
      nodeId: 'rec-2',
      maxPoints: 500,
    });
    assert.deepEqual(
      hour.map((s) => s.usedBytes),
      [1, 1001, 2001, 3001, 4001, 5001, 6001, 7001, 8001, 9001, 10_001, 11_001, 12_001],
    );
    assert.equal(await repository.pruneStorageSamples(NOW + 60 * MINUTE), 24);
  });
});

describe('getStorageHistory (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-history-api-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    for (const role of ['admin', 'auditor', 'api'] satisfies Role[]) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: 0,
      });
    }
    for (let i = 0; i < 3; i++) {
      await repository.appendStorageSample({
        at: NOW - (3 - i) * 5 * MINUTE,
        nodeId: 'rec-1',
        totalBytes: 1000,
        usedBytes: 100 * (i + 1),
        freeBytes: 1000 - 100 * (i + 1),
        sessions: i,
      });
    }
    const retention: RetentionApi = {
      policy: DEFAULT_STORAGE_POLICY,
      counters: { pruned: 0, metadataDeleted: 0, failures: 0, recordingsEnded: 0 },
      refreshPolicy: () => Promise.resolve(DEFAULT_STORAGE_POLICY),
      setPolicy: () => Promise.reject(new Error('not in this test')),
    };
    app = await buildTestHttpApi({
      repository,
      extraRoutes: [
        () =>
          storageRoutes({
            storage: () => ({
              partition: dir,
              level: 'NORMAL',
              levelSince: NOW,
              thresholds: MEDIASENSE_THRESHOLDS,
              crossings: {},
              sampleFailures: 0,
            }),
            retention,
            refusingCalls: () => false,
            nodeId: 'rec-1',
            history: { intervalMs: 5 * MINUTE, read: (query) => repository.storageHistory(query) },
            now: () => NOW,
          }),
      ],
    });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function signIn(username: string): Promise<string> {
    const answer = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      body: JSON.stringify({ requestParameters: { username, password: PASSWORD } }),
    });
    await answer.arrayBuffer();
    return /JSESSIONID=[0-9a-f]+/.exec(answer.headers.get('set-cookie') ?? '')?.[0] ?? '';
  }

  async function history(
    cookie: string,
    query = '',
  ): Promise<{ responseCode: number; responseBody?: unknown }> {
    const answer = await fetch(`${base}${HISTORY}${query}`, { headers: { cookie } });
    return (await answer.json()) as { responseCode: number; responseBody?: unknown };
  }

  it('answers the samples of the last 7 days by default, oldest first, to admin and auditor', async () => {
    for (const user of ['admin-user', 'auditor-user']) {
      const cookie = await signIn(user);
      const answer = await history(cookie);
      assert.equal(answer.responseCode, 2000, user);
      assert.deepEqual(answer.responseBody, {
        from: NOW - 7 * DAY,
        to: NOW,
        intervalMs: 5 * MINUTE,
        samples: [0, 1, 2].map((i) => ({
          at: NOW - (3 - i) * 5 * MINUTE,
          nodeId: 'rec-1',
          totalBytes: 1000,
          usedBytes: 100 * (i + 1),
          freeBytes: 1000 - 100 * (i + 1),
          sessions: i,
        })),
      });
    }
  });

  it('downsamples to maxPoints, answers 2001 for an empty window and refuses bad windows and roles', async () => {
    const cookie = await signIn('admin-user');
    const one = await history(cookie, `?maxPoints=1&from=${NOW - DAY}&to=${NOW}`);
    assert.equal(one.responseCode, 2000);
    assert.deepEqual(
      (one.responseBody as { samples: { usedBytes: number; at: number }[] }).samples.map((s) => [
        s.at,
        s.usedBytes,
      ]),
      [[NOW - 5 * MINUTE, 200]],
    );
    assert.equal((await history(cookie, `?from=0&to=1000`)).responseCode, 2001);
    assert.equal((await history(cookie, `?from=${NOW}&to=${NOW - 1}`)).responseCode, 4001);
    assert.equal((await history(cookie, `?maxPoints=1001`)).responseCode, 4001);
    assert.equal((await history(cookie, `?nodeId=rec-2`)).responseCode, 2001);
    assert.equal((await history(await signIn('api-user'))).responseCode, 4022);
    assert.equal((await history('')).responseCode, 4021);
  });
});
