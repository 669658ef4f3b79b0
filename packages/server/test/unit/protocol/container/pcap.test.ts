import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  PCAP_GLOBAL_HEADER_BYTES,
  PCAP_RECORD_OVERHEAD_BYTES,
  PcapReader,
  encodePcapGlobalHeader,
  encodePcapRecord,
  ipv4HeaderChecksum,
  type PcapPacket,
} from '../../../../src/protocol/container/pcap.js';
import { buildPcapFile } from '../../../support/audio.js';

const payloadA = Uint8Array.from([0x80, 0x00, 0x00, 0x01, 0, 0, 0, 160, 0, 0, 0, 7, 0xff, 0xfe, 0xfd]);
const payloadB = Uint8Array.from([0x80, 0x08, 0x00, 0x02, 0, 0, 1, 64, 0, 0, 0, 7, 0xd5]);

function sampleFile(): Uint8Array {
  return buildPcapFile([
    {
      timestampUs: 1_700_000_000_123_456,
      datagram: payloadA,
      sourceAddress: '10.1.2.3',
      sourcePort: 16384,
      destinationAddress: '192.168.0.9',
      destinationPort: 32768,
    },
    {
      timestampUs: 1_700_000_000_143_999,
      datagram: payloadB,
      sourceAddress: '10.1.2.3',
      sourcePort: 16384,
      destinationAddress: '192.168.0.9',
      destinationPort: 32768,
    },
  ]);
}

function readAll(chunks: Uint8Array[]): { packets: PcapPacket[]; reader: PcapReader; tail: number } {
  const reader = new PcapReader();
  const packets = chunks.flatMap((chunk) => reader.push(chunk));
  return { packets, reader, tail: reader.end().truncatedTailBytes };
}

function copy(packet: PcapPacket): object {
  return { ...packet, payload: [...packet.payload] };
}

describe('encodePcapGlobalHeader', () => {
  it('writes the little-endian microsecond header with snaplen 65535 and LINKTYPE_RAW', () => {
    assert.deepEqual(
      [...encodePcapGlobalHeader()],
      [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 101, 0, 0, 0],
    );
  });
});

