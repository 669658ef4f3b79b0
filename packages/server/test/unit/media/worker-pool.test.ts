import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';

import { pino } from 'pino';

import type { MediaError } from '../../../src/media/media-errors.js';
import type { FromWorker, RtpWorkerSettings, ToWorker } from '../../../src/media/worker-messages.js';
import { RtpWorkerPool, type WorkerNotice } from '../../../src/media/worker-pool.js';
import { EMPTY_TRACK_STATS } from '../../../src/model/session.js';

/**
 * The worker pool over fake workers: what it sends, what it does with each kind of message, and
 * how it handles a worker that dies. The real threads are exercised by the media engine's
 * integration tests.
 */

class FakeWorker extends EventEmitter {
  readonly posted: ToWorker[] = [];
  terminated = false;

  postMessage(message: ToWorker): void {
    this.posted.push(message);
  }

  say(message: FromWorker): void {
    this.emit('message', message);
  }

  /** Dies as a crash would. */
  crash(exitCode = 1): void {
    this.emit('exit', exitCode);
  }

  terminate(): Promise<number> {
    this.terminated = true;
    this.emit('exit', 1);
    return Promise.resolve(1);
  }
}

const SETTINGS: RtpWorkerSettings = {
  bindAddress: '127.0.0.1',
  localAddress: '127.0.0.1',
  mediaTimeoutMs: 1000,
  defaultClockRateHz: 8000,
  flushIntervalMs: 200,
  tapIntervalMs: 40,
  statsIntervalMs: 1000,
  loadIntervalMs: 250,
  socketTableIntervalMs: 250,
  timeoutCheckIntervalMs: 250,
  bufferBytes: 4096,
  flushRecords: 10,
  writeBacklogBytes: 320 * 2 ** 20,
};

function poolOf(workerCount: number): {
  pool: RtpWorkerPool;
  launched: FakeWorker[];
  notices: WorkerNotice[];
  /** The worker index given with each notice. */
  noticeWorkers: number[];
  crashes: { worker: number; exitCode: number; failure: MediaError }[];
} {
  const launched: FakeWorker[] = [];
  const notices: WorkerNotice[] = [];
  const noticeWorkers: number[] = [];
  const crashes: { worker: number; exitCode: number; failure: MediaError }[] = [];
  const pool = new RtpWorkerPool({
    settings: SETTINGS,
    workerCount,
    launch: (settings) => {
      assert.equal(settings, SETTINGS);
      const worker = new FakeWorker();
      launched.push(worker);
      return worker as unknown as Worker;
    },
    log: pino({ level: 'silent' }),
    onNotice: (notice, workerIndex) => {
      notices.push(notice);
      noticeWorkers.push(workerIndex);
    },
    onCrash: (worker, exitCode, failure) => crashes.push({ worker, exitCode, failure }),
  });
  return { pool, launched, notices, noticeWorkers, crashes };
}

function worker(launched: FakeWorker[], index: number): FakeWorker {
  const found = launched[index];
  assert.ok(found !== undefined, `worker ${index} launched`);
  return found;
}

async function startedPool(workerCount: number): Promise<ReturnType<typeof poolOf>> {
  const made = poolOf(workerCount);
  const started = made.pool.start();
  for (const launchedWorker of made.launched) {
    launchedWorker.say({ type: 'ready' });
  }
  await started;
  return made;
}

