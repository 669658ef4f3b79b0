import { open, type FileHandle } from 'node:fs/promises';
import type { Logger } from 'pino';
import { encodeMulaw } from '../../protocol/codec/g711.js';
import { PcapReader } from '../../protocol/container/pcap.js';
import { parseRtpHeader } from '../../protocol/rtp/rtp-packet.js';
import { openTrackTimeline, prepareTrack, type TrackTimeline } from '../track-timeline.js';

/**
 * The packets of one RTSP stream in presentation order, read ahead a little at a time so that a
 * call of any length is replayed in flat memory: from a track file (archive), or produced by
 * mixing two track files into PCMU (`?mix=1`).
 */

/** A packet to send, placed on the presentation's time line (npt seconds). */
export interface TimedPacket {
  readonly offsetS: number;
  readonly payload: Uint8Array;
  readonly marker: boolean;
  /** The RTP timestamp it carried when recorded (archive), for continuous timestamps. */
  readonly recordedTimestamp?: number;
  /** Its RTP time from npt 0 on the stream's clock (mix: produced, so known exactly). */
  readonly rtpTime?: number;
}

export interface PacketQueue {
  peek(): TimedPacket | undefined;
  shift(): TimedPacket | undefined;
  /** True when everything has been read and taken. */
  readonly exhausted: boolean;
  /** Starts reading more when few packets are left (no-op while reading or at the end). */
  refill(): void;
  close(): void;
}

/** Read ahead until this many packets wait (about 5 s of 20 ms audio). */
const LOW_WATER_PACKETS = 256;
const READ_CHUNK_BYTES = 64 * 1024;

/**
 * A track file's packets of the track's payload type (telephone events and comfort noise that
 * shared the stream are not described in the SDP, so not sent), from `startS` on.
 */
export class PcapPacketQueue implements PacketQueue {
  readonly #filePath: string;
  readonly #sessionStartMs: number;
  readonly #payloadType: number;
  readonly #startS: number;
  readonly #endS: number;
  readonly #log: Logger;
  readonly #reader = new PcapReader();
  #handle: FileHandle | undefined;
  #queue: TimedPacket[] = [];
  #head = 0;
  #eof = false;
  #reading = false;
  #closed = false;
  /** Called when a read completes, so the pacer can send what became due. */
  readonly #onData: () => void;

  constructor(options: {
    filePath: string;
    sessionStartMs: number;
    payloadType: number;
    startS: number;
    endS: number;
    logger: Logger;
    onData: () => void;
  }) {
    this.#filePath = options.filePath;
    this.#sessionStartMs = options.sessionStartMs;
    this.#payloadType = options.payloadType;
    this.#startS = options.startS;
    this.#endS = options.endS;
    this.#log = options.logger;
    this.#onData = options.onData;
  }

  peek(): TimedPacket | undefined {
    return this.#queue[this.#head];
  }

  shift(): TimedPacket | undefined {
    const packet = this.#queue[this.#head];
    if (packet !== undefined) {
      this.#head += 1;
      if (this.#head > 1024) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
    }
    return packet;
  }

  get exhausted(): boolean {
    return this.#eof && this.#head >= this.#queue.length;
  }

  refill(): void {
    if (this.#reading || this.#eof || this.#closed || this.#queue.length - this.#head >= LOW_WATER_PACKETS) {
      return;
    }
    this.#reading = true;
    void this.#read().finally(() => {
      this.#reading = false;
      if (!this.#closed) {
        this.#onData();
      }
    });
  }

  async #read(): Promise<void> {
    try {
      this.#handle ??= await open(this.#filePath, 'r');
      while (!this.#closed && !this.#eof && this.#queue.length - this.#head < LOW_WATER_PACKETS) {
        const chunk = Buffer.alloc(READ_CHUNK_BYTES);
        const { bytesRead } = await this.#handle.read(chunk, 0, READ_CHUNK_BYTES, null);
        if (bytesRead === 0) {
          this.#finish();
          break;
        }
        for (const packet of this.#reader.push(chunk.subarray(0, bytesRead))) {
          this.#take(packet.timestampUs, packet.payload);
        }
        if (this.#reader.error !== undefined) {
          this.#log.warn(
            { file: this.#filePath, err: this.#reader.error },
            'RTSP: damaged track file, replay cut',
          );
          this.#finish();
        }
      }
    } catch (error) {
      if (!this.#closed) {
        this.#log.warn({ file: this.#filePath, err: error }, 'RTSP: track file unreadable, replay cut');
      }
      this.#finish();
    }
  }

  #take(timestampUs: number, datagram: Uint8Array): void {
    const header = parseRtpHeader(datagram);
    if (!header.ok || header.value.payloadType !== this.#payloadType) {
      return;
    }
    const offsetS = (timestampUs / 1000 - this.#sessionStartMs) / 1000;
    if (offsetS < this.#startS) {
      return;
    }
    if (offsetS > this.#endS) {
      this.#finish();
      return;
    }
    const { payloadOffset, payloadLength, marker, timestamp } = header.value;
    this.#queue.push({
      offsetS,
      // A copy: the chunk it views is large and would be kept alive by one small packet.
      payload: datagram.slice(payloadOffset, payloadOffset + payloadLength),
      marker,
      recordedTimestamp: timestamp,
    });
  }

  #finish(): void {
    this.#eof = true;
    const handle = this.#handle;
    this.#handle = undefined;
    void handle?.close().catch(() => undefined);
  }

  close(): void {
    this.#closed = true;
    this.#finish();
  }
}

