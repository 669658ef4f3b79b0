import { endianness } from 'node:os';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { WAV_HEADER_BYTES, encodeWavHeader } from '../protocol/container/wav.js';
import { WavExportError } from './playback-errors.js';
import {
  openTrackTimeline,
  prepareTrack,
  type PreparedTrack,
  type TrackSource,
  type TrackTimeline,
  type TrackTimelineOptions,
} from './track-timeline.js';

export { WavExportError } from './playback-errors.js';

/**
 * The stereo WAV of a session (track 0 left, track 1 right), computed from the track pcap files
 * on demand and streamed: a few seconds of output are produced at a time from each track's
 * timeline (playback/track-timeline.ts: reading, decoding, placing on the session timeline,
 * resampling), so memory stays flat for a call of any length, and any byte range of the file can
 * be served (HTTP Range) without producing the bytes before it. This file only chooses the rate,
 * interleaves the two channels and writes the WAV bytes.
 *
 * The file's rate is the highest decoding rate among the tracks that can be decoded, capped at
 * 48 kHz, so a G.711-only call stays 8 kHz and is not made bigger than its content; a channel at
 * a lower rate is resampled by its timeline. A codec without a decoder (MP4A-LATM, H264, unknown)
 * is a silent channel: the export never fails because of a codec. Audio after the end is cut, so
 * the file lasts exactly `durationMs`.
 */

/** A track of the file: its pcap file and codec (see TrackSource). */
export type WavTrackSource = TrackSource;

/**
 * How the tracks become channels: `stereo` (track index 0 left, 1 right: the session WAV), `mono`
 * (one track, one channel: a single party), or `mix` (every track summed into one channel, clipped:
 * both parties for a player or a speech engine that takes one channel).
 */
export type WavLayout = 'stereo' | 'mono' | 'mix';

export interface WavExportOptions {
  /** stereo: index 0 = left channel, 1 = right; mono: one; mix: up to two. undefined = silence. */
  tracks: readonly (WavTrackSource | undefined)[];
  /** Default `stereo`. */
  layout?: WavLayout;
  /** Epoch ms of sample 0 of the file. */
  sessionStartMs: number;
  /** The file lasts exactly this long (the session duration, or now − start while ACTIVE). */
  durationMs: number;
  /** Output produced per step; the default (4 s) suits HTTP streaming. */
  chunkDurationMs?: number;
  /** Warnings about damaged track files and failing decoders go here. */
  logger?: Logger;
  /** The ffmpeg binary that decodes G.729; default `ffmpeg` from PATH. */
  ffmpegPath?: string;
}

export interface WavExport {
  /** Size of the whole file, header included. */
  readonly totalBytes: number;
  /** The file's sample rate. */
  readonly sampleRateHz: number;
  /** Streams bytes [start, end] (inclusive) of the file, or all of it. */
  open(range?: { start: number; end: number }): Readable;
}

/** The rate of a file whose tracks are all 8 kHz codecs (G.711, G.729), or not decodable. */
export const WAV_EXPORT_SAMPLE_RATE_HZ = 8000;
/** No file is made at a higher rate (an L16/96000 track is resampled down). */
export const WAV_EXPORT_MAX_SAMPLE_RATE_HZ = 48000;
/** The most tracks an export reads (stereo, or a mix of two). */
const MAX_TRACKS = 2;
const DEFAULT_CHUNK_DURATION_MS = 4000;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

/**
 * Checks the options and each track file's header, and computes the rate and size of the file.
 * Throws WavExportError for a missing or damaged track file and for invalid options, never for a
 * codec.
 */
