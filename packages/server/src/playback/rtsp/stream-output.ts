import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { open } from 'node:fs/promises';
import { PcapReader } from '../../protocol/container/pcap.js';
import { parseRtpHeader, serializeRtpPacket } from '../../protocol/rtp/rtp-packet.js';
import { rtcpSenderReport, rtcpSenderReportAndBye } from '../../protocol/rtsp/rtcp.js';
import type { TimedPacket } from './packet-queues.js';

/**
 * One stream as a client receives it: the packets of a track with a continuous sequence number
 * and RTP timestamps rewritten onto the presentation's time line, and RTCP sender reports tying
 * that time line to the wall clock (so a client can line up the tracks of a session), sent over
 * the RTSP connection (interleaved) or over UDP.
 */

/** Where a stream's packets go. `send` returns false when the packet had to be dropped. */
export interface PacketSink {
  sendRtp(packet: Uint8Array): boolean;
  sendRtcp(packet: Uint8Array): void;
  /** Human-readable, for the SETUP answer's Transport header. */
  readonly transport: string;
  close(): void;
}

export interface StreamCounters {
  packets: number;
  octets: number;
  dropped: number;
}

/** A recorded timestamp this far from where its arrival puts it starts a new run (a new source). */
const REANCHOR_S = 0.5;

export class OutputStream {
  readonly streamId: number;
  readonly payloadType: number;
  readonly clockRateHz: number;
  readonly ssrc: number;
  readonly sink: PacketSink;
  readonly counters: StreamCounters = { packets: 0, octets: 0, dropped: 0 };
  /** RTP time of npt 0 (random, RFC 3550 §5.1). */
  readonly #timestampBase = randomInt(0, 0x7fffffff);
  #nextSeq = randomInt(0, 0x10000);
  #anchor: { recorded: number; out: number } | undefined;
  readonly #cname: string;

  constructor(options: {
    streamId: number;
    payloadType: number;
    clockRateHz: number;
    ssrc: number;
    sink: PacketSink;
    cname: string;
  }) {
    this.streamId = options.streamId;
    this.payloadType = options.payloadType;
    this.clockRateHz = options.clockRateHz;
    this.ssrc = options.ssrc;
    this.sink = options.sink;
    this.#cname = options.cname;
  }

  /** The sequence number the next packet will carry (RTP-Info `seq`). */
  get nextSeq(): number {
    return this.#nextSeq;
  }

