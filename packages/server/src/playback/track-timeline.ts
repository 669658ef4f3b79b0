import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { StreamingResampler } from '../protocol/codec/resample.js';
import { PCAP_GLOBAL_HEADER_BYTES, PcapReader, type PcapPacket } from '../protocol/container/pcap.js';
import { isLikelyRtcp, parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { uint16Diff, uint32Diff } from '../protocol/rtp/seq.js';
import { createTrackDecoder, describeDecoder, type DecoderDescription } from './decoders/registry.js';
import type { TrackDecoder } from './decoders/track-decoder.js';
import { DriftFollower, stretchSamples } from './drift-follower.js';
import { WavExportError } from './playback-errors.js';

/**
 * The track timeline: one track's audio as 16-bit PCM on the session timeline, at the rate an
 * export asks for, produced window by window from the track's pcap file. It knows nothing of the
 * file format it feeds: the WAV export interleaves two of them; the MP4 and RTSP exports will
 * read it the same way.
 *
 * Alignment on the session timeline (docs/media.md, "Track timeline"): RTP time is
 * authoritative. A run of packets (one SSRC, one timestamp base) is anchored once: at the arrival
 * time (pcap timestamp − session start) of its first packet, moved earlier when a later packet of
 * the run shows that the first one was held up (the anchor is the earliest arrival − RTP offset
 * seen, over the run's first MAX_DELAY_MS). Every packet of the run is then placed by its RTP
 * timestamp distance from the anchor, plus the run's slew, however late it arrives: a network or
 * host stall (packets held up, then arriving together) delays packets, it does not make time pass
 * in the stream, so it inserts no silence and moves nothing. The slew follows a sender clock that
 * runs fast or slow (playback/drift-follower.ts): it tracks the floor of the packets' lateness, at
 * most 0.5 % of real time, and each change of it stretches or squeezes one packet by a sample or
 * so, so that the audio stays continuous. Only evidence in the RTP itself starts a new run at the
 * packet's arrival time:
 * - a new SSRC;
 * - a timestamp step the sequence numbers do not explain (RFC 3550 §5.1: the timestamp advances
 *   with the sampling clock, the sequence number by one per packet sent, so between two packets of
 *   one run the timestamp step per sequence step is one packet's duration, 2.5–120 ms), checked
 *   against arrival: a sender restart or a source switched after a hold or transfer lands far from
 *   its arrival (more than REANCHOR_THRESHOLD_MS) and starts a new run; a timestamp gap with
 *   continuous sequence numbers that arrival agrees with (silence suppression, a hold during which
 *   the sender's clock ran on) is silence of the timestamps' length;
 * - a talkspurt start (marker bit, RFC 3551 §4.1) more than REANCHOR_THRESHOLD_MS later than its
 *   timestamp says: the silence before it happened, yet the sender's clock did not count it;
 * - a packet later than MAX_DELAY_MS (no stall the timeline absorbs lasts that long), or more
 *   than REANCHOR_THRESHOLD_MS early where the anchor can no longer move (which the slew keeps a
 *   drifting clock from reaching).
 * A sequence gap that the timestamps match is loss: silence of exactly the lost packets' length,
 * placed by timestamp up to LONG_GAP_MS; a longer one (an outage, or a recording paused through
 * the API, whose packets were received and not stored) starts a new run at the arrival of the
 * packet after it, since a sender clock running fast or slow has moved by then, unseen by the slew.
 * Gaps (lost packets, silence suppression, a track starting late) stay zero; a duplicate sequence
 * number keeps the first copy; payload types other than the track's audio type (telephone-event,
 * comfort noise) and RTCP are skipped. Audio before sample 0 is never rendered; where the timeline
 * ends is the reader's choice.
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

/**
 * 100 ms: how far a packet whose timestamp step its sequence numbers do not explain may land from
 * its arrival and still be placed by timestamp (silence suppression arrives with normal jitter; a
 * new timestamp base lands seconds or hours away).
 */
const REANCHOR_THRESHOLD_MS = 100;
/**
 * 1 s: the longest sequence gap (RTP time of packets missing from the file) still placed by its
 * timestamps. The slew follows a drifting sender clock only through the packets it sees, and a
 * clock 0.5 % off (the most the slew follows) moves 5 ms in a second, 300 ms over a one-minute
 * pause of the recording (PCI: a card number keyed in): after a longer gap the next packet starts
 * a new run at its arrival, whose anchor then moves to the earliest arrival of the packets that
 * follow (#advanceAnchor), so a late first packet does not shift it.
 */
const LONG_GAP_MS = 1000;
/**
 * The longest delay of a packet of continuous RTP that is absorbed (placed by timestamp, nothing
 * inserted); a packet later than that starts a new run at its arrival.
 */
const MAX_DELAY_MS = 10_000;
/**
 * A packet is placed at most MAX_DELAY_MS before its arrival, so reading arrivals up to this far
 * past a window's end is enough to have every packet that lands in it; one extra second absorbs
 * capture timestamps that are not perfectly monotonic.
 */
const READ_AHEAD_MS = MAX_DELAY_MS + 1000;
/** One packet's duration: Opus's shortest frame to its longest packet (RFC 6716, RFC 7587). */
const MIN_PACKET_MS = 2.5;
const MAX_PACKET_MS = 120;
/**
 * Sequence steps beyond these are not loss or reordering but a new sequence base (RFC 3550 §A.1's
 * MAX_DROPOUT and MAX_MISORDER).
 */
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
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
  /** Timeline position of the first sample, at the decoder's rate; moves with its run's anchor. */
  startSample: number;
  /**
   * Samples added to the packet's decoded length (negative: removed), by linear interpolation over
   * its own samples: the packet on which the drift follower moves its run's slew. 0 for almost
   * every packet.
   */
  readonly stretch: number;
  /** The run it was placed in (see PcapTrackTimeline.#advanceAnchor). */
  readonly anchorId: number;
  /** The RTP payload. */
  readonly payload: Uint8Array;
  /**
   * The decoded audio (packet decoders, and a stretched G.711 packet); other G.711 payloads are
   * looked up while rendering.
   */
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
  readonly #maxDelaySamples: number;
  readonly #readAheadSamples: number;
  /** The timestamp step per sequence step one packet can explain, in RTP ticks. */
  readonly #minPacketTicks: number;
  readonly #maxPacketTicks: number;
  readonly #longGapTicks: number;
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
  /** The current run: its SSRC, anchor, and the earliest position any of its packets took. */
  #anchored = false;
  #anchorId = 0;
  #anchorSsrc = 0;
  #anchorRtpTimestamp = 0;
  #anchorSample = 0;
  #runFirstSample = 0;
  /** The newest packet of the run (highest sequence number), which the next one is checked against. */
  #referenceSeq = 0;
  #referenceRtpTimestamp = 0;
  /** The run's packet duration in RTP ticks, learnt from its last consecutive pair; 0 before. */
  #packetTicks = 0;
  /** Duplicate detection: per sequence number, the SSRC run and arrival of its last packet. */
  readonly #seqRun = new Uint32Array(65536);
  readonly #seqArrival = new Float64Array(65536);
  #run = 0;
  /** The current run's slew, which follows a sender clock running fast or slow. */
  readonly #drift: DriftFollower;

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
    this.#drift = new DriftFollower(this.#rateHz);
    this.#reanchorThresholdSamples = (REANCHOR_THRESHOLD_MS * this.#rateHz) / 1000;
    this.#maxDelaySamples = (MAX_DELAY_MS * this.#rateHz) / 1000;
    this.#minPacketTicks = (MIN_PACKET_MS * decoder.rtpClockRateHz) / 1000;
    this.#maxPacketTicks = (MAX_PACKET_MS * decoder.rtpClockRateHz) / 1000;
    this.#longGapTicks = (LONG_GAP_MS * decoder.rtpClockRateHz) / 1000;
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
      const pcm = decoded[index] ?? new Int16Array(0);
      packet.pcm = packet.stretch === 0 ? pcm : stretchSamples(pcm, packet.stretch);
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
      // A G.711 packet has PCM only when it was stretched. One typed array per variable keeps each
      // loop's element access monomorphic (this is the export's hot loop).
      const pcm = packet.pcm;
      const bytes = table !== undefined && pcm === undefined ? packet.payload : undefined;
      const length = bytes !== undefined ? bytes.length : pcm !== undefined ? pcm.length : 0;
      const packetEnd = packet.startSample + length;
      if (packetEnd > to) {
        kept.push(packet);
      }
      if (out === undefined) {
        continue;
      }
      const first = Math.max(packet.startSample, from);
      const last = Math.min(packetEnd, to);
      let target = (first - from) * stride + offset;
      if (bytes !== undefined && table !== undefined) {
        for (let index = first - packet.startSample, end = last - packet.startSample; index < end; index++) {
          out[target] = table[bytes[index] as number] as number;
          target += stride;
        }
      } else if (pcm !== undefined) {
        for (let index = first - packet.startSample, end = last - packet.startSample; index < end; index++) {
          out[target] = pcm[index] as number;
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
    const seq = header.sequenceNumber;
    const newSource = !this.#anchored || header.ssrc !== this.#anchorSsrc;
    if (newSource) {
      this.#run++;
    } else if (
      this.#seqRun[seq] === this.#run &&
      Math.abs(arrivalSample - (this.#seqArrival[seq] ?? 0)) < this.#duplicateWindowSamples
    ) {
      return;
    }
    this.#seqRun[seq] = this.#run;
    this.#seqArrival[seq] = arrivalSample;
    let startSample: number;
    let stretch = 0;
    const rtpPosition = newSource ? 0 : this.#rtpPositionOf(header.timestamp);
    const slew = newSource ? 0 : this.#drift.slewAt(rtpPosition);
    if (newSource || this.#startsNewRun(seq, header.timestamp, header.marker, arrivalSample, slew)) {
      this.#anchor(header.ssrc, seq, header.timestamp, arrivalSample);
      startSample = arrivalSample;
    } else {
      // After #startsNewRun, which may have moved the anchor.
      startSample = this.#anchorSample + rtpPosition + slew;
      this.#runFirstSample = Math.min(this.#runFirstSample, startSample);
      this.#drift.observe(rtpPosition, arrivalSample);
      const seqStep = uint16Diff(seq, this.#referenceSeq);
      if (seqStep === 1) {
        const ticks = uint32Diff(header.timestamp, this.#referenceRtpTimestamp);
        if (ticks === this.#packetTicks && ticks > 0) {
          stretch = this.#drift.follow(
            rtpPosition,
            arrivalSample,
            this.#anchorSample,
            Math.round(ticks * this.#samplesPerTick),
          );
        }
        this.#packetTicks = ticks;
      }
      if (seqStep > 0) {
        this.#referenceSeq = seq;
        this.#referenceRtpTimestamp = header.timestamp;
      }
    }
    const payload = datagram.subarray(header.payloadOffset, header.payloadOffset + header.payloadLength);
    const placed: PlacedPacket = {
      startSample,
      stretch,
      anchorId: this.#anchorId,
      payload,
      pcm:
        stretch !== 0 && this.#decoder.kind === 'byte-table'
          ? stretchSamples(payload, stretch, this.#decoder.table)
          : undefined,
    };
    if (this.#decoder.kind === 'byte-table') {
      this.#pending.push(placed);
    } else {
      this.#undecoded.push(placed);
    }
  }

  /** The RTP time from the current run's first timestamp to this one, in samples at the decoder's rate. */
  #rtpPositionOf(rtpTimestamp: number): number {
    return Math.round(uint32Diff(rtpTimestamp, this.#anchorRtpTimestamp) * this.#samplesPerTick);
  }

  /**
   * Whether a packet of the current SSRC is a discontinuity that starts a new run at its arrival
   * (the rules are in the comment at the top of this file). A packet that strictly continues the
   * run but arrived earlier than its place moves the run's anchor earlier first, if it still can.
   */
  #startsNewRun(
    seq: number,
    rtpTimestamp: number,
    marker: boolean,
    arrivalSample: number,
    slew: number,
  ): boolean {
    // The RTP time of the packets missing between the run's newest packet and this one.
    const seqStep = uint16Diff(seq, this.#referenceSeq);
    const missingTicks =
      seqStep > 1 ? (uint32Diff(rtpTimestamp, this.#referenceRtpTimestamp) * (seqStep - 1)) / seqStep : 0;
    if (missingTicks > this.#longGapTicks) {
      return true;
    }
    const lateness = arrivalSample - (this.#anchorSample + this.#rtpPositionOf(rtpTimestamp) + slew);
    const step = this.#classifyStep(seq, rtpTimestamp);
    if (step === 'unexplained') {
      return Math.abs(lateness) > this.#reanchorThresholdSamples;
    }
    if (lateness < 0) {
      // Only a step of exactly the run's packet duration proves the anchor late: a timestamp step
      // that also holds a short silence may run ahead of real time by up to the threshold.
      const advanced = step === 'strict' ? this.#advanceAnchor(-lateness, arrivalSample) : 0;
      return -lateness - advanced > this.#reanchorThresholdSamples;
    }
    return lateness > this.#maxDelaySamples || (marker && lateness > this.#reanchorThresholdSamples);
  }

  /**
   * How the step from the run's newest packet to this one reads (RFC 3550 §5.1: the timestamp
   * advances with the sampling clock, the sequence number by one per packet sent, lost or not):
   * `strict` when the timestamp step is the sequence step times the run's packet duration (loss,
   * reordering), `plausible` when it is the sequence step times some packet duration (a ptime
   * change, a short silence), `unexplained` otherwise (a new timestamp or sequence base, a long
   * silence).
   */
  #classifyStep(seq: number, rtpTimestamp: number): 'strict' | 'plausible' | 'unexplained' {
    const seqStep = uint16Diff(seq, this.#referenceSeq);
    if (seqStep === 0 || seqStep > MAX_DROPOUT || seqStep < -MAX_MISORDER) {
      return 'unexplained';
    }
    const tsStep = uint32Diff(rtpTimestamp, this.#referenceRtpTimestamp);
    const ticksPerPacket = tsStep / seqStep;
    if (ticksPerPacket < this.#minPacketTicks || ticksPerPacket > this.#maxPacketTicks) {
      return 'unexplained';
    }
    return this.#packetTicks === 0 || ticksPerPacket === this.#packetTicks ? 'strict' : 'plausible';
  }

  /**
   * Moves the current run's anchor up to `wanted` samples earlier, with every packet of the run
   * waiting to be rendered: a packet that strictly continues the run but arrives before its place
   * shows that the run's first packet arrived late. The run may start at most MAX_DELAY_MS before
   * the arrival of the packet that moves it, which keeps every packet it moves beyond what has
   * been rendered (a window is rendered only once arrivals READ_AHEAD_MS past it are read), and
   * the result the same whatever windows the reader renders. Returns how far it moved.
   */
  #advanceAnchor(wanted: number, arrivalSample: number): number {
    const moved = Math.min(wanted, this.#runFirstSample - (arrivalSample - this.#maxDelaySamples));
    if (moved <= 0) {
      return 0;
    }
    this.#anchorSample -= moved;
    this.#runFirstSample -= moved;
    for (const packets of [this.#pending, this.#undecoded]) {
      for (const packet of packets) {
        if (packet.anchorId === this.#anchorId) {
          packet.startSample -= moved;
        }
      }
    }
    return moved;
  }

  #anchor(ssrc: number, seq: number, rtpTimestamp: number, sample: number): void {
    this.#anchored = true;
    this.#anchorId++;
    this.#anchorSsrc = ssrc;
    this.#anchorRtpTimestamp = rtpTimestamp;
    this.#anchorSample = sample;
    this.#runFirstSample = sample;
    this.#referenceSeq = seq;
    this.#referenceRtpTimestamp = rtpTimestamp;
    this.#packetTicks = 0;
    this.#drift.reset(sample);
  }
}
