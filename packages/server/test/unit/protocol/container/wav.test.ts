import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  WAV_HEADER_BYTES,
  WAV_UNKNOWN_DATA_BYTES,
  encodeWavHeader,
  parseWavHeader,
} from '../../../../src/protocol/container/wav.js';

function ascii(text: string): number[] {
  return Array.from({ length: text.length }, (_, i) => text.charCodeAt(i));
}

describe('encodeWavHeader', () => {
  it('writes the canonical 44-byte PCM header', () => {
    const header = encodeWavHeader({ sampleRateHz: 8000, channels: 2, bitsPerSample: 16, dataBytes: 32000 });
    assert.equal(header.length, WAV_HEADER_BYTES);
    assert.deepEqual(
      [...header],
      [
        ...ascii('RIFF'),
        0x24,
        0x7d,
        0,
        0,
        ...ascii('WAVE'),
        ...ascii('fmt '),
        16,
        0,
        0,
        0,
        1,
        0,
        2,
        0,
        0x40,
        0x1f,
        0,
        0,
        0x00,
        0x7d,
        0,
        0,
        4,
        0,
        16,
        0,
        ...ascii('data'),
        0x00,
        0x7d,
        0,
        0,
      ],
    );
  });

  it('writes 0xFFFFFFFF sizes for an unknown or too large length', () => {
    for (const dataBytes of [WAV_UNKNOWN_DATA_BYTES, 2 ** 33]) {
      const view = new DataView(
        encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, dataBytes }).buffer,
      );
      assert.equal(view.getUint32(4, true), 0xffffffff);
      assert.equal(view.getUint32(40, true), 0xffffffff);
    }
    const nearLimit = new DataView(
      encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, dataBytes: 0xffffffff - 30 })
        .buffer,
    );
    assert.equal(nearLimit.getUint32(4, true), 0xffffffff);
    assert.equal(nearLimit.getUint32(40, true), 0xffffffff - 30);
    const atLimit = new DataView(
      encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, dataBytes: 0xffffffff - 36 })
        .buffer,
    );
    assert.equal(atLimit.getUint32(4, true), 0xffffffff);
    assert.equal(atLimit.getUint32(40, true), 0xffffffff - 36);
  });

  it('rejects formats a WAV file cannot carry', () => {
    assert.throws(
      () => encodeWavHeader({ sampleRateHz: 0, channels: 2, bitsPerSample: 16, dataBytes: 0 }),
      RangeError,
    );
    assert.throws(
      () => encodeWavHeader({ sampleRateHz: 8000, channels: 0, bitsPerSample: 16, dataBytes: 0 }),
      RangeError,
    );
    assert.throws(
      () => encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 12, dataBytes: 0 }),
      RangeError,
    );
    assert.throws(
      () => encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, dataBytes: -1 }),
      RangeError,
    );
    assert.throws(
      () => encodeWavHeader({ sampleRateHz: 8000.5, channels: 1, bitsPerSample: 16, dataBytes: 0 }),
      RangeError,
    );
  });
});

describe('parseWavHeader', () => {
  it('reads back an encoded header', () => {
    const result = parseWavHeader(
      encodeWavHeader({ sampleRateHz: 8000, channels: 2, bitsPerSample: 16, dataBytes: 640 }),
    );
    assert.deepEqual(result, {
      ok: true,
      value: {
        formatTag: 1,
        channels: 2,
        sampleRateHz: 8000,
        blockAlign: 4,
        bitsPerSample: 16,
        dataOffset: 44,
        dataBytes: 640,
      },
    });
  });

  it('walks over other chunks, padded to an even size', () => {
    const header = encodeWavHeader({ sampleRateHz: 16000, channels: 1, bitsPerSample: 16, dataBytes: 2 });
    const list = Uint8Array.from([...ascii('LIST'), 3, 0, 0, 0, 1, 2, 3, 0]);
    const file = new Uint8Array(36 + list.length + 8 + 2);
    file.set(header.subarray(0, 36), 0);
    file.set(list, 36);
    file.set(header.subarray(36, 44), 36 + list.length);
    const result = parseWavHeader(file);
    assert.ok(result.ok);
    assert.equal(result.value.dataOffset, 36 + list.length + 8);
    assert.equal(result.value.sampleRateHz, 16000);
  });

  it('returns typed errors', () => {
    const header = encodeWavHeader({ sampleRateHz: 8000, channels: 1, bitsPerSample: 16, dataBytes: 0 });
    const code = (bytes: Uint8Array): string | undefined => {
      const result = parseWavHeader(bytes);
      return result.ok ? undefined : result.error.code;
    };
    assert.equal(code(header.subarray(0, 8)), 'VERBATIM_ERR_WAV_TOO_SHORT');
    assert.equal(
      code(Uint8Array.from([...ascii('RIFX'), 0, 0, 0, 0, ...ascii('WAVE')])),
      'VERBATIM_ERR_WAV_NOT_RIFF',
    );
    assert.equal(code(header.subarray(0, 36)), 'VERBATIM_ERR_WAV_NO_DATA');
    const noFmt = Uint8Array.from([...header.subarray(0, 12), ...header.subarray(36, 44)]);
    assert.equal(code(noFmt), 'VERBATIM_ERR_WAV_BAD_FMT');
    const zeroChannels = header.slice();
    zeroChannels[22] = 0;
    assert.equal(code(zeroChannels), 'VERBATIM_ERR_WAV_BAD_FMT');
  });
});
