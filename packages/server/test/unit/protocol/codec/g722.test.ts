import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { G722Decoder, G722_SAMPLES_PER_BYTE } from '../../../../src/protocol/codec/g722.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/codec');
const bitstream = new Uint8Array(readFileSync(resolve(FIXTURES, 'sweep.g722')));
const referenceBytes = readFileSync(resolve(FIXTURES, 'sweep.g722.ffmpeg-s16le'));
const reference = Int16Array.from({ length: referenceBytes.length / 2 }, (_, i) =>
  referenceBytes.readInt16LE(2 * i),
);

describe('G.722 decoder', () => {
  it('decodes an FFmpeg-encoded stream to exactly the samples FFmpeg decodes', () => {
    assert.equal(reference.length, bitstream.length * G722_SAMPLES_PER_BYTE);
    const ours = new G722Decoder().decode(bitstream);
    assert.equal(ours.length, reference.length);
    const firstDifference = ours.findIndex((sample, i) => sample !== reference[i]);
    assert.equal(firstDifference, -1, `first difference at sample ${firstDifference}`);
  });

  it('carries its state across packets: 20 ms packets decode like one buffer', () => {
    const decoder = new G722Decoder();
    const out = new Int16Array(bitstream.length * 2);
    let written = 0;
    for (let offset = 0; offset < bitstream.length; offset += 160) {
      written += decoder.decode(bitstream.subarray(offset, offset + 160), out, written);
    }
    assert.equal(written, reference.length);
    assert.deepEqual(out, reference);
  });

  it('restarts from the initial state after reset', () => {
    const decoder = new G722Decoder();
    decoder.decode(bitstream.subarray(0, 800));
    decoder.reset();
    assert.deepEqual(decoder.decode(bitstream.subarray(0, 160)), reference.subarray(0, 320));
    // Without a reset the state of the previous audio changes the output.
    assert.notDeepEqual(decoder.decode(bitstream.subarray(0, 160)), reference.subarray(0, 320));
  });

  it('stops at the end of the output buffer and reports what it wrote', () => {
    const out = new Int16Array(7);
    assert.equal(new G722Decoder().decode(bitstream.subarray(0, 10), out, 2), 4);
    assert.deepEqual(out.subarray(2, 6), reference.subarray(0, 4));
    assert.equal(out[6], 0);
  });

  it('decodes any byte sequence without throwing, within the 16-bit range', () => {
    const noise = Uint8Array.from({ length: 4000 }, (_, i) => (i * 151 + ((i * i) >> 3)) & 0xff);
    const out = new G722Decoder().decode(noise);
    assert.equal(out.length, 8000);
    assert.ok(out.some((s) => s !== 0));
  });
});
