import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MULAW_TO_LINEAR } from '../../../src/protocol/codec/g711.js';
import { findSilences, sineG711Packets, type SinePacket } from '../../support/audio.js';
import {
  TrackFiles,
  networkJitterMs,
  renderMono,
  seededRandom,
  type PacketSpec,
} from './timeline-fixture.js';

/**
 * Where the track timeline places packets (docs/media.md, "Track timeline"): crafted G.711
 * streams of 20 ms packets whose arrivals are delayed, held back, stalled, jittered, lost or
 * broken by a discontinuity, rendered at 8 kHz and compared sample by sample with where each
 * packet belongs. Every stream starts at 100 ms (sample 800) on the session timeline.
 */

const START_MS = 100;
const START_SAMPLE = 800;
const FIRST_SEQ = 1000;
const FIRST_TS = 160_000;

interface StreamOptions {
  /** Arrival of packet `i` in ms after the session start; undefined: lost. */
  readonly arrivalMs: (i: number) => number | undefined;
  readonly firstSeq?: number;
  readonly firstTs?: number;
  readonly ssrc?: number;
  readonly markerAt?: ReadonlySet<number>;
  /** Sine frequency, so that streams of a test are told apart. */
  readonly frequencyHz?: number;
  /** Packet duration; 20 ms unless said. */
  readonly packetMs?: number;
}

interface Stream {
  readonly packets: readonly SinePacket[];
  readonly specs: PacketSpec[];
}

/** `count` consecutive packets of one source: sequence numbers +1, timestamps +160. */
function stream(count: number, options: StreamOptions): Stream {
  const packets = sineG711Packets({
    codec: 'PCMU',
    frequencyHz: options.frequencyHz ?? 440,
    count,
    firstSequenceNumber: options.firstSeq ?? FIRST_SEQ,
    firstTimestamp: options.firstTs ?? FIRST_TS,
    ...(options.packetMs === undefined ? {} : { packetMs: options.packetMs }),
  });
  const specs: PacketSpec[] = [];
  packets.forEach((packet, i) => {
    const atMs = options.arrivalMs(i);
    if (atMs !== undefined) {
      specs.push({
        atMs,
        seq: packet.sequenceNumber,
        timestamp: packet.timestamp,
        payload: packet.payload,
        marker: options.markerAt?.has(i) ?? false,
        ...(options.ssrc === undefined ? {} : { ssrc: options.ssrc }),
      });
    }
  });
  return { packets, specs };
}

/** The packets in arrival order, as the recorder writes them (a stable sort keeps ties in order). */
function byArrival(...specs: PacketSpec[][]): PacketSpec[] {
  return specs.flat().sort((a, b) => a.atMs - b.atMs);
}

/** A track as it should be rendered: packet `i` of each placement at `startSample + i × its length`. */
function expected(
  frames: number,
  placements: { packets: readonly SinePacket[]; startSample: number; only?: (i: number) => boolean }[],
): Int16Array {
  const out = new Int16Array(frames);
  for (const { packets, startSample, only } of placements) {
    packets.forEach((packet, i) => {
      if (only !== undefined && !only(i)) {
        return;
      }
      packet.payload.forEach((byte, k) => {
        const at = startSample + i * packet.payload.length + k;
        if (at >= 0 && at < frames) {
          out[at] = MULAW_TO_LINEAR[byte] as number;
        }
      });
    });
  }
  return out;
}

/** Silences of 5 ms or more between `fromMs` and `toMs`, rounded to the ms. */
function silencesBetween(
  samples: Int16Array,
  fromMs: number,
  toMs: number,
): { startMs: number; endMs: number }[] {
  return findSilences(samples.subarray(fromMs * 8, toMs * 8), 8000, { minDurationMs: 5 }).map((s) => ({
    startMs: Math.round(s.startMs) + fromMs,
    endMs: Math.round(s.endMs) + fromMs,
  }));
}

/** A small deterministic jitter of 0–4 ms, none on the first packet. */
function jitterMs(i: number): number {
  return (i * 7) % 5;
}

