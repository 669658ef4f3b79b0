import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { splitAdtsFrames } from '../protocol/container/adts.js';
import { WAV_HEADER_BYTES } from '../protocol/container/wav.js';
import type { Session, Track } from '../model/session.js';
import { Mp4ExportError } from './playback-errors.js';
import { createWavExport, type WavTrackSource } from './wav-export.js';
import { runFfmpeg } from './ffmpeg-run.js';
import { openVideoFlv } from './video-flv.js';
import { resolveMediaPath } from '../storage/session-media.js';

export { Mp4ExportError } from './playback-errors.js';

/**
 * The MP4 of a session: AAC stereo (track 0 left, track 1 right) plus, when the session has an
 * H.264 video track, that video as recorded (not re-encoded). ffmpeg runs as a subprocess (never
 * linked: its Debian build is GPL, ecosystem.md) and only encodes and muxes; the audio it gets is
 * the stereo PCM of the WAV export (wav-export.ts on the shared track timeline), piped to its
 * stdin as s16le, so the MP4 has exactly the WAV's gap-free timeline and length. The video is
 * depacketised here (video-flv.ts) and handed over as FLV on a second pipe (fd 3): FLV carries a
 * timestamp per frame, which raw Annex-B does not, so frames keep their RTP timing.
 *
 * A long audio-only session (5 minutes or more) is encoded by two ffmpeg processes at once, one
 * per half, whose AAC frames are joined where both encoded the same samples (encodeInHalves) and
 * then muxed by a third run (`-c:a copy`): the AAC encoder is single-threaded and is most of the
 * export's time, and a node has two cores. The joined file may end up to one AAC frame (128 ms at
 * 8 kHz) longer than the session: the last frame's padding, which the single run trims.
 *
 * The file is written under a temporary name beside `outPath` and renamed when ffmpeg succeeded
 * (`-movflags +faststart` rewrites the file to put the index first, so it plays while it
 * downloads); a failure or an abort kills ffmpeg and leaves no file behind.
 */

export interface Mp4ExportOptions {
  readonly session: Session;
  /** Track `mediaPath` values are relative to it. */
  readonly mediaDir: string;
  readonly outPath: string;
  /** 0..1, from the audio fed to ffmpeg (the encoder's pace); 1 once the file is in place. */
  readonly onProgress?: (fraction: number) => void;
  /** Aborting kills ffmpeg and removes the partial file; the promise rejects with the reason. */
  readonly signal?: AbortSignal;
  readonly logger?: Logger;
  /** Default `ffmpeg` from PATH. */
  readonly ffmpegPath?: string;
  /** Injected clock for the duration of an ACTIVE session (what was recorded so far). */
  readonly now?: () => number;
  /** Audio-only sessions at least this long are encoded in two halves at once; default 5 min. */
  readonly splitMinMs?: number;
}

/**
 * AAC encoder settings. 32 kbit/s carries two 8 kHz telephone channels well; intensity stereo and
 * perceptual noise substitution are off, as they would leak one party into the other channel or
 * replace a tone with noise (the two channels are different people, not a stereo image); TNS is
 * off for speed (the native encoder is single-threaded and is most of the export's time).
 */
const AAC_ARGS = ['-c:a', 'aac', '-b:a', '32k', '-aac_is', '0', '-aac_pns', '0', '-aac_tns', '0'];
const QUIET = ['-hide_banner', '-nostats', '-loglevel', 'error'];
/** 16-bit stereo. */
const BYTES_PER_FRAME = 4;
/** Samples per channel in one AAC-LC frame. */
const AAC_FRAME_SAMPLES = 1024;
/** Calls shorter than this are encoded by one ffmpeg: two would not pay for their start. */
const SPLIT_MIN_MS = 5 * 60_000;
/** How long the second encoder runs before its output is used (16 AAC frames). */
const SPLIT_PREROLL_FRAMES = 16 * AAC_FRAME_SAMPLES;

