import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { sessionJson } from '../../server/src/api/session-json.ts';
import type { Session } from '../../server/src/model/session.ts';
import { sampleSession } from '../../server/test/support/fake-repository.ts';
import { clock, markersOf, partyOf } from '../src/pages/session/format.ts';

/**
 * The session page's reading of a session as the server writes it (sessionJson): where each tag
 * stands on the player's timeline, and how times and parties are written.
 */

const URLS = { advertise: '127.0.0.1', httpPort: 8440, rtspPort: 8554, tls: true };
const START = 1_700_000_000_000;

function pageSession(session: Session) {
  return sessionJson(session, URLS);
}

void describe('the tag markers of the session page', () => {
  void it('place session tags from the session start and track tags from their track start', () => {
    const base = sampleSession({ sessionStartDate: START });
    const session: Session = {
      ...base,
      tags: [
        { tagName: 'CCX:escalate', tagType: 'USER_DEFINED', tagCreateDate: START + 9000, tagOffset: 4000 },
        { tagName: 'reviewed', tagType: 'USER_DEFINED', tagCreateDate: START + 70_000 },
        { tagName: 'Pause', tagType: 'SYSTEM_DEFINED', tagCreateDate: START + 2000, tagOffset: 2000 },
      ],
      tracks: base.tracks.map((track) =>
        track.trackNumber === 1
          ? {
              ...track,
              // The far end's track started 1.5 s after the session.
              trackStartDate: START + 1500,
              tags: [
                {
                  tagName: 'DTMF:42',
                  tagType: 'SYSTEM_DEFINED',
                  tagCreateDate: START + 3000,
                  tagOffset: 1000,
                  trackNumber: 1,
                },
              ],
            }
          : track,
      ),
    };
    const markers = markersOf(pageSession(session));
    assert.deepEqual(
      markers.map((m) => [m.tagName, m.seconds, m.trackNumber, m.removable]),
      [
        // The whole-session tag first, then in time order.
        ['reviewed', undefined, undefined, true],
        ['Pause', 2, undefined, false],
        ['DTMF:42', 2.5, 1, false],
        ['CCX:escalate', 4, undefined, true],
      ],
    );
    // deleteSessionTag names a tag by its own offset, not by its place on the timeline.
    assert.equal(markers.find((m) => m.tagName === 'DTMF:42')?.tagOffset, 1000);
  });
});

void describe('times and parties on the session page', () => {
  void it('writes positions as m:ss, and from an hour as h:mm:ss', () => {
    assert.deepEqual([0, 4.9, 59.99, 61, 3599, 3600, 3725, -3, Number.NaN].map(clock), [
      '0:00',
      '0:04',
      '0:59',
      '1:01',
      '59:59',
      '1:00:00',
      '1:02:05',
      '0:00',
      '0:00',
    ]);
  });

  void it('names a track by its participants, with the agent signed in there', () => {
    const base = sampleSession();
    const session: Session = {
      ...base,
      tracks: base.tracks.map((track) =>
        track.trackNumber === 0
          ? {
              ...track,
              participants: track.participants.map((p) => ({
                ...p,
                agent: { loginId: 'ada', loginName: 'ada.l', firstName: 'Ada', lastName: 'Lovelace' },
              })),
            }
          : track,
      ),
    };
    const json = pageSession(session);
    assert.equal(partyOf(json, 0), '1000 (Ada Lovelace)');
    assert.equal(partyOf(json, 1), '2000');
    assert.equal(partyOf(json, 7), 'track 7');
  });
});
