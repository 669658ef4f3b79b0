import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { announcesSilence, AudioContentCheck } from '../../../src/media/audio-content.js';
import { createRecordCounter } from '../../../src/media/record-counter.js';
import { StreamStatistics } from '../../../src/media/stream-stats.js';
import { encodeAlaw, encodeMulaw } from '../../../src/protocol/codec/g711.js';

const T0_US = 1_700_000_000_000_000;
const FRAME_US = 20_000;

/** 160 samples of a 1 kHz sine at `amplitude` (of 32767). */
function sine(amplitude: number): number[] {
  return Array.from({ length: 160 }, (_, i) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * 1000 * i) / 8000)),
  );
}

/** Feeds packets with sequence numbers 0.. at `arrivals` (µs from T0). */
function feed(stats: StreamStatistics, arrivals: readonly number[]): void {
  arrivals.forEach((at, seq) => {
    stats.onPacket(0x1234, seq, seq * 160, 160, T0_US + at);
  });
}

function steady(fromUs: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => fromUs + i * FRAME_US);
}

void describe('gaps longer than a second (StreamStatistics)', () => {
  void it('counts a silence of more than a second between packets, with its length, and nothing shorter', () => {
    const stats = new StreamStatistics(8000);
    // 1 s of packets, a hole of exactly 1 s (no gap), more packets, a hole of 1.5 s, the end.
    const first = steady(0, 50);
    const second = steady(first.at(-1)! + 1_000_000, 50);
    const third = steady(second.at(-1)! + 1_500_000, 50);
    feed(stats, [...first, ...second, ...third]);
    const snapshot = stats.snapshot();
    assert.equal(snapshot.gaps, 1);
    assert.equal(snapshot.gapMs, 1500);
    assert.equal(snapshot.longestGapMs, 1500);
  });

  void it('leaves a stream without gaps without the fields', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, steady(0, 100));
    const snapshot = stats.snapshot();
    assert.equal(snapshot.gaps, undefined);
    assert.equal(snapshot.gapMs, undefined);
  });

  void it('does not count the wait for the first packet, and counts the silence before the end', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, steady(5_000_000, 10));
    stats.endGaps(T0_US + 5_000_000 + 9 * FRAME_US + 2_000_000);
    assert.deepEqual([stats.snapshot().gaps, stats.snapshot().gapMs], [1, 2000]);
  });

  void it('counts no gap while paused or on hold, and measures again from the resume', () => {
    const stats = new StreamStatistics(8000);
    const before = steady(0, 10);
    feed(stats, before);
    // Held 0.5 s after the last packet, for 10 s; the first packet comes 0.8 s after the resume.
    const holdAt = before.at(-1)! + 500_000;
    stats.setGapsHeld(true, T0_US + holdAt);
    stats.setGapsHeld(false, T0_US + holdAt + 10_000_000);
    const after = steady(holdAt + 10_800_000, 10);
    // Paused 3 s, during which nothing arrives, then 1.2 s after the resume a packet.
    const pauseAt = after.at(-1)! + FRAME_US;
    const late = steady(pauseAt + 3_000_000 + 1_200_000, 5);
    after.forEach((at, i) => stats.onPacket(0x1234, 10 + i, 0, 160, T0_US + at));
    stats.setGapsPaused(true, T0_US + pauseAt);
    stats.setGapsPaused(false, T0_US + pauseAt + 3_000_000);
    late.forEach((at, i) => stats.onPacket(0x1234, 20 + i, 0, 160, T0_US + at));
    const snapshot = stats.snapshot();
    assert.equal(snapshot.gaps, 1, 'only the 1.2 s after the pause ended');
    assert.equal(snapshot.gapMs, 1200);
  });

  void it('closes a gap at a hold that began after more than a second of silence', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, steady(0, 5));
    stats.setGapsHeld(true, T0_US + 4 * FRAME_US + 1_500_000);
    stats.endGaps(T0_US + 60_000_000);
    assert.equal(stats.snapshot().gaps, 1);
    assert.equal(stats.snapshot().gapMs, 1500);
  });
});

void describe('silence announced by voice activity detection', () => {
  void it('counts no gap after comfort noise or a G.729 silence descriptor, and counts the next one', () => {
    const stats = new StreamStatistics(8000);
    feed(stats, steady(0, 5));
    // Comfort noise, then 3 s without packets: the sender said it goes quiet.
    stats.onPacket(0x1234, 5, 5 * 160, 1, T0_US + 5 * FRAME_US);
    stats.onSilenceAnnounced();
    stats.onPacket(0x1234, 6, 6 * 160, 160, T0_US + 5 * FRAME_US + 3_000_000);
    // A voice packet, then 1.5 s without packets: a gap.
    stats.onPacket(0x1234, 7, 7 * 160, 160, T0_US + 5 * FRAME_US + 4_500_000);
    assert.deepEqual([stats.snapshot().gaps, stats.snapshot().gapMs], [1, 1500]);
    assert.equal(announcesSilence(13, 1), true, 'comfort noise');
    assert.equal(announcesSilence(18, 2), true, 'G.729 Annex B SID');
    assert.equal(announcesSilence(18, 20), false, 'a G.729 voice frame');
    assert.equal(announcesSilence(0, 160), false, 'PCMU');
  });
});

