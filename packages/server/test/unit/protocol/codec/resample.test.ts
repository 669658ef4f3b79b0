import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StreamingResampler } from '../../../../src/protocol/codec/resample.js';
import { dominantFrequencyHz, goertzelPower, rmsLevel } from '../../../support/audio.js';

function sine(frequencyHz: number, rateHz: number, samples: number, amplitude: number): Int16Array {
  return Int16Array.from({ length: samples }, (_, n) =>
    Math.round(amplitude * Math.sin((2 * Math.PI * frequencyHz * n) / rateHz)),
  );
}

/** Converts all of `input`, pushed in chunks of `chunk` samples, to `outputCount` samples. */
function convert(
  input: Int16Array,
  inputRateHz: number,
  outputRateHz: number,
  outputCount: number,
  chunk = 1000,
): Int16Array {
  const resampler = new StreamingResampler(inputRateHz, outputRateHz);
  const out = new Int16Array(outputCount);
  let pushed = 0;
  let produced = 0;
  while (produced < outputCount) {
    if (pushed < input.length) {
      resampler.push(input.subarray(pushed, pushed + chunk));
      pushed = Math.min(input.length, pushed + chunk);
    }
    // Only as far as the pushed input allows, until the input has ended.
    let ready = produced;
    while (ready < outputCount && (pushed === input.length || resampler.inputNeeded(ready + 1) <= pushed)) {
      ready++;
    }
    resampler.pull(ready - produced, out, produced);
    produced = ready;
  }
  return out;
}

describe('StreamingResampler', () => {
  const cases = [
    { from: 8000, to: 48000, frequencyHz: 1000 },
    { from: 8000, to: 16000, frequencyHz: 3000 },
    { from: 16000, to: 48000, frequencyHz: 6500 },
    { from: 44100, to: 48000, frequencyHz: 440 },
    { from: 48000, to: 16000, frequencyHz: 1000 },
    { from: 96000, to: 48000, frequencyHz: 15000 },
  ];
  for (const { from, to, frequencyHz } of cases) {
    it(`${from} Hz → ${to} Hz keeps a ${frequencyHz} Hz tone's frequency and amplitude`, () => {
      const input = sine(frequencyHz, from, from, 10000);
      const output = convert(input, from, to, to, 777);
      const body = { start: to / 10, end: to - to / 10 };
      assert.equal(dominantFrequencyHz(output, to, body.start, body.end - body.start), frequencyHz);
      const levelDb = 20 * Math.log10(rmsLevel(output, body.start, body.end) / (10000 / Math.SQRT2));
      assert.ok(Math.abs(levelDb) < 0.1, `level ${levelDb.toFixed(3)} dB`);
    });
  }

  it('keeps the signal aligned: output sample j is input position j × in/out', () => {
    const input = sine(500, 8000, 8000, 10000);
    const output = convert(input, 8000, 48000, 48000);
    // Every 6th output sample falls on an input sample; a windowed sinc reproduces it closely.
    for (let j = 600; j < 47000; j += 6 * 97) {
      assert.ok(Math.abs((output[j] as number) - (input[j / 6] as number)) <= 4, `sample ${j}`);
    }
  });

  it('suppresses the spectral images of upsampling by more than 60 dB', () => {
    const output = convert(sine(1000, 8000, 8000, 10000), 8000, 48000, 48000);
    const tone = goertzelPower(output, 48000, 1000, 4800, 38400);
    for (const image of [7000, 9000, 15000, 17000]) {
      const power = goertzelPower(output, 48000, image, 4800, 38400);
      assert.ok(10 * Math.log10(power / tone) < -60, `image at ${image} Hz`);
    }
  });

  it('gives the same output whatever the chunking, and skip then pull equals pull', () => {
    const input = sine(1234, 16000, 16000, 12000);
    const whole = convert(input, 16000, 44100, 44100, input.length);
    assert.deepEqual(convert(input, 16000, 44100, 44100, 1), whole);
    assert.deepEqual(convert(input, 16000, 44100, 44100, 333), whole);
    const skipping = new StreamingResampler(16000, 44100);
    skipping.push(input);
    skipping.skip(20000);
    const rest = new Int16Array(44100 - 20000);
    skipping.pull(rest.length, rest);
    assert.equal(skipping.produced, 44100);
    assert.deepEqual(rest, whole.subarray(20000));
  });

  it('writes one channel of interleaved stereo with a stride', () => {
    const resampler = new StreamingResampler(8000, 16000);
    resampler.push(sine(700, 8000, 800, 9000));
    const stereo = new Int16Array(2 * 1500).fill(7);
    resampler.pull(1500, stereo, 1, 2);
    assert.ok(stereo.filter((_, i) => i % 2 === 0).every((s) => s === 7));
    assert.ok(stereo.filter((_, i) => i % 2 === 1).some((s) => Math.abs(s) > 8000));
  });

  it('copies samples through when the rates are equal', () => {
    const resampler = new StreamingResampler(16000, 16000);
    const input = sine(900, 16000, 500, 20000);
    resampler.push(input);
    assert.equal(resampler.inputNeeded(500), 500);
    const out = new Int16Array(500);
    resampler.pull(500, out);
    assert.deepEqual(out, input);
  });

  it('reads input it has not been given as silence, and saturates instead of wrapping', () => {
    const resampler = new StreamingResampler(8000, 48000);
    const out = new Int16Array(600);
    resampler.pull(600, out);
    assert.ok(out.every((s) => s === 0));
    const square = Int16Array.from({ length: 400 }, (_, i) => (Math.floor(i / 4) % 2 === 0 ? 32767 : -32768));
    const loud = new StreamingResampler(8000, 48000);
    loud.push(square);
    const clipped = new Int16Array(2000);
    loud.pull(2000, clipped);
    assert.ok(clipped.includes(32767) && clipped.includes(-32768));
  });

  it('rejects rates it cannot convert', () => {
    assert.throws(() => new StreamingResampler(0, 8000), RangeError);
    assert.throws(() => new StreamingResampler(8000, 44100.5), RangeError);
  });
});
