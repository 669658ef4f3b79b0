import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { EMPTY_TRACK_STATS, type Session, type Track, type TrackStats } from '../../../src/model/session.js';
import {
  healthKinds,
  PACKET_LOSS_THRESHOLD_PERCENT,
  sessionHealth,
  summarizeKinds,
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
      tracks: [
        {
          trackNumber: 0,
          expected: 1000,
          received: 990,
          lost: 10,
          lossPercent: 1,
          gaps: 0,
          gapMs: 0,
          longestGapMs: 0,
          content: 'not-checked',
        },
      ],
    });
    const health = sessionHealth(
      tracksWith(
        stats({ packets: 3000 }),
        stats({ packets: 989, lost: 1, kernelDropped: 6, unreadAtClose: 5 }),
      ),
    );
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.problems, [
      { trackNumber: 1, kind: 'packet-loss', lost: 11, expected: 1000, percent: 1.1 },
    ]);
  });

  void it('takes another threshold, and calls a track without packets ok', () => {
    const session = tracksWith(stats({ packets: 995, lost: 5 }), EMPTY_TRACK_STATS);
    assert.equal(sessionHealth(session).status, 'ok');
    assert.deepEqual(sessionHealth(session, 0.1).problems, [
      { trackNumber: 0, kind: 'packet-loss', lost: 5, expected: 1000, percent: 0.5 },
    ]);
  });
});

void describe('recording health of a closed session', () => {
  const base = sampleSession().tracks[0]!;
  function closed(...tracks: { stats: Partial<TrackStats>; deviceRef?: string; video?: boolean }[]): Session {
    return sampleSession({
      sessionState: 'CLOSED_NORMAL',
      tracks: tracks.map((t, trackNumber) => ({
        ...base,
        trackNumber,
        trackMediaType: t.video === true ? 'VIDEO' : 'AUDIO',
        participants: [{ ...base.participants[0]!, deviceRef: t.deviceRef ?? `10${trackNumber}` }],
        stats: stats({ packets: 1000, ...t.stats }),
      })),
    });
  }

  void it('is ok when every party spoke without gaps', () => {
    const health = sessionHealth(closed({ stats: { content: 'audio' } }, { stats: {} }));
    assert.deepEqual([health.status, health.problems], ['ok', []]);
    assert.deepEqual(
      health.tracks.map((t) => t.content),
      ['audio', 'not-checked'],
    );
  });

  void it('names gaps with their count, total and longest', () => {
    const health = sessionHealth(
      closed(
        { stats: { content: 'audio', gaps: 2, gapMs: 3500, longestGapMs: 2000 } },
        { stats: { content: 'audio' } },
      ),
    );
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.problems, [
      { trackNumber: 0, kind: 'gap', gaps: 2, gapMs: 3500, longestGapMs: 2000 },
    ]);
    assert.equal(health.tracks[0]?.longestGapMs, 2000);
  });

  void it('calls a party that stored only silence while the other spoke a silent track and one-sided', () => {
    const health = sessionHealth(closed({ stats: { content: 'audio' } }, { stats: { content: 'silence' } }));
    assert.deepEqual(health.problems, [
      { trackNumber: 1, kind: 'silent-track' },
      { kind: 'one-sided', trackNumbers: [1] },
    ]);
    assert.equal(healthKinds(health), 'silent-track,one-sided');
  });

  void it('calls a party that stored no packet one-sided, and not a silent video', () => {
    const health = sessionHealth(
      closed(
        { stats: { content: 'audio' } },
        { stats: { packets: 0 } },
        { stats: { packets: 0 }, video: true },
      ),
    );
    assert.deepEqual(health.problems, [
      { trackNumber: 1, kind: 'no-packets' },
      { kind: 'one-sided', trackNumbers: [1] },
    ]);
  });

  void it('is not one-sided when nobody spoke, nor when a party spoke on one of its tracks', () => {
    const silent = sessionHealth(
      closed({ stats: { content: 'silence' } }, { stats: { content: 'silence' } }),
    );
    assert.deepEqual(
      silent.problems.map((p) => p.kind),
      ['silent-track', 'silent-track'],
    );
    const sameParty = sessionHealth(
      closed(
        { stats: { content: 'audio' }, deviceRef: '2000' },
        { stats: { content: 'silence' }, deviceRef: '2000' },
        { stats: { content: 'audio' }, deviceRef: '3000' },
      ),
    );
    assert.deepEqual(
      sameParty.problems.map((p) => p.kind),
      ['silent-track'],
    );
  });

  void it('does not count a track heard only while paused as unheard', () => {
    const health = sessionHealth(
      closed({ stats: { content: 'audio' } }, { stats: { packets: 0, paused: 500 } }),
    );
    assert.deepEqual(health.problems, []);
  });

  void it('judges only loss while the session is ACTIVE (its tracks are stored when they end)', () => {
    const session = {
      ...closed({ stats: { packets: 0 } }, { stats: { content: 'silence' } }),
      sessionState: 'ACTIVE' as const,
    };
    assert.equal(sessionHealth(session).status, 'ok');
  });
});

void describe('health summary', () => {
  void it('counts sessions by kind, once per session per kind, and ignores unknown kinds', () => {
    assert.deepEqual(
      summarizeKinds([
        { kinds: '', sessions: 7 },
        { kinds: 'gap', sessions: 2 },
        { kinds: 'silent-track,one-sided', sessions: 1 },
        { kinds: 'gap,future-kind', sessions: 1 },
      ]),
      {
        sessionsEnded: 11,
        sessionsDegraded: 4,
        byKind: { 'packet-loss': 0, gap: 3, 'no-packets': 0, 'silent-track': 1, 'one-sided': 1 },
      },
    );
    assert.equal(healthKinds({ problems: [] }), '');
  });
});
