import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MULAW_TO_LINEAR, encodeMulawSample } from '../../../src/protocol/codec/g711.js';
import {
  TrackFiles,
  networkJitterMs,
  renderMono,
  seededRandom,
  type PacketSpec,
} from './timeline-fixture.js';

/**
 * The track timeline under sender clock drift (docs/media.md, "Track timeline", "Clock drift"):
 * an hour-long call of two channels with realistic jitter, one sender clock exact and the other
 * 0.1 % fast or slow. A sender whose clock runs at `rate` sends packet i (160 samples of its
 * clock) at i × 20 ms / rate of real time. Checked: where packets sent at the same moment land in
 * the two channels (every minute), where the drifting channel ends, and that a pure tone on the
 * drifting channel comes out without a gap or a click where the drift is absorbed.
 */

const CALL_MS = 3_600_000;
const START_MS = 40;
const FRAMES = (CALL_MS + START_MS + 1000) * 8;
const TOLERANCE_MS = 20;
const TONE_HZ = 440;
const TONE_AMPLITUDE = 8000;

/** The byte of packet i's 160 samples in the channels whose positions are measured. */
function markOf(i: number): number {
  return 0x10 + (i % 100);
}

function sendMs(i: number, rate: number): number {
  return START_MS + (i * 20) / rate;
}

/** The payloads of the two contents, shared by the packets they repeat on. */
const MARKS = Array.from({ length: 100 }, (_, i) => new Uint8Array(160).fill(markOf(i)));
/** A 440 Hz tone repeats every 200 samples at 8 kHz: packet i starts at (160 × i) mod 200. */
const TONE = Array.from({ length: 5 }, (_, phase) =>
  Uint8Array.from({ length: 160 }, (_, k) =>
    encodeMulawSample(
      Math.round(TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * (phase * 160 + k)) / 8000)),
    ),
  ),
);

/** One sender's hour, in arrival order: constant bytes (`markOf`), or a continuous tone. */
function channel(rate: number, seed: number, content: 'marks' | 'tone'): PacketSpec[] {
  const random = seededRandom(seed);
  const count = Math.floor((CALL_MS * rate) / 20);
  const specs: PacketSpec[] = [];
  for (let i = 0; i < count; i++) {
    specs.push({
      atMs: sendMs(i, rate) + networkJitterMs(random),
      seq: (7000 + i) & 0xffff,
      timestamp: (90_000 + i * 160) >>> 0,
      ssrc: seed,
      payload: content === 'marks' ? (MARKS[i % 100] as Uint8Array) : (TONE[i % 5] as Uint8Array),
    });
  }
  return specs.sort((a, b) => a.atMs - b.atMs);
}

/** The first frame within ±radius of `nearFrame` where a run of packet i's mark begins. */
function startOfMark(samples: Int16Array, i: number, nearFrame: number, radius = 4000): number {
  const value = MULAW_TO_LINEAR[markOf(i)] as number;
  for (let frame = Math.max(1, Math.round(nearFrame) - radius); frame < nearFrame + radius; frame++) {
    if (samples[frame] === value && samples[frame - 1] !== value) {
      return frame;
    }
  }
  assert.fail(`packet ${i} not found near frame ${nearFrame}`);
}

/** The frame after the last non-zero sample. */
function endOfAudio(samples: Int16Array): number {
  let end = samples.length;
  while (end > 0 && samples[end - 1] === 0) {
    end--;
  }
  return end;
}

