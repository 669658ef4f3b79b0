/**
 * RTP datagrams (RFC 3550), RTCP told apart on the RTP port (RFC 5761), telephone events
 * (RFC 4733), and the audio decoders given payloads of any length.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isLikelyRtcp, parseRtpHeader, serializeRtpPacket } from '../../../src/protocol/rtp/rtp-packet.js';
import { SequenceExtender } from '../../../src/protocol/rtp/seq.js';
import { parseTelephoneEvent, serializeTelephoneEvent } from '../../../src/protocol/rtp/telephone-event.js';
import { decodeAlaw, decodeMulaw } from '../../../src/protocol/codec/g711.js';
import { G722Decoder } from '../../../src/protocol/codec/g722.js';
import { decodeL16 } from '../../../src/protocol/codec/l16.js';
import { seedInputs } from '../corpus.js';
import { assertTypedResult, fuzzProperty, timed, type AnyFuzzProperty } from '../fuzz-property.js';
import { bytesInput } from '../mutate.js';

function checkRtp(bytes: Uint8Array): void {
  timed('isLikelyRtcp', () => isLikelyRtcp(bytes));
  const result = timed('parseRtpHeader', () => parseRtpHeader(bytes));
  assertTypedResult(result, /^VERBATIM_ERR_RTP_[A-Z_]+$/);
  if (!result.ok) {
    return;
  }
  const header = result.value;
  // Every length the header claims was checked against the datagram.
  assert.ok(header.payloadOffset >= 12 && header.payloadLength >= 0);
  assert.ok(header.payloadOffset + header.payloadLength <= bytes.length);
  // Written back with the same fields and payload, it reads the same.
  const payload = bytes.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
  const again = parseRtpHeader(
    serializeRtpPacket(
      {
        marker: header.marker,
        payloadType: header.payloadType,
        sequenceNumber: header.sequenceNumber,
        timestamp: header.timestamp,
        ssrc: header.ssrc,
      },
      payload,
    ),
  );
  assert.ok(again.ok);
  for (const field of [
    'marker',
    'payloadType',
    'sequenceNumber',
    'timestamp',
    'ssrc',
    'payloadLength',
  ] as const) {
    assert.equal(again.value[field], header[field], field);
  }
}

function checkTelephoneEvent(bytes: Uint8Array): void {
  const result = timed('parseTelephoneEvent', () => parseTelephoneEvent(bytes));
  assertTypedResult(result, /^VERBATIM_ERR_RTP_EVENT_[A-Z_]+$/);
  if (result.ok) {
    // The reserved R bit is the only thing not kept.
    const expected = [bytes[0], (bytes[1] ?? 0) & 0xbf, bytes[2], bytes[3]];
    assert.deepEqual([...serializeTelephoneEvent(result.value)], expected);
  }
}

/** Decoders never fail: every byte is a code; odd lengths and small outputs are cut, not overrun. */
function checkDecoders(payload: Uint8Array, outLength: number, outOffset: number, channels: number): void {
  const out = new Int16Array(outLength);
  const written = [
    timed('decodeMulaw', () => decodeMulaw(payload, out, outOffset)),
    timed('decodeAlaw', () => decodeAlaw(payload, out, outOffset)),
    timed('G722Decoder.decode', () => new G722Decoder().decode(payload, out, outOffset)),
  ];
  for (const count of written) {
    assert.ok(count >= 0 && count <= Math.max(0, outLength - outOffset), `wrote ${count}`);
  }
  assert.equal(new G722Decoder().decode(payload).length, 2 * payload.length);
  const l16 = timed('decodeL16', () => decodeL16(payload, channels));
  const frameChannels = Number.isInteger(channels) && channels >= 1 ? channels : 1;
  assert.equal(l16.length, Math.floor(payload.length / (2 * frameChannels)));
}

export const rtpProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'rtp.parseRtpHeader',
    corpus: 'rtp',
    arbitrary: (scale) => bytesInput(seedInputs('rtp'), scale),
    check: checkRtp,
    toFile: (bytes) => bytes,
  }),
  fuzzProperty({
    name: 'rtp.SequenceExtender',
    corpus: 'rtp',
    // Any numbers: each extends to the same 16 bits, within half a cycle of the highest so far.
    arbitrary: () => fc.array(fc.integer({ min: -1, max: 0x1ffff }), { maxLength: 200 }),
    check: (numbers) => {
      const extender = new SequenceExtender();
      for (const n of numbers) {
        const highest = extender.highest;
        const extended = extender.extend(n);
        assert.ok(Number.isInteger(extended));
        assert.equal(extended & 0xffff, n & 0xffff);
        if (highest >= 0) {
          assert.ok(Math.abs(extended - highest) <= 0x8000);
        }
      }
    },
    toFile: (numbers) => new TextEncoder().encode(numbers.join(' ')),
  }),
  fuzzProperty({
    name: 'rtp.parseTelephoneEvent',
    corpus: 'telephone-event',
    arbitrary: (scale) => bytesInput(seedInputs('telephone-event'), scale),
    check: checkTelephoneEvent,
    toFile: (bytes) => bytes,
  }),
  fuzzProperty({
    name: 'codec.decoders',
    corpus: 'codec',
    arbitrary: (scale) =>
      fc.record({
        payload: bytesInput(seedInputs('codec'), scale),
        outLength: fc.nat({ max: 4096 }),
        outOffset: fc.integer({ min: 0, max: 5000 }),
        channels: fc.oneof(
          fc.integer({ min: -2, max: 9 }),
          fc.constantFrom(Number.NaN, Infinity, 1.5, 2 ** 31, Number.MAX_SAFE_INTEGER),
        ),
      }),
    check: ({ payload, outLength, outOffset, channels }) =>
      checkDecoders(payload, outLength, outOffset, channels),
    toFile: ({ payload }) => payload,
  }),
];

export const rtpReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  rtp: checkRtp,
  'telephone-event': checkTelephoneEvent,
  codec: (bytes) => {
    for (const channels of [1, 2, 3]) {
      checkDecoders(bytes, 160, 0, channels);
      checkDecoders(bytes, 7, 5, channels);
    }
  },
};
