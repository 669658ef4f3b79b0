import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ALAW_TO_LINEAR,
  MULAW_TO_LINEAR,
  decodeAlaw,
  decodeMulaw,
  encodeAlaw,
  encodeAlawSample,
  encodeMulaw,
  encodeMulawSample,
} from '../../../../src/protocol/codec/g711.js';

describe('G.711 µ-law', () => {
  it('decodes the reference values', () => {
    assert.equal(MULAW_TO_LINEAR[0xff], 0);
    assert.equal(MULAW_TO_LINEAR[0x7f], 0);
    assert.equal(MULAW_TO_LINEAR[0x00], -32124);
    assert.equal(MULAW_TO_LINEAR[0x80], 32124);
    assert.equal(MULAW_TO_LINEAR[0xfe], 8);
    assert.equal(MULAW_TO_LINEAR[0x7e], -8);
    assert.equal(MULAW_TO_LINEAR[0xef], 132);
  });

  it('is monotonic over each half of the code space', () => {
    for (let code = 0x80; code < 0xff; code++) {
      assert.ok((MULAW_TO_LINEAR[code] ?? 0) > (MULAW_TO_LINEAR[code + 1] ?? 0), `code ${code}`);
    }
  });

  it('encodes what it decodes back to the same code, except negative zero', () => {
    for (let code = 0; code < 256; code++) {
      const expected = code === 0x7f ? 0xff : code;
      assert.equal(encodeMulawSample(MULAW_TO_LINEAR[code] ?? 0), expected, `code ${code}`);
    }
  });

  it('encodes silence, full scale and clipping', () => {
    assert.equal(encodeMulawSample(0), 0xff);
    assert.equal(encodeMulawSample(32767), 0x80);
    assert.equal(encodeMulawSample(-32768), 0x00);
  });

  it('keeps the round-trip error within the quantisation step', () => {
    for (let sample = -32768; sample < 32768; sample += 7) {
      const decoded = MULAW_TO_LINEAR[encodeMulawSample(sample)] ?? 0;
      const clipped = Math.max(-32124, Math.min(32124, sample));
      assert.ok(Math.abs(decoded - clipped) <= Math.max(4, Math.abs(clipped) / 16), `sample ${sample}`);
    }
  });

  it('decodes into an offset of the destination and stops at its end', () => {
    const dst = new Int16Array(5);
    assert.equal(decodeMulaw(Uint8Array.from([0x00, 0xff, 0x80]), dst, 1), 3);
    assert.deepEqual([...dst], [0, -32124, 0, 32124, 0]);
    assert.equal(decodeMulaw(Uint8Array.from([0x00, 0x00, 0x00]), dst, 3), 2);
    assert.deepEqual([...dst], [0, -32124, 0, -32124, -32124]);
    assert.equal(decodeMulaw(Uint8Array.from([0x00]), dst, 5), 0);
  });

  it('round-trips an encoded buffer', () => {
    const samples = Int16Array.from([0, 100, -100, 1000, -1000, 30000, -30000]);
    const dst = new Int16Array(samples.length);
    decodeMulaw(encodeMulaw(samples), dst);
    samples.forEach((sample, i) =>
      assert.ok(Math.abs((dst[i] ?? 0) - sample) <= Math.max(4, Math.abs(sample) / 16)),
    );
  });
});

describe('G.711 A-law', () => {
  it('decodes the reference values', () => {
    assert.equal(ALAW_TO_LINEAR[0xd5], 8);
    assert.equal(ALAW_TO_LINEAR[0x55], -8);
    assert.equal(ALAW_TO_LINEAR[0xd4], 24);
    assert.equal(ALAW_TO_LINEAR[0xaa], 32256);
    assert.equal(ALAW_TO_LINEAR[0x2a], -32256);
    assert.equal(ALAW_TO_LINEAR[0x80], 5504);
  });

  it('encodes what it decodes back to the same code', () => {
    for (let code = 0; code < 256; code++) {
      assert.equal(encodeAlawSample(ALAW_TO_LINEAR[code] ?? 0), code, `code ${code}`);
    }
  });

  it('encodes silence and full scale', () => {
    assert.equal(encodeAlawSample(0), 0xd5);
    assert.equal(encodeAlawSample(-1), 0x55);
    assert.equal(encodeAlawSample(32767), 0xaa);
    assert.equal(encodeAlawSample(-32768), 0x2a);
  });

  it('keeps the round-trip error within the quantisation step', () => {
    for (let sample = -32768; sample < 32768; sample += 7) {
      const decoded = ALAW_TO_LINEAR[encodeAlawSample(sample)] ?? 0;
      assert.ok(Math.abs(decoded - sample) <= Math.max(16, Math.abs(sample) / 16), `sample ${sample}`);
    }
  });

  it('round-trips an encoded buffer', () => {
    const samples = Int16Array.from([0, 100, -100, 1000, -1000, 30000, -30000]);
    const dst = new Int16Array(samples.length);
    assert.equal(decodeAlaw(encodeAlaw(samples), dst), samples.length);
    samples.forEach((sample, i) =>
      assert.ok(Math.abs((dst[i] ?? 0) - sample) <= Math.max(16, Math.abs(sample) / 16)),
    );
  });
});