describe('track timeline under sender clock drift', () => {
  const files = new TrackFiles();

  let exactChannel: Promise<Int16Array> | undefined;

  before(() => files.open());
  after(() => files.close());

  for (const { name, rate } of [
    { name: '0.1 % fast', rate: 1.001 },
    { name: '0.1 % slow', rate: 0.999 },
  ]) {
    it(`a sender clock ${name} for an hour: aligned within 20 ms throughout, ends on time, no gap or click`, async () => {
      exactChannel ??= files
        .trackOf(channel(1, 0x1111, 'marks'))
        .then((track) => renderMono(track, FRAMES, {}, 32_000));
      const exact = await exactChannel;
      const drifting = await renderMono(
        await files.trackOf(channel(rate, 0x2222, 'marks')),
        FRAMES,
        {},
        32_000,
      );
      const offsets: string[] = [];
      for (let atMs = 0; atMs < CALL_MS; atMs += 60_000) {
        // The packets both senders sent at real time atMs, and where they landed.
        const exactIndex = Math.round(atMs / 20);
        const driftingIndex = Math.round((atMs * rate) / 20);
        const exactOffsetMs =
          startOfMark(exact, exactIndex, sendMs(exactIndex, 1) * 8) / 8 - sendMs(exactIndex, 1);
        const driftingOffsetMs =
          startOfMark(drifting, driftingIndex, sendMs(driftingIndex, rate) * 8) / 8 -
          sendMs(driftingIndex, rate);
        offsets.push(`${atMs / 60_000} min: ${exactOffsetMs} / ${driftingOffsetMs.toFixed(3)} ms`);
        assert.ok(Math.abs(exactOffsetMs) <= 1, `exact channel at ${atMs} ms: ${exactOffsetMs} ms off`);
        assert.ok(
          Math.abs(driftingOffsetMs - exactOffsetMs) <= TOLERANCE_MS,
          `channels at ${atMs} ms: ${offsets.join('; ')}`,
        );
      }
      // The session's last packet was sent at CALL_MS − 20 ms: both tracks end with it.
      const lastEnd = (START_MS + CALL_MS) * 8;
      assert.ok(Math.abs(endOfAudio(exact) - lastEnd) <= 8, `exact ends at ${endOfAudio(exact) / 8} ms`);
      assert.ok(
        Math.abs(endOfAudio(drifting) - lastEnd) <= TOLERANCE_MS * 8,
        `drifting ends at ${endOfAudio(drifting) / 8} ms, the session at ${lastEnd / 8}`,
      );

      const tone = await renderMono(await files.trackOf(channel(rate, 0x2222, 'tone')), FRAMES, {}, 32_000);
      const toneEnd = endOfAudio(tone);
      assert.equal(toneEnd, endOfAudio(drifting), 'the tone lies where the marks did');
      // The steepest step a μ-law 440 Hz tone of this amplitude takes, with its quantisation.
      const maxToneStep = 2 * Math.PI * TONE_HZ * (TONE_AMPLITUDE / 8000) * 1.05 + 2 * (TONE_AMPLITUDE / 32);
      let zeros = 0;
      let longestZeros = 0;
      let steepest = 0;
      for (let frame = START_MS * 8 + 1; frame < toneEnd; frame++) {
        const sample = tone[frame] as number;
        zeros = sample === 0 ? zeros + 1 : 0;
        longestZeros = Math.max(longestZeros, zeros);
        steepest = Math.max(steepest, Math.abs(sample - (tone[frame - 1] as number)));
      }
      // A tone crosses zero now and then (at most 2 μ-law zeros in a row); 20 ms of it never.
      assert.ok(longestZeros < 4, `${longestZeros} zero samples in a row`);
      assert.ok(steepest <= maxToneStep, `a step of ${steepest} (a 440 Hz tone takes up to ${maxToneStep})`);
    });
  }

  it('uniform jitter of 0–500 ms on every packet for five minutes: the slew stays within 4 ms, no gap, no overlap', async () => {
    // Few packets of a window come within ms of the floor: the window's minimum wanders a few ms
    // above it, and the slew with it (docs/media.md: a limit of following drift by arrival).
    const random = seededRandom(7);
    const count = 15_000;
    const specs: PacketSpec[] = [];
    for (let i = 0; i < count; i++) {
      const payload = MARKS[i % 100] as Uint8Array;
      specs.push({
        atMs: sendMs(i, 1) + (i === 0 ? 0 : random() * 500),
        seq: i & 0xffff,
        timestamp: i * 160,
        payload,
      });
    }
    const frames = (START_MS + count * 20 + 1000) * 8;
    const samples = await renderMono(
      await files.trackOf(specs.sort((a, b) => a.atMs - b.atMs)),
      frames,
      {},
      32_000,
    );
    let worst = 0;
    for (let i = 1; i < count; i++) {
      const at = startOfMark(samples, i, sendMs(i, 1) * 8, 64);
      worst = Math.max(worst, Math.abs(at / 8 - sendMs(i, 1)));
      // Each packet is whole (160 samples, give or take the one the slew moved by), and the next follows it.
      let end = at;
      while (samples[end] === MULAW_TO_LINEAR[markOf(i)]) {
        end++;
      }
      assert.ok(Math.abs(end - at - 160) <= 1, `packet ${i} lasts ${end - at} samples`);
      if (i + 1 < count) {
        assert.equal(samples[end], MULAW_TO_LINEAR[markOf(i + 1)], `packet ${i + 1} follows packet ${i}`);
      }
    }
    assert.ok(worst <= 4, `a packet ${worst} ms from its place`);
  });

  it('a packet decoder (L16) 0.1 % fast for ten minutes: stretched after decoding, no gap or click, ends on time', async () => {
    const random = seededRandom(0x3333);
    const rate = 1.001;
    const minutesMs = 600_000;
    const count = Math.floor((minutesMs * rate) / 20);
    // 440 Hz repeats every 200 samples: five payloads of 160 big-endian samples serve every packet.
    const payloads = Array.from({ length: 5 }, (_, phase) => {
      const bytes = new Uint8Array(320);
      const view = new DataView(bytes.buffer);
      for (let k = 0; k < 160; k++) {
        const n = phase * 160 + k;
        view.setInt16(2 * k, Math.round(TONE_AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * n) / 8000)));
      }
      return bytes;
    });
    const specs: PacketSpec[] = [];
    for (let i = 0; i < count; i++) {
      specs.push({
        atMs: sendMs(i, rate) + networkJitterMs(random),
        seq: i & 0xffff,
        timestamp: i * 160,
        payloadType: 96,
        payload: payloads[i % 5] as Uint8Array,
      });
    }
    const track = await files.trackOf(
      specs.sort((a, b) => a.atMs - b.atMs),
      { codec: 'L16', payloadType: 96, clockRateHz: 8000, channels: 1 },
    );
    const tone = await renderMono(track, (START_MS + minutesMs + 1000) * 8, {}, 32_000);
    const end = endOfAudio(tone);
    assert.ok(Math.abs(end / 8 - (START_MS + minutesMs)) <= TOLERANCE_MS, `ends at ${end / 8} ms`);
    const maxToneStep = 2 * Math.PI * TONE_HZ * (TONE_AMPLITUDE / 8000) * 1.01 + 2;
    let steepest = 0;
    let zeros = 0;
    for (let frame = START_MS * 8 + 1; frame < end; frame++) {
      const sample = tone[frame] as number;
      zeros = sample === 0 ? zeros + 1 : 0;
      assert.ok(zeros < 2, `silence at ${frame / 8} ms`);
      steepest = Math.max(steepest, Math.abs(sample - (tone[frame - 1] as number)));
    }
    assert.ok(steepest <= maxToneStep, `a step of ${steepest} (a 440 Hz tone takes up to ${maxToneStep})`);
  });

  it('a drifting track renders the same whatever the windows it is read in', async () => {
    const random = seededRandom(0x4444);
    const specs: PacketSpec[] = [];
    for (let i = 0; i < 9000; i++) {
      specs.push({
        atMs: sendMs(i, 0.999) + networkJitterMs(random),
        seq: i & 0xffff,
        timestamp: i * 160,
        payload: TONE[i % 5] as Uint8Array,
      });
    }
    const track = await files.trackOf(specs.sort((a, b) => a.atMs - b.atMs));
    const frames = (START_MS + 181_000) * 8;
    const whole = await renderMono(track, frames);
    for (const window of [333, 4000]) {
      assert.deepEqual(await renderMono(track, frames, {}, window), whole, `window ${window}`);
    }
  });
});