describe('track timeline placement', () => {
  const files = new TrackFiles();

  before(() => files.open());
  after(() => files.close());

  /** Renders the track whole and window by window (400 frames), and checks both are the same. */
  async function render(specs: readonly PacketSpec[], frames: number): Promise<Int16Array> {
    const track = await files.trackOf(specs);
    const whole = await renderMono(track, frames);
    assert.deepEqual(await renderMono(track, frames, {}, 400), whole, 'rendered in windows of 400 frames');
    return whole;
  }

  describe('continuous RTP: placed by RTP timestamp, whatever the arrival', () => {
    /** Packets [from, to) held up and arriving together at `releaseMs`; the others on time. */
    function heldBack(from: number, to: number, releaseMs: number) {
      return (i: number): number =>
        i >= from && i < to ? releaseMs + (i - from) * 0.05 : START_MS + i * 20 + jitterMs(i);
    }

    for (const { name, count, from, to, releaseMs } of [
      // The burst the issue found in a CUCM load test: 109 ms, then catch-up.
      { name: 'a 100 ms delay burst', count: 150, from: 50, to: 55, releaseMs: START_MS + 1000 + 100 },
      { name: 'a 109 ms delay burst', count: 150, from: 50, to: 56, releaseMs: START_MS + 1000 + 109 },
      { name: 'a 300 ms hold-back', count: 150, from: 50, to: 65, releaseMs: START_MS + 1000 + 300 },
      { name: 'a 1 s stall', count: 200, from: 50, to: 100, releaseMs: START_MS + 1000 + 1000 },
      { name: 'a 2 s stall', count: 250, from: 50, to: 150, releaseMs: START_MS + 1000 + 2000 },
      // Well into the drift follower's territory: the stall must not move its slew.
      {
        name: 'a 2 s stall after a minute',
        count: 4000,
        from: 3000,
        to: 3100,
        releaseMs: START_MS + 60_000 + 2000,
      },
    ]) {
      it(`${name} followed by catch-up: nothing inserted, nothing shifted`, async () => {
        const { packets, specs } = stream(count, { arrivalMs: heldBack(from, to, releaseMs) });
        const frames = (START_MS + count * 20 + 200) * 8;
        const samples = await render(byArrival(specs), frames);
        assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
        assert.deepEqual(silencesBetween(samples, START_MS, START_MS + count * 20), []);
      });
    }

    it('a delay that never catches up (the rest of the call 300 ms late): still by RTP timestamp', async () => {
      const { packets, specs } = stream(150, {
        arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) + (i >= 50 ? 300 : 0),
      });
      const frames = (START_MS + 3000 + 500) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
    });

    it('steady jitter up to 500 ms, packets out of order: each packet at its place', async () => {
      const { packets, specs } = stream(200, {
        arrivalMs: (i) => START_MS + i * 20 + (i === 0 ? 0 : (i * 7919) % 501),
      });
      const frames = (START_MS + 4000 + 600) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 4000), []);
    });

    it('steady random jitter up to 500 ms for two minutes (seeded), packets out of order: each packet at its place', async () => {
      // Four packets in five delayed up to 100 ms, the fifth up to 500 ms.
      const random = seededRandom(8);
      const { packets, specs } = stream(6000, {
        arrivalMs: (i) => START_MS + i * 20 + (i === 0 ? 0 : random() * (random() < 0.8 ? 100 : 500)),
      });
      const frames = (START_MS + 120_000 + 600) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 120_000), []);
    });

    it('reordered packets and duplicates: each packet once, in its place', async () => {
      const { packets, specs } = stream(100, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      // Pairs swapped, a packet overtaken by the five after it, and late copies with other content.
      const swapped = specs.map((spec, i) => {
        if (i % 10 === 3) {
          return { ...spec, atMs: spec.atMs + 25 };
        }
        return i === 60 ? { ...spec, atMs: spec.atMs + 110 } : spec;
      });
      const copies = [10, 11, 60, 99].map((i) => ({
        ...(specs[i] as PacketSpec),
        atMs: (specs[i] as PacketSpec).atMs + 150,
        payload: new Uint8Array(160).fill(0x05),
      }));
      const frames = (START_MS + 2000 + 200) * 8;
      const samples = await render(byArrival(swapped, copies), frames);
      assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
    });

    it('lost packets (a sequence gap the timestamps match) are silence of exactly their length', async () => {
      // Packets 20–24 lost; 25–40 arrive in a 300 ms burst; 100 lost alone.
      const lost = (i: number): boolean => (i >= 20 && i < 25) || i === 100;
      const { packets, specs } = stream(150, {
        arrivalMs: (i) =>
          lost(i)
            ? undefined
            : i >= 25 && i < 40
              ? START_MS + 500 + 300 + i * 0.05
              : START_MS + i * 20 + jitterMs(i),
      });
      const frames = (START_MS + 3000 + 200) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [{ packets, startSample: START_SAMPLE, only: (i) => !lost(i) }]),
      );
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 3000), [
        { startMs: START_MS + 400, endMs: START_MS + 500 },
        { startMs: START_MS + 2000, endMs: START_MS + 2020 },
      ]);
    });

    it('anchors a track at its true start when its first packet arrived late', async () => {
      // Packet 0 was held up 60 ms; the packets after it show where the stream began.
      const { packets, specs } = stream(100, {
        arrivalMs: (i) => (i === 0 ? START_MS + 60 : START_MS + i * 20 + jitterMs(i)),
      });
      const frames = (START_MS + 2000 + 200) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(samples, expected(frames, [{ packets, startSample: START_SAMPLE }]));
    });
  });

  describe('discontinuities: a new run anchored at its arrival', () => {
    it('an SSRC change (a transfer): the new source starts at its arrival, then follows its RTP clock through a stall', async () => {
      const first = stream(50, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i), ssrc: 0xa });
      // The new source arrives at 1250 ms, with timestamps unrelated to the old ones, and is stalled 500 ms.
      const second = stream(100, {
        arrivalMs: (i) => (i >= 20 && i < 45 ? 1250 + 900 + i * 0.05 : 1250 + i * 20 + jitterMs(i)),
        ssrc: 0xb,
        firstSeq: 7,
        firstTs: 3_000_000_000,
        frequencyHz: 700,
      });
      const frames = (1250 + 2000 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: 1250 * 8 },
        ]),
      );
    });

    it('a timestamp restart the sequence numbers do not explain (same SSRC, sender restarted): re-anchored', async () => {
      const first = stream(50, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      // Sequence numbers go on; the timestamps start again from 0; it arrives 30 ms after the last packet.
      const second = stream(50, {
        arrivalMs: (i) => START_MS + 1000 + 10 + i * 20 + jitterMs(i),
        firstSeq: FIRST_SEQ + 50,
        firstTs: 0,
        frequencyHz: 700,
      });
      // Both sequence numbers and timestamps from a new base (a source switched after a hold).
      const third = stream(50, {
        arrivalMs: (i) => START_MS + 2000 + 400 + i * 20 + jitterMs(i),
        firstSeq: 40_000,
        firstTs: 123_456_789,
        frequencyHz: 900,
      });
      const frames = (START_MS + 3400 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs, third.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: (START_MS + 1010) * 8 },
          { packets: third.packets, startSample: (START_MS + 2400) * 8 },
        ]),
      );
    });

    it('silence suppression (timestamps jump, sequence numbers go on, marker): silence of the timestamps’ length', async () => {
      const first = stream(25, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      // 500 ms suppressed: the talkspurt's timestamps say 1000 ms; it arrives 30 ms later than that.
      const second = stream(25, {
        arrivalMs: (i) => START_MS + 1000 + 30 + i * 20 + jitterMs(i),
        firstSeq: FIRST_SEQ + 25,
        firstTs: FIRST_TS + 8 * 1000,
        markerAt: new Set([0]),
        frequencyHz: 700,
      });
      const frames = (START_MS + 1500 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: START_SAMPLE + 1000 * 8 },
        ]),
      );
    });

    it('a 30-second hold with continuous sequence numbers: 30 s of silence where the timestamps put it', async () => {
      const first = stream(50, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      // The sender's clock ran on through the hold: the timestamps say 31 s, and so does arrival.
      const second = stream(50, {
        arrivalMs: (i) => START_MS + 31_000 + 12 + i * 20 + jitterMs(i),
        firstSeq: FIRST_SEQ + 50,
        firstTs: FIRST_TS + 8 * 31_000,
        frequencyHz: 700,
      });
      const frames = (START_MS + 32_000 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: START_SAMPLE + 31_000 * 8 },
        ]),
      );
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 32_000), [
        { startMs: START_MS + 1000, endMs: START_MS + 31_000 },
      ]);
    });

    it('a 30-second pause the timestamps did not count, with or without a marker: placed at its arrival', async () => {
      for (const marker of [true, false]) {
        const first = stream(50, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
        // Sequence numbers and timestamps go on from the last packet; only arrival shows the pause
        // (beyond the 10 s of delay the timeline absorbs, when there is no marker to say it).
        const second = stream(50, {
          arrivalMs: (i) => START_MS + 31_000 + i * 20 + jitterMs(i),
          firstSeq: FIRST_SEQ + 50,
          firstTs: FIRST_TS + 50 * 160,
          frequencyHz: 700,
          ...(marker ? { markerAt: new Set([0]) } : {}),
        });
        const frames = (START_MS + 32_000 + 200) * 8;
        const samples = await render(byArrival(first.specs, second.specs), frames);
        assert.deepEqual(
          samples,
          expected(frames, [
            { packets: first.packets, startSample: START_SAMPLE },
            { packets: second.packets, startSample: START_SAMPLE + 31_000 * 8 },
          ]),
          marker ? 'with a marker' : 'without a marker',
        );
      }
    });

    it('a sequence gap over 1 s (a recording paused 50 s) from a clock that ran slow meanwhile: placed at its arrival, silence of exactly the gap', async () => {
      // Packets 100–2599 were received and not stored (the recording was paused). The sender's
      // clock counted 50 s while 50.06 s passed (0.12 % slow), so the packets after the gap
      // arrive 60 ms later than their timestamps say; the first of them is held up 40 ms more.
      const paused = (i: number): boolean => i >= 100 && i < 2600;
      const { packets, specs } = stream(2700, {
        arrivalMs: (i) =>
          paused(i)
            ? undefined
            : i < 100
              ? START_MS + i * 20 + jitterMs(i)
              : START_MS + i * 20 + 60 + (i === 2600 ? 40 : jitterMs(i)),
      });
      const frames = (START_MS + 2700 * 20 + 200) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets, startSample: START_SAMPLE, only: (i) => i < 100 },
          { packets, startSample: START_SAMPLE + 60 * 8, only: (i) => i >= 2600 },
        ]),
      );
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 2700 * 20), [
        { startMs: START_MS + 2000, endMs: START_MS + 52_060 },
      ]);
    });

    it('a sequence gap of 1 s from the same clock: still placed by timestamp', async () => {
      // The packets after the gap arrive 30 ms late (under the re-anchoring threshold): a gap
      // this short is loss, and the timestamps say where it ends.
      const lost = (i: number): boolean => i >= 100 && i < 150;
      const { packets, specs } = stream(250, {
        arrivalMs: (i) => (lost(i) ? undefined : START_MS + i * 20 + (i >= 150 ? 30 : 0) + jitterMs(i)),
      });
      const frames = (START_MS + 250 * 20 + 200) * 8;
      const samples = await render(byArrival(specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [{ packets, startSample: START_SAMPLE, only: (i) => !lost(i) }]),
      );
    });

    it('a ptime change from 20 to 30 ms: placed by timestamp, no gap, no overlap', async () => {
      const first = stream(50, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      const second = stream(50, {
        arrivalMs: (i) => START_MS + 1000 + i * 30 + jitterMs(i),
        firstSeq: FIRST_SEQ + 50,
        firstTs: FIRST_TS + 50 * 160,
        packetMs: 30,
        frequencyHz: 700,
      });
      const frames = (START_MS + 2500 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: START_SAMPLE + 1000 * 8 },
        ]),
      );
      assert.deepEqual(silencesBetween(samples, START_MS, START_MS + 2500), []);
    });

    it('a talkspurt (marker) whose timestamps did not advance over a 2 s pause: placed at its arrival', async () => {
      const first = stream(25, { arrivalMs: (i) => START_MS + i * 20 + jitterMs(i) });
      // The sender stopped its clock while it sent nothing: timestamps and sequence numbers go
      // on from the last packet, but the talkspurt arrives 2 s later and says so with its marker.
      const second = stream(25, {
        arrivalMs: (i) => START_MS + 2500 + i * 20 + jitterMs(i),
        firstSeq: FIRST_SEQ + 25,
        firstTs: FIRST_TS + 25 * 160,
        markerAt: new Set([0]),
        frequencyHz: 700,
      });
      const frames = (START_MS + 3000 + 200) * 8;
      const samples = await render(byArrival(first.specs, second.specs), frames);
      assert.deepEqual(
        samples,
        expected(frames, [
          { packets: first.packets, startSample: START_SAMPLE },
          { packets: second.packets, startSample: (START_MS + 2500) * 8 },
        ]),
      );
    });
  });

  it('an unimpaired two-channel call (one sender per channel, network jitter): both channels exact, aligned to the sample', async () => {
    // The two phones start sending at the same moment; each direction has its own jitter.
    const [left, right] = [0x1111, 0x2222].map((seed, channel) => {
      const random = seededRandom(seed);
      return stream(3000, {
        arrivalMs: (i) => START_MS + i * 20 + networkJitterMs(random),
        ssrc: seed,
        firstSeq: 100 + channel * 20_000,
        firstTs: 1_000_000 + channel * 77_777_777,
        frequencyHz: channel === 0 ? 440 : 700,
      });
    }) as [Stream, Stream];
    const frames = (START_MS + 60_000 + 200) * 8;
    for (const side of [left, right]) {
      const samples = await render(byArrival(side.specs), frames);
      assert.deepEqual(samples, expected(frames, [{ packets: side.packets, startSample: START_SAMPLE }]));
    }
  });
});
