import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sineG711Packets } from '../support/audio.js';
import { runCodecCall, sendRtpRealtime, type ScheduledRtp } from '../support/codec-calls.js';
import { downloadWav, findSessionBy } from '../support/session-api.js';
import { dropoutsInside, toneChangeMs, toneSpan } from '../support/tone-checks.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * Issue 8, "how it is shown": a network or host stall holds packets back and then delivers them
 * together. Nothing is lost (sequence numbers and timestamps are continuous), so the recording
 * must not change: no silence where the packets were late, and the audio after the stall exactly
 * where the RTP timestamps put it. SIPp does the signalling (a generic SIP endpoint, early offer,
 * sending no RTP itself); a real UDP socket of the test sends 20 ms µ-law packets in real time,
 * holding back 300 ms of them in the middle of the call. A change of tone later in the call marks
 * a sample position that must not move.
 */

const PACKET_MS = 20;
/** 3 s of 500 Hz, then 2 s of 1300 Hz: the change at 3000 ms of the channel is the marker. */
const FIRST_HZ = 500;
const SECOND_HZ = 1300;
const FIRST_PACKETS = 150;
const SECOND_PACKETS = 100;
/** Packets 60-74 (1.2 s to 1.5 s) are held back and sent together with packet 75. */
const HELD_FROM = 60;
const HELD_PACKETS = 15;
/** The marker may move by this much (the change is located to 1 ms; the WAV is sample exact). */
const MARKER_TOLERANCE_MS = 5;

let server: RunningServer;
let work: string;

/** The tone's packets, scheduled at 20 ms intervals except the held burst. */
function scheduleWithHeldBurst(): ScheduledRtp[] {
  const first = sineG711Packets({ codec: 'PCMU', frequencyHz: FIRST_HZ, count: FIRST_PACKETS });
  // Both tones have a whole number of cycles in 3 s, so the change is phase continuous.
  const second = sineG711Packets({
    codec: 'PCMU',
    frequencyHz: SECOND_HZ,
    count: SECOND_PACKETS,
    firstSampleIndex: FIRST_PACKETS * 160,
    firstTimestamp: 160_000 + FIRST_PACKETS * 160,
    firstSequenceNumber: 1000 + FIRST_PACKETS,
  });
  const releasedAtMs = (HELD_FROM + HELD_PACKETS) * PACKET_MS;
  return [...first, ...second].map((packet, i) => ({
    atMs: i >= HELD_FROM && i < HELD_FROM + HELD_PACKETS ? releasedAtMs : i * PACKET_MS,
    payloadType: 0,
    marker: i === 0,
    timestamp: packet.timestamp,
    sequenceNumber: packet.sequenceNumber,
    payload: packet.payload,
  }));
}

describe(
  'RTP held back 300 ms mid-call and then delivered at once (sipp signalling, Node sender)',
  { timeout: 120_000 },
  () => {
    serverForSuite('delay-burst', { mediaTimeoutSeconds: 3 }, (suite) => {
      ({ server, work } = suite);
    });

    it('the WAV has no silence at the stall and the audio after it is not shifted', async () => {
      const packets = scheduleWithHeldBurst();
      const { callId } = await runCodecCall(server, work, {
        name: 'delay-burst',
        offer: { payloadTypes: [0], attributes: ['rtpmap:0 PCMU/8000', 'ptime:20'] },
        holdMs: (FIRST_PACKETS + SECOND_PACKETS) * PACKET_MS + 2000,
        send: async (port) => {
          await sendRtpRealtime(port, packets);
          return undefined;
        },
      });
      const session = await findSessionBy(server, 'ccid', callId, (s) => s.sessionState !== 'ACTIVE');
      assert.equal(session.sessionState, 'CLOSED_NORMAL');
      assert.deepEqual(
        session.tracks.map((t) => [t.stats.packets, t.stats.lost]),
        [[packets.length, 0]],
        'every packet stored, none lost',
      );
      const { wav } = await downloadWav(server, session);
      const samples = wav.channelSamples[0] ?? new Int16Array(0);
      const span = toneSpan(samples, wav.sampleRateHz);
      assert.ok(span.firstSample >= 0, 'the channel carries the tone');
      assert.deepEqual(
        dropoutsInside(samples, wav.sampleRateHz, span),
        [],
        'no silence inside the tone (the held packets were late, not lost)',
      );
      const sentMs = packets.length * PACKET_MS;
      assert.ok(
        Math.abs(span.durationMs - sentMs) <= PACKET_MS,
        `the tone lasts ${span.durationMs} ms in the WAV, ${sentMs} ms were sent`,
      );
      const change = toneChangeMs(samples, wav.sampleRateHz, span, FIRST_HZ, SECOND_HZ);
      assert.ok(change !== undefined, 'the tone change is in the WAV');
      const markerMs = change - span.startMs;
      const expectedMs = FIRST_PACKETS * PACKET_MS;
      assert.ok(
        Math.abs(markerMs - expectedMs) <= MARKER_TOLERANCE_MS,
        `the tone changes ${markerMs.toFixed(1)} ms after the start of the channel, sent at ${expectedMs} ms`,
      );
    });
  },
);
