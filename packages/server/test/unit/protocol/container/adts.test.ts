import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADTS_ERR_LENGTH, ADTS_ERR_SYNC, splitAdtsFrames } from '../../../../src/protocol/container/adts.js';

/** An ADTS frame of `length` bytes (7-byte header without CRC, then filler). */
function frame(length: number, fill: number): Uint8Array {
  const out = new Uint8Array(length).fill(fill);
  out.set([
    0xff,
    0xf1,
    0x50,
    0x80 | ((length >>> 11) & 0x03),
    (length >>> 3) & 0xff,
    ((length & 0x07) << 5) | 0x1f,
    0xfc,
  ]);
  return out;
}

void describe('splitAdtsFrames', () => {
  void it('splits a stream into its frames', () => {
    const a = frame(20, 1);
    const b = frame(9, 2);
    const parsed = splitAdtsFrames(Uint8Array.from([...a, ...b]));
    assert.ok(parsed.ok);
    assert.deepEqual(parsed.value, [a, b]);
  });

  void it('refuses a lost sync, a length past the end, a torn header', () => {
    const a = frame(20, 1);
    const noSync = splitAdtsFrames(Uint8Array.from([...a, 0x00, 0x01, 2, 3, 4, 5, 6, 7]));
    assert.ok(!noSync.ok && noSync.error.code === ADTS_ERR_SYNC && noSync.error.offset === 20);
    const long = splitAdtsFrames(a.subarray(0, 15));
    assert.ok(!long.ok && long.error.code === ADTS_ERR_LENGTH);
    const torn = splitAdtsFrames(Uint8Array.from([...a, 0xff, 0xf1]));
    assert.ok(!torn.ok && torn.error.code === ADTS_ERR_LENGTH);
    const tiny = splitAdtsFrames(frame(7, 0).map((byte, i) => (i === 4 ? 0 : i === 5 ? 0x1f : byte)));
    assert.ok(!tiny.ok && tiny.error.code === ADTS_ERR_LENGTH, 'a length shorter than the header');
  });
});