/** The mix: 20 ms PCMU packets at 8 kHz, RTP time = sample index. */
const MIX_RATE_HZ = 8000;
const MIX_PACKET_FRAMES = 160;
/** Mixed one second at a time: 50 packets, a small fraction of a core. */
const MIX_WINDOW_FRAMES = MIX_RATE_HZ;

/**
 * Both parties summed into one channel (playback/track-timeline.ts places each track on the
 * session's timeline, as the WAV export's `mix` layout does) and encoded as µ-law.
 */
export class MixPacketQueue implements PacketQueue {
  readonly #sources: readonly { filePath: string; codec: string; payloadType: number; clockRateHz: number }[];
  readonly #sessionStartMs: number;
  readonly #log: Logger;
  readonly #onData: () => void;
  readonly #startFrame: number;
  readonly #endFrame: number;
  #timelines: (TrackTimeline | undefined)[] | undefined;
  /** Next frame to render (windows are rendered in order from frame 0). */
  #frame = 0;
  #queue: TimedPacket[] = [];
  #head = 0;
  #eof = false;
  #working = false;
  #closed = false;

  constructor(options: {
    sources: readonly { filePath: string; codec: string; payloadType: number; clockRateHz: number }[];
    sessionStartMs: number;
    startS: number;
    endS: number;
    logger: Logger;
    onData: () => void;
  }) {
    this.#sources = options.sources;
    this.#sessionStartMs = options.sessionStartMs;
    this.#log = options.logger;
    this.#onData = options.onData;
    // Packets start on a 20 ms boundary, so a seek lands on whole packets.
    this.#startFrame = Math.floor((options.startS * MIX_RATE_HZ) / MIX_PACKET_FRAMES) * MIX_PACKET_FRAMES;
    this.#endFrame = Math.max(this.#startFrame, Math.round(options.endS * MIX_RATE_HZ));
  }

  peek(): TimedPacket | undefined {
    return this.#queue[this.#head];
  }

  shift(): TimedPacket | undefined {
    const packet = this.#queue[this.#head];
    if (packet !== undefined) {
      this.#head += 1;
      if (this.#head >= this.#queue.length) {
        this.#queue = [];
        this.#head = 0;
      }
    }
    return packet;
  }

  get exhausted(): boolean {
    return this.#eof && this.#head >= this.#queue.length;
  }

  refill(): void {
    if (
      this.#working ||
      this.#eof ||
      this.#closed ||
      this.#queue.length - this.#head >= LOW_WATER_PACKETS / 2
    ) {
      return;
    }
    this.#working = true;
    void this.#render().finally(() => {
      this.#working = false;
      if (this.#closed) {
        this.#finish();
      } else {
        this.#onData();
      }
    });
  }

  async #render(): Promise<void> {
    try {
      if (this.#timelines === undefined) {
        const timelines: (TrackTimeline | undefined)[] = [];
        for (const source of this.#sources) {
          const prepared = await prepareTrack(source, this.#log);
          timelines.push(
            await openTrackTimeline(prepared, {
              outputRateHz: MIX_RATE_HZ,
              sessionStartMs: this.#sessionStartMs,
              logger: this.#log,
            }),
          );
        }
        this.#timelines = timelines;
      }
      // Windows before the seek point are rendered without output, so each timeline keeps its place.
      while (!this.#closed && this.#queue.length - this.#head < LOW_WATER_PACKETS / 2) {
        if (this.#frame >= this.#endFrame) {
          this.#finish();
          return;
        }
        const windowStart = this.#frame;
        const windowEnd = Math.min(windowStart + MIX_WINDOW_FRAMES, this.#endFrame);
        await Promise.all(this.#timelines.map((t) => t?.prepare(windowEnd) ?? Promise.resolve()));
        const wanted = windowEnd > this.#startFrame;
        const mixed = wanted ? new Int16Array(windowEnd - windowStart) : undefined;
        const scratch = wanted ? new Int16Array(windowEnd - windowStart) : undefined;
        for (const timeline of this.#timelines) {
          if (timeline === undefined) {
            continue;
          }
          scratch?.fill(0);
          timeline.render(windowStart, windowEnd, scratch, 0, 1);
          if (mixed !== undefined && scratch !== undefined) {
            for (let i = 0; i < mixed.length; i++) {
              const sum = (mixed[i] ?? 0) + (scratch[i] ?? 0);
              mixed[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
            }
          }
        }
        this.#frame = windowEnd;
        if (mixed === undefined) {
          continue;
        }
        for (
          let frame = Math.max(windowStart, this.#startFrame);
          frame < windowEnd;
          frame += MIX_PACKET_FRAMES
        ) {
          const end = Math.min(frame + MIX_PACKET_FRAMES, windowEnd);
          this.#queue.push({
            offsetS: frame / MIX_RATE_HZ,
            payload: encodeMulaw(mixed.subarray(frame - windowStart, end - windowStart)),
            marker: frame === this.#startFrame,
            rtpTime: frame,
          });
        }
      }
    } catch (error) {
      if (!this.#closed) {
        this.#log.warn({ err: error }, 'RTSP: mixing failed, replay cut');
      }
      this.#finish();
    }
  }

  #finish(): void {
    this.#eof = true;
    for (const timeline of this.#timelines ?? []) {
      timeline?.close();
    }
    this.#timelines = [];
  }

  close(): void {
    this.#closed = true;
    if (!this.#working) {
      this.#finish();
    }
  }
}
