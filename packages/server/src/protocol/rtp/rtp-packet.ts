import { err, ok, type Result } from '../result.js';

/**
 * The fixed RTP header, RFC 3550 §5.1 (https://www.rfc-editor.org/rfc/rfc3550#section-5.1):
 *
 *     0                   1                   2                   3
 *     0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |V=2|P|X|  CC   |M|     PT      |       sequence number         |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                           timestamp                           |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |           synchronization source (SSRC) identifier            |
 *    +=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+=+
 *    |            contributing source (CSRC) identifiers             |
 *    |                             ....                              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *
 * followed, when X is set, by one header extension (RFC 3550 §5.3.1):
 *
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |      defined by profile       |           length              |
 *    +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
 *    |                        header extension                       |
 *    |                             ....                              |
 *
 * where length counts 32-bit words after this 4-byte preamble; then the payload, then, when P is
 * set, padding whose last octet counts the padding octets including itself.
 */
export interface RtpHeader {
  version: number;
  padding: boolean;
  extension: boolean;
  csrcCount: number;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the first payload byte in the parsed datagram. */
  payloadOffset: number;
  /** Payload bytes, padding excluded. */
  payloadLength: number;
}

export const RTP_FIXED_HEADER_BYTES = 12;

const OFFSET_SEQUENCE_NUMBER = 2;
const OFFSET_TIMESTAMP = 4;
const OFFSET_SSRC = 8;

export const RTP_ERR_TOO_SHORT = 'VERBATIM_ERR_RTP_TOO_SHORT';
export const RTP_ERR_VERSION = 'VERBATIM_ERR_RTP_VERSION';
export const RTP_ERR_CSRC_OVERRUN = 'VERBATIM_ERR_RTP_CSRC_OVERRUN';
export const RTP_ERR_EXTENSION_OVERRUN = 'VERBATIM_ERR_RTP_EXTENSION_OVERRUN';
export const RTP_ERR_BAD_PADDING = 'VERBATIM_ERR_RTP_BAD_PADDING';

function readUint16(bytes: Uint8Array, offset: number): number {
  return (((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0)) >>> 0;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    (((bytes[offset] ?? 0) << 24) |
      ((bytes[offset + 1] ?? 0) << 16) |
      ((bytes[offset + 2] ?? 0) << 8) |
      (bytes[offset + 3] ?? 0)) >>>
    0
  );
}

/**
 * Parses the RTP header of one datagram. Every length the header claims (CSRC list, extension,
 * padding) is checked against the datagram, so a hostile packet yields a typed error, never an
 * out-of-bounds read.
 */
export function parseRtpHeader(bytes: Uint8Array): Result<RtpHeader> {
  const length = bytes.length;
  if (length < RTP_FIXED_HEADER_BYTES) {
    return err(
      RTP_ERR_TOO_SHORT,
      `RTP datagram of ${length} bytes is shorter than the 12-byte fixed header`,
      0,
    );
  }
  const first = bytes[0] ?? 0;
  const second = bytes[1] ?? 0;
  const version = first >>> 6;
  if (version !== 2) {
    return err(RTP_ERR_VERSION, `RTP version ${version} is not 2`, 0);
  }
  const padding = (first & 0x20) !== 0;
  const extension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  let payloadOffset = RTP_FIXED_HEADER_BYTES + 4 * csrcCount;
  if (payloadOffset > length) {
    return err(RTP_ERR_CSRC_OVERRUN, `CSRC list of ${csrcCount} entries overruns the datagram`, 12);
  }
  if (extension) {
    if (payloadOffset + 4 > length) {
      return err(RTP_ERR_EXTENSION_OVERRUN, 'header extension preamble overruns the datagram', payloadOffset);
    }
    const extensionWords = readUint16(bytes, payloadOffset + 2);
    const extensionEnd = payloadOffset + 4 + 4 * extensionWords;
    if (extensionEnd > length) {
      return err(
        RTP_ERR_EXTENSION_OVERRUN,
        `header extension of ${extensionWords} words overruns the datagram`,
        payloadOffset,
      );
    }
    payloadOffset = extensionEnd;
  }
  let payloadEnd = length;
  if (padding) {
    // RFC 3550 §5.1: the last octet of the padding counts how many padding octets are to be
    // ignored, including itself, so zero is invalid and it may not reach into the header.
    const paddingBytes = bytes[length - 1] ?? 0;
    if (paddingBytes === 0 || paddingBytes > length - payloadOffset) {
      return err(RTP_ERR_BAD_PADDING, `padding count ${paddingBytes} is invalid`, length - 1);
    }
    payloadEnd = length - paddingBytes;
  }
  return ok({
    version,
    padding,
    extension,
    csrcCount,
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: readUint16(bytes, OFFSET_SEQUENCE_NUMBER),
    timestamp: readUint32(bytes, OFFSET_TIMESTAMP),
    ssrc: readUint32(bytes, OFFSET_SSRC),
    payloadOffset,
    payloadLength: payloadEnd - payloadOffset,
  });
}

