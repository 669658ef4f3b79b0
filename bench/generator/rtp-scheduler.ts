/**
 * Real-time RTP pacing for many G.711 streams on one thread.
 *
 * Every stream sends one 172-byte packet (12-byte header, 160 bytes of payload) every 20 ms. The
 * 20 ms cycle is cut into twenty 1 ms slots and each new stream joins the slot with the fewest
 * streams, so the packets of 2,000 streams leave as about 100 per millisecond instead of 2,000
 * at once. A timer wakes at the next occupied slot, sends every packet that is due (catching up
 * slot by slot after a stall, never more than is due) and counts a packet as late when it leaves
 * more than one packet interval after its due time.
 *
 * The per-packet path allocates nothing of its own: each stream owns one preallocated datagram
 * whose sequence number and timestamp are patched in place (RFC 3550 §5.1), and each stream owns
 * one UDP socket connected to its destination, so a send needs no address lookup and the
 * recorder sees one stable source port per stream (it pins the source address from the SDP and
 * latches the first port it sees).
 */
import dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { serializeRtpPacket } from '../../packages/server/src/protocol/rtp/rtp-packet.js';
import { PACKET_INTERVAL_MS, SAMPLES_PER_PACKET, toneFrame } from './tone.js';

export interface RtpStreamSpec {
  /** Unique within one scheduler (or pool). */
  readonly id: number;
  /** Address to send from: the one written into the SDP c= line. */
  readonly localAddress: string;
  readonly host: string;
  readonly port: number;
  /** 0 (PCMU) or 8 (PCMA). */
  readonly payloadType: number;
  readonly ssrc: number;
  readonly firstSequence: number;
  readonly firstTimestamp: number;
  /** Exactly this many packets are sent unless the stream is stopped first. */
  readonly packets: number;
  /** Picks the tone (see tone.ts). */
  readonly toneIndex: number;
}

export interface RtpStreamResult {
  readonly id: number;
  readonly sentPackets: number;
  readonly latePackets: number;
  /** Set when the socket failed (bind, connect or send); the stream ended early. */
  readonly error?: string;
}

export type RtpStreamDone = (result: RtpStreamResult) => void;

const SLOT_MS = 1;
const SLOTS = PACKET_INTERVAL_MS / SLOT_MS;
/** RTP version 2, no padding, extension or CSRC; the marker bit of the second header byte. */
const MARKER_BIT = 0x80;

class Stream {
  readonly id: number;
  readonly packet: Buffer;
  readonly socket: dgram.Socket;
  readonly onDone: RtpStreamDone;
  sequence: number;
  timestamp: number;
  remaining: number;
  sent = 0;
  late = 0;
  /** Index into the slot table, or -1 while the socket is not yet connected. */
  slot = -1;
  /** The first slot time (ms since the scheduler epoch) at which this stream sends. */
  startSlotTime = 0;
  finished = false;

  constructor(spec: RtpStreamSpec, socket: dgram.Socket, onDone: RtpStreamDone) {
    this.id = spec.id;
    this.socket = socket;
    this.onDone = onDone;
    this.sequence = spec.firstSequence & 0xffff;
    this.timestamp = spec.firstTimestamp >>> 0;
    this.remaining = spec.packets;
    const bytes = serializeRtpPacket(
      {
        // RFC 3551 §4.1: the first packet of a talkspurt carries the marker bit.
        marker: true,
        payloadType: spec.payloadType,
        sequenceNumber: this.sequence,
        timestamp: this.timestamp,
        ssrc: spec.ssrc >>> 0,
      },
      toneFrame(spec.payloadType, spec.toneIndex),
    );
    this.packet = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
}

export class RtpScheduler {
  readonly #epochMs = performance.now();
  readonly #slots: Stream[][] = Array.from({ length: SLOTS }, () => []);
  readonly #streams = new Map<number, Stream>();
  /** Streams placed in a slot (connected and still sending). */
  #scheduled = 0;
  /** The next slot time (whole ms since the epoch) not yet processed. */
  #nextSlotTime = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** Number of streams not finished yet, connected or not. */
  get activeStreams(): number {
    return this.#streams.size;
  }

  start(spec: RtpStreamSpec, onDone: RtpStreamDone): void {
    if (this.#closed) {
      onDone({ id: spec.id, sentPackets: 0, latePackets: 0, error: 'scheduler closed' });
      return;
    }
    if (this.#streams.has(spec.id)) {
      throw new Error(`RTP stream ${spec.id} started twice`);
    }
    if (spec.packets <= 0) {
      onDone({ id: spec.id, sentPackets: 0, latePackets: 0 });
      return;
    }
    const socket = dgram.createSocket('udp4');
    const stream = new Stream(spec, socket, onDone);
    this.#streams.set(spec.id, stream);
    socket.on('error', (error: Error) => {
      this.#finish(stream, error.message);
    });
    socket.bind({ address: spec.localAddress, port: 0 }, () => {
      if (stream.finished) {
        return;
      }
      socket.connect(spec.port, spec.host, (...args: unknown[]) => {
        // dgram passes the connect error to the callback (and emits no 'error' event then).
        const error = args[0];
        if (error instanceof Error) {
          this.#finish(stream, error.message);
          return;
        }
        if (!stream.finished) {
          this.#schedule(stream);
        }
      });
    });
  }

