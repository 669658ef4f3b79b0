import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  SequenceExtender,
  uint16Add,
  uint16Diff,
  uint16Gt,
  uint32Diff,
  uint32Gt,
} from '../../../../src/protocol/rtp/seq.js';

describe('16-bit serial numbers', () => {
  it('adds with wraparound', () => {
    assert.equal(uint16Add(65535, 1), 0);
    assert.equal(uint16Add(65530, 10), 4);
    assert.equal(uint16Add(5, -6), 65535);
  });

  it('takes the shorter way round the circle', () => {
    assert.equal(uint16Diff(0, 65535), 1);
    assert.equal(uint16Diff(65535, 0), -1);
    assert.equal(uint16Diff(100, 90), 10);
    assert.equal(uint16Diff(90, 100), -10);
    assert.equal(uint16Diff(32767, 0), 32767);
    assert.equal(uint16Diff(32768, 0), -32768);
    assert.equal(uint16Gt(0, 65535), true);
    assert.equal(uint16Gt(65535, 0), false);
    assert.equal(uint16Gt(7, 7), false);
  });
});

describe('32-bit serial numbers', () => {
  it('takes the shorter way round the circle', () => {
    assert.equal(uint32Diff(0, 0xffffffff), 1);
    assert.equal(uint32Diff(0xffffff60, 0x000000a0), -320);
    assert.equal(uint32Diff(160, 0), 160);
    assert.equal(uint32Gt(5, 0xfffffff0), true);
    assert.equal(uint32Gt(0xfffffff0, 5), false);
  });
});

describe('SequenceExtender', () => {
  it('counts cycles across a wrap and maps late packets into the previous cycle', () => {
    const extender = new SequenceExtender();
    assert.equal(extender.highest, -1);
    assert.deepEqual(
      [65534, 65535, 0, 65533, 1, 2].map((seq) => extender.extend(seq)),
      [65534, 65535, 65536, 65533, 65537, 65538],
    );
    assert.equal(extender.highest, 65538);
    extender.reset();
    assert.equal(extender.extend(10), 10);
  });
});