describe('encodePcapRecord', () => {
  it('writes the record header, a valid IPv4 header, a UDP header and the payload', () => {
    const target = new Uint8Array(200).fill(0xee);
    const written = encodePcapRecord(target, 10, {
      timestampUs: 1_700_000_000_123_456,
      sourceAddress: '10.1.2.3',
      sourcePort: 16384,
      destinationAddress: '192.168.0.9',
      destinationPort: 32768,
      payload: payloadA,
    });
    assert.equal(written, PCAP_RECORD_OVERHEAD_BYTES + payloadA.length);
    assert.equal(PCAP_RECORD_OVERHEAD_BYTES, 44);
    const view = new DataView(target.buffer, 10);
    assert.equal(view.getUint32(0, true), 1_700_000_000);
    assert.equal(view.getUint32(4, true), 123_456);
    assert.equal(view.getUint32(8, true), 28 + payloadA.length);
    assert.equal(view.getUint32(12, true), 28 + payloadA.length);
    // IPv4 header at 16.
    assert.equal(view.getUint8(16), 0x45);
    assert.equal(view.getUint16(18), 28 + payloadA.length);
    assert.equal(view.getUint8(16 + 9), 17);
    assert.deepEqual([...target.subarray(10 + 28, 10 + 36)], [10, 1, 2, 3, 192, 168, 0, 9]);
    // A header with a correct checksum sums to 0xffff, so the checksum over it is zero.
    assert.notEqual(view.getUint16(16 + 10), 0);
    assert.equal(ipv4HeaderChecksum(target, 10 + 16), 0);
    // UDP header at 36.
    assert.equal(view.getUint16(36), 16384);
    assert.equal(view.getUint16(38), 32768);
    assert.equal(view.getUint16(40), 8 + payloadA.length);
    assert.equal(view.getUint16(42), 0);
    assert.deepEqual([...target.subarray(10 + 44, 10 + written)], [...payloadA]);
    // Nothing outside the record was touched.
    assert.equal(target[9], 0xee);
    assert.equal(target[10 + written], 0xee);
  });

  it('computes the RFC 1071 example checksum', () => {
    // The header from RFC 1071's companion example (Wikipedia "IPv4 header checksum"): b861.
    const header = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0,
      0xa8, 0x00, 0xc7,
    ]);
    assert.equal(ipv4HeaderChecksum(header, 0), 0xb861);
  });

  it('writes a payload slice and 0.0.0.0 for addresses that are not dotted IPv4', () => {
    for (const address of [
      '::1',
      '2001:db8::1',
      'host.example',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '1..2.3',
      '',
    ]) {
      const target = new Uint8Array(64).fill(0xaa);
      const written = encodePcapRecord(target, 0, {
        timestampUs: 0,
        sourceAddress: address,
        sourcePort: 1,
        destinationAddress: '127.0.0.1',
        destinationPort: 2,
        payload: payloadA,
        payloadOffset: 12,
        payloadLength: 2,
      });
      assert.equal(written, 46);
      assert.deepEqual([...target.subarray(28, 36)], [0, 0, 0, 0, 127, 0, 0, 1], address);
      assert.deepEqual([...target.subarray(44, 46)], [0xff, 0xfe]);
    }
  });

  it('throws a RangeError when the record does not fit', () => {
    const record = {
      timestampUs: 0,
      sourceAddress: '1.1.1.1',
      sourcePort: 1,
      destinationAddress: '1.1.1.1',
      destinationPort: 1,
      payload: payloadA,
    };
    assert.throws(() => encodePcapRecord(new Uint8Array(58), 0, record), RangeError);
    assert.throws(
      () => encodePcapRecord(new Uint8Array(100), 0, { ...record, payloadLength: 99 }),
      RangeError,
    );
    assert.throws(
      () => encodePcapRecord(new Uint8Array(70000), 0, { ...record, payload: new Uint8Array(65508) }),
      RangeError,
    );
    assert.equal(encodePcapRecord(new Uint8Array(59), 0, record), 59);
  });
});

