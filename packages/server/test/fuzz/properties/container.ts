/**
 * Files read back from the media store or from other tools: pcap captures (the track format) and
 * WAV headers.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PcapReader } from '../../../src/protocol/container/pcap.js';
import { parseWavHeader } from '../../../src/protocol/container/wav.js';
import { seedInputs } from '../corpus.js';
import { assertTypedResult, fuzzProperty, timed, type AnyFuzzProperty } from '../fuzz-property.js';
import { bytesInput } from '../mutate.js';

const PCAP_ERROR = /^VERBATIM_ERR_PCAP_[A-Z_]+$/;

/** What a reader gives for a file fed in the given chunks, comparable across chunkings. */
function readPcap(bytes: Uint8Array, cuts: readonly number[]): unknown {
  const reader = new PcapReader();
  const packets: unknown[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.length].sort((a, b) => a - b)) {
    const end = Math.min(cut, bytes.length);
    if (end > start) {
      for (const packet of timed('PcapReader.push', () => reader.push(bytes.subarray(start, end)))) {
        packets.push({ ...packet, payload: [...packet.payload] });
      }
      start = end;
    }
  }
  const { truncatedTailBytes } = reader.end();
  if (reader.error !== undefined) {
    assert.match(reader.error.code, PCAP_ERROR);
  }
  assert.ok(reader.consumedBytes + truncatedTailBytes <= bytes.length);
  return { packets, error: reader.error?.code, consumed: reader.consumedBytes, stats: reader.stats };
}

function checkPcap(bytes: Uint8Array, cuts: readonly number[]): void {
  assert.deepEqual(readPcap(bytes, cuts), readPcap(bytes, []), 'the reader depends on how the file is cut');
}

function checkWav(bytes: Uint8Array): void {
  const result = timed('parseWavHeader', () => parseWavHeader(bytes));
  assertTypedResult(result, /^VERBATIM_ERR_WAV_[A-Z_]+$/);
  if (result.ok) {
    assert.ok(result.value.dataOffset <= bytes.length);
    assert.ok(result.value.channels > 0 && result.value.sampleRateHz > 0 && result.value.blockAlign > 0);
  }
}

export const containerProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'container.PcapReader',
    corpus: 'pcap',
    arbitrary: (scale) =>
      fc.record({
        bytes: bytesInput(seedInputs('pcap'), scale),
        cuts: fc.array(fc.nat({ max: 2048 }), { maxLength: 16 }),
      }),
    check: ({ bytes, cuts }) => checkPcap(bytes, cuts),
    toFile: ({ bytes }) => bytes,
  }),
  fuzzProperty({
    name: 'container.parseWavHeader',
    corpus: 'wav',
    arbitrary: (scale) => bytesInput(seedInputs('wav'), scale),
    check: checkWav,
    toFile: (bytes) => bytes,
  }),
];

export const containerReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  pcap: (bytes) => checkPcap(bytes, [1, 7, 24, 25, 40, 64, 100, 200, 333]),
  wav: checkWav,
};
