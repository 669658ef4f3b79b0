import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { VerbatimEvent } from '../../../src/model/events.js';
import { StorageAgent } from '../../../src/storage/storage-agent.js';
import {
  levelOf,
  MEDIASENSE_THRESHOLDS,
  NO_THRESHOLDS,
  stepThresholds,
  thresholdsFor,
  type StorageLevel,
  type StorageThresholdAction,
  type ThresholdFlags,
} from '../../../src/storage/storage-thresholds.js';

/** Feeds percentages used through the pure state machine; the levels and crossings of each step. */
function walk(
  percents: number[],
  thresholds = MEDIASENSE_THRESHOLDS,
): [StorageLevel, StorageThresholdAction[]][] {
  let flags: ThresholdFlags = NO_THRESHOLDS;
  return percents.map((percent) => {
    const step = stepThresholds(flags, percent, thresholds);
    flags = step.flags;
    return [levelOf(flags), [...step.crossings]];
  });
}

describe('storage thresholds', () => {
  it('enters each level at its figure and leaves it only below the lower one', () => {
    assert.deepEqual(walk([74.9, 75, 71, 70, 69.9, 89.9, 90, 86, 84.9, 98.9, 99, 97.5, 96.9]), [
      ['NORMAL', []],
      ['LOW', ['ENTER_LOW_STORAGE_SPACE']],
      ['LOW', []],
      ['LOW', []],
      ['NORMAL', ['EXIT_LOW_STORAGE_SPACE']],
      ['LOW', ['ENTER_LOW_STORAGE_SPACE']],
      ['CRITICAL', ['ENTER_CRITICAL_STORAGE_SPACE']],
      ['CRITICAL', []],
      ['LOW', ['EXIT_CRITICAL_STORAGE_SPACE']],
      ['CRITICAL', ['ENTER_CRITICAL_STORAGE_SPACE']],
      ['EMERGENCY', ['ENTER_EMERGENCY_STORAGE_SPACE']],
      ['EMERGENCY', []],
      ['CRITICAL', ['EXIT_EMERGENCY_STORAGE_SPACE']],
    ]);
  });

  it('publishes every threshold passed in one jump, entries upwards and exits downwards', () => {
    assert.deepEqual(walk([99.5, 10]), [
      [
        'EMERGENCY',
        ['ENTER_LOW_STORAGE_SPACE', 'ENTER_CRITICAL_STORAGE_SPACE', 'ENTER_EMERGENCY_STORAGE_SPACE'],
      ],
      ['NORMAL', ['EXIT_EMERGENCY_STORAGE_SPACE', 'EXIT_CRITICAL_STORAGE_SPACE', 'EXIT_LOW_STORAGE_SPACE']],
    ]);
  });

  it('maps --storage-critical-percent (free space) onto the critical threshold', () => {
    assert.deepEqual(thresholdsFor(10), MEDIASENSE_THRESHOLDS);
    assert.deepEqual(thresholdsFor(20).CRITICAL, { enter: 80, exit: 75 });
    assert.deepEqual(thresholdsFor(20).LOW, MEDIASENSE_THRESHOLDS.LOW);
    // 0 turns critical off; emergency still applies.
    assert.deepEqual(walk([95, 99.5], thresholdsFor(0)), [
      ['LOW', ['ENTER_LOW_STORAGE_SPACE']],
      ['EMERGENCY', ['ENTER_EMERGENCY_STORAGE_SPACE']],
    ]);
    // 100: critical whatever the usage (what the storage-critical e2e test uses).
    assert.equal(walk([0], thresholdsFor(100))[0]?.[0], 'CRITICAL');
  });
});

describe('StorageAgent', () => {
  function agent(usedPercents: number[]): {
    storage: StorageAgent;
    events: VerbatimEvent[];
    levels: string[];
  } {
    const events: VerbatimEvent[] = [];
    const levels: string[] = [];
    const storage = new StorageAgent({
      path: '/data/media',
      thresholds: MEDIASENSE_THRESHOLDS,
      nodeId: 'node-a',
      logger: pino({ level: 'silent' }),
      events: { publish: (e) => events.push(e) },
      now: () => 1_000,
      sampler: () => {
        const used = usedPercents.shift();
        return used === undefined
          ? Promise.reject(new Error('EIO'))
          : Promise.resolve({ blocks: 1000, bfree: 1000 - used * 10, bavail: 1000 - used * 10, bsize: 4096 });
      },
    });
    storage.onSample((_sample, level, previous) => {
      if (level !== previous) {
        levels.push(`${previous}>${level}`);
      }
    });
    return { storage, events, levels };
  }

  it('publishes STORAGE_THRESHOLD_EVENTs with the body MediaSense sent, and tells listeners', async () => {
    const { storage, events, levels } = agent([50, 91.4, 86, 84]);
    for (let i = 0; i < 4; i++) {
      await storage.check();
    }
    assert.deepEqual(events, [
      {
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'ENTER_LOW_STORAGE_SPACE',
        nodeId: 'node-a',
        partition: '/data/media',
        percentageUtilization: 91,
        at: 1_000,
      },
      {
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'ENTER_CRITICAL_STORAGE_SPACE',
        nodeId: 'node-a',
        partition: '/data/media',
        percentageUtilization: 91,
        at: 1_000,
      },
      {
        eventType: 'STORAGE_THRESHOLD_EVENT',
        eventAction: 'EXIT_CRITICAL_STORAGE_SPACE',
        nodeId: 'node-a',
        partition: '/data/media',
        percentageUtilization: 84,
        at: 1_000,
      },
    ]);
    assert.deepEqual(levels, ['NORMAL>CRITICAL', 'CRITICAL>LOW']);
    const status = storage.status();
    assert.equal(status.level, 'LOW');
    assert.equal(status.crossings.ENTER_CRITICAL_STORAGE_SPACE, 1);
    assert.equal(status.sample?.freeBytes, 160 * 4096);
  });

  it('computes usage as df does, leaving out the blocks reserved for root', async () => {
    const storage = new StorageAgent({
      path: '/',
      thresholds: MEDIASENSE_THRESHOLDS,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      // 1000 blocks, 900 used, 50 reserved: 900 / (900 + 50) = 94.7 % used.
      sampler: () => Promise.resolve({ blocks: 1000, bfree: 100, bavail: 50, bsize: 1024 }),
    });
    const sample = await storage.check();
    assert.equal(Math.round((sample?.percentUsed ?? 0) * 10), 947);
    assert.equal(storage.critical, true);
  });

  it('keeps its state when the partition cannot be read, and counts the failure', async () => {
    const { storage } = agent([95]);
    await storage.check();
    assert.equal(await storage.check(), undefined);
    assert.equal(storage.critical, true);
    assert.equal(storage.status().sampleFailures, 1);
  });
});