describe('PcapReader', () => {
  it('reads back what the writer wrote', () => {
    const { packets, reader, tail } = readAll([sampleFile()]);
    assert.equal(tail, 0);
    assert.equal(reader.error, undefined);
    assert.deepEqual(reader.stats, { records: 2, packets: 2, skippedRecords: 0 });
    assert.deepEqual(packets.map(copy), [
      {
        timestampUs: 1_700_000_000_123_456,
        sourceAddress: '10.1.2.3',
        sourcePort: 16384,
        destinationAddress: '192.168.0.9',
        destinationPort: 32768,
        payload: [...payloadA],
      },
      {
        timestampUs: 1_700_000_000_143_999,
        sourceAddress: '10.1.2.3',
        sourcePort: 16384,
        destinationAddress: '192.168.0.9',
        destinationPort: 32768,
        payload: [...payloadB],
      },
    ]);
  });

  it('gives the same packets whatever the chunking', () => {
    const file = sampleFile();
    const whole = readAll([file]).packets.map(copy);
    const oneByte = readAll([...file].map((b) => Uint8Array.of(b)));
    assert.deepEqual(oneByte.packets.map(copy), whole);
    assert.equal(oneByte.tail, 0);
    for (let split = 1; split < file.length; split += 3) {
      const result = readAll([file.subarray(0, split), new Uint8Array(0), file.subarray(split)]);
      assert.deepEqual(result.packets.map(copy), whole, `split at ${split}`);
      assert.equal(result.reader.consumedBytes, file.length);
    }
  });

  it('reports a torn tail instead of failing', () => {
    const file = sampleFile();
    for (const cut of [1, 10, 16, 20, 30]) {
      const { packets, reader, tail } = readAll([file.subarray(0, file.length - cut)]);
      assert.equal(packets.length, 1, `cut ${cut}`);
      assert.equal(reader.error, undefined);
      assert.equal(
        tail,
        file.length - cut - PCAP_GLOBAL_HEADER_BYTES - (PCAP_RECORD_OVERHEAD_BYTES + payloadA.length),
      );
      assert.equal(
        reader.consumedBytes,
        PCAP_GLOBAL_HEADER_BYTES + PCAP_RECORD_OVERHEAD_BYTES + payloadA.length,
      );
    }
    assert.equal(readAll([file.subarray(0, 10)]).tail, 10);
    assert.equal(readAll([]).tail, 0);
  });

  it('fails with a typed error on a wrong magic number', () => {
    const file = sampleFile();
    file[0] = 0x00;
    const { packets, reader, tail } = readAll([file]);
    assert.equal(packets.length, 0);
    assert.equal(reader.error?.code, 'VERBATIM_ERR_PCAP_MAGIC');
    assert.equal(tail, 0);
    assert.deepEqual(reader.push(sampleFile()), []);
  });

  it('fails with a typed error on an unsupported link type', () => {
    const file = sampleFile();
    file[20] = 105; // IEEE 802.11.
    const { reader } = readAll([file]);
    assert.equal(reader.error?.code, 'VERBATIM_ERR_PCAP_LINK_TYPE');
  });

  it('fails on an impossible record length, keeping the packets before it', () => {
    const file = sampleFile();
    const second = PCAP_GLOBAL_HEADER_BYTES + PCAP_RECORD_OVERHEAD_BYTES + payloadA.length;
    new DataView(file.buffer).setUint32(second + 8, 0x7fffffff, true);
    const { packets, reader } = readAll([file.subarray(0, second + 5), file.subarray(second + 5)]);
    assert.equal(packets.length, 1);
    assert.equal(reader.error?.code, 'VERBATIM_ERR_PCAP_RECORD_LENGTH');
  });

  it('skips and counts records that are not IPv4 UDP', () => {
    const file = sampleFile();
    const ip = PCAP_GLOBAL_HEADER_BYTES + 16;
    file[ip + 9] = 6; // TCP.
    const { packets, reader } = readAll([file]);
    assert.equal(packets.length, 1);
    assert.deepEqual(reader.stats, { records: 2, packets: 1, skippedRecords: 1 });
  });

  it('skips fragments and records whose UDP length lies', () => {
    const fragment = sampleFile();
    fragment[PCAP_GLOBAL_HEADER_BYTES + 16 + 6] = 0x20; // More Fragments.
    assert.equal(readAll([fragment]).reader.stats.skippedRecords, 1);
    const lying = sampleFile();
    lying[PCAP_GLOBAL_HEADER_BYTES + 16 + 20 + 5] = 200; // UDP length past the datagram.
    assert.equal(readAll([lying]).reader.stats.skippedRecords, 1);
  });

  it('reads big-endian nanosecond captures with Ethernet framing', () => {
    const header = new DataView(new ArrayBuffer(24));
    header.setUint32(0, 0xa1b23c4d);
    header.setUint16(4, 2);
    header.setUint16(6, 4);
    header.setUint32(16, 65535);
    header.setUint32(20, 1);
    const frame = new Uint8Array(14 + 4 + 28 + 3);
    frame.set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x81, 0x00, 0x00, 0x05, 0x08, 0x00]);
    const ip = 18;
    frame.set([0x45, 0, 0, 31, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], ip);
    frame.set([0x13, 0x88, 0x13, 0x89, 0, 11, 0, 0, 7, 8, 9], ip + 20);
    const record = new DataView(new ArrayBuffer(16));
    record.setUint32(0, 1_000);
    record.setUint32(4, 999_999_999);
    record.setUint32(8, frame.length);
    record.setUint32(12, frame.length);
    const { packets, reader } = readAll([
      new Uint8Array(header.buffer),
      new Uint8Array(record.buffer),
      frame,
    ]);
    assert.equal(reader.linkType, 1);
    assert.deepEqual(packets.map(copy), [
      {
        timestampUs: 1_000_999_999,
        sourceAddress: '10.0.0.1',
        sourcePort: 5000,
        destinationAddress: '10.0.0.2',
        destinationPort: 5001,
        payload: [7, 8, 9],
      },
    ]);
  });
});
