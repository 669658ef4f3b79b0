import { writeFileSync } from 'node:fs';

/**
 * Writes an RTP capture in the shape SIPp's `play_pcap_audio` replays: classic pcap, Ethernet
 * link type (as SIPp's own g711a.pcap), IPv4/UDP, one record per packet at real-time spacing.
 * SIPp rewrites addresses and ports and keeps the RTP bytes and the timing.
 */
export interface RtpForPcap {
  readonly payloadType: number;
  readonly ssrc: number;
  /** One G.711 frame per packet (160 bytes = 20 ms at 8 kHz). */
  readonly frames: readonly Uint8Array[];
  readonly packetMs?: number;
  /**
   * A loss burst: before the frame of this index, `packets` packets are missing (their sequence
   * numbers, timestamps and time pass, nothing is sent), as if the network had dropped them.
   */
  readonly hole?: { readonly beforeFrame: number; readonly packets: number };
}

export function writeSippRtpPcap(path: string, rtp: RtpForPcap): void {
  const packetMs = rtp.packetMs ?? 20;
  const records: Buffer[] = [];
  const global = Buffer.alloc(24);
  global.writeUInt32LE(0xa1b2c3d4, 0);
  global.writeUInt16LE(2, 4);
  global.writeUInt16LE(4, 6);
  global.writeUInt32LE(65535, 16);
  global.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
  records.push(global);
  let timestamp = 0;
  let missing = 0;
  for (const [index, frame] of rtp.frames.entries()) {
    if (rtp.hole !== undefined && index === rtp.hole.beforeFrame) {
      missing = rtp.hole.packets;
      timestamp += missing * frame.length;
    }
    // The packet's place in the stream as sent: sequence number and time.
    const i = index + missing;
    const rtpPacket = Buffer.alloc(12 + frame.length);
    rtpPacket[0] = 0x80;
    rtpPacket[1] = (index === 0 ? 0x80 : 0) | rtp.payloadType;
    rtpPacket.writeUInt16BE(i & 0xffff, 2);
    rtpPacket.writeUInt32BE(timestamp >>> 0, 4);
    rtpPacket.writeUInt32BE(rtp.ssrc >>> 0, 8);
    Buffer.from(frame).copy(rtpPacket, 12);
    timestamp += frame.length;
    const udpLength = 8 + rtpPacket.length;
    const ipLength = 20 + udpLength;
    const frameBytes = Buffer.alloc(14 + ipLength);
    frameBytes.writeUInt16BE(0x0800, 12);
    const ip = 14;
    frameBytes[ip] = 0x45;
    frameBytes.writeUInt16BE(ipLength, ip + 2);
    frameBytes[ip + 8] = 64;
    frameBytes[ip + 9] = 17;
    Buffer.from([10, 0, 0, 1]).copy(frameBytes, ip + 12);
    Buffer.from([10, 0, 0, 2]).copy(frameBytes, ip + 16);
    let sum = 0;
    for (let o = ip; o < ip + 20; o += 2) {
      sum += frameBytes.readUInt16BE(o);
    }
    while (sum > 0xffff) {
      sum = (sum & 0xffff) + (sum >>> 16);
    }
    frameBytes.writeUInt16BE(~sum & 0xffff, ip + 10);
    const udp = ip + 20;
    frameBytes.writeUInt16BE(16000, udp);
    frameBytes.writeUInt16BE(6000, udp + 2);
    frameBytes.writeUInt16BE(udpLength, udp + 4);
    rtpPacket.copy(frameBytes, udp + 8);
    const header = Buffer.alloc(16);
    const atUs = i * packetMs * 1000;
    header.writeUInt32LE(1_700_000_000 + Math.floor(atUs / 1e6), 0);
    header.writeUInt32LE(atUs % 1e6, 4);
    header.writeUInt32LE(frameBytes.length, 8);
    header.writeUInt32LE(frameBytes.length, 12);
    records.push(header, frameBytes);
  }
  writeFileSync(path, Buffer.concat(records));
}
