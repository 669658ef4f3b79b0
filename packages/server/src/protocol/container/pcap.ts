import type { ParseError } from '../result.js';

/**
 * Track files are classic libpcap captures (https://www.tcpdump.org/manpages/pcap-savefile.5.html,
 * also draft-ietf-opsawg-pcap): a 24-byte global header, then one record per packet.
 *
 *    Global header (written little-endian, microsecond timestamps):
 *    +-------------------------------+
 *    | magic 0xa1b2c3d4              |  4
 *    | major 2       | minor 4       |  2 + 2
 *    | thiszone (0)                  |  4
 *    | sigfigs (0)                   |  4
 *    | snaplen 65535                 |  4
 *    | link type 101 (LINKTYPE_RAW)  |  4
 *    +-------------------------------+
 *    Record:
 *    +-------------------------------+
 *    | ts_sec | ts_usec | incl_len | orig_len |  4 × 4
 *    | IPv4 header (20 bytes, RFC 791 §3.1, header checksum set)
 *    | UDP header (8 bytes, RFC 768; checksum 0 = none, allowed over IPv4)
 *    | the RTP datagram, exactly as received
 *    +-------------------------------+
 *
 * LINKTYPE_RAW (https://www.tcpdump.org/linktypes.html) lets Wireshark and tshark decode each
 * record as IP without an invented Ethernet header, and records are self-delimiting, so a torn tail
 * after a crash is recognised by a record length that runs past the end of the file.
 */

export const PCAP_GLOBAL_HEADER_BYTES = 24;
export const PCAP_RECORD_HEADER_BYTES = 16;
export const IPV4_HEADER_BYTES = 20;
export const UDP_HEADER_BYTES = 8;
export const PCAP_RECORD_OVERHEAD_BYTES = PCAP_RECORD_HEADER_BYTES + IPV4_HEADER_BYTES + UDP_HEADER_BYTES;

export const PCAP_MAGIC_MICROSECONDS = 0xa1b2c3d4;
export const PCAP_MAGIC_NANOSECONDS = 0xa1b23c4d;
export const PCAP_SNAPLEN = 65535;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV4 = 228;
/** Largest UDP payload an IPv4 datagram can carry (65535 − 20 − 8). */
export const PCAP_MAX_PAYLOAD_BYTES = 65535 - IPV4_HEADER_BYTES - UDP_HEADER_BYTES;
/** Records longer than this are corruption, not packets (libpcap's MAXIMUM_SNAPLEN). */
const MAX_RECORD_BYTES = 262144;

export const PCAP_ERR_MAGIC = 'VERBATIM_ERR_PCAP_MAGIC';
export const PCAP_ERR_LINK_TYPE = 'VERBATIM_ERR_PCAP_LINK_TYPE';
export const PCAP_ERR_RECORD_LENGTH = 'VERBATIM_ERR_PCAP_RECORD_LENGTH';

const IP_PROTOCOL_UDP = 17;

