import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeL16, encodeL16 } from '../../../../src/protocol/codec/l16.js';

describe('L16', () => {
  it('decodes network byte order (big-endian) signed samples', () => {
    const payload = Uint8Array.from([0x00, 0x01, 0xff, 0xff, 0x7f, 0xff, 0x80, 0x00, 0x12, 0x34]);
    assert.deepEqual(decodeL16(payload), Int16Array.from([1, -1, 32767, -32768, 0x1234]));
  });

  it('averages interleaved channels to mono', () => {
    // Frames (L, R): (1000, 3000), (-2, -4), (32767, 32767), (-32768, 32767).
    const payload = Uint8Array.from([
      0x03, 0xe8, 0x0b, 0xb8, 0xff, 0xfe, 0xff, 0xfc, 0x7f, 0xff, 0x7f, 0xff, 0x80, 0x00, 0x7f, 0xff,
    ]);
    assert.deepEqual(decodeL16(payload, 2), Int16Array.from([2000, -3, 32767, 0]));
  });

  it('ignores a trailing partial frame and treats a bad channel count as mono', () => {
    assert.deepEqual(decodeL16(Uint8Array.from([0, 5, 0, 6, 0]), 2), Int16Array.from([6]));
    assert.deepEqual(decodeL16(Uint8Array.from([0, 5, 0]), 1), Int16Array.from([5]));
    assert.deepEqual(decodeL16(Uint8Array.from([0, 5]), 0), Int16Array.from([5]));
    assert.deepEqual(decodeL16(new Uint8Array(0), 2), new Int16Array(0));
  });

  it('round-trips through encodeL16', () => {
    const samples = Int16Array.from([0, 1, -1, 12345, -32768, 32767]);
    const payload = encodeL16(samples);
    assert.deepEqual([...payload.subarray(0, 4)], [0, 0, 0, 1]);
    assert.deepEqual(decodeL16(payload), samples);
  });

  it('decodes a payload that is a view into a larger buffer', () => {
    const packet = Uint8Array.from([0xaa, 0xbb, 0xcc, 0x00, 0x02, 0xff, 0xfe]);
    assert.deepEqual(decodeL16(packet.subarray(3)), Int16Array.from([2, -2]));
  });
});
