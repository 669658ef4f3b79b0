import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  isLikelyRtcp,
  parseRtpHeader,
  serializeRtpPacket,
  type RtpHeader,
} from '../../../../src/protocol/rtp/rtp-packet.js';

function parsed(bytes: Uint8Array): RtpHeader {
  const result = parseRtpHeader(bytes);
  assert.ok(result.ok, result.ok ? '' : result.error.code);
  return result.value;
}

function errorCode(bytes: Uint8Array): string {
  const result = parseRtpHeader(bytes);
  if (result.ok) {
    assert.fail('expected a parse error');
  }
  return result.error.code;
}

describe('parseRtpHeader', () => {
  it('reads every field of a plain G.711 packet', () => {
    // V=2, no P/X/CC, M=1, PT=0, seq 0x1234, ts 0xdeadbeef, ssrc 0x01020304, 4 payload bytes.
    const raw = Uint8Array.from([
      0x80, 0x80, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04, 0xff, 0x7f, 0x00, 0x80,
    ]);
    assert.deepEqual(parsed(raw), {
      version: 2,
      padding: false,
      extension: false,
      csrcCount: 0,
      marker: true,
      payloadType: 0,
      sequenceNumber: 0x1234,
      timestamp: 0xdeadbeef,
      ssrc: 0x01020304,
      payloadOffset: 12,
      payloadLength: 4,
    });
  });

  it('skips the CSRC list, the header extension and the padding', () => {
    const raw = Uint8Array.from([
      0xb2, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, 0xa0, 0xca, 0xfe, 0xba, 0xbe,
      // Two CSRCs.
      0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,
      // Extension: profile 0xbede, one word.
      0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00,
      // Payload of 3 bytes, then 3 bytes of padding whose last says 3.
      0xd5, 0xd5, 0xd5, 0x00, 0x00, 0x03,
    ]);
    const header = parsed(raw);
    assert.equal(header.csrcCount, 2);
    assert.equal(header.extension, true);
    assert.equal(header.padding, true);
    assert.equal(header.payloadType, 8);
    assert.equal(header.marker, false);
    assert.equal(header.payloadOffset, 28);
    assert.equal(header.payloadLength, 3);
  });

  it('accepts an empty payload', () => {
    const header = parsed(
      serializeRtpPacket(
        { marker: false, payloadType: 0, sequenceNumber: 0, timestamp: 0, ssrc: 1 },
        new Uint8Array(0),
      ),
    );
    assert.equal(header.payloadLength, 0);
    assert.equal(header.payloadOffset, 12);
  });

  it('rejects a datagram shorter than the fixed header', () => {
    assert.equal(errorCode(new Uint8Array(11).fill(0x80)), 'VERBATIM_ERR_RTP_TOO_SHORT');
    assert.equal(errorCode(new Uint8Array(0)), 'VERBATIM_ERR_RTP_TOO_SHORT');
  });

  it('rejects a version other than 2', () => {
    const raw = new Uint8Array(20);
    raw[0] = 0x40;
    assert.equal(errorCode(raw), 'VERBATIM_ERR_RTP_VERSION');
    raw[0] = 0xc0;
    assert.equal(errorCode(raw), 'VERBATIM_ERR_RTP_VERSION');
  });

  it('rejects a CSRC list longer than the datagram', () => {
    const raw = new Uint8Array(12 + 4 * 14);
    raw[0] = 0x8f; // 15 CSRCs claimed, 14 present.
    assert.equal(errorCode(raw), 'VERBATIM_ERR_RTP_CSRC_OVERRUN');
  });

  it('rejects a header extension that overruns the datagram', () => {
    const noPreamble = new Uint8Array(14);
    noPreamble[0] = 0x90;
    assert.equal(errorCode(noPreamble), 'VERBATIM_ERR_RTP_EXTENSION_OVERRUN');
    const longBody = new Uint8Array(12 + 4 + 8);
    longBody[0] = 0x90;
    longBody[15] = 3; // Three words claimed, two present.
    assert.equal(errorCode(longBody), 'VERBATIM_ERR_RTP_EXTENSION_OVERRUN');
    longBody[15] = 2;
    assert.equal(parsed(longBody).payloadLength, 0);
  });

  it('rejects a zero padding count and one reaching into the header', () => {
    const raw = new Uint8Array(16);
    raw[0] = 0xa0;
    raw[15] = 0;
    assert.equal(errorCode(raw), 'VERBATIM_ERR_RTP_BAD_PADDING');
    raw[15] = 5;
    assert.equal(errorCode(raw), 'VERBATIM_ERR_RTP_BAD_PADDING');
    raw[15] = 4;
    assert.equal(parsed(raw).payloadLength, 0);
  });

  it('never throws on any two-byte prefix over a short body', () => {
    const raw = new Uint8Array(13);
    for (let first = 0; first < 256; first++) {
      raw[0] = first;
      for (let last = 0; last < 256; last += 17) {
        raw[12] = last;
        const result = parseRtpHeader(raw);
        if (result.ok) {
          assert.ok(result.value.payloadOffset + result.value.payloadLength <= raw.length);
        }
      }
    }
  });
});

describe('serializeRtpPacket', () => {
  it('round-trips byte for byte through parseRtpHeader', () => {
    const raw = Uint8Array.from([
      0xb1, 0xe5, 0xff, 0xff, 0x00, 0x00, 0x01, 0x40, 0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x09, 0x00,
      0x01, 0x00, 0x01, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb, 0x00, 0x02,
    ]);
    const header = parsed(raw);
    assert.equal(header.sequenceNumber, 0xffff);
    assert.equal(header.payloadType, 101);
    const payload = raw.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
    const rebuilt = serializeRtpPacket(
      {
        marker: header.marker,
        payloadType: header.payloadType,
        sequenceNumber: header.sequenceNumber,
        timestamp: header.timestamp,
        ssrc: header.ssrc,
        csrcs: [9],
        headerExtension: { profile: 1, data: Uint8Array.from([1, 2, 3, 4]) },
        paddingBytes: 2,
      },
      payload,
    );
    assert.deepEqual(rebuilt, raw);
  });
});

describe('isLikelyRtcp', () => {
  it('recognises SR, RR, SDES, BYE and APP packets', () => {
    for (const packetType of [200, 201, 202, 203, 204]) {
      assert.equal(isLikelyRtcp(Uint8Array.from([0x81, packetType, 0x00, 0x07, 0, 0, 0, 0])), true);
    }
  });

  it('does not mistake RTP for RTCP', () => {
    for (const payloadType of [0, 8, 9, 18, 96, 101, 127]) {
      const rtp = serializeRtpPacket(
        { marker: true, payloadType, sequenceNumber: 1, timestamp: 1, ssrc: 1 },
        new Uint8Array(160),
      );
      assert.equal(isLikelyRtcp(rtp), false, `payload type ${payloadType}`);
    }
    assert.equal(isLikelyRtcp(Uint8Array.from([0x41, 200, 0, 1])), false);
    assert.equal(isLikelyRtcp(Uint8Array.from([0x81, 200])), false);
  });
});