  /** The RTP time of a point of the presentation (RTP-Info `rtptime`, sender reports). */
  rtpTimeAt(nptS: number): number {
    return (this.#timestampBase + Math.round(nptS * this.clockRateHz)) >>> 0;
  }

  /** After a seek or a pause the next packet's timestamp follows its place, not the previous packet. */
  restartRun(): void {
    this.#anchor = undefined;
  }

  send(packet: TimedPacket): void {
    const expected = this.rtpTimeAt(packet.offsetS);
    let timestamp: number;
    if (packet.rtpTime !== undefined) {
      timestamp = (this.#timestampBase + packet.rtpTime) >>> 0;
    } else if (packet.recordedTimestamp === undefined) {
      timestamp = expected;
    } else {
      // Recorded timestamps keep their spacing (the decoder needs it); arrival times only anchor
      // a run, as they carry the network's jitter.
      const recorded = packet.recordedTimestamp;
      if (this.#anchor !== undefined) {
        const predicted = (this.#anchor.out + ((recorded - this.#anchor.recorded) | 0)) >>> 0;
        if (Math.abs((predicted - expected) | 0) <= REANCHOR_S * this.clockRateHz) {
          timestamp = predicted;
        } else {
          this.#anchor = { recorded, out: expected };
          timestamp = expected;
        }
      } else {
        this.#anchor = { recorded, out: expected };
        timestamp = expected;
      }
    }
    const rtp = serializeRtpPacket(
      {
        marker: packet.marker,
        payloadType: this.payloadType,
        sequenceNumber: this.#nextSeq,
        timestamp,
        ssrc: this.ssrc,
      },
      packet.payload,
    );
    this.#nextSeq = (this.#nextSeq + 1) & 0xffff;
    if (this.sink.sendRtp(rtp)) {
      this.counters.packets += 1;
      this.counters.octets += packet.payload.length;
    } else {
      this.counters.dropped += 1;
    }
  }

  /** A sender report for the instant `wallClockMs`, which is npt `nptS`; with BYE when the stream ends. */
  report(wallClockMs: number, nptS: number, bye = false): void {
    const fields = {
      ssrc: this.ssrc,
      wallClockMs,
      rtpTimestamp: this.rtpTimeAt(nptS),
      packetCount: this.counters.packets,
      octetCount: this.counters.octets,
      cname: this.#cname,
    };
    this.sink.sendRtcp(bye ? rtcpSenderReportAndBye(fields) : rtcpSenderReport(fields));
  }
}

/** What the RTSP connection offers a TCP-interleaved stream. */
export interface InterleavedWriter {
  /** Writes a frame unless the connection's send buffer is full; false when dropped. */
  writeFrame(channel: number, packet: Uint8Array): boolean;
}

export function interleavedSink(writer: InterleavedWriter, channels: readonly [number, number]): PacketSink {
  return {
    transport: `RTP/AVP/TCP;unicast;interleaved=${channels[0]}-${channels[1]}`,
    sendRtp: (packet) => writer.writeFrame(channels[0], packet),
    sendRtcp: (packet) => {
      writer.writeFrame(channels[1], packet);
    },
    close: () => undefined,
  };
}

/** A pair of UDP sockets on an even port and the odd one above it (RFC 3550 §11). */
export interface UdpPair {
  readonly rtp: UdpSocket;
  readonly rtcp: UdpSocket;
  readonly port: number;
}

const UDP_PAIR_ATTEMPTS = 20;

/** Binds an even/odd port pair on `host`, chosen by the system (tries again when the odd one is taken). */
export async function bindUdpPair(host: string): Promise<UdpPair> {
  const type = host.includes(':') ? 'udp6' : 'udp4';
  for (let attempt = 0; attempt < UDP_PAIR_ATTEMPTS; attempt++) {
    const rtp = createSocket(type);
    const rtpPort = await bind(rtp, host, 0);
    if (rtpPort === undefined || rtpPort % 2 !== 0 || rtpPort === 65535) {
      rtp.close();
      continue;
    }
    const rtcp = createSocket(type);
    const rtcpPort = await bind(rtcp, host, rtpPort + 1);
    if (rtcpPort === undefined) {
      rtp.close();
      rtcp.close();
      continue;
    }
    return { rtp, rtcp, port: rtpPort };
  }
  throw new Error('no free even/odd UDP port pair for RTSP');
}

function bind(socket: UdpSocket, host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const onError = (): void => {
      resolve(undefined);
    };
    socket.once('error', onError);
    socket.bind({ address: host, port, exclusive: true }, () => {
      socket.off('error', onError);
      // A send error later (the client's port closed: ICMP unreachable) must not crash the node.
      socket.on('error', () => undefined);
      resolve(socket.address().port);
    });
  });
}

/**
 * Sends to the RTSP client's own address only (never to a `destination=` it names: that would
 * make the server a traffic reflector), at the ports of its `client_port`.
 */
export function udpSink(
  pair: UdpPair,
  clientAddress: string,
  clientPorts: readonly [number, number],
): PacketSink {
  let closed = false;
  return {
    transport: `RTP/AVP;unicast;client_port=${clientPorts[0]}-${clientPorts[1]};server_port=${pair.port}-${pair.port + 1}`,
    sendRtp: (packet) => {
      if (closed) {
        return false;
      }
      pair.rtp.send(packet, clientPorts[0], clientAddress);
      return true;
    },
    sendRtcp: (packet) => {
      if (!closed) {
        pair.rtcp.send(packet, clientPorts[1], clientAddress);
      }
    },
    close: () => {
      if (!closed) {
        closed = true;
        pair.rtp.close();
        pair.rtcp.close();
      }
    },
  };
}

/**
 * The SSRC a track was recorded with (its first packet of the track's payload type), so a replay
 * keeps the session's own source identifiers; a random one when the file has none yet.
 */
export async function recordedSsrc(filePath: string | undefined, payloadType: number): Promise<number> {
  if (filePath !== undefined) {
    try {
      const handle = await open(filePath, 'r');
      try {
        const chunk = Buffer.alloc(16 * 1024);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, 0);
        for (const packet of new PcapReader().push(chunk.subarray(0, bytesRead))) {
          const header = parseRtpHeader(packet.payload);
          if (header.ok && header.value.payloadType === payloadType) {
            return header.value.ssrc;
          }
        }
      } finally {
        await handle.close();
      }
    } catch {
      // No file yet (a live track before its first packet): a random source below.
    }
  }
  return randomInt(1, 0x7fffffff);
}
