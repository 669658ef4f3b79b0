import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { endianness } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { WAV_HEADER_BYTES } from '../protocol/container/wav.js';
import type { Session } from '../model/session.js';
import { derivedFileKey, safeName } from './derived-files.js';
import type { WavExport } from './wav-export.js';

/**
 * The waveform of a session: per channel, the lowest and highest sample of each of N equal
 * stretches ("buckets") of the call, so a player can draw a one-hour call at once without
 * fetching its audio.
 *
 * The peaks are read from the session's stereo WAV export itself (wav-export.ts), streamed a few
 * seconds at a time, so they line up exactly with the WAV a player plays (track 0 left, track 1
 * right, the same timeline, gaps and resampling) and memory stays flat for a call of any length.
 * Bucket i covers frames [⌊i·F/N⌋, ⌊(i+1)·F/N⌋) of the F frames of the file.
 *
 * A closed session's peaks are computed once per bucket count and kept as a small JSON file in
 * the session's media folder (`<sessionId>.<fingerprint>.peaks-<N>.json`, as the MP4 cache
 * keeps its file), so deleting the session's media removes them too; the fingerprint (state,
 * start, duration, each track's codec and file size) makes a session that changed get new peaks.
 * An ACTIVE session's peaks are computed on each request (it grows) and never kept.
 */

/** The most buckets a request may ask for: 20 000 × 2 channels × (min, max) is ~0.5 MB of JSON. */
export const WAVEFORM_MAX_BUCKETS = 20_000;
export const WAVEFORM_DEFAULT_BUCKETS = 1000;
/** Bumped when the computation changes, so files written by an older version are computed again. */
const FORMAT_VERSION = 1;
/** Peaks are written with this many decimals of full scale (±1): finer than any screen. */
const DECIMALS = 4;
const LITTLE_ENDIAN_HOST = endianness() === 'LE';

export interface WaveformChannel {
  /** 0: left (track 0), 1: right (track 1). */
  readonly channel: number;
  readonly trackNumber: number;
  /** Lowest sample of each bucket, full scale −1…1. */
  readonly min: number[];
  /** Highest sample of each bucket, full scale −1…1. */
  readonly max: number[];
}

export interface Waveform {
  readonly sessionId: string;
  /** The WAV's rate and length: the peaks describe exactly that file. */
  readonly sampleRateHz: number;
  readonly durationMs: number;
  readonly frames: number;
  /** Buckets answered: the count asked, or fewer when the file has fewer frames than that. */
  readonly buckets: number;
  /** Track 0 left, track 1 right. */
  readonly channels: readonly WaveformChannel[];
}

/** Reads a stereo WAV export bucket by bucket; never holds more than one chunk of the stream. */
export async function computeWaveform(
  sessionId: string,
  wav: WavExport,
  requestedBuckets: number,
  signal?: AbortSignal,
): Promise<Waveform> {
  const bytesPerFrame = 4;
  const frames = Math.max(0, Math.floor((wav.totalBytes - WAV_HEADER_BYTES) / bytesPerFrame));
  const buckets = Math.min(requestedBuckets, frames);
  const min0 = new Int16Array(buckets);
  const max0 = new Int16Array(buckets);
  const min1 = new Int16Array(buckets);
  const max1 = new Int16Array(buckets);
  if (buckets > 0) {
    let frame = 0;
    let bucket = 0;
    // The first frame of the next bucket; ⌊(b+1)·F/N⌋ computed without overflow for any call.
    const boundary = (b: number): number => Math.floor(((b + 1) * frames) / buckets);
    let nextBoundary = boundary(0);
    let lo0 = 32767;
    let hi0 = -32768;
    let lo1 = 32767;
    let hi1 = -32768;
    // A chunk may end in the middle of a sample: the odd byte waits for the next chunk.
    let carry: Buffer | undefined;
    const stream = wav.open({ start: WAV_HEADER_BYTES, end: WAV_HEADER_BYTES + frames * bytesPerFrame - 1 });
    try {
      for await (const piece of stream) {
        signal?.throwIfAborted();
        let chunk = piece as Buffer;
        if (carry !== undefined) {
          chunk = Buffer.concat([carry, chunk]);
          carry = undefined;
        }
        const whole = chunk.length - (chunk.length % bytesPerFrame);
        if (whole < chunk.length) {
          carry = Buffer.from(chunk.subarray(whole));
        }
        const samples = samplesOf(chunk, whole);
        for (let at = 0; at < samples.length; at += 2) {
          const left = samples[at] ?? 0;
          const right = samples[at + 1] ?? 0;
          lo0 = left < lo0 ? left : lo0;
          hi0 = left > hi0 ? left : hi0;
          lo1 = right < lo1 ? right : lo1;
          hi1 = right > hi1 ? right : hi1;
          frame++;
          if (frame === nextBoundary) {
            min0[bucket] = lo0;
            max0[bucket] = hi0;
            min1[bucket] = lo1;
            max1[bucket] = hi1;
            lo0 = lo1 = 32767;
            hi0 = hi1 = -32768;
            bucket++;
            nextBoundary = bucket < buckets ? boundary(bucket) : Number.POSITIVE_INFINITY;
          }
        }
      }
    } finally {
      stream.destroy();
    }
  }
  const scale = (value: number): number => Number((value / 32768).toFixed(DECIMALS));
  return {
    sessionId,
    sampleRateHz: wav.sampleRateHz,
    durationMs: Math.round((frames * 1000) / wav.sampleRateHz),
    frames,
    buckets,
    channels: [
      { channel: 0, trackNumber: 0, min: Array.from(min0, scale), max: Array.from(max0, scale) },
      { channel: 1, trackNumber: 1, min: Array.from(min1, scale), max: Array.from(max1, scale) },
    ],
  };
}

