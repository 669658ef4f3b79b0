import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { StreamingResampler } from '../protocol/codec/resample.js';
import { PCAP_GLOBAL_HEADER_BYTES, PcapReader, type PcapPacket } from '../protocol/container/pcap.js';
import { isLikelyRtcp, parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { uint32Diff } from '../protocol/rtp/seq.js';
import { createTrackDecoder, describeDecoder, type DecoderDescription } from './decoders/registry.js';
import type { TrackDecoder } from './decoders/track-decoder.js';
import { WavExportError } from './playback-errors.js';

/**
 * The track timeline: one track's audio as 16-bit PCM on the session timeline, at the rate an
 * export asks for, produced window by window from the track's pcap file. It knows nothing of the
 * file format it feeds: the WAV export interleaves two of them; the MP4 and RTSP exports will
 * read it the same way.
 *
 * Alignment on the session timeline: the first packet of each SSRC run is placed at its arrival
 * time (pcap timestamp − session start); following packets are placed by their RTP timestamp
 * distance from that anchor, so network jitter does not move audio. When the RTP clock and the
 * arrival clock disagree by more than REANCHOR_THRESHOLD_MS (a timestamp jump, a sender that
 * stopped its clock during silence suppression or hold, clock drift, a long network stall), the
 * packet starts a new anchor at its arrival time. Gaps (lost packets, silence suppression, a track
 * starting late) stay zero; a duplicate sequence number keeps the first copy; payload types other
 * than the track's audio type (telephone-event, comfort noise) and RTCP are skipped. Audio before
 * sample 0 is never rendered; where the timeline ends is the reader's choice.
 *
 * Codecs (docs/codecs.md): the track is decoded at its codec's own rate by the decoder registry
 * (playback/decoders/registry.ts) and resampled to the output rate (protocol/codec/resample.ts)
 * when the two differ. A codec without a decoder (MP4A-LATM, H264, unknown) is a silent track.
 *
 * Use: `prepareTrack` once per track (it checks the file), then `openTrackTimeline` for each pass
 * over it (each HTTP range request reads the file again from its start).
 */

/** A recorded track: its pcap file and the codec the SDP gave it. */
export interface TrackSource {
  filePath: string;
  /** rtpmap encoding name (case-insensitive): PCMU, PCMA, G722, G729, OPUS, L16, or any other. */
  codec: string;
  payloadType: number;
  /** rtpmap clock rate; when absent the codec's usual rate (needed for L16 only). */
  clockRateHz?: number;
  /** rtpmap channel count (L16 only); default 1. */
  channels?: number;
}

/** A track whose file was checked, ready to be read any number of times. */
export interface PreparedTrack {
  readonly source: TrackSource;
  /** Undefined: a codec without a decoder, a silent track. */
  readonly description: DecoderDescription | undefined;
  /** False when the file holds less than a global header: nothing recorded yet. */
  readonly hasHeader: boolean;
}

export interface TrackTimelineOptions {
  /** The rate of the PCM the timeline renders; the track is resampled to it when needed. */
  readonly outputRateHz: number;
  /** Epoch ms of sample 0 of the timeline. */
  readonly sessionStartMs: number;
  /** Warnings about a damaged track file and a failing decoder go here. */
  readonly logger?: Logger;
  /** The ffmpeg binary that decodes G.729; default `ffmpeg` from PATH. */
  readonly ffmpegPath?: string;
}

/**
 * One pass over a track, window by window from frame 0: for each window [start, end), in order
 * and without gaps, `prepare(end)` then `render(start, end, …)`. Frames are at the output rate.
 */
export interface TrackTimeline {
  /** Reads and decodes enough of the file to render frames up to `frameEnd`. */
  prepare(frameEnd: number): Promise<void>;
  /**
   * Writes frames [frameStart, frameEnd) of the track to out[(frame − frameStart) × channels +
   * channel] (an interleaved buffer of `channels` channels, host byte order), or only moves past
   * them when `out` is undefined. Samples where the track has no audio are left as they are.
   */
  render(
    frameStart: number,
    frameEnd: number,
    out: Int16Array | undefined,
    channel: number,
    channels: number,
  ): void;
  /** Stops reading the file and releases the decoder. */
  close(): void;
}

/** 100 ms: far more than normal jitter, far less than a gap anyone would notice being closed. */
const REANCHOR_THRESHOLD_MS = 100;
/**
 * A packet is placed at most REANCHOR_THRESHOLD_MS before its arrival, so reading arrivals up to
 * this far past a window's end is enough to have every packet that lands in it; one extra second
 * absorbs capture timestamps that are not perfectly monotonic.
 */
const READ_AHEAD_MS = REANCHOR_THRESHOLD_MS + 1000;
/** Sequence numbers repeat every 65536 packets (22 min at 20 ms); a duplicate arrives much sooner. */
const DUPLICATE_WINDOW_MS = 60_000;
const READ_CHUNK_BYTES = 1 << 20;

/**
 * Finds the track's decoder and checks its file's header. Throws WavExportError for a missing or
 * damaged track file, never for a codec.
 */
export async function prepareTrack(source: TrackSource, logger: Logger | undefined): Promise<PreparedTrack> {
  const description = describeDecoder({
    codec: source.codec,
    payloadType: source.payloadType,
    ...(source.clockRateHz === undefined ? {} : { clockRateHz: source.clockRateHz }),
    ...(source.channels === undefined ? {} : { channels: source.channels }),
  });
  if (description === undefined) {
    // Stored raw and kept, but nothing here can turn it into sound (DESIGN.md §1.2).
    logger?.debug(
      { filePath: source.filePath, codec: source.codec },
      'no decoder for the codec; the channel is silent',
    );
    return { source, description, hasHeader: false };
  }
  let handle;
  try {
    handle = await openFile(source.filePath, 'r');
  } catch (cause) {
    throw new WavExportError(
      'VERBATIM_ERR_PLAYBACK_TRACK_MISSING',
      `track file ${source.filePath} cannot be opened`,
      { cause },
    );
  }
  try {
    const header = new Uint8Array(PCAP_GLOBAL_HEADER_BYTES);
    const { bytesRead } = await handle.read(header, 0, header.length, 0);
    if (bytesRead < PCAP_GLOBAL_HEADER_BYTES) {
      return { source, description, hasHeader: false };
    }
    const probe = new PcapReader();
    probe.push(header);
    if (probe.error !== undefined) {
      throw new WavExportError(
        'VERBATIM_ERR_PLAYBACK_TRACK_CORRUPT',
        `track file ${source.filePath}: ${probe.error.message}`,
      );
    }
    return { source, description, hasHeader: true };
  } finally {
    await handle.close();
  }
}

/** Starts a pass over the track, or resolves undefined when the track is silent throughout. */
export async function openTrackTimeline(
  track: PreparedTrack | undefined,
  options: TrackTimelineOptions,
): Promise<TrackTimeline | undefined> {
  if (track?.description === undefined || !track.hasHeader) {
    return undefined;
  }
  const decoder = await createTrackDecoder(
    {
      codec: track.source.codec,
      payloadType: track.source.payloadType,
      ...(track.source.clockRateHz === undefined ? {} : { clockRateHz: track.source.clockRateHz }),
      ...(track.source.channels === undefined ? {} : { channels: track.source.channels }),
    },
    {
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
    },
  );
  return decoder === undefined
    ? undefined
    : new PcapTrackTimeline(
        track.source,
        decoder,
        options.outputRateHz,
        options.sessionStartMs * 1000,
        options.logger,
      );
}

interface PlacedPacket {
  /** Timeline position of the first sample, at the decoder's rate. */
  readonly startSample: number;
  /** The RTP payload. */
  readonly payload: Uint8Array;
  /** The decoded audio (packet decoders); G.711 payloads are looked up while rendering. */
  pcm: Int16Array | undefined;
}

/**
 * One track's packets, read incrementally from its pcap file, placed on the session timeline in
 * file (arrival) order at the decoder's own rate, decoded a batch at a time, and rendered window
 * by window into one channel of the output, through a resampler when the decoder's rate is not
 * the output's. Placed packets wait in `pending` until the windows they cover are rendered.
 */
class PcapTrackTimeline implements TrackTimeline {
  readonly #decoder: TrackDecoder;
  readonly #payloadType: number;
  readonly #filePath: string;
  readonly #sessionStartUs: number;
  readonly #logger: Logger | undefined;
  readonly #stream: ReturnType<typeof createReadStream>;
  readonly #chunks: AsyncIterator<Buffer>;
  readonly #reader = new PcapReader();
  /** Decoder samples per second, and per RTP timestamp unit (2 for G.722). */
  readonly #rateHz: number;
  readonly #samplesPerTick: number;
  readonly #reanchorThresholdSamples: number;
  readonly #readAheadSamples: number;
  readonly #duplicateWindowSamples: number;
  /** Undefined when the decoder's rate is the output's. */
  readonly #resampler: StreamingResampler | undefined;
  /** Samples at the decoder's rate handed to the resampler so far. */
  #renderedSamples = 0;
  #pending: PlacedPacket[] = [];
  /** Placed packets of a packet decoder that are not decoded yet. */
  #undecoded: PlacedPacket[] = [];
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

  constructor(
    source: TrackSource,
    decoder: TrackDecoder,
    outputRateHz: number,
    sessionStartUs: number,
    logger: Logger | undefined,
  ) {
    this.#decoder = decoder;
    this.#payloadType = source.payloadType;
    this.#filePath = source.filePath;
    this.#sessionStartUs = sessionStartUs;
    this.#logger = logger;
    this.#rateHz = decoder.sampleRateHz;
    this.#samplesPerTick = decoder.sampleRateHz / decoder.rtpClockRateHz;
    this.#reanchorThresholdSamples = (REANCHOR_THRESHOLD_MS * this.#rateHz) / 1000;
    this.#readAheadSamples = (READ_AHEAD_MS * this.#rateHz) / 1000;
    this.#duplicateWindowSamples = (DUPLICATE_WINDOW_MS * this.#rateHz) / 1000;
    this.#resampler =
      this.#rateHz === outputRateHz ? undefined : new StreamingResampler(this.#rateHz, outputRateHz);
    this.#stream = createReadStream(source.filePath, { highWaterMark: READ_CHUNK_BYTES });
    this.#chunks = this.#stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  /** The end (exclusive, at the decoder's rate) of the audio output frames [0, frameEnd) need. */
  #neededSamples(frameEnd: number): number {
    return this.#resampler === undefined ? frameEnd : this.#resampler.inputNeeded(frameEnd);
  }

  async prepare(frameEnd: number): Promise<void> {
    await this.#fill(this.#neededSamples(frameEnd) + this.#readAheadSamples);
    const decoder = this.#decoder;
    if (decoder.kind === 'byte-table' || this.#undecoded.length === 0) {
      return;
    }
    // Stateful decoders want the stream in order: a packet that arrived late within the batch
    // is decoded at its place (Array.prototype.sort is stable for equal positions).
    const batch = this.#undecoded.sort((a, b) => a.startSample - b.startSample);
    this.#undecoded = [];
    const decoded = await decoder.decode(batch.map((packet) => packet.payload));
    batch.forEach((packet, index) => {
      packet.pcm = decoded[index] ?? new Int16Array(0);
    });
    for (const packet of batch) {
      this.#pending.push(packet);
    }
  }

  render(
    frameStart: number,
    frameEnd: number,
    out: Int16Array | undefined,
    channel: number,
    channels: number,
  ): void {
    const resampler = this.#resampler;
    if (resampler === undefined) {
      this.#renderNative(frameStart, frameEnd, out, channel, channels);
      return;
    }
    const nativeEnd = resampler.inputNeeded(frameEnd);
    if (nativeEnd > this.#renderedSamples) {
      const scratch = new Int16Array(nativeEnd - this.#renderedSamples);
      this.#renderNative(this.#renderedSamples, nativeEnd, scratch, 0, 1);
      resampler.push(scratch);
      this.#renderedSamples = nativeEnd;
    }
    if (out === undefined) {
      resampler.skip(frameEnd - frameStart);
    } else {
      resampler.pull(frameEnd - frameStart, out, channel, channels);
    }
  }

  close(): void {
    this.#eof = true;
    this.#pending = [];
    this.#undecoded = [];
    this.#stream.destroy();
    if (this.#decoder.kind === 'packet') {
      if (this.#decoder.undecodable > 0) {
        this.#logger?.debug(
          { filePath: this.#filePath, codec: this.#decoder.codec, undecodable: this.#decoder.undecodable },
          'payloads that could not be decoded were exported as silence',
        );
      }
      this.#decoder.close();
    }
  }

  /**
   * Writes the parts of pending packets that fall in [from, to) (at the decoder's rate) to
   * out[offset + (sample − from) × stride], or only discards them when `out` is undefined, and
   * forgets the packets that end inside the range.
   */
  #renderNative(from: number, to: number, out: Int16Array | undefined, offset: number, stride: number): void {
    const table = this.#decoder.kind === 'byte-table' ? this.#decoder.table : undefined;
    const kept: PlacedPacket[] = [];
    for (const packet of this.#pending) {
      const source = table === undefined ? packet.pcm : packet.payload;
      const length = source === undefined ? 0 : source.length;
      const packetEnd = packet.startSample + length;
      if (packetEnd > to) {
        kept.push(packet);
      }
      if (out === undefined || source === undefined) {
        continue;
      }
      const first = Math.max(packet.startSample, from);
      const last = Math.min(packetEnd, to);
      let target = (first - from) * stride + offset;
      if (table === undefined) {
        for (let index = first - packet.startSample, end = last - packet.startSample; index < end; index++) {
          out[target] = source[index] as number;
          target += stride;
        }
      } else {
        for (let index = first - packet.startSample, end = last - packet.startSample; index < end; index++) {
          out[target] = table[source[index] as number] as number;
          target += stride;
        }
      }
    }
    this.#pending = kept;
  }

  /** Reads the file until an arrival at or after `untilSample`, or its end. */
  async #fill(untilSample: number): Promise<void> {
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

  #finish(): void {
    this.#eof = true;
    this.#reader.end();
  }

  #place(packet: PcapPacket): void {
    const arrivalSample = Math.floor(((packet.timestampUs - this.#sessionStartUs) * this.#rateHz) / 1e6);
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
      Math.abs(arrivalSample - (this.#seqArrival[seq] ?? 0)) < this.#duplicateWindowSamples
    ) {
      return;
    }
    this.#seqRun[seq] = this.#run;
    this.#seqArrival[seq] = arrivalSample;
    let startSample =
      this.#anchorSample +
      Math.round(uint32Diff(header.timestamp, this.#anchorRtpTimestamp) * this.#samplesPerTick);
    if (Math.abs(startSample - arrivalSample) > this.#reanchorThresholdSamples) {
      this.#anchor(header.ssrc, header.timestamp, arrivalSample);
      startSample = arrivalSample;
    }
    const placed: PlacedPacket = {
      startSample,
      payload: datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength),
      pcm: undefined,
    };
    if (this.#decoder.kind === 'byte-table') {
      this.#pending.push(placed);
    } else {
      this.#undecoded.push(placed);
    }
  }

  #anchor(ssrc: number, rtpTimestamp: number, sample: number): void {
    this.#anchored = true;
    this.#anchorSsrc = ssrc;
    this.#anchorRtpTimestamp = rtpTimestamp;
    this.#anchorSample = sample;
  }
}
