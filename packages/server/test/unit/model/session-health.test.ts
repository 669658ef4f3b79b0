import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { EMPTY_TRACK_STATS, type Track, type TrackStats } from '../../../src/model/session.js';
import {
  PACKET_LOSS_THRESHOLD_PERCENT,
  sessionHealth,
  trackLoss,
} from '../../../src/model/session-health.js';
import { sampleSession } from '../../support/fake-repository.js';

function stats(overrides: Partial<TrackStats>): TrackStats {
  return { ...EMPTY_TRACK_STATS, ...overrides };
}

function tracksWith(...trackStats: TrackStats[]): { tracks: Track[] } {
  const base = sampleSession().tracks[0]!;
  return { tracks: trackStats.map((s, trackNumber) => ({ ...base, trackNumber, stats: s })) };
}

void describe('track loss and session health', () => {
  void it('counts sequence gaps against the packets that should have come', () => {
    assert.deepEqual(trackLoss(stats({ packets: 990, lost: 10 })), { lost: 10, expected: 1000, percent: 1 });
    // Duplicates were stored twice but sent once.
    assert.deepEqual(trackLoss(stats({ packets: 1005, duplicated: 5, lost: 0 })), {
      lost: 0,
      expected: 1000,
      percent: 0,
    });
    assert.deepEqual(trackLoss(EMPTY_TRACK_STATS), { lost: 0, expected: 0, percent: 0 });
  });

  void it('takes the larger of gaps and kernel drops (a drop mid-stream is both) and adds what was unread', () => {
    // The kernel dropped 30 packets, 20 mid-stream (gaps) and 10 at the tail (no gap).
    assert.deepEqual(trackLoss(stats({ packets: 970, lost: 20, kernelDropped: 30 })), {
      lost: 30,
      expected: 1000,
      percent: 3,
    });
    assert.deepEqual(trackLoss(stats({ packets: 970, lost: 20, kernelDropped: 5, unreadAtClose: 10 })), {
      lost: 30,
      expected: 1000,
      percent: 3,
    });
    assert.equal(trackLoss(stats({ packets: 2, lost: 1 })).percent, 33.33);
  });

  void it('adds the packets received but not stored (they are in no gap and not in packets)', () => {
    // 1000 sent: 10 never arrived (gaps), 40 arrived when the disk was too far behind.
    assert.deepEqual(trackLoss(stats({ packets: 950, lost: 10, unstored: 40 })), {
      lost: 50,
      expected: 1000,
      percent: 5,
    });
    assert.deepEqual(
      trackLoss(stats({ packets: 970, lost: 20, kernelDropped: 5, unreadAtClose: 5, unstored: 5 })),
      {
        lost: 30,
        expected: 1000,
        percent: 3,
      },
    );
  });

  void it('is ok at the threshold and degraded above it, naming each track that lost too much', () => {
    assert.equal(PACKET_LOSS_THRESHOLD_PERCENT, 1);
    assert.deepEqual(sessionHealth(tracksWith(stats({ packets: 990, lost: 10 }))), {
      status: 'ok',
      problems: [],
    });
    const health = sessionHealth(
      tracksWith(
        stats({ packets: 3000 }),
        stats({ packets: 989, lost: 1, kernelDropped: 6, unreadAtClose: 5 }),
      ),
    );
    assert.deepEqual(health, {
      status: 'degraded',
      problems: [{ trackNumber: 1, kind: 'packet-loss', lost: 11, expected: 1000, percent: 1.1 }],
    });
  });

  void it('takes another threshold, and calls a track without packets ok', () => {
    const session = tracksWith(stats({ packets: 995, lost: 5 }), EMPTY_TRACK_STATS);
    assert.equal(sessionHealth(session).status, 'ok');
    assert.deepEqual(sessionHealth(session, 0.1).problems, [
      { trackNumber: 0, kind: 'packet-loss', lost: 5, expected: 1000, percent: 0.5 },
    ]);
  });
});
