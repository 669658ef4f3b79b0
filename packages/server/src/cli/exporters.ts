import { open, stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Logger } from 'pino';
import { resolveMediaPath } from '../storage/session-media.js';
import type { Session, Track } from '../model/session.js';
import { createWavExport, type WavTrackSource } from '../playback/wav-export.js';
import { exportSessionMp4 } from '../playback/mp4-export.js';

/**
 * The formats of `verbatim export`, one entry each: how a session becomes a file of that format.
 * An exporter writes the whole file at `outPath` (a temporary name beside the final one: the
 * command renames it when it is complete and removes it otherwise) and reports its progress in
 * milliseconds of the session. cli/export.ts loads this module only when it runs, so `--help` does
 * not load the decoders.
 */

export type ExportFormat = 'wav' | 'mp4';

/** Which tracks become the file's channels (WAV): as the HTTP WAV route's `?track=N` and `?mix=1`. */
export type ChannelChoice =
  | { readonly kind: 'stereo' }
  | { readonly kind: 'mix' }
  | { readonly kind: 'track'; readonly trackNumber: number };

export interface ExportJob {
  readonly session: Session;
  readonly mediaDir: string;
  readonly outPath: string;
  readonly channels: ChannelChoice;
  /** How far the file has got: ms of the session, and bytes written when known. */
  readonly onProgress: (doneMs: number, bytes?: number) => void;
  readonly signal: AbortSignal;
  /** Warnings about damaged or missing track files. */
  readonly logger: Logger;
}

export interface Exporter {
  /** --track and --mix apply. */
  readonly choosesChannels: boolean;
  /** How the file name ends (after downloadFileName's parts), as the HTTP downloads name it. */
  suffix(channels: ChannelChoice): string;
  write(job: ExportJob): Promise<void>;
}

/** The length of a closed session's file, in ms. */
export function sessionDurationMs(session: Session): number {
  return Math.max(0, session.sessionDuration ?? 0);
}

/**
 * The WAV source of a track, or undefined for a silent channel (no such track, video, a codec
 * never known, no media file): the same choice as the HTTP WAV route's.
 */
async function wavSource(
  mediaDir: string,
  track: Track | undefined,
  logger: Logger,
): Promise<WavTrackSource | undefined> {
  if (track?.trackMediaType !== 'AUDIO' || track.codec === '') {
    return undefined;
  }
  const filePath = resolveMediaPath(mediaDir, track.mediaPath);
  if (filePath === undefined || !(await isFile(filePath))) {
    logger.warn({ track: track.trackNumber }, 'the track has no media file: its channel is silent');
    return undefined;
  }
  return {
    filePath,
    codec: track.codec.toUpperCase(),
    payloadType: track.payloadType,
    clockRateHz: track.clockRateHz,
  };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return false;
    }
    throw error;
  }
}

const wavExporter: Exporter = {
  choosesChannels: true,
  suffix: (channels) =>
    channels.kind === 'track'
      ? `-TRACK${channels.trackNumber}.wav`
      : channels.kind === 'mix'
        ? '-mix.wav'
        : '.wav',
  async write(job) {
    const { session, channels } = job;
    const byNumber = (n: number): Track | undefined => session.tracks.find((t) => t.trackNumber === n);
    // Track 0 is the left channel and track 1 the right (DESIGN.md §1.3), or both in one.
    const tracks = channels.kind === 'track' ? [byNumber(channels.trackNumber)] : [byNumber(0), byNumber(1)];
    const durationMs = sessionDurationMs(session);
    const wav = await createWavExport({
      tracks: await Promise.all(tracks.map((track) => wavSource(job.mediaDir, track, job.logger))),
      layout: channels.kind === 'track' ? 'mono' : channels.kind,
      sessionStartMs: session.sessionStartDate,
      durationMs,
      logger: job.logger,
    });
    let written = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        written += chunk.length;
        job.onProgress((written / wav.totalBytes) * durationMs, written);
        callback(null, chunk);
      },
    });
    // `wx`: the temporary name is this process's own; never write through someone else's file.
    await pipeline(wav.open(), counter, createWriteStream(job.outPath, { flags: 'wx' }), {
      signal: job.signal,
    });
    await syncFile(job.outPath);
  },
};

const mp4Exporter: Exporter = {
  choosesChannels: false,
  suffix: () => '.mp4',
  async write(job) {
    const durationMs = sessionDurationMs(job.session);
    await exportSessionMp4({
      session: job.session,
      mediaDir: job.mediaDir,
      outPath: job.outPath,
      onProgress: (fraction) => {
        job.onProgress(fraction * durationMs);
      },
      signal: job.signal,
      logger: job.logger,
    });
    job.signal.throwIfAborted();
    await syncFile(job.outPath);
  },
};

export const EXPORTERS: Readonly<Record<ExportFormat, Exporter>> = { wav: wavExporter, mp4: mp4Exporter };

/** On disk before it is renamed into place, so a crash cannot leave a complete-looking name. */
async function syncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
