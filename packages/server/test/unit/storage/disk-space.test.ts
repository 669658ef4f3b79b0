import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import type { VerbatimEvent } from '../../../src/model/events.js';
import { DiskSpaceMonitor } from '../../../src/storage/disk-space.js';

describe('DiskSpaceMonitor', () => {
  function monitor(freePercents: number[]): { disk: DiskSpaceMonitor; events: VerbatimEvent[] } {
    const events: VerbatimEvent[] = [];
    const disk = new DiskSpaceMonitor({
      path: '/data/media',
      criticalPercent: 10,
      nodeId: 'node-a',
      logger: pino({ level: 'silent' }),
      events: { publish: (e) => events.push(e) },
      now: () => 1_000,
      statfs: () => {
        const free = freePercents.shift();
        return free === undefined
          ? Promise.reject(new Error('EIO'))
          : Promise.resolve({ blocks: 1000, bavail: free * 10, bsize: 4096 });
      },
    });
    return { disk, events };
  }

  it('turns critical below the threshold and leaves it only 5 points above it', async () => {
    const { disk, events } = monitor([50, 9, 12, 14.9, 15, 9.5]);
    const states: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      await disk.check();
      states.push(disk.critical);
    }
    assert.deepEqual(states, [false, true, true, true, false, true]);
    assert.deepEqual(
      events.map((e) =>
        e.eventType === 'STORAGE_THRESHOLD_EVENT' ? [e.eventAction, e.percentageUtilization] : [],
      ),
      [
        ['ENTER_CRITICAL_STORAGE_SPACE', 91],
        ['EXIT_CRITICAL_STORAGE_SPACE', 85],
        ['ENTER_CRITICAL_STORAGE_SPACE', 91],
      ],
    );
    assert.equal(disk.last?.freeBytes, 95 * 4096);
  });

  it('keeps its state when the file system cannot be read', async () => {
    const { disk } = monitor([5]);
    await disk.check();
    assert.equal(await disk.check(), undefined);
    assert.equal(disk.critical, true);
  });

  it('is never critical with a threshold of 0', async () => {
    const events: VerbatimEvent[] = [];
    const disk = new DiskSpaceMonitor({
      path: '/',
      criticalPercent: 0,
      nodeId: 'n',
      logger: pino({ level: 'silent' }),
      events: { publish: (e) => events.push(e) },
      statfs: () => Promise.resolve({ blocks: 1000, bavail: 0, bsize: 4096 }),
    });
    await disk.check();
    assert.equal(disk.critical, false);
    assert.deepEqual(events, []);
  });
});
