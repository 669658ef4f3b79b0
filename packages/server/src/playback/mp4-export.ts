import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, type Writable } from 'node:stream';
import type { Logger } from 'pino';
import { WAV_HEADER_BYTES } from '../protocol/container/wav.js';
import type { Session, Track } from '../model/session.js';
import { Mp4ExportError } from './playback-errors.js';
import { createWavExport, type WavTrackSource } from './wav-export.js';
import { openVideoFlv } from './video-flv.js';

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
}

/**
 * AAC encoder settings. 32 kbit/s carries two 8 kHz telephone channels well; intensity stereo and
 * perceptual noise substitution are off, as they would leak one party into the other channel or
 * replace a tone with noise (the two channels are different people, not a stereo image); TNS is
 * off for speed (the native encoder is single-threaded and is most of the export's time).
 */
const AAC_ARGS = ['-c:a', 'aac', '-b:a', '32k', '-aac_is', '0', '-aac_pns', '0', '-aac_tns', '0'];
/** The last stderr characters kept for the error of a failed run. */
const STDERR_TAIL_CHARS = 2000;

/** Resolves a stored track path inside the media directory (defence against edited rows). */
function insideMediaDir(mediaDir: string, mediaPath: string): string | undefined {
  if (mediaPath === '' || isAbsolute(mediaPath)) {
    return undefined;
  }
  const full = join(mediaDir, mediaPath);
  const rel = relative(mediaDir, full);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : full;
}

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
  const filePath = await existingFile(insideMediaDir(mediaDir, track.mediaPath));
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
      const filePath = await existingFile(insideMediaDir(mediaDir, track.mediaPath));
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
  const pcmBytes = wav.totalBytes - WAV_HEADER_BYTES;
  const tempPath = join(dirname(outPath), `.${basename(outPath)}.${randomBytes(4).toString('hex')}.partial`);
  const args = [
    // The FLV's timestamps are session-timeline times: kept as they are, so video that starts
    // later than the audio starts at its place (ffmpeg would otherwise move each input to 0).
    ...(video === undefined ? [] : ['-copyts']),
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-f',
    's16le',
    '-ar',
    String(wav.sampleRateHz),
    '-ac',
    '2',
    '-i',
    'pipe:0',
    ...(video === undefined ? [] : ['-f', 'flv', '-i', 'pipe:3']),
    '-map',
    '0:a',
    // `?`: a video track without one decodable frame gives an FLV without a stream; audio only.
    ...(video === undefined ? [] : ['-map', '1:v?', '-c:v', 'copy']),
    ...AAC_ARGS,
    // The audio sets the length: a video frame after the session's end is not kept.
    '-t',
    (durationMs / 1000).toFixed(3),
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    '-y',
    tempPath,
  ];
  const child = spawn(options.ffmpegPath ?? 'ffmpeg', args, {
    stdio: ['pipe', 'ignore', 'pipe', ...(video === undefined ? [] : ['pipe' as const])],
  });
  let stderrTail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (text: string) => {
    stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('close', (code, exitSignal) => resolve({ code, signal: exitSignal }));
    },
  );
  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
    }
  };
  signal?.addEventListener('abort', kill, { once: true });

  const feeds: Promise<void>[] = [];
  let fed = 0;
  let lastReported = -1;
  const audio: Readable =
    pcmBytes > 0 ? wav.open({ start: WAV_HEADER_BYTES, end: wav.totalBytes - 1 }) : Readable.from([]);
  audio.on('data', (chunk: Buffer) => {
    fed += chunk.length;
    const fraction = pcmBytes === 0 ? 1 : fed / pcmBytes;
    // Reported in steps of 1 %: a progress bar needs no more, and each call costs the caller.
    const step = Math.floor(fraction * 100);
    if (step !== lastReported && step < 100) {
      lastReported = step;
      options.onProgress?.(step / 100);
    }
  });
  if (child.stdin !== null) {
    feeds.push(feed(audio, child.stdin));
  }
  const videoPipe = child.stdio[3] as Writable | null | undefined;
  if (video !== undefined && videoPipe !== null && videoPipe !== undefined) {
    feeds.push(
      feed(
        openVideoFlv({
          filePath: video.filePath,
          payloadType: video.track.payloadType,
          clockRateHz: video.track.clockRateHz,
          sessionStartMs: session.sessionStartDate,
          durationMs,
          ...(logger === undefined ? {} : { logger }),
        }),
        videoPipe,
      ),
    );
  }
  // A feed fails when ffmpeg dies (EPIPE) or a track file cannot be read: ffmpeg is then killed,
  // and its exit (or the read error) decides the outcome below.
  const feedErrors: unknown[] = [];
  await Promise.all(
    feeds.map((done) =>
      done.catch((error: unknown) => {
        feedErrors.push(error);
        kill();
      }),
    ),
  );
  const exit = await exited;
  signal?.removeEventListener('abort', kill);
  try {
    if (signal?.aborted === true) {
      throw signal.reason instanceof Error
        ? signal.reason
        : new Mp4ExportError('VERBATIM_ERR_PLAYBACK_ABORTED', 'the MP4 export was aborted');
    }
    if (exit.error !== undefined) {
      throw new Mp4ExportError(
        'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
        `ffmpeg could not start: ${exit.error.message}`,
        {
          cause: exit.error,
        },
      );
    }
    const readError = feedErrors.find((error) => !isPipeClosed(error));
    if (readError !== undefined) {
      // A track file that could not be read (WavExportError) or an unexpected stream failure.
      throw readError instanceof Error
        ? readError
        : new Error('the MP4 export could not read its input', { cause: readError });
    }
    if (exit.code !== 0) {
      throw new Mp4ExportError(
        'VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED',
        `ffmpeg failed (${exit.code === null ? `signal ${exit.signal ?? '?'}` : `exit ${exit.code}`}): ${stderrTail.trim() || 'no message'}`,
      );
    }
    await rename(tempPath, outPath);
  } catch (error) {
    await unlink(tempPath).catch(() => undefined);
    throw error;
  }
  options.onProgress?.(1);
}

/** Pipes a source into one of ffmpeg's input pipes; the pipe is closed at the end (EOF). */
async function feed(source: Readable, pipe: Writable): Promise<void> {
  try {
    await pipeline(source, pipe);
  } catch (error) {
    source.destroy();
    throw error;
  }
}

/** ffmpeg closed its end first: it exited, and its exit status tells why. */
function isPipeClosed(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET';
}
