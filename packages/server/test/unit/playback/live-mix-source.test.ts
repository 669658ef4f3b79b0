import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import pino from 'pino';

import { LiveMixSource } from '../../../src/playback/rtsp/live-mix-source.js';
import type { TimedPacket } from '../../../src/playback/rtsp/packet-queues.js';
import { goertzelPower, sineG711Packets } from '../../support/audio.js';
import { MULAW_TO_LINEAR } from '../../../src/protocol/codec/g711.js';

/** The live mix's pacer on mocked timers: when packets leave, what they carry, when it ends. */

const SESSION_START = 1_700_000_000_000;
const ORIGIN = SESSION_START + 10_000;
const DELAY_MS = 160;

function source(sent: TimedPacket[], ended: { count: number }): LiveMixSource {
  return new LiveMixSource({
    codecOf: () => Promise.resolve({ codec: 'PCMU', clockRateHz: 8000, payloadType: 0 }),
    sessionStartMs: SESSION_START,
    originMs: ORIGIN,
    delayMs: DELAY_MS,
    now: () => Date.now(),
    logger: pino({ level: 'silent' }),
    send: (packet) => {
      sent.push(packet);
    },
    onEnd: () => {
      ended.count++;
    },
  });
}

/** The number of packets due by `elapsedMs` after the origin. */
function due(elapsedMs: number): number {
  return Math.max(0, Math.floor((elapsedMs - DELAY_MS) / 20));
}

void describe('LiveMixSource', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: ORIGIN });
  });
  afterEach(() => {
    mock.timers.reset();
  });

  void it('sends one packet per 20 ms from the start, without drift when woken late, and skips after a stall', () => {
    const sent: TimedPacket[] = [];
    const mix = source(sent, { count: 0 });
    mix.start();
    // A timer that always fires 7 ms late: packets stay on the clock (no chained sleeps).
    let elapsed = 0;
    for (let i = 0; i < 100; i++) {
      mock.timers.tick(27);
      elapsed += 27;
      assert.equal(sent.length, due(elapsed), `at ${elapsed} ms`);
    }
    // A stalled event loop (2 s): at most 10 packets at once, then the clock again.
    const before = sent.length;
    mock.timers.tick(2000);
    elapsed += 2000;
    assert.ok(sent.length - before <= 11, `${sent.length - before} packets after a stall`);
    mock.timers.tick(20);
    elapsed += 20;
    const last = sent.at(-1);
    assert.equal(last?.rtpTime, 80_000 + (due(elapsed) - 1) * 160, 'RTP time follows the wall clock');
    sent.forEach((packet, i) => {
      assert.equal(packet.payload.length, 160);
      assert.equal(packet.offsetS, (packet.rtpTime ?? 0) / 8000);
      if (i > 0 && (packet.rtpTime ?? 0) - (sent[i - 1]?.rtpTime ?? 0) !== 160) {
        assert.ok(packet.marker, 'a skip is marked');
      }
    });
    assert.equal(sent[0]?.rtpTime, 80_000, 'npt of the origin × 8000');
    assert.ok(sent[0].marker);
    const count = sent.length;
    mix.close();
    mock.timers.tick(1000);
    assert.equal(sent.length, count, 'nothing after close');
  });

  void it('mixes what the feed brings and ends once the delay after the call has passed', async () => {
    const sent: TimedPacket[] = [];
    const ended = { count: 0 };
    const mix = source(sent, ended);
    mix.start();
    const tone = sineG711Packets({ codec: 'PCMU', frequencyHz: 700, count: 50, ssrc: 9 });
    for (let i = 0; i < 50; i += 2) {
      mock.timers.tick(40);
      const batch = tone
        .slice(i, i + 2)
        .map((p, k) => ({ arrivalMs: ORIGIN + (i + k) * 20, rtp: p.datagram }));
      mix.packets(0, batch);
      // Let the decoder's promise chain run.
      await new Promise((resolve) => setImmediate(resolve));
    }
    mix.end();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(ended.count, 0, 'not before the last audio went out');
    mock.timers.tick(DELAY_MS + 60);
    assert.equal(ended.count, 1);
    const pcm = Int16Array.from(sent.flatMap((p) => [...p.payload].map((b) => MULAW_TO_LINEAR[b] ?? 0)));
    assert.ok(pcm.length >= 50 * 160, `${pcm.length / 160} packets for 50 of audio`);
    assert.ok(goertzelPower(pcm, 8000, 700, 800, 6400) > 1e6, 'the party is heard');
    mock.timers.tick(1000);
    assert.equal(ended.count, 1, 'ends once');
  });
});
