import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { Session, TrackStats } from '../../src/model/session.js';
import { sampleSession } from '../support/fake-repository.js';

const NOW = 1_760_000_000_000;
const MINUTE = 60_000;

/** An ACTIVE session with two tracks whose stats the close will judge. */
function active(sessionId: string, startMs: number): Session {
  return sampleSession({ sessionId, sessionState: 'ACTIVE', sessionStartDate: startMs });
}

void describe('recording health in the database (closeSession, healthSummary)', () => {
  let repo: Repository;
  before(async () => {
    repo = await openRepository({ kind: 'sqlite', path: ':memory:' });
    await repo.migrate();
  });
  after(async () => {
    await repo.close();
  });

  async function record(
    sessionId: string,
    endMs: number,
    track0: Partial<TrackStats>,
    track1: Partial<TrackStats>,
  ): Promise<void> {
    const start = endMs - 2 * MINUTE;
    const session = active(sessionId, start);
    await repo.createSession(session);
    for (const [trackNumber, stats] of [track0, track1].entries()) {
      await repo.updateTrack(sessionId, trackNumber, {
        trackDuration: 2 * MINUTE,
        stats: { ...session.tracks[trackNumber]!.stats, packets: 6000, ...stats },
      });
    }
    await repo.closeSession(sessionId, 'CLOSED_NORMAL', 2 * MINUTE);
  }

  void it('stores the new counters with the track and reads them back', async () => {
    await record(
      'h-gap',
      NOW - 10 * MINUTE,
      { content: 'audio', gaps: 1, gapMs: 1500, longestGapMs: 1500 },
      {
        content: 'audio',
      },
    );
    const session = await repo.getSession('h-gap');
    assert.deepEqual(
      session?.tracks.map((t) => [t.stats.gaps, t.stats.gapMs, t.stats.longestGapMs, t.stats.content]),
      [
        [1, 1500, 1500, 'audio'],
        [undefined, undefined, undefined, 'audio'],
      ],
    );
  });

  void it('counts the sessions that ended with problems in the last hour and day, by kind', async () => {
    await record('h-ok', NOW - 5 * MINUTE, { content: 'audio' }, { content: 'audio' });
    await record('h-one-sided', NOW - 20 * MINUTE, { content: 'audio' }, { packets: 0 });
    await record('h-silent-old', NOW - 5 * 60 * MINUTE, { content: 'audio' }, { content: 'silence' });
    await record('h-too-old', NOW - 25 * 60 * MINUTE, { packets: 0 }, { packets: 0 });
    await repo.createSession(active('h-active', NOW - MINUTE));
    const summary = await repo.healthSummary(NOW);
    assert.deepEqual(summary.lastHour, {
      sessionsEnded: 3,
      sessionsDegraded: 2,
      byKind: { 'packet-loss': 0, gap: 1, 'no-packets': 1, 'silent-track': 0, 'one-sided': 1 },
    });
    assert.deepEqual(summary.lastDay, {
      sessionsEnded: 4,
      sessionsDegraded: 3,
      byKind: { 'packet-loss': 0, gap: 1, 'no-packets': 1, 'silent-track': 1, 'one-sided': 2 },
    });
  });
});
