import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { WorkerLoadTracker } from '../../../src/media/load-tracker.js';
import { LagProbe } from '../../../src/media/lag-probe.js';

void describe('WorkerLoadTracker', () => {
  void it('gives the mean wait over the statistics window of the worker furthest behind', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.started(1, 0);
    tracker.report(0, 250, { meanWaitMs: 5, windowMs: 250, maxWaitMs: 5 }, 1000);
    tracker.report(1, 250, { meanWaitMs: 40, windowMs: 250, maxWaitMs: 40 }, 500);
    tracker.report(0, 500, { meanWaitMs: 120, windowMs: 250, maxWaitMs: 120 }, 3000);
    tracker.report(1, 500, { meanWaitMs: 2, windowMs: 250, maxWaitMs: 2 }, 0);
    // Worker 0 waited 5 and 120 ms on average in its two intervals: 62.5 over the window.
    assert.equal(tracker.workerLagMs(600, [0, 1]), 62.5);
    assert.equal(tracker.workerLagMs(600, [1]), 21);
    assert.equal(tracker.pendingWriteBytes([0, 1]), 3000);
    // A second later the stall has left the window.
    tracker.report(0, 1250, { meanWaitMs: 1, windowMs: 250, maxWaitMs: 1 });
    tracker.report(0, 1500, { meanWaitMs: 0, windowMs: 250, maxWaitMs: 0 }, 0);
    tracker.report(1, 1500, { meanWaitMs: 0, windowMs: 250, maxWaitMs: 0 });
    assert.equal(tracker.workerLagMs(1600, [0, 1]), 0.5);
    assert.equal(tracker.pendingWriteBytes([0, 1]), 0);
  });

  void it('weighs each report by the time it covers: the report after a stall covers the stall', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.report(0, 250, { meanWaitMs: 0, windowMs: 250, maxWaitMs: 0 });
    tracker.report(0, 1000, { meanWaitMs: 200, windowMs: 750, maxWaitMs: 200 });
    assert.equal(tracker.workerLagMs(1000, [0]), 150);
  });

  void it('gives the longest wait any worker reported within the window, an overdue report included', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.started(1, 0);
    tracker.report(0, 250, { meanWaitMs: 1, windowMs: 250, maxWaitMs: 12 });
    tracker.report(1, 250, { meanWaitMs: 3, windowMs: 250, maxWaitMs: 80 });
    tracker.report(0, 500, { meanWaitMs: 1, windowMs: 250, maxWaitMs: 20 });
    tracker.report(1, 500, { meanWaitMs: 1, windowMs: 250, maxWaitMs: 5 });
    assert.equal(tracker.workerMaxWaitMs(600, [0, 1]), 80);
    assert.equal(tracker.workerMaxWaitMs(600, [0]), 20);
    // The 80 ms wait has left the window; worker 1 has not reported for 900 ms.
    tracker.report(0, 1400, { meanWaitMs: 0, windowMs: 900, maxWaitMs: 2 });
    assert.equal(tracker.workerMaxWaitMs(1400, [0, 1]), 650);
  });

  void it('counts a worker whose report is overdue as late by as much, and forgets a replaced one', () => {
    const tracker = new WorkerLoadTracker(1000, 250);
    tracker.started(0, 0);
    tracker.report(0, 250, { meanWaitMs: 0, windowMs: 250, maxWaitMs: 0 });
    assert.equal(tracker.workerLagMs(400, [0]), 0);
    assert.equal(tracker.workerLagMs(1250, [0]), 750);
    tracker.started(0, 1300);
    assert.equal(tracker.workerLagMs(1300, [0]), 0);
  });
});

void describe('LagProbe', () => {
  void it('reports the mean wait: a worker held up for the whole window shows it, a lone short stall weighs little', async () => {
    const probe = new LagProbe();
    probe.start();
    const busyFor = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until) {
        // Busy: the probe's timer cannot run.
      }
    };
    try {
      await new Promise((resolve) => setTimeout(resolve, 50));
      probe.takeMeanWaitMs();
      busyFor(150);
      // Overdue right now, before its timer has even run: late by 130 ms or more at the end of a
      // 150 ms window, so at least 130²/2/150 = 56 ms on average.
      const heldUp = probe.takeWindow();
      assert.ok(heldUp.meanWaitMs >= 50, `mean wait ${heldUp.meanWaitMs} ms while the thread was busy`);
      assert.ok(heldUp.maxWaitMs >= 130, `longest wait ${heldUp.maxWaitMs} ms while the thread was busy`);

      await new Promise((resolve) => setTimeout(resolve, 100));
      probe.takeMeanWaitMs();
      // 40 ms busy in a window of about 300 ms: about 40²/2/300 = 3 ms, while its worst lag is 40.
      await new Promise((resolve) => setTimeout(resolve, 130));
      busyFor(40);
      await new Promise((resolve) => setTimeout(resolve, 130));
      const loneStall = probe.takeWindow();
      assert.ok(loneStall.meanWaitMs < 20, `mean wait ${loneStall.meanWaitMs} ms with one short stall`);
      assert.ok(loneStall.maxWaitMs >= 20, `longest wait ${loneStall.maxWaitMs} ms with one 40 ms stall`);
    } finally {
      probe.stop();
    }
  });
});
