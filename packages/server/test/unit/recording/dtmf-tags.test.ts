import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';

import type { Tag } from '../../../src/model/session.js';
import { DtmfTagger, MAX_DTMF_DIGITS_PER_TAG } from '../../../src/recording/dtmf-tags.js';
import type { Leg, LiveSession } from '../../../src/recording/live-session.js';
import { waitFor } from '../../support/wait.js';

const START = 1_750_000_000_000;

// The tagger reads only these fields of a session and a leg.
function session(sessionId: string): LiveSession {
  return { sessionId, startMs: START } as LiveSession;
}

function leg(trackNumber: number, startMs = START): Leg {
  return { trackNumber, startMs, streamId: `s-${trackNumber}` } as Leg;
}

function setUp(options: { gapMs?: number; maxTagsPerSession?: number } = {}): {
  tagger: DtmfTagger;
  emitted: [string, Tag][];
} {
  const emitted: [string, Tag][] = [];
  const tagger = new DtmfTagger({
    emit: (s, tag) => emitted.push([s.sessionId, tag]),
    log: pino({ level: 'silent' }),
    gapMs: options.gapMs ?? 60_000,
    ...(options.maxTagsPerSession === undefined ? {} : { maxTagsPerSession: options.maxTagsPerSession }),
  });
  return { tagger, emitted };
}

void describe('DTMF bursts as track tags', () => {
  void it('makes one tag of a burst, at its first digit from the track start, when the track ends', () => {
    const { tagger, emitted } = setUp();
    const s = session('a');
    const late = leg(1, START + 2_000);
    for (const [i, digit] of (['4', '7', '1', '1', '#'] as const).entries()) {
      tagger.onDigit(s, late, digit, START + 5_000 + i * 300);
    }
    assert.deepEqual(emitted, [], 'a burst is written when it ends');
    assert.deepEqual(tagger.finishLeg(s, late), [
      {
        tagName: 'DTMF:4711#',
        tagType: 'SYSTEM_DEFINED',
        tagCreateDate: START + 5_000,
        tagOffset: 3_000,
        trackNumber: 1,
      },
    ]);
    assert.deepEqual(tagger.finishLeg(s, late), [], 'nothing twice');
    assert.deepEqual(emitted, [], 'the track end hands the tag to its caller');
  });

  void it('ends a burst after the quiet gap, each track on its own', async () => {
    const { tagger, emitted } = setUp({ gapMs: 30 });
    const s = session('b');
    const [near, far] = [leg(0), leg(1)];
    tagger.onDigit(s, near, '1', START + 100);
    tagger.onDigit(s, far, '9', START + 150);
    tagger.onDigit(s, near, '2', START + 200);
    await waitFor(() => emitted.length === 2, { timeoutMs: 2000 });
    tagger.onDigit(s, near, '3', START + 9_000);
    await waitFor(() => emitted.length === 3, { timeoutMs: 2000 });
    assert.deepEqual(emitted.map(([id, t]) => [id, t.tagName, t.trackNumber, t.tagOffset]).sort(), [
      ['b', 'DTMF:12', 0, 100],
      ['b', 'DTMF:3', 0, 9_000],
      ['b', 'DTMF:9', 1, 150],
    ]);
    assert.deepEqual(tagger.finishLeg(s, near), []);
  });

  void it('leaves the burst of an ended track to finishLeg, so it is never written after the close', async () => {
    const { tagger, emitted } = setUp({ gapMs: 10 });
    const s = session('f');
    const ending = { ...leg(0), ended: false };
    tagger.onDigit(s, ending, '8', START + 100);
    ending.ended = true;
    const later = leg(1);
    tagger.onDigit(s, later, '9', START + 200);
    await waitFor(() => emitted.length === 1, { timeoutMs: 2000 });
    assert.deepEqual(
      emitted.map(([, t]) => t.tagName),
      ['DTMF:9'],
    );
    assert.deepEqual(
      tagger.finishLeg(s, ending).map((t) => t.tagName),
      ['DTMF:8'],
    );
  });

  void it(`ends a burst at ${MAX_DTMF_DIGITS_PER_TAG} digits, keeping tag names short`, () => {
    const { tagger, emitted } = setUp();
    const s = session('c');
    const l = leg(0);
    for (let i = 0; i < MAX_DTMF_DIGITS_PER_TAG + 3; i++) {
      tagger.onDigit(s, l, '5', START + i * 100);
    }
    assert.equal(emitted.length, 1);
    assert.equal(emitted[0]?.[1].tagName, `DTMF:${'5'.repeat(MAX_DTMF_DIGITS_PER_TAG)}`);
    assert.deepEqual(
      tagger.finishLeg(s, l).map((t) => [t.tagName, t.tagOffset]),
      [['DTMF:555', MAX_DTMF_DIGITS_PER_TAG * 100]],
    );
  });

  void it('caps the tags of a session and counts the digits past the cap', () => {
    const { tagger, emitted } = setUp({ maxTagsPerSession: 2 });
    const s = session('d');
    const other = session('e');
    const l = leg(0);
    for (const digits of ['12', '3', '456', '7']) {
      for (const digit of digits) {
        tagger.onDigit(s, l, digit as '1', START);
      }
      emitted.push(...tagger.finishLeg(s, l).map((t): [string, Tag] => ['d', t]));
    }
    assert.deepEqual(
      emitted.map(([, t]) => t.tagName),
      ['DTMF:12', 'DTMF:3'],
    );
    assert.equal(tagger.droppedDigits, 4);
    tagger.onDigit(other, l, '0', START);
    assert.deepEqual(
      tagger.finishLeg(other, l).map((t) => t.tagName),
      ['DTMF:0'],
      'the cap is per session',
    );
  });
});
