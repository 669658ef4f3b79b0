import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';

import type { StorageHistorySample, StorageHistoryStore } from '../../../src/model/storage-history.js';
import type { StorageSample } from '../../../src/storage/storage-agent.js';
import { StorageHistoryRecorder } from '../../../src/storage/storage-history.js';

/**
 * The history recorder's timing and failures with a store in memory: the first sample at once,
 * then one per interval; a failed write is retried at the next sample rather than an interval
 * later; pruning at most hourly, of what is older than the retention; a clock stepped back writes.
 */

const MINUTE = 60_000;
const T0 = 1_780_000_000_000;

class MemoryHistory implements StorageHistoryStore {
  readonly samples: StorageHistorySample[] = [];
  readonly prunes: number[] = [];
  failWrites = 0;

  appendStorageSample(sample: StorageHistorySample): Promise<void> {
    if (this.failWrites > 0) {
      this.failWrites--;
      return Promise.reject(new Error('SQLITE_FULL: database or disk is full'));
    }
    this.samples.push(sample);
    return Promise.resolve();
  }

  pruneStorageSamples(before: number): Promise<number> {
    this.prunes.push(before);
    return Promise.resolve(0);
  }

  storageHistory(): Promise<StorageHistorySample[]> {
    return Promise.resolve(this.samples);
  }

  countStoredSessions(): Promise<number> {
    return Promise.resolve(7);
  }
}

function sample(at: number): StorageSample {
  return { totalBytes: 1000, usedBytes: 400, freeBytes: 600, percentUsed: 40, sampledAt: at };
}

/** Feeds the samples one by one, each after the previous write finished. */
async function feed(recorder: StorageHistoryRecorder, times: number[]): Promise<void> {
  for (const at of times) {
    recorder.onSample(sample(at));
    // The write is a few awaited steps on a store that answers at once.
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('storage history recorder', () => {
  it('keeps the first sample, then the first one an interval after the last kept', async () => {
    const store = new MemoryHistory();
    const recorder = new StorageHistoryRecorder({
      store,
      nodeId: 'rec-1',
      logger: pino({ level: 'silent' }),
      intervalMs: 5 * MINUTE,
    });
    await feed(recorder, [
      T0,
      T0 + MINUTE,
      T0 + 4 * MINUTE,
      T0 + 5 * MINUTE,
      T0 + 7 * MINUTE,
      T0 + 11 * MINUTE,
    ]);
    await recorder.close();
    assert.deepEqual(
      store.samples.map((s) => (s.at - T0) / MINUTE),
      [0, 5, 11],
    );
    assert.deepEqual(store.samples[0], {
      at: T0,
      nodeId: 'rec-1',
      totalBytes: 1000,
      usedBytes: 400,
      freeBytes: 600,
      sessions: 7,
    });
    // Pruned once at the first write (the next is due an hour later), of what is 90 days old.
    assert.deepEqual(store.prunes, [T0 - 90 * 86_400_000]);
  });

  it('retries a failed write at the next sample and counts the failures', async () => {
    const store = new MemoryHistory();
    store.failWrites = 2;
    const recorder = new StorageHistoryRecorder({
      store,
      nodeId: 'rec-1',
      logger: pino({ level: 'silent' }),
      intervalMs: 5 * MINUTE,
    });
    await feed(recorder, [T0, T0 + 5_000, T0 + 10_000, T0 + 15_000]);
    await recorder.close();
    assert.equal(recorder.failures, 2);
    assert.deepEqual(
      store.samples.map((s) => s.at - T0),
      [10_000],
    );
  });

  it('writes again when the clock steps back, and nothing after close', async () => {
    const store = new MemoryHistory();
    const recorder = new StorageHistoryRecorder({
      store,
      nodeId: 'rec-1',
      logger: pino({ level: 'silent' }),
      intervalMs: 5 * MINUTE,
      keepMs: 86_400_000,
    });
    await feed(recorder, [T0, T0 - 60 * MINUTE]);
    await recorder.close();
    await feed(recorder, [T0 + 60 * MINUTE]);
    assert.deepEqual(
      store.samples.map((s) => (s.at - T0) / MINUTE),
      [0, -60],
    );
  });
});