export async function createWavExport(options: WavExportOptions): Promise<WavExport> {
  const { sessionStartMs, durationMs } = options;
  const chunkDurationMs = options.chunkDurationMs ?? DEFAULT_CHUNK_DURATION_MS;
  const layout = options.layout ?? 'stereo';
  const channels = layout === 'stereo' ? 2 : 1;
  const bytesPerFrame = channels * 2;
  if (
    !Number.isFinite(sessionStartMs) ||
    !Number.isFinite(durationMs) ||
    durationMs < 0 ||
    !Number.isFinite(chunkDurationMs) ||
    chunkDurationMs < 1 ||
    options.tracks.length > (layout === 'mono' ? 1 : MAX_TRACKS)
  ) {
    throw new WavExportError('VERBATIM_ERR_PLAYBACK_BAD_OPTIONS', 'invalid WAV export options');
  }
  const tracks: (PreparedTrack | undefined)[] = [];
  for (const source of options.tracks) {
    tracks.push(source === undefined ? undefined : await prepareTrack(source, options.logger));
  }
  const sampleRateHz = exportSampleRateHz(tracks);
  const totalFrames = Math.round((durationMs * sampleRateHz) / 1000);
  const dataBytes = totalFrames * bytesPerFrame;
  const header = encodeWavHeader({ sampleRateHz, channels, bitsPerSample: 16, dataBytes });
  const totalBytes = WAV_HEADER_BYTES + dataBytes;
  const plan: ExportPlan = {
    tracks,
    mix: layout === 'mix',
    channels,
    bytesPerFrame,
    header,
    sampleRateHz,
    totalFrames,
    chunkFrames: Math.max(1, Math.round((chunkDurationMs * sampleRateHz) / 1000)),
    timeline: {
      outputRateHz: sampleRateHz,
      sessionStartMs,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
    },
  };
  return {
    totalBytes,
    sampleRateHz,
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

/** The highest decoding rate among the tracks that can be decoded, within [8 kHz, 48 kHz]. */
function exportSampleRateHz(tracks: readonly (PreparedTrack | undefined)[]): number {
  let rateHz = WAV_EXPORT_SAMPLE_RATE_HZ;
  for (const track of tracks) {
    const trackRateHz = track?.description?.sampleRateHz ?? 0;
    if (trackRateHz > rateHz) {
      rateHz = trackRateHz;
    }
  }
  return Math.min(rateHz, WAV_EXPORT_MAX_SAMPLE_RATE_HZ);
}

interface ExportPlan {
  readonly tracks: readonly (PreparedTrack | undefined)[];
  /** Sum the tracks into the one channel instead of giving each its own. */
  readonly mix: boolean;
  readonly channels: number;
  readonly bytesPerFrame: number;
  readonly header: Uint8Array;
  readonly sampleRateHz: number;
  readonly totalFrames: number;
  readonly chunkFrames: number;
  /** How every pass reads the tracks: at the file's rate, from the session start. */
  readonly timeline: TrackTimelineOptions;
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
  const { bytesPerFrame, channels } = plan;
  const firstFrame = Math.floor((Math.max(start, WAV_HEADER_BYTES) - WAV_HEADER_BYTES) / bytesPerFrame);
  const lastFrame = Math.floor((end - WAV_HEADER_BYTES) / bytesPerFrame);
  const timelines: (TrackTimeline | undefined)[] = [];
  try {
    for (const track of plan.tracks) {
      timelines.push(await openTrackTimeline(track, plan.timeline));
    }
    for (let windowStart = 0; windowStart <= lastFrame; windowStart += plan.chunkFrames) {
      const windowEnd = Math.min(windowStart + plan.chunkFrames, plan.totalFrames);
      const wanted = windowEnd > firstFrame;
      // Buffer.alloc never slices Node's shared pool, so the zero-filled buffer starts at offset 0
      // and can be viewed as 16-bit samples that the tracks write straight into, interleaved.
      const out = wanted ? Buffer.alloc((windowEnd - windowStart) * bytesPerFrame) : undefined;
      const samples =
        out === undefined ? undefined : new Int16Array(out.buffer, out.byteOffset, out.length / 2);
      // Both files are read (and decoded) at the same time, so their I/O overlaps.
      await Promise.all(
        timelines.map((timeline) =>
          timeline === undefined ? Promise.resolve() : timeline.prepare(windowEnd),
        ),
      );
      if (plan.mix) {
        mixInto(timelines, windowStart, windowEnd, samples);
      } else {
        timelines.forEach((timeline, channel) =>
          timeline?.render(windowStart, windowEnd, samples, channel, channels),
        );
      }
      if (out === undefined) {
        continue;
      }
      if (!LITTLE_ENDIAN_HOST) {
        // WAV samples are little-endian; the typed-array view wrote host order.
        out.swap16();
      }
      const windowByte = WAV_HEADER_BYTES + windowStart * bytesPerFrame;
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

/**
 * Renders each track of a window on its own and sums them into `out` (one channel), clipped to
 * 16 bits. Every track is rendered even when the window is not wanted (`out` undefined), as the
 * stereo path does, so each timeline keeps its place.
 */
function mixInto(
  timelines: readonly (TrackTimeline | undefined)[],
  windowStart: number,
  windowEnd: number,
  out: Int16Array | undefined,
): void {
  const scratch = out === undefined ? undefined : new Int16Array(out.length);
  for (const timeline of timelines) {
    if (timeline === undefined) {
      continue;
    }
    if (scratch === undefined || out === undefined) {
      timeline.render(windowStart, windowEnd, undefined, 0, 1);
      continue;
    }
    scratch.fill(0);
    timeline.render(windowStart, windowEnd, scratch, 0, 1);
    for (let i = 0; i < out.length; i++) {
      const sum = (out[i] ?? 0) + (scratch[i] ?? 0);
      out[i] = sum > 32767 ? 32767 : sum < -32768 ? -32768 : sum;
    }
  }
}