async function existingFile(path: string | undefined): Promise<string | undefined> {
  if (path === undefined) {
    return undefined;
  }
  try {
    return (await stat(path)).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** The audio source of a track, or undefined for a silent channel (as the WAV route). */
async function audioSource(mediaDir: string, track: Track | undefined): Promise<WavTrackSource | undefined> {
  if (track?.trackMediaType !== 'AUDIO' || track.codec === '') {
    return undefined;
  }
  const filePath = await existingFile(resolveMediaPath(mediaDir, track.mediaPath));
  return filePath === undefined
    ? undefined
    : {
        filePath,
        codec: track.codec.toUpperCase(),
        payloadType: track.payloadType,
        clockRateHz: track.clockRateHz,
      };
}

/** The session's first H.264 video track with a file, if any. */
export async function videoTrackFile(
  session: Session,
  mediaDir: string,
): Promise<{ track: Track; filePath: string } | undefined> {
  const tracks = [...session.tracks].sort((a, b) => a.trackNumber - b.trackNumber);
  for (const track of tracks) {
    if (track.trackMediaType === 'VIDEO' && track.codec.toUpperCase() === 'H264') {
      const filePath = await existingFile(resolveMediaPath(mediaDir, track.mediaPath));
      if (filePath !== undefined) {
        return { track, filePath };
      }
    }
  }
  return undefined;
}

/** How long the MP4 lasts: the session's duration, or what an ACTIVE one recorded so far. */
export function exportDurationMs(session: Session, now: () => number): number {
  return session.sessionState !== 'ACTIVE' && session.sessionDuration !== undefined
    ? session.sessionDuration
    : Math.max(0, now() - session.sessionStartDate);
}

export async function exportSessionMp4(options: Mp4ExportOptions): Promise<void> {
  const { session, mediaDir, outPath, signal, logger } = options;
  signal?.throwIfAborted();
  const byNumber = (n: number): Track | undefined => session.tracks.find((t) => t.trackNumber === n);
  const durationMs = exportDurationMs(session, options.now ?? Date.now);
  const wav = await createWavExport({
    tracks: await Promise.all([audioSource(mediaDir, byNumber(0)), audioSource(mediaDir, byNumber(1))]),
    layout: 'stereo',
    sessionStartMs: session.sessionStartDate,
    durationMs,
    ...(logger === undefined ? {} : { logger }),
    ...(options.ffmpegPath === undefined ? {} : { ffmpegPath: options.ffmpegPath }),
  });
  const video = await videoTrackFile(session, mediaDir);
  const ffmpegPath = options.ffmpegPath ?? 'ffmpeg';
  const frames = (wav.totalBytes - WAV_HEADER_BYTES) / BYTES_PER_FRAME;
  const tempPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(4).toString('hex')}.partial`);
  const progress = new Progress(options.onProgress);
  const pcm = (firstFrame: number, endFrame: number): Readable =>
    endFrame <= firstFrame
      ? Readable.from([])
      : progress.count(
          wav.open({
            start: WAV_HEADER_BYTES + firstFrame * BYTES_PER_FRAME,
            end: WAV_HEADER_BYTES + endFrame * BYTES_PER_FRAME - 1,
          }),
        );
  const pcmInput = ['-f', 's16le', '-ar', String(wav.sampleRateHz), '-ac', '2'];
  const mp4Output = ['-movflags', '+faststart', '-f', 'mp4', '-y', tempPath];
  const splitMinFrames = ((options.splitMinMs ?? SPLIT_MIN_MS) * wav.sampleRateHz) / 1000;
  try {
    if (video === undefined && frames >= splitMinFrames && availableParallelism() >= 2) {
      // Two encoders on two cores (the native AAC encoder is single-threaded and is most of
      // the export's time), each on its half, then joined (see encodeInHalves).
      progress.total = frames + SPLIT_PREROLL_FRAMES;
      const adts = await encodeInHalves(frames, pcm, pcmInput, ffmpegPath, signal);
      await runFfmpeg({
        ffmpegPath,
        args: [
          ...QUIET,
          // ADTS carries no encoder delay: the first frame's priming samples are skipped by
          // starting the input one frame early, which the MP4 keeps as an edit list.
          '-itsoffset',
          (-AAC_FRAME_SAMPLES / wav.sampleRateHz).toFixed(6),
          '-f',
          'aac',
          '-i',
          'pipe:0',
          '-c:a',
          'copy',
          ...mp4Output,
        ],
        inputs: [Readable.from(adts)],
        ...(signal === undefined ? {} : { signal }),
      });
    } else {
      progress.total = frames;
      await runFfmpeg({
        ffmpegPath,
        args: [
          // The FLV's timestamps are session-timeline times: kept as they are, so video that
          // starts later than the audio starts at its place (ffmpeg would move each input to 0).
          ...(video === undefined ? [] : ['-copyts']),
          ...QUIET,
          ...pcmInput,
          '-i',
          'pipe:0',
          ...(video === undefined ? [] : ['-f', 'flv', '-i', 'pipe:3']),
          '-map',
          '0:a',
          // `?`: a video track without one decodable frame gives an FLV without a stream.
          ...(video === undefined ? [] : ['-map', '1:v?', '-c:v', 'copy']),
          ...AAC_ARGS,
          // The audio sets the length: a video frame after the session's end is not kept.
          '-t',
          (durationMs / 1000).toFixed(3),
          ...mp4Output,
        ],
        inputs: [
          pcm(0, frames),
          ...(video === undefined
            ? []
            : [
                openVideoFlv({
                  filePath: video.filePath,
                  payloadType: video.track.payloadType,
                  clockRateHz: video.track.clockRateHz,
                  sessionStartMs: session.sessionStartDate,
                  durationMs,
                  ...(logger === undefined ? {} : { logger }),
                }),
              ]),
        ],
        ...(signal === undefined ? {} : { signal }),
      });
    }
    await rename(tempPath, outPath);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  options.onProgress?.(1);
}

/**
 * AAC for `frames` stereo frames of PCM, encoded by two ffmpeg processes at once, as one ADTS
 * stream. The first encodes [0, S), S a whole number of AAC frames near the middle; the second
 * starts SPLIT_PREROLL_FRAMES before S, so that its encoder has settled (rate control, and the
 * MDCT window overlapping S) by the time its output is used. The second's first
 * SPLIT_PREROLL_FRAMES / 1024 frames and the first's last frame are dropped, so the frame after
 * the join is the second encoder's encoding of the same samples, and the decoder's overlap-add
 * across the join sums two windows of the same signal: no gap, no repeat, and no click beyond
 * the encoders' own quantisation noise (checked by the export's tests around the join).
 */
async function encodeInHalves(
  frames: number,
  pcm: (firstFrame: number, endFrame: number) => Readable,
  pcmInput: readonly string[],
  ffmpegPath: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array[]> {
  const split = Math.floor(frames / 2 / AAC_FRAME_SAMPLES) * AAC_FRAME_SAMPLES;
  // Either encoder failing stops the other.
  const both = new AbortController();
  const onAbort = (): void => both.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  const encode = async (firstFrame: number, endFrame: number): Promise<Uint8Array[]> => {
    const chunks: Buffer[] = [];
    try {
      await runFfmpeg({
        ffmpegPath,
        args: [...QUIET, ...pcmInput, '-i', 'pipe:0', ...AAC_ARGS, '-f', 'adts', 'pipe:1'],
        inputs: [pcm(firstFrame, endFrame)],
        output: (chunk) => chunks.push(chunk),
        signal: both.signal,
      });
    } catch (error) {
      both.abort(error);
      throw error;
    }
    const parsed = splitAdtsFrames(Buffer.concat(chunks));
    if (!parsed.ok) {
      throw new Mp4ExportError(
        'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
        `ffmpeg's AAC: ${parsed.error.message}`,
      );
    }
    return parsed.value;
  };
  try {
    const [first, second] = await Promise.all([
      encode(0, split),
      encode(split - SPLIT_PREROLL_FRAMES, frames),
    ]);
    return [
      ...first.slice(0, split / AAC_FRAME_SAMPLES),
      ...second.slice(SPLIT_PREROLL_FRAMES / AAC_FRAME_SAMPLES),
    ];
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Progress in whole percents of the PCM frames fed to ffmpeg. */
class Progress {
  total = 0;
  #fed = 0;
  #reported = -1;
  readonly #report: ((fraction: number) => void) | undefined;

  constructor(report: ((fraction: number) => void) | undefined) {
    this.#report = report;
  }

  count(stream: Readable): Readable {
    stream.on('data', (chunk: Buffer) => {
      this.#fed += chunk.length / BYTES_PER_FRAME;
      // Steps of 1 %: a progress bar needs no more, and each call costs the caller.
      const step = Math.min(99, Math.floor((this.#fed / Math.max(1, this.total)) * 100));
      if (step > this.#reported) {
        this.#reported = step;
        this.#report?.(step / 100);
      }
    });
    return stream;
  }
}