/**
 * Tells RTCP apart from RTP arriving on the same port. RFC 5761 §4
 * (https://www.rfc-editor.org/rfc/rfc5761#section-4): the second octet of an RTCP packet is its
 * packet type, and SR (200), RR (201), SDES (202), BYE (203) and APP (204) read as marker set with
 * payload type 72–76, a payload-type range RTP must therefore not use. The feedback and XR types
 * 205–207 (payload types 77–79) are accepted as well. The version must be 2 and the datagram at
 * least the 4-byte common RTCP header.
 */
export function isLikelyRtcp(bytes: Uint8Array): boolean {
  if (bytes.length < 4) {
    return false;
  }
  const first = bytes[0] ?? 0;
  const packetType = bytes[1] ?? 0;
  return first >>> 6 === 2 && packetType >= 200 && packetType <= 207;
}

/** The fields serializeRtpPacket writes; CSRC, extension and padding are supported for tests. */
export interface RtpPacketFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  /** Profile-defined 16-bit value and the extension body (a multiple of 4 bytes). */
  headerExtension?: { profile: number; data: Uint8Array };
  /** Padding bytes to append (1–255); the last one carries the count. */
  paddingBytes?: number;
}

function writeUint16(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 8) & 0xff;
  target[offset + 1] = value & 0xff;
}

function writeUint32(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 24) & 0xff;
  target[offset + 1] = (value >>> 16) & 0xff;
  target[offset + 2] = (value >>> 8) & 0xff;
  target[offset + 3] = value & 0xff;
}

/** Builds an RTP datagram (version 2). Used by tests, fixtures and tools; the recorder never sends. */
export function serializeRtpPacket(header: RtpPacketFields, payload: Uint8Array): Uint8Array {
  const csrcs = header.csrcs ?? [];
  if (csrcs.length > 15) {
    throw new RangeError('at most 15 CSRC identifiers fit in the RTP header');
  }
  const extension = header.headerExtension;
  if (extension !== undefined && extension.data.length % 4 !== 0) {
    throw new RangeError('the RTP header extension body must be a multiple of 4 bytes');
  }
  const paddingBytes = header.paddingBytes ?? 0;
  if (paddingBytes < 0 || paddingBytes > 255) {
    throw new RangeError('RTP padding must be 0-255 bytes');
  }
  const extensionBytes = extension === undefined ? 0 : 4 + extension.data.length;
  const headerBytes = RTP_FIXED_HEADER_BYTES + 4 * csrcs.length + extensionBytes;
  const out = new Uint8Array(headerBytes + payload.length + paddingBytes);
  out[0] = 0x80 | (paddingBytes > 0 ? 0x20 : 0) | (extension === undefined ? 0 : 0x10) | csrcs.length;
  out[1] = (header.marker ? 0x80 : 0) | (header.payloadType & 0x7f);
  writeUint16(out, OFFSET_SEQUENCE_NUMBER, header.sequenceNumber);
  writeUint32(out, OFFSET_TIMESTAMP, header.timestamp);
  writeUint32(out, OFFSET_SSRC, header.ssrc);
  let offset = RTP_FIXED_HEADER_BYTES;
  for (const csrc of csrcs) {
    writeUint32(out, offset, csrc);
    offset += 4;
  }
  if (extension !== undefined) {
    writeUint16(out, offset, extension.profile);
    writeUint16(out, offset + 2, extension.data.length / 4);
    out.set(extension.data, offset + 4);
    offset += extensionBytes;
  }
  out.set(payload, offset);
  if (paddingBytes > 0) {
    out[out.length - 1] = paddingBytes;
  }
  return out;
}