void describe('silence check of G.711 (AudioContentCheck)', () => {
  const check = (payloadType: number, payload: Uint8Array): AudioContentCheck => {
    const c = new AudioContentCheck();
    c.onPayload(payloadType, payload, 0, payload.length);
    return c;
  };

  void it('calls digital silence and faint noise silence, and speech-level audio audio, in both laws', () => {
    for (const [pt, encode] of [
      [0, encodeMulaw],
      [8, encodeAlaw],
    ] as const) {
      assert.equal(check(pt, encode(new Array<number>(160).fill(0))).content, 'silence');
      // About -56 dBFS: line noise, well under the threshold.
      assert.equal(check(pt, encode(sine(50))).content, 'silence');
      // About -20 dBFS: quiet speech.
      assert.equal(check(pt, encode(sine(3000))).content, 'audio');
    }
    // About -30 dBFS, a soft voice: clearly above the -40 dBFS threshold (a mean magnitude of 328).
    assert.equal(check(0, encodeMulaw(sine(1000))).content, 'audio');
    // About -46 dBFS: below it.
    assert.equal(check(0, encodeMulaw(sine(250))).content, 'silence');
  });

  void it('checks nothing but PCMU and PCMA, and keeps audio once heard', () => {
    assert.equal(check(9, encodeMulaw(sine(3000))).content, undefined, 'G.722 is not checked');
    assert.equal(check(101, new Uint8Array([1, 0x8a, 0, 160])).content, undefined, 'telephone-event');
    const c = check(0, encodeMulaw(sine(3000)));
    assert.equal(c.heardAudio, true);
    c.onPayload(0, encodeMulaw(new Array<number>(160).fill(0)), 0, 160);
    assert.equal(c.content, 'audio');
  });

  void it('hears a 2 kHz tone that is zero on every other sample, by the next frame', () => {
    // sin(2π·2000·n/8000) is 0 on every even sample and ±A on every odd one.
    const tone = encodeMulaw(
      Array.from({ length: 160 }, (_, n) => Math.round(8000 * Math.sin((2 * Math.PI * 2000 * n) / 8000))),
    );
    const c = new AudioContentCheck();
    c.onPayload(0, tone, 0, tone.length);
    c.onPayload(0, tone, 0, tone.length);
    assert.equal(c.content, 'audio');
  });

  void it('reads the payload where the packet holds it', () => {
    const packet = new Uint8Array(12 + 160);
    packet.fill(0xff); // µ-law zero everywhere, header included
    packet.set(encodeMulaw(sine(3000)), 12);
    const c = new AudioContentCheck();
    c.onPayload(0, packet, 0, 12);
    assert.equal(c.content, 'silence');
    c.onPayload(0, packet, 12, 160);
    assert.equal(c.content, 'audio');
  });
});

void describe('record counter (recovery)', () => {
  function rtp(seq: number, payloadType: number, payload: Uint8Array): Uint8Array {
    const packet = new Uint8Array(12 + payload.length);
    packet[0] = 0x80;
    packet[1] = payloadType;
    packet[2] = seq >> 8;
    packet[3] = seq & 0xff;
    new DataView(packet.buffer).setUint32(4, seq * 160);
    new DataView(packet.buffer).setUint32(8, 0xabcd);
    packet.set(payload, 12);
    return packet;
  }

  void it('counts packets, sequence gaps, arrival gaps and silence from the records alone', () => {
    const counter = createRecordCounter(8000);
    const silence = encodeMulaw(new Array<number>(160).fill(0));
    let at = T0_US;
    for (let seq = 0; seq < 100; seq++) {
      if (seq === 50) {
        at += 1_500_000; // a hole of 1.5 s, 75 packets never stored
      }
      counter.onRecord(rtp(seq < 50 ? seq : seq + 75, 0, silence), at);
      at += FRAME_US;
    }
    counter.onRecord(new Uint8Array([1, 2, 3]), at); // not RTP: skipped
    const stats = counter.snapshot();
    assert.equal(stats.packets, 100);
    assert.equal(stats.lost, 75);
    assert.equal(stats.gaps, 1);
    assert.equal(stats.gapMs, 1520);
    assert.equal(stats.content, 'silence');
  });
});
