import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { ALAW_TO_LINEAR, MULAW_TO_LINEAR } from '../protocol/codec/g711.js';
import { PCAP_GLOBAL_HEADER_BYTES, PcapReader, type PcapPacket } from '../protocol/container/pcap.js';
import { WAV_HEADER_BYTES, encodeWavHeader } from '../protocol/container/wav.js';
import { isLikelyRtcp, parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { uint32Diff } from '../protocol/rtp/seq.js';

/**
 * The stereo WAV of a session (track 0 left, track 1 right), computed from the track pcap files
 * on demand and streamed: a few seconds of output are decoded at a time while the pcap files are
 * read incrementally, so memory stays flat for a call of any length, and any byte range of the
 * file can be served (HTTP Range) without producing the bytes before it.
 *
 * Alignment on the session timeline: the first packet of each SSRC run is placed at its arrival
 * time (pcap timestamp − session start); following packets are placed by their RTP timestamp
 * distance from that anchor, so network jitter does not move audio. When the RTP clock and the
 * arrival clock disagree by more than REANCHOR_THRESHOLD_SAMPLES (a timestamp jump, a sender that
 * stopped its clock during silence suppression or hold, clock drift, a long network stall), the
 * packet starts a new anchor at its arrival time. Gaps (lost packets, silence suppression, a track
 * starting late) stay zero; a duplicate sequence number keeps the first copy; payload types other
 * than the track's audio type (telephone-event, comfort noise) and RTCP are skipped; audio falling
 * before sample 0 or after the end is cut, so the file lasts exactly `durationMs`.
 */

export interface WavTrackSource {
  filePath: string;
  /** 'PCMU' or 'PCMA' (case-insensitive). */
  codec: string;
  payloadType: number;
}

export interface WavExportOptions {
  /** Index 0 = left channel, 1 = right; undefined = a silent channel. */
  tracks: readonly (WavTrackSource | undefined)[];
  /** Epoch ms of sample 0 of the file. */
  sessionStartMs: number;
  /** The file lasts exactly this long (the session duration, or now − start while ACTIVE). */
  durationMs: number;
  /** Output produced per step; the default (4 s, 128 KB) suits HTTP streaming. */
  chunkDurationMs?: number;
  /** Warnings about damaged track files go here. */
  logger?: Logger;
}

export interface WavExport {
  /** Size of the whole file, header included. */
  readonly totalBytes: number;
  /** Streams bytes [start, end] (inclusive) of the file, or all of it. */
  open(range?: { start: number; end: number }): Readable;
}

export const WAV_EXPORT_SAMPLE_RATE_HZ = 8000;
const CHANNELS = 2;
const BYTES_PER_FRAME = CHANNELS * 2;
const MICROSECONDS_PER_SAMPLE = 1_000_000 / WAV_EXPORT_SAMPLE_RATE_HZ;
const DEFAULT_CHUNK_DURATION_MS = 4000;
/** 100 ms: far more than normal jitter, far less than a gap anyone would notice being closed. */
const REANCHOR_THRESHOLD_SAMPLES = 800;
/**
 * A packet is placed at most REANCHOR_THRESHOLD_SAMPLES before its arrival, so reading arrivals up
 * to this far past a window's end is enough to have every packet that lands in it; one extra
 * second absorbs capture timestamps that are not perfectly monotonic.
 */
const READ_AHEAD_SAMPLES = REANCHOR_THRESHOLD_SAMPLES + WAV_EXPORT_SAMPLE_RATE_HZ;
/** Sequence numbers repeat every 65536 packets (22 min at 20 ms); a duplicate arrives much sooner. */
const DUPLICATE_WINDOW_SAMPLES = 60 * WAV_EXPORT_SAMPLE_RATE_HZ;
const READ_CHUNK_BYTES = 1 << 20;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export type WavExportErrorCode =
  | 'VERBATIM_ERR_PLAYBACK_TRACK_MISSING'
  | 'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT'
  | 'VERBATIM_ERR_PLAYBACK_CODEC_UNSUPPORTED'
  | 'VERBATIM_ERR_PLAYBACK_BAD_OPTIONS';

export class WavExportError extends Error {
  readonly code: WavExportErrorCode;

  constructor(code: WavExportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WavExportError';
    this.code = code;
  }
}

function decodeTableFor(codec: string): Int16Array | undefined {
  switch (codec.toUpperCase()) {
    case 'PCMU':
      return MULAW_TO_LINEAR;
    case 'PCMA':
      return ALAW_TO_LINEAR;
    default:
      return undefined;
  }
}

interface PreparedTrack {
  readonly source: WavTrackSource;
  readonly table: Int16Array;
  /** False when the file holds less than a global header: nothing recorded yet. */
  readonly hasHeader: boolean;
}

/** Checks the options and each track file's header, and computes the size of the file. */
export async function createWavExport(options: WavExportOptions): Promise<WavExport> {
  const { sessionStartMs, durationMs } = options;
  const chunkDurationMs = options.chunkDurationMs ?? DEFAULT_CHUNK_DURATION_MS;
  if (
    !Number.isFinite(sessionStartMs) ||
    !Number.isFinite(durationMs) ||
    durationMs < 0 ||
    !Number.isFinite(chunkDurationMs) ||
    chunkDurationMs < 1 ||
    options.tracks.length > CHANNELS
  ) {
    throw new WavExportError('VERBATIM_ERR_PLAYBACK_BAD_OPTIONS', 'invalid WAV export options');
  }
  const tracks: (PreparedTrack | undefined)[] = [];
  for (const source of options.tracks) {
    tracks.push(source === undefined ? undefined : await prepareTrack(source));
  }
  const totalFrames = Math.round((durationMs * WAV_EXPORT_SAMPLE_RATE_HZ) / 1000);
  const dataBytes = totalFrames * BYTES_PER_FRAME;
  const header = encodeWavHeader({
    sampleRateHz: WAV_EXPORT_SAMPLE_RATE_HZ,
    channels: CHANNELS,
    bitsPerSample: 16,
    dataBytes,
  });
  const totalBytes = WAV_HEADER_BYTES + dataBytes;
  const plan: ExportPlan = {
    tracks,
    header,
    totalFrames,
    sessionStartUs: sessionStartMs * 1000,
    chunkFrames: Math.max(1, Math.round((chunkDurationMs * WAV_EXPORT_SAMPLE_RATE_HZ) / 1000)),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  };
  return {
    totalBytes,
    open(range?: { start: number; end: number }): Readable {
      const start = range?.start ?? 0;
      const end = range?.end ?? totalBytes - 1;
      if (
        !Number.isInteger(start) ||
        !Number.isInteger(end) ||
        start < 0 ||
        end < start ||
        end >= totalBytes
      ) {
        throw new RangeError(`byte range ${start}-${end} is outside the ${totalBytes}-byte file`);
      }
      return Readable.from(generateBytes(plan, start, end), { objectMode: false });
    },
  };
}

async function prepareTrack(source: WavTrackSource): Promise<PreparedTrack> {
  const table = decodeTableFor(source.codec);
  if (table === undefined) {
    throw new WavExportError(
      'VERBATIM_ERR_PLAYBACK_CODEC_UNSUPPORTED',
      `codec ${source.codec} cannot be exported to WAV`,
    );
  }
  let handle;
  try {
    handle = await openFile(source.filePath, 'r');
  } catch (cause) {
    throw new WavExportError(
      'VERBATIM_ERR_PLAYBACK_TRACK_MISSING',
      `track file ${source.filePath} cannot be opened`,
      {
        cause,
      },
    );
  }
  try {
    const header = new Uint8Array(PCAP_GLOBAL_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead < PCAP_GLOBAL_HEADER_BYTES) {
      return { source, table, hasHeader: false };
    }
    const probe = new PcapReader();
    probe.push(header);
    if (probe.error !== undefined) {
      throw new WavExportError(
        'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT',
        `track file ${source.filePath}: ${probe.error.message}`,
      );
    }
    return { source, table, hasHeader: true };
  } finally {
    await handle.close();
  }
}

interface ExportPlan {
  readonly tracks: readonly (PreparedTrack | undefined)[];
  readonly header: Uint8Array;
  readonly totalFrames: number;
  readonly sessionStartUs: number;
  readonly chunkFrames: number;
  readonly logger?: Logger;
}

/** The bytes [start, end] of the file, produced window by window. */
async function* generateBytes(plan: ExportPlan, start: number, end: number): AsyncGenerator<Buffer> {
  if (start < WAV_HEADER_BYTES) {
    const header = plan.header.subarray(start, Math.min(end + 1, WAV_HEADER_BYTES));
    yield Buffer.from(header.buffer, header.byteOffset, header.byteLength);
  }
  if (end < WAV_HEADER_BYTES) {
    return;
  }
  const firstFrame = Math.floor((Math.max(start, WAV_HEADER_BYTES) - WAV_HEADER_BYTES) / BYTES_PER_FRAME);
  const lastFrame = Math.floor((end - WAV_HEADER_BYTES) / BYTES_PER_FRAME);
  const timelines = plan.tracks.map((track) =>
    track === undefined || !track.hasHeader
      ? undefined
      : new TrackTimeline(track, plan.sessionStartUs, plan.logger),
  );
  try {
    for (let windowStart = 0; windowStart <= lastFrame; windowStart += plan.chunkFrames) {
      const windowEnd = Math.min(windowStart + plan.chunkFrames, plan.totalFrames);
      const wanted = windowEnd > firstFrame;
      // Buffer.alloc never slices Node's shared pool, so the zero-filled buffer starts at offset 0
      // and can be viewed as 16-bit samples that the tracks write straight into, interleaved.
      const out = wanted ? Buffer.alloc((windowEnd - windowStart) * BYTES_PER_FRAME) : undefined;
      const samples =
        out === undefined ? undefined : new Int16Array(out.buffer, out.byteOffset, out.length / 2);
      // Both files are read at the same time, so their I/O overlaps.
      await Promise.all(
        timelines.map((timeline) =>
          timeline === undefined ? Promise.resolve() : timeline.fill(windowEnd + READ_AHEAD_SAMPLES),
        ),
      );
      timelines.forEach((timeline, channel) => timeline?.render(windowStart, windowEnd, samples, channel));
      if (out === undefined) {
        continue;
      }
      if (!LITTLE_ENDIAN_HOST) {
        // WAV samples are little-endian; the typed-array view wrote host order.
        out.swap16();
      }
      const windowByte = WAV_HEADER_BYTES + windowStart * BYTES_PER_FRAME;
      const sliceStart = Math.max(start, windowByte) - windowByte;
      const sliceEnd = Math.min(end + 1, windowByte + out.length) - windowByte;
      yield sliceStart === 0 && sliceEnd === out.length ? out : out.subarray(sliceStart, sliceEnd);
    }
  } finally {
    for (const timeline of timelines) {
      timeline?.close();
    }
  }
}

interface PlacedPacket {
  /** Timeline position of the first sample. */
  readonly startSample: number;
  /** The G.711 payload: one byte per sample. */
  readonly audio: Uint8Array;
}

/**
 * One track's packets, read incrementally from its pcap file and placed on the session timeline
 * in file (arrival) order; placed packets wait in `pending` until the windows they cover are
 * rendered.
 */
class TrackTimeline {
  readonly #table: Int16Array;
  readonly #payloadType: number;
  readonly #filePath: string;
  readonly #sessionStartUs: number;
  readonly #logger: Logger | undefined;
  readonly #stream: ReturnType<typeof createReadStream>;
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #reader = new PcapReader();
  #pending: PlacedPacket[] = [];
  #eof = false;
  /** The latest arrival read so far, in samples from the session start. */
  #readUpToSample = Number.NEGATIVE_INFINITY;
  #anchored = false;
  #anchorSsrc = 0;
  #anchorRtpTimestamp = 0;
  #anchorSample = 0;
  /** Duplicate detection: per sequence number, the SSRC run and arrival of its last packet. */
  readonly #seqRun = new Uint32Array(65536);
  readonly #seqArrival = new Float64Array(65536);
  #run = 0;

  constructor(track: PreparedTrack, sessionStartUs: number, logger: Logger | undefined) {
    this.#table = track.table;
    this.#payloadType = track.source.payloadType;
    this.#filePath = track.source.filePath;
    this.#sessionStartUs = sessionStartUs;
    this.#logger = logger;
    this.#stream = createReadStream(track.source.filePath, { highWaterMark: READ_CHUNK_BYTES });
    this.#chunks = this.#stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** Reads the file until an arrival at or after `untilSample`, or its end. */
  async fill(untilSample: number): Promise<void> {
    while (!this.#eof && this.#readUpToSample < untilSample) {
      const next = await this.#chunks.next();
      if (next.done === true) {
        this.#finish();
        return;
      }
      // A plain Uint8Array view: its subarrays (one per packet) are much cheaper than Buffer's.
      const chunk = new Uint8Array(next.value.buffer, next.value.byteOffset, next.value.byteLength);
      for (const packet of this.#reader.push(chunk)) {
        this.#place(packet);
      }
      if (this.#reader.error !== undefined) {
        // Keep what was readable: a damaged middle should not cost the whole recording.
        this.#logger?.warn(
          { filePath: this.#filePath, code: this.#reader.error.code, offset: this.#reader.consumedBytes },
          'track file damaged; the rest of the track is exported as silence',
        );
        this.#finish();
      }
    }
  }

  /**
   * Writes the parts of pending packets that fall in [windowStart, windowEnd) into `channel` of
   * the interleaved stereo `out` (frame 0 = windowStart), or only discards them when `out` is
   * undefined, and forgets the packets that end inside the window.
   */
  render(windowStart: number, windowEnd: number, out: Int16Array | undefined, channel: number): void {
    const table = this.#table;
    const kept: PlacedPacket[] = [];
    for (const packet of this.#pending) {
      const packetEnd = packet.startSample + packet.audio.length;
      if (packetEnd > windowEnd) {
        kept.push(packet);
      }
      if (out === undefined) {
        continue;
      }
      const from = Math.max(packet.startSample, windowStart);
      const to = Math.min(packetEnd, windowEnd);
      const audio = packet.audio;
      let target = (from - windowStart) * CHANNELS + channel;
      for (let index = from - packet.startSample, last = to - packet.startSample; index < last; index++) {
        out[target] = table[audio[index] as number] as number;
        target += CHANNELS;
      }
    }
    this.#pending = kept;
  }

  close(): void {
    this.#eof = true;
    this.#pending = [];
    this.#stream.destroy();
  }

  #finish(): void {
    this.#eof = true;
    this.#reader.end();
  }

  #place(packet: PcapPacket): void {
    const arrivalSample = Math.floor((packet.timestampUs - this.#sessionStartUs) / MICROSECONDS_PER_SAMPLE);
    if (arrivalSample > this.#readUpToSample) {
      this.#readUpToSample = arrivalSample;
    }
    const datagram = packet.payload;
    if (isLikelyRtcp(datagram)) {
      return;
    }
    const parsed = parseRtpHeader(datagram);
    if (!parsed.ok) {
      return;
    }
    const header = parsed.value;
    if (header.payloadType !== this.#payloadType || header.payloadLength === 0) {
      return;
    }
    if (!this.#anchored || header.ssrc !== this.#anchorSsrc) {
      this.#run++;
      this.#anchor(header.ssrc, header.timestamp, arrivalSample);
    }
    const seq = header.sequenceNumber;
    if (
      this.#seqRun[seq] === this.#run &&
      Math.abs(arrivalSample - (this.#seqArrival[seq] ?? 0)) < DUPLICATE_WINDOW_SAMPLES
    ) {
      return;
    }
    this.#seqRun[seq] = this.#run;
    this.#seqArrival[seq] = arrivalSample;
    let startSample = this.#anchorSample + uint32Diff(header.timestamp, this.#anchorRtpTimestamp);
    if (Math.abs(startSample - arrivalSample) > REANCHOR_THRESHOLD_SAMPLES) {
      this.#anchor(header.ssrc, header.timestamp, arrivalSample);
      startSample = arrivalSample;
    }
    this.#pending.push({
      startSample,
      audio: datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
    });
  }

  #anchor(ssrc: number, rtpTimestamp: number, sample: number): void {
    this.#anchored = true;
    this.#anchorSsrc = ssrc;
    this.#anchorRtpTimestamp = rtpTimestamp;
    this.#anchorSample = sample;
  }
}
