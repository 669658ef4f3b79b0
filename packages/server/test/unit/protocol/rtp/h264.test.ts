import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { H264Depacketizer } from '../../../../src/protocol/rtp/h264.js';
import { encodeAvccNalUnits, encodeFlvVideoTag } from '../../../../src/protocol/container/flv.js';

/** RFC 6184 non-interleaved depacketisation, and the FLV tag layout the MP4 export relies on. */

const SPS = Uint8Array.of(0x67, 0x42, 0xc0, 0x1e, 0xd9);
const PPS = Uint8Array.of(0x68, 0xce, 0x3c, 0x80);
const IDR = Uint8Array.from([0x65, ...Array.from({ length: 40 }, (_, i) => i)]);

/** FU-A fragments of a NAL unit, `size` bytes of it per fragment. */
function fuA(nal: Uint8Array, size: number): Uint8Array[] {
  const body = nal.subarray(1);
  const out: Uint8Array[] = [];
  for (let at = 0; at < body.length; at += size) {
    const start = at === 0 ? 0x80 : 0;
    const end = at + size >= body.length ? 0x40 : 0;
    out.push(
      Uint8Array.from([
        ((nal[0] ?? 0) & 0xe0) | 28,
        start | end | ((nal[0] ?? 0) & 0x1f),
        ...body.subarray(at, at + size),
      ]),
    );
  }
  return out;
}

void describe('H264Depacketizer', () => {
  void it('reads single NAL units, STAP-A aggregates and FU-A fragments', () => {
    const d = new H264Depacketizer();
    const stap = Uint8Array.from([24, 0, SPS.length, ...SPS, 0, PPS.length, ...PPS]);
    assert.deepEqual(d.push(stap, 1), [SPS, PPS]);
    const fragments = fuA(IDR, 16);
    assert.equal(fragments.length, 3);
    assert.deepEqual(d.push(fragments[0]!, 2), []);
    assert.deepEqual(d.push(fragments[1]!, 3), []);
    assert.deepEqual(d.push(fragments[2]!, 4), [IDR]);
    assert.deepEqual(d.push(Uint8Array.of(0x41, 1, 2), 5), [Uint8Array.of(0x41, 1, 2)]);
    assert.deepEqual(d.stats, { malformed: 0, unsupported: 0, incompleteFragments: 0 });
  });

  void it('drops a fragmented NAL unit with a lost fragment, and counts hostile packets', () => {
    const d = new H264Depacketizer();
    const fragments = fuA(IDR, 16);
    d.push(fragments[0]!, 10);
    assert.deepEqual(d.push(fragments[2]!, 12), [], 'fragment 11 is missing');
    assert.deepEqual(d.push(fragments[1]!, 20), [], 'no start: ignored');
    assert.deepEqual(d.push(Uint8Array.of(24, 0, 50, 1, 2), 21), [], 'STAP-A size past the end');
    assert.deepEqual(d.push(new Uint8Array(0), 22), []);
    assert.deepEqual(d.push(Uint8Array.of(0x80 | 0x41), 23), [], 'forbidden bit');
    assert.deepEqual(d.push(Uint8Array.of(26, 0, 0), 24), [], 'MTAP16');
    assert.deepEqual(d.push(Uint8Array.of(28, 0x85), 25), [], 'FU-A without data');
    assert.deepEqual(d.stats, { malformed: 4, unsupported: 1, incompleteFragments: 1 });
  });
});

void describe('FLV video tags', () => {
  void it('writes size, 32-bit timestamp, AVC header and the previous-tag size', () => {
    const body = encodeAvccNalUnits([IDR]);
    const tag = encodeFlvVideoTag({ timestampMs: 0x01020304, keyframe: true, sequenceHeader: false, body });
    const dataSize = 5 + body.length;
    assert.deepEqual([...tag.subarray(0, 8)], [9, 0, 0, dataSize, 0x02, 0x03, 0x04, 0x01]);
    assert.deepEqual([...tag.subarray(11, 13)], [0x17, 1]);
    assert.equal(new DataView(tag.buffer).getUint32(tag.length - 4), 11 + dataSize);
    assert.deepEqual([...body.subarray(0, 4)], [0, 0, 0, IDR.length]);
  });
});
