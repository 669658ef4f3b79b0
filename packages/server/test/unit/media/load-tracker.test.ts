import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { WorkerLoadTracker } from '../../../src/media/load-tracker.js';
import { WorkerLagProbe } from '../../../src/media/worker-lag.js';

void describe('WorkerLoadTracker', () => {
  void it('gives the worst lag of the running workers over the statistics window', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.started(1, 0);
    tracker.report(0, 250, 5, 1000);
    tracker.report(1, 250, 40, 500);
    tracker.report(0, 500, 120, 3000);
    tracker.report(1, 500, 2, 0);
    assert.equal(tracker.workerLagMs(600, [0, 1]), 120);
    assert.equal(tracker.workerLagMs(600, [1]), 40);
    assert.equal(tracker.pendingWriteBytes([0, 1]), 3000);
    // A second later the stall has left the window.
    tracker.report(0, 1250, 1);
    tracker.report(0, 1500, 0, 0);
    tracker.report(1, 1500, 0);
    assert.equal(tracker.workerLagMs(1600, [0, 1]), 1);
    assert.equal(tracker.pendingWriteBytes([0, 1]), 0);
  });

  void it('counts a worker whose report is overdue as late by as much, and forgets a replaced one', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.report(0, 250, 0);
    assert.equal(tracker.workerLagMs(400, [0]), 0);
    assert.equal(tracker.workerLagMs(1250, [0]), 750);
    tracker.started(0, 1300);
    assert.equal(tracker.workerLagMs(1300, [0]), 0);
  });
});

void describe('WorkerLagProbe', () => {
  void it('measures a stall of the event loop, in the window that saw it and in the statistics window', async () => {
    const probe = new WorkerLagProbe();
    probe.start();
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      probe.takeMs();
      probe.takeStatsWindowMs();
      const until = Date.now() + 120;
      while (Date.now() < until) {
        // Busy: the probe's timer cannot run.
      }
      // Overdue right now, before its timer has even run.
      assert.ok(probe.takeMs() >= 100);
      await new Promise((resolve) => setTimeout(resolve, 30));
      assert.ok(probe.takeStatsWindowMs() >= 100);
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.ok(probe.takeMs() < 100);
      assert.ok(probe.takeStatsWindowMs() < 100);
    } finally {
      probe.stop();
    }
  });
});