/** The global header of a Verbatim track file. */
export function encodePcapGlobalHeader(): Uint8Array {
  const out = new Uint8Array(PCAP_GLOBAL_HEADER_BYTES);
  const view = new DataView(out.buffer);
  view.setUint32(0, PCAP_MAGIC_MICROSECONDS, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setInt32(8, 0, true);
  view.setUint32(12, 0, true);
  view.setUint32(16, PCAP_SNAPLEN, true);
  view.setUint32(20, LINKTYPE_RAW, true);
  return out;
}

export interface PcapRecordInput {
  /** Arrival time, epoch microseconds. */
  timestampUs: number;
  /** Dotted IPv4; anything else (IPv6, a host name, garbage) is written as 0.0.0.0. */
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  /** The RTP datagram, or the buffer holding it when payloadOffset/payloadLength are given. */
  payload: Uint8Array;
  payloadOffset?: number;
  payloadLength?: number;
}

/** The bytes encodePcapRecord writes for a payload of `payloadLength` bytes. */
export function pcapRecordBytes(payloadLength: number): number {
  return PCAP_RECORD_OVERHEAD_BYTES + payloadLength;
}

function writeUint32Le(target: Uint8Array, offset: number, value: number): void {
  target[offset] = value & 0xff;
  target[offset + 1] = (value >>> 8) & 0xff;
  target[offset + 2] = (value >>> 16) & 0xff;
  target[offset + 3] = (value >>> 24) & 0xff;
}

function writeUint16Be(target: Uint8Array, offset: number, value: number): void {
  target[offset] = (value >>> 8) & 0xff;
  target[offset + 1] = value & 0xff;
}

/**
 * Writes the four octets of a dotted-quad IPv4 address at `offset`, or 0.0.0.0 when `address` is
 * not one. It scans characters instead of splitting so the media worker's hot path allocates nothing.
 */
function writeIpv4Address(target: Uint8Array, offset: number, address: string): void {
  let octet = 0;
  let digits = 0;
  let index = 0;
  let valid = address.length >= 7 && address.length <= 15;
  for (let i = 0; valid && i <= address.length; i++) {
    const code = i < address.length ? address.charCodeAt(i) : 0x2e;
    if (code === 0x2e) {
      if (digits === 0 || index > 3) {
        valid = false;
      } else {
        target[offset + index] = octet;
        index++;
        octet = 0;
        digits = 0;
      }
    } else if (code >= 0x30 && code <= 0x39 && digits < 3) {
      octet = octet * 10 + (code - 0x30);
      digits++;
      valid = octet <= 255;
    } else {
      valid = false;
    }
  }
  if (!valid || index !== 4) {
    target[offset] = 0;
    target[offset + 1] = 0;
    target[offset + 2] = 0;
    target[offset + 3] = 0;
  }
}

/** RFC 791 §3.1 / RFC 1071: the ones' complement of the ones' complement sum of the header words. */
export function ipv4HeaderChecksum(
  bytes: Uint8Array,
  offset: number,
  headerBytes = IPV4_HEADER_BYTES,
): number {
  let sum = 0;
  for (let i = 0; i < headerBytes; i += 2) {
    sum += ((bytes[offset + i] ?? 0) << 8) | (bytes[offset + i + 1] ?? 0);
  }
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

/**
 * Writes one record (record header, IPv4 and UDP headers, payload) into `target` at `offset` and
 * returns the number of bytes written. It allocates nothing, so the media worker can pack many
 * records into one buffer and write them with a single system call. Throws a RangeError when the
 * record does not fit in `target` or the payload is larger than a UDP datagram can be: both are
 * bugs in the caller, not hostile input.
 */
export function encodePcapRecord(target: Uint8Array, offset: number, record: PcapRecordInput): number {
  const payloadOffset = record.payloadOffset ?? 0;
  const payloadLength = record.payloadLength ?? record.payload.length - payloadOffset;
  if (payloadOffset < 0 || payloadLength < 0 || payloadOffset + payloadLength > record.payload.length) {
    throw new RangeError('pcap record payload range lies outside the payload buffer');
  }
  if (payloadLength > PCAP_MAX_PAYLOAD_BYTES) {
    throw new RangeError(`a ${payloadLength}-byte payload does not fit in one IPv4 UDP datagram`);
  }
  const recordBytes = PCAP_RECORD_OVERHEAD_BYTES + payloadLength;
  if (offset < 0 || offset + recordBytes > target.length) {
    throw new RangeError('pcap record does not fit in the target buffer');
  }
  const capturedBytes = IPV4_HEADER_BYTES + UDP_HEADER_BYTES + payloadLength;
  const timestampUs = Math.max(0, Math.floor(record.timestampUs));
  const seconds = Math.floor(timestampUs / 1_000_000);
  writeUint32Le(target, offset, seconds);
  writeUint32Le(target, offset + 4, timestampUs - seconds * 1_000_000);
  writeUint32Le(target, offset + 8, capturedBytes);
  writeUint32Le(target, offset + 12, capturedBytes);

  const ip = offset + PCAP_RECORD_HEADER_BYTES;
  target[ip] = 0x45; // Version 4, header length 5 words.
  target[ip + 1] = 0; // DSCP/ECN.
  writeUint16Be(target, ip + 2, capturedBytes);
  writeUint16Be(target, ip + 4, 0); // Identification: unused, since the datagram is never fragmented.
  writeUint16Be(target, ip + 6, 0x4000); // Don't Fragment, fragment offset 0.
  target[ip + 8] = 64; // TTL.
  target[ip + 9] = IP_PROTOCOL_UDP;
  writeUint16Be(target, ip + 10, 0);
  writeIpv4Address(target, ip + 12, record.sourceAddress);
  writeIpv4Address(target, ip + 16, record.destinationAddress);
  writeUint16Be(target, ip + 10, ipv4HeaderChecksum(target, ip));

  const udp = ip + IPV4_HEADER_BYTES;
  writeUint16Be(target, udp, record.sourcePort);
  writeUint16Be(target, udp + 2, record.destinationPort);
  writeUint16Be(target, udp + 4, UDP_HEADER_BYTES + payloadLength);
  // RFC 768: an all-zero checksum means the sender computed none, which IPv4 allows; Wireshark
  // then skips validation instead of flagging every packet.
  writeUint16Be(target, udp + 6, 0);

  target.set(record.payload.subarray(payloadOffset, payloadOffset + payloadLength), udp + UDP_HEADER_BYTES);
  return recordBytes;
}

/** One UDP datagram read back from a capture. */
export interface PcapPacket {
  /** Capture time, epoch microseconds (nanosecond captures are truncated to microseconds). */
  timestampUs: number;
  sourceAddress: string;
  sourcePort: number;
  destinationAddress: string;
  destinationPort: number;
  /** The UDP payload (the RTP datagram): a view into the pushed chunk, not a copy. */
  payload: Uint8Array;
}

export interface PcapReaderStats {
  /** Complete records read. */
  readonly records: number;
  /** Records returned as packets. */
  readonly packets: number;
  /** Complete records that were not an unfragmented IPv4 UDP datagram, or whose headers lied. */
  readonly skippedRecords: number;
}

/**
 * An incremental, allocation-light pcap reader: feed it the file in chunks of any size (as an fs
 * stream delivers them) and it returns the UDP datagrams of the records completed by each chunk.
 *
 * Error model: a file that is not a pcap capture (unknown magic, unsupported link type) or a
 * record whose length is impossible puts the reader in a failed state: `error` is set, that `push`
 * and every later one return what was complete before the fault, and nothing more. A partial
 * record at the end of the input (a torn tail after a crash, or a file still being written) is
 * not an error: `end()` reports its size. Records that are complete but are not IPv4 UDP are
 * skipped and counted in `stats`.
 *
 * It reads little- and big-endian files with microsecond or nanosecond timestamps, and the link
 * types raw IP (101, and the platform values 12 and 14), IPv4 (228), Ethernet (1, with one
 * 802.1Q tag) and Linux cooked capture (113).
 */
export class PcapReader {
  #carry: Uint8Array | undefined;
  #headerDone = false;
  #littleEndian = true;
  #nanoseconds = false;
  #linkType = LINKTYPE_RAW;
  #error: ParseError | undefined;
  #consumedBytes = 0;
  #records = 0;
  #packets = 0;
  #skippedRecords = 0;
  // The last formatted source and destination addresses: a track has one of each, so caching
  // them avoids building two strings per packet.
  readonly #addressKeys = [-1, -1];
  readonly #addressTexts = ['0.0.0.0', '0.0.0.0'];

  get error(): ParseError | undefined {
    return this.#error;
  }

  /** The link type of the capture, known once the global header has been read. */
  get linkType(): number | undefined {
    return this.#headerDone ? this.#linkType : undefined;
  }

  get stats(): PcapReaderStats {
    return { records: this.#records, packets: this.#packets, skippedRecords: this.#skippedRecords };
  }

  push(chunk: Uint8Array): PcapPacket[] {
    const out: PcapPacket[] = [];
    if (this.#error !== undefined) {
      return out;
    }
    let offset = 0;
    // Complete the unit (global header or record) that straddles the previous chunk boundary by
    // copying only the bytes it still needs, so the bulk of every chunk is parsed in place.
    while (this.#carry !== undefined) {
      const carry: Uint8Array = this.#carry;
      const needed = this.#unitLength(carry, 0, carry.length);
      if (needed < 0) {
        return out;
      }
      if (carry.length >= needed) {
        this.#carry = undefined;
        this.#parse(carry, 0, out);
        break;
      }
      if (offset >= chunk.length) {
        return out;
      }
      const take = Math.min(needed - carry.length, chunk.length - offset);
      const grown = new Uint8Array(carry.length + take);
      grown.set(carry, 0);
      grown.set(chunk.subarray(offset, offset + take), carry.length);
      this.#carry = grown;
      offset += take;
    }
    // The parse calls above may have failed; a method call keeps TypeScript from assuming the
    // field still holds what the check at the top saw.
    if (this.#failed()) {
      return out;
    }
    const stop = this.#parse(chunk, offset, out);
    if (!this.#failed() && stop < chunk.length) {
      this.#carry = chunk.slice(stop);
    }
    return out;
  }

  #failed(): boolean {
    return this.#error !== undefined;
  }

  /** Call once after the last chunk: reports the size of an incomplete unit left at the end. */
  end(): { truncatedTailBytes: number } {
    const truncatedTailBytes = this.#error === undefined ? (this.#carry?.length ?? 0) : 0;
    this.#carry = undefined;
    return { truncatedTailBytes };
  }

  /** Bytes of complete units consumed so far (where a torn file should be cut on recovery). */
  get consumedBytes(): number {
    return this.#consumedBytes;
  }

  /**
   * The length of the unit starting at `offset`, when the available bytes say it; the minimum
   * needed to know it otherwise; -1 after setting an error.
   */
  #unitLength(bytes: Uint8Array, offset: number, available: number): number {
    if (!this.#headerDone) {
      return PCAP_GLOBAL_HEADER_BYTES;
    }
    if (available - offset < PCAP_RECORD_HEADER_BYTES) {
      return PCAP_RECORD_HEADER_BYTES;
    }
    const capturedBytes = this.#readUint32(bytes, offset + 8);
    if (capturedBytes > MAX_RECORD_BYTES) {
      this.#error = {
        code: PCAP_ERR_RECORD_LENGTH,
        message: `pcap record claims ${capturedBytes} captured bytes`,
        offset: this.#consumedBytes,
      };
      return -1;
    }
    return PCAP_RECORD_HEADER_BYTES + capturedBytes;
  }

  /** Parses complete units from `offset`; returns where the first incomplete one starts. */
  #parse(bytes: Uint8Array, start: number, out: PcapPacket[]): number {
    let offset = start;
    const end = bytes.length;
    while (offset < end) {
      const unitBytes = this.#unitLength(bytes, offset, end);
      if (unitBytes < 0 || offset + unitBytes > end) {
        return offset;
      }
      if (!this.#headerDone) {
        if (!this.#parseGlobalHeader(bytes, offset)) {
          return offset;
        }
      } else {
        this.#records++;
        this.#parseRecord(bytes, offset, unitBytes, out);
      }
      offset += unitBytes;
      this.#consumedBytes += unitBytes;
    }
    return offset;
  }

  #readUint32(bytes: Uint8Array, offset: number): number {
    const b0 = bytes[offset] ?? 0;
    const b1 = bytes[offset + 1] ?? 0;
    const b2 = bytes[offset + 2] ?? 0;
    const b3 = bytes[offset + 3] ?? 0;
    return this.#littleEndian
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0;
  }

  #parseGlobalHeader(bytes: Uint8Array, offset: number): boolean {
    this.#littleEndian = true;
    const magicLe = this.#readUint32(bytes, offset);
    this.#littleEndian = false;
    const magicBe = this.#readUint32(bytes, offset);
    if (magicLe === PCAP_MAGIC_MICROSECONDS || magicLe === PCAP_MAGIC_NANOSECONDS) {
      this.#littleEndian = true;
      this.#nanoseconds = magicLe === PCAP_MAGIC_NANOSECONDS;
    } else if (magicBe === PCAP_MAGIC_MICROSECONDS || magicBe === PCAP_MAGIC_NANOSECONDS) {
      this.#nanoseconds = magicBe === PCAP_MAGIC_NANOSECONDS;
    } else {
      this.#error = {
        code: PCAP_ERR_MAGIC,
        message: `not a pcap capture (magic 0x${magicBe.toString(16).padStart(8, '0')})`,
        offset: 0,
      };
      return false;
    }
    // The upper bits of the link-type field may carry FCS information (pcap-savefile(5)).
    const linkType = this.#readUint32(bytes, offset + 20) & 0x0fffffff;
    if (
      linkType !== LINKTYPE_RAW &&
      linkType !== 12 &&
      linkType !== 14 &&
      linkType !== LINKTYPE_IPV4 &&
      linkType !== LINKTYPE_ETHERNET &&
      linkType !== LINKTYPE_LINUX_SLL
    ) {
      this.#error = {
        code: PCAP_ERR_LINK_TYPE,
        message: `unsupported pcap link type ${linkType}`,
        offset: 20,
      };
      return false;
    }
    this.#linkType = linkType;
    this.#headerDone = true;
    return true;
  }

  #parseRecord(bytes: Uint8Array, offset: number, unitBytes: number, out: PcapPacket[]): void {
    const seconds = this.#readUint32(bytes, offset);
    const fraction = this.#readUint32(bytes, offset + 4);
    const end = offset + unitBytes;
    let ip = offset + PCAP_RECORD_HEADER_BYTES;
    if (this.#linkType === LINKTYPE_ETHERNET) {
      let etherType = ((bytes[ip + 12] ?? 0) << 8) | (bytes[ip + 13] ?? 0);
      ip += 14;
      if (etherType === 0x8100) {
        etherType = ((bytes[ip + 2] ?? 0) << 8) | (bytes[ip + 3] ?? 0);
        ip += 4;
      }
      if (etherType !== 0x0800) {
        this.#skippedRecords++;
        return;
      }
    } else if (this.#linkType === LINKTYPE_LINUX_SLL) {
      const protocol = ((bytes[ip + 14] ?? 0) << 8) | (bytes[ip + 15] ?? 0);
      ip += 16;
      if (protocol !== 0x0800) {
        this.#skippedRecords++;
        return;
      }
    }
    if (ip + IPV4_HEADER_BYTES > end) {
      this.#skippedRecords++;
      return;
    }
    const versionAndLength = bytes[ip] ?? 0;
    const ipHeaderBytes = (versionAndLength & 0x0f) * 4;
    const totalLength = ((bytes[ip + 2] ?? 0) << 8) | (bytes[ip + 3] ?? 0);
    const flagsAndFragment = ((bytes[ip + 6] ?? 0) << 8) | (bytes[ip + 7] ?? 0);
    const udp = ip + ipHeaderBytes;
    if (
      versionAndLength >>> 4 !== 4 ||
      ipHeaderBytes < IPV4_HEADER_BYTES ||
      bytes[ip + 9] !== IP_PROTOCOL_UDP ||
      // A fragment (More Fragments set or a non-zero offset) holds no complete datagram.
      (flagsAndFragment & 0x3fff) !== 0 ||
      totalLength < ipHeaderBytes + UDP_HEADER_BYTES ||
      ip + totalLength > end
    ) {
      this.#skippedRecords++;
      return;
    }
    const udpLength = ((bytes[udp + 4] ?? 0) << 8) | (bytes[udp + 5] ?? 0);
    if (udpLength < UDP_HEADER_BYTES || udp + udpLength > ip + totalLength) {
      this.#skippedRecords++;
      return;
    }
    this.#packets++;
    out.push({
      timestampUs: seconds * 1_000_000 + (this.#nanoseconds ? Math.floor(fraction / 1000) : fraction),
      sourceAddress: this.#address(bytes, ip + 12, 0),
      sourcePort: ((bytes[udp] ?? 0) << 8) | (bytes[udp + 1] ?? 0),
      destinationAddress: this.#address(bytes, ip + 16, 1),
      destinationPort: ((bytes[udp + 2] ?? 0) << 8) | (bytes[udp + 3] ?? 0),
      payload: bytes.subarray(udp + UDP_HEADER_BYTES, udp + udpLength),
    });
  }

  /** Formats an IPv4 address, reusing the string of the previous packet when it is the same. */
  #address(bytes: Uint8Array, offset: number, slot: 0 | 1): string {
    const key =
      (((bytes[offset] ?? 0) << 24) |
        ((bytes[offset + 1] ?? 0) << 16) |
        ((bytes[offset + 2] ?? 0) << 8) |
        (bytes[offset + 3] ?? 0)) >>>
      0;
    if (key !== this.#addressKeys[slot]) {
      this.#addressKeys[slot] = key;
      this.#addressTexts[slot] = `${key >>> 24}.${(key >>> 16) & 0xff}.${(key >>> 8) & 0xff}.${key & 0xff}`;
    }
    return this.#addressTexts[slot] ?? '0.0.0.0';
  }
}
