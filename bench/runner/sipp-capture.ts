import { writeFile } from 'node:fs/promises';
import { encodeMulawSample } from '../../packages/server/src/protocol/codec/g711.js';

/**
 * The RTP capture sipp replays with play_pcap_audio: classic pcap with the Ethernet link type (the
 * shape of sipp's own g711a.pcap), IPv4/UDP, one G.711 µ-law packet per 20 ms. sipp rewrites
 * addresses and ports and keeps the RTP bytes (so the SSRC and sequence numbers) and the pacing.
 */

const ETHERNET_BYTES = 14;
const IPV4_BYTES = 20;
const UDP_BYTES = 8;
const RTP_HEADER_BYTES = 12;
const SAMPLES_PER_PACKET = 160;

function checksum(bytes: Buffer, offset: number, length: number): number {
  let sum = 0;
  for (let i = offset; i < offset + length; i += 2) {
    sum += bytes.readUInt16BE(i);
  }
  while (sum > 0xffff) {
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  return ~sum & 0xffff;
}

export async function writeSippCapture(
  path: string,
  options: { readonly ssrc: number; readonly packets: number; readonly frequencyHz: number },
): Promise<void> {
  const payload = Buffer.alloc(SAMPLES_PER_PACKET);
  for (let i = 0; i < SAMPLES_PER_PACKET; i++) {
    payload[i] = encodeMulawSample(
      Math.round(8000 * Math.sin((2 * Math.PI * options.frequencyHz * i) / 8000)),
    );
  }
  const parts: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  parts.push(global);
  const udpLength = UDP_BYTES + RTP_HEADER_BYTES + SAMPLES_PER_PACKET;
  const ipLength = IPV4_BYTES + udpLength;
  const frameLength = ETHERNET_BYTES + ipLength;
  for (let i = 0; i < options.packets; i++) {
    const record = Buffer.alloc(16 + frameLength);
    const atUs = i * 20_000;
    record.writeUInt32LE(1_700_000_000 + Math.floor(atUs / 1e6), 0);
    record.writeUInt32LE(atUs % 1e6, 4);
    record.writeUInt32LE(frameLength, 8);
    record.writeUInt32LE(frameLength, 12);
    const frame = 16;
    record.writeUInt16BE(0x0800, frame + 12);
    const ip = frame + ETHERNET_BYTES;
    record[ip] = 0x45;
    record.writeUInt16BE(ipLength, ip + 2);
    record[ip + 8] = 64;
    record[ip + 9] = 17;
    record.set([10, 0, 0, 1], ip + 12);
    record.set([10, 0, 0, 2], ip + 16);
    record.writeUInt16BE(checksum(record, ip, IPV4_BYTES), ip + 10);
    const udp = ip + IPV4_BYTES;
    record.writeUInt16BE(16_000, udp);
    record.writeUInt16BE(6000, udp + 2);
    record.writeUInt16BE(udpLength, udp + 4);
    const rtp = udp + UDP_BYTES;
    record[rtp] = 0x80;
    record[rtp + 1] = i === 0 ? 0x80 : 0; // Marker on the first packet; payload type 0 (PCMU).
    record.writeUInt16BE(i & 0xffff, rtp + 2);
    record.writeUInt32BE((i * SAMPLES_PER_PACKET) >>> 0, rtp + 4);
    record.writeUInt32BE(options.ssrc >>> 0, rtp + 8);
    payload.copy(record, rtp + RTP_HEADER_BYTES);
    parts.push(record);
  }
  await writeFile(path, Buffer.concat(parts));
}