  /** Ends a stream early; its done callback reports what it sent so far. */
  stop(id: number): void {
    const stream = this.#streams.get(id);
    if (stream !== undefined) {
      this.#finish(stream);
    }
  }

  /** Stops every stream (each done callback fires) and the timer. */
  close(): void {
    this.#closed = true;
    for (const stream of [...this.#streams.values()]) {
      this.#finish(stream);
    }
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
  }

  #schedule(stream: Stream): void {
    let slot = 0;
    let fewest = Infinity;
    for (let i = 0; i < SLOTS; i++) {
      const count = this.#slots[i]?.length ?? 0;
      if (count < fewest) {
        fewest = count;
        slot = i;
      }
    }
    const nowSlotTime = Math.ceil((performance.now() - this.#epochMs) / SLOT_MS);
    if (this.#scheduled === 0) {
      // Idle until now: skip the empty slots instead of walking through them.
      this.#nextSlotTime = Math.max(this.#nextSlotTime, nowSlotTime);
    }
    const offset = (((slot - nowSlotTime) % SLOTS) + SLOTS) % SLOTS;
    stream.startSlotTime = nowSlotTime + offset;
    stream.slot = slot;
    this.#slots[slot]?.push(stream);
    this.#scheduled++;
    this.#arm(performance.now() - this.#epochMs);
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    const nowRel = performance.now() - this.#epochMs;
    while (this.#nextSlotTime * SLOT_MS <= nowRel && this.#scheduled > 0) {
      const slotTime = this.#nextSlotTime;
      this.#nextSlotTime++;
      const list = this.#slots[slotTime % SLOTS];
      if (list === undefined || list.length === 0) {
        continue;
      }
      const late = nowRel - slotTime * SLOT_MS > PACKET_INTERVAL_MS;
      // Backwards, so that a finished stream can be swapped with the last (already sent) one.
      for (let i = list.length - 1; i >= 0; i--) {
        const stream = list[i];
        if (stream === undefined || stream.startSlotTime > slotTime) {
          continue;
        }
        this.#send(stream, late);
        if (stream.remaining === 0) {
          this.#finish(stream);
        }
      }
    }
    this.#arm(nowRel);
  };

  #send(stream: Stream, late: boolean): void {
    const packet = stream.packet;
    const sequence = stream.sequence;
    const timestamp = stream.timestamp;
    packet[2] = sequence >>> 8;
    packet[3] = sequence & 0xff;
    packet[4] = timestamp >>> 24;
    packet[5] = (timestamp >>> 16) & 0xff;
    packet[6] = (timestamp >>> 8) & 0xff;
    packet[7] = timestamp & 0xff;
    // A connected UDP socket sends synchronously (libuv tries the send at once and only queues
    // on EAGAIN, which a socket sending 50 packets/s never meets), so the buffer can be patched
    // again for the next packet. No callback: it would cost a process.nextTick per packet (about
    // 10 % more CPU at 100,000 packets/s), and the only synchronous failure left, ECONNREFUSED
    // after the recorder closed the port, happens only once the recorder ended the call itself.
    stream.socket.send(packet);
    if (stream.sent === 0) {
      packet[1] = (packet[1] ?? 0) & ~MARKER_BIT;
    }
    stream.sequence = (sequence + 1) & 0xffff;
    stream.timestamp = (timestamp + SAMPLES_PER_PACKET) >>> 0;
    stream.sent++;
    stream.remaining--;
    if (late) {
      stream.late++;
    }
  }

  #arm(nowRel: number): void {
    if (this.#timer !== undefined || this.#scheduled === 0) {
      return;
    }
    let next = this.#nextSlotTime;
    for (let i = 0; i < SLOTS; i++) {
      if ((this.#slots[(next + i) % SLOTS]?.length ?? 0) > 0) {
        next += i;
        break;
      }
    }
    const delayMs = Math.max(0, next * SLOT_MS - nowRel);
    this.#timer = setTimeout(this.#tick, delayMs);
  }

  #finish(stream: Stream, error?: string): void {
    if (stream.finished) {
      return;
    }
    stream.finished = true;
    this.#streams.delete(stream.id);
    if (stream.slot >= 0) {
      const list = this.#slots[stream.slot];
      const index = list === undefined ? -1 : list.indexOf(stream);
      if (list !== undefined && index >= 0) {
        const last = list.pop();
        if (last !== undefined && index < list.length) {
          list[index] = last;
        }
        this.#scheduled--;
      }
      stream.slot = -1;
    }
    stream.socket.close();
    stream.onDone({
      id: stream.id,
      sentPackets: stream.sent,
      latePackets: stream.late,
      ...(error === undefined ? {} : { error }),
    });
  }
}