/**
 * The first `bytes` of a chunk as 16-bit samples: a view when the chunk is aligned and the host
 * little-endian (the export's chunks are), else a copy read sample by sample.
 */
function samplesOf(chunk: Buffer, bytes: number): Int16Array {
  if (LITTLE_ENDIAN_HOST && chunk.byteOffset % 2 === 0) {
    return new Int16Array(chunk.buffer, chunk.byteOffset, bytes / 2);
  }
  const copy = new Int16Array(bytes / 2);
  for (let i = 0; i < copy.length; i++) {
    copy[i] = chunk.readInt16LE(i * 2);
  }
  return copy;
}

export interface WaveformCacheOptions {
  /** Track `mediaPath` values are relative to it. */
  readonly mediaDir: string;
  /** Where the peaks of a session without its own media folder are kept. */
  readonly fallbackDir: string;
  readonly logger: Logger;
  /** Computations running at once (each reads and decodes a whole call); default 2. */
  readonly maxConcurrent?: number;
}

export interface WaveformCacheCounters {
  /** Waveforms computed (read through the whole WAV export). */
  readonly computed: number;
  /** Requests answered from a kept file. */
  readonly hits: number;
}

/**
 * Keeps closed sessions' waveforms on disk and shares one computation among concurrent requests
 * for the same session and bucket count.
 */
export class WaveformCache {
  readonly #options: WaveformCacheOptions;
  readonly #inFlight = new Map<string, Promise<Waveform>>();
  readonly #waiting: (() => void)[] = [];
  #running = 0;
  #computed = 0;
  #hits = 0;

  constructor(options: WaveformCacheOptions) {
    this.#options = options;
  }

  /** Runs `compute` when a slot is free: a burst of requests for many calls queues, in order. */
  async #limited(compute: () => Promise<Waveform>): Promise<Waveform> {
    if (this.#running >= Math.max(1, this.#options.maxConcurrent ?? 2)) {
      await new Promise<void>((resolve) => this.#waiting.push(resolve));
    } else {
      this.#running++;
    }
    try {
      this.#computed++;
      return await compute();
    } finally {
      // The slot passes straight to the next in line, or is freed.
      const next = this.#waiting.shift();
      if (next === undefined) {
        this.#running--;
      } else {
        next();
      }
    }
  }

  get counters(): WaveformCacheCounters {
    return { computed: this.#computed, hits: this.#hits };
  }

  /**
   * The session's waveform in `buckets` buckets: from its file when kept, else computed by
   * `compute` (and kept, unless the session is ACTIVE).
   */
  async get(session: Session, buckets: number, compute: () => Promise<Waveform>): Promise<Waveform> {
    if (session.sessionState === 'ACTIVE') {
      return this.#limited(compute);
    }
    const path = await this.#pathOf(session, buckets);
    const kept = await readKept(path);
    if (kept !== undefined) {
      this.#hits++;
      return kept;
    }
    let running = this.#inFlight.get(path);
    if (running === undefined) {
      running = this.#computeAndKeep(session, path, compute).finally(() => this.#inFlight.delete(path));
      this.#inFlight.set(path, running);
    }
    return running;
  }

  async #computeAndKeep(session: Session, path: string, compute: () => Promise<Waveform>): Promise<Waveform> {
    const waveform = await this.#limited(compute);
    try {
      await mkdir(dirname(path), { recursive: true });
      // Written beside and renamed, so a reader never sees half a file.
      const partial = join(dirname(path), `.${basename(path)}.${process.pid}.partial`);
      await writeFile(partial, JSON.stringify(waveform));
      await rename(partial, path);
      await this.#removeStale(session.sessionId, dirname(path), basename(path));
    } catch (error) {
      // Not kept (a full or read-only disk): the answer is still right, the next one recomputes.
      this.#options.logger.warn({ err: error, sessionId: session.sessionId }, 'waveform not kept');
    }
    return waveform;
  }

  /**
   * Removes every kept waveform of the session (its media is being pruned or deleted): those in
   * its own folder go with the folder anyway, those in the fallback folder would stay behind.
   */
  async discard(session: Session): Promise<void> {
    await this.#removeStale(session.sessionId, dirname(await this.#pathOf(session, 0)), undefined);
  }

  /** Removes this session's peaks (any bucket count) of another fingerprint than `keep`'s, or all. */
  async #removeStale(sessionId: string, folder: string, keep: string | undefined): Promise<void> {
    const fingerprint = keep?.split('.').at(-3);
    const prefix = `${safeName(sessionId)}.`;
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    for (const name of names) {
      if (
        name.startsWith(prefix) &&
        /\.peaks-\d+\.json$/.test(name) &&
        name.split('.').at(-3) !== fingerprint
      ) {
        await unlink(join(folder, name)).catch(() => undefined);
      }
    }
  }

  async #pathOf(session: Session, buckets: number): Promise<string> {
    const { fingerprint, folder } = await derivedFileKey(session, this.#options.mediaDir, FORMAT_VERSION);
    const name = `${safeName(session.sessionId)}.${fingerprint}.peaks-${buckets}.json`;
    return join(folder ?? this.#options.fallbackDir, name);
  }
}

async function readKept(path: string): Promise<Waveform | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Waveform;
  } catch {
    // Absent, or damaged (then computed again and rewritten).
    return undefined;
  }
}