describe('media worker pool', () => {
  it('starts once every worker is ready and matches each reply to its request', async () => {
    const { pool, launched } = await startedPool(2);
    assert.equal(pool.size, 2);
    assert.deepEqual(pool.running(), [0, 1]);
    const flushed = pool.request(1, { type: 'flush' });
    const closed = pool.request(1, { type: 'close', streamId: 's' });
    const [flush, close] = worker(launched, 1).posted;
    assert.equal(worker(launched, 0).posted.length, 0);
    assert.ok(flush?.type === 'flush' && close?.type === 'close');
    assert.notEqual(flush.requestId, close.requestId);
    // Replies may come in any order.
    worker(launched, 1).say({ type: 'closed', requestId: close.requestId, stats: undefined });
    worker(launched, 1).say({ type: 'flushed', requestId: flush.requestId });
    assert.deepEqual(await closed, { type: 'closed', requestId: close.requestId, stats: undefined });
    assert.deepEqual(await flushed, { type: 'flushed', requestId: flush.requestId });
  });

  it('hands statistics, load, events and failed streams to its owner, and posts messages that expect no reply', async () => {
    const { pool, launched, notices, noticeWorkers } = await startedPool(2);
    const stats: FromWorker = { type: 'stats', streams: [['s', EMPTY_TRACK_STATS]] };
    const load: FromWorker = {
      type: 'load',
      meanWaitMs: 2,
      maxWaitMs: 9,
      windowMs: 250,
      pendingWriteBytes: 216,
    };
    const failed: FromWorker = { type: 'failed', streamId: 's', stats: EMPTY_TRACK_STATS, message: 'EIO' };
    worker(launched, 0).say(stats);
    worker(launched, 0).say(load);
    worker(launched, 0).say({ type: 'log', level: 'info', message: 'hello', fields: {} });
    worker(launched, 1).say(failed);
    assert.deepEqual(notices, [stats, load, failed]);
    assert.deepEqual(noticeWorkers, [0, 0, 1]);
    pool.post(0, { type: 'rearm-timeout', streamId: 's' });
    assert.deepEqual(worker(launched, 0).posted, [{ type: 'rearm-timeout', streamId: 's' }]);
  });

  it('fails the requests of a crashed worker, tells its owner, and starts a new worker in its place', async () => {
    const { pool, launched, crashes } = await startedPool(2);
    const pending = pool.request(0, { type: 'flush' });
    worker(launched, 0).crash(7);
    await assert.rejects(pending, { code: 'VERBATIM_ERR_MEDIA_WORKER_EXITED' });
    assert.deepEqual(
      crashes.map((c) => [c.worker, c.exitCode, c.failure.code]),
      [[0, 7, 'VERBATIM_ERR_MEDIA_WORKER_EXITED']],
    );
    assert.equal(launched.length, 3);
    assert.deepEqual(pool.running(), [0, 1]);
    // Requests go to the new worker; the dead one's late messages are ignored.
    const flushed = pool.request(0, { type: 'flush' });
    const request = worker(launched, 2).posted[0];
    assert.ok(request?.type === 'flush');
    worker(launched, 0).say({ type: 'stats', streams: [] });
    worker(launched, 2).say({ type: 'flushed', requestId: request.requestId });
    await flushed;
  });

  it('does not restart a worker that died before it was ready, nor any worker once closing', async () => {
    const { pool, launched, crashes } = await startedPool(2);
    worker(launched, 0).crash();
    // The replacement dies before it loads: its slot takes no more work.
    worker(launched, 2).crash();
    assert.equal(launched.length, 3);
    assert.deepEqual(pool.running(), [1]);
    assert.equal(pool.isRunning(0), false);
    pool.stopReplacing();
    worker(launched, 1).crash();
    assert.equal(launched.length, 3);
    assert.equal(crashes.length, 3);
    await pool.terminate();
    assert.equal(crashes.length, 3, 'a worker the pool stops has not crashed');
  });

  it('rejects the start when a worker cannot load, stopping the others', async () => {
    const { pool, launched } = poolOf(2);
    const started = pool.start();
    worker(launched, 0).say({ type: 'ready' });
    worker(launched, 1).crash(3);
    await assert.rejects(started, { code: 'VERBATIM_ERR_MEDIA_WORKER_EXITED' });
    assert.equal(worker(launched, 0).terminated, true);
    assert.equal(launched.length, 2);
  });
});
