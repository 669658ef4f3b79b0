import { mkdir, open, readdir, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Logger } from 'pino';
import type { EventSink } from '../model/events.js';
import type { Session } from '../model/session.js';
import { derivedFileKey, safeName } from './derived-files.js';
import { exportSessionMp4, type Mp4ExportOptions } from './mp4-export.js';

/**
 * The MP4 cache: a session's MP4 is produced on its first request (mp4-export.ts, ffmpeg) and kept,
 * so later requests, and any byte range of them, are served from a plain file.
 *
 * Where: in the session's own media folder (`<media>/<day>/<sessionId>/`, beside its track files),
 * as `<sessionId>.<fingerprint>.mp4`. Deleting the session (deletion jobs) removes that folder
 * whole (storage/session-media.ts), so a deleted session's MP4 goes with its media and needs no
 * sweeper of its own; a session whose tracks are not in such a folder (never made by this
 * recorder) is cached under `fallbackDir` instead.
 *
 * Validity: the fingerprint hashes what the MP4 is made of (state, start, duration, and each
 * track's number, type, codec and file size), so a session that changed after its MP4 was made
 * (a track file grown by a late recovery, a duration corrected) gets a new file on its next
 * request; the stale one is removed then. A pruned or DELETED session is never served from the
 * cache (the route refuses it first, and `discard` removes its files).
 *
 * Single flight: concurrent requests for one session (same fingerprint) share one conversion.
 * Conversions run at most `maxConcurrent` at a time (ffmpeg's AAC encoder takes a core); the
 * others wait their turn in order. A conversion is aborted (ffmpeg killed, nothing left behind)
 * when every request waiting for it has gone away, unless one of them asked to keep it
 * (convertSession converts whether or not its caller waits for the answer).
 */

export interface Mp4CacheOptions {
  /** Track `mediaPath` values are relative to it. */
  readonly mediaDir: string;
  /** Where the MP4 of a session without its own media folder is kept. */
  readonly fallbackDir: string;
  /** Conversions running at once; default 2. */
  readonly maxConcurrent?: number;
  readonly logger: Logger;
  /** SESSION_EVENT UPDATED (change `media`) is published when a conversion has produced a file. */
  readonly events?: EventSink;
  readonly now?: () => number;
  readonly ffmpegPath?: string;
  /** The conversion; the real export by default (tests count or fail conversions with it). */
  readonly convert?: (options: Mp4ExportOptions) => Promise<void>;
}

/** A cached MP4, opened: the handle stays valid even if a newer conversion replaces the file. */
export interface CachedMp4 {
  readonly file: FileHandle;
  readonly sizeBytes: number;
}

export interface Mp4CacheCounters {
  /** Conversions started (ffmpeg runs). */
  readonly conversions: number;
  /** Conversions that failed (not counting aborts). */
  readonly failures: number;
  /** Conversions aborted because everybody waiting for them went away. */
  readonly aborted: number;
  /** Requests answered from an existing file. */
  readonly hits: number;
  /** Conversions running now. */
  readonly running: number;
  /** Conversions waiting for a slot. */
  readonly queued: number;
}

export interface Mp4Request {
  /** The waiter's request went away: it stops waiting (and the conversion stops if it was the last). */
  readonly signal?: AbortSignal;
  /** Keep converting even if this waiter goes away (convertSession). */
  readonly keep?: boolean;
}

const DEFAULT_MAX_CONCURRENT = 2;
/** Bumped when the export's output changes, so files made by an older version are made again. */
const FORMAT_VERSION = 1;

interface Conversion {
  readonly promise: Promise<string>;
  readonly controller: AbortController;
  waiters: number;
  kept: boolean;
}

export class Mp4Cache {
  readonly #options: Mp4CacheOptions;
  readonly #maxConcurrent: number;
  readonly #inFlight = new Map<string, Conversion>();
  readonly #queue: (() => void)[] = [];
  #running = 0;
  #conversions = 0;
  #failures = 0;
  #aborted = 0;
  #hits = 0;

  constructor(options: Mp4CacheOptions) {
    this.#options = options;
    this.#maxConcurrent = Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT);
  }

  get counters(): Mp4CacheCounters {
    return {
      conversions: this.#conversions,
      failures: this.#failures,
      aborted: this.#aborted,
      hits: this.#hits,
      running: this.#running,
      queued: this.#queue.length,
    };
  }

  /** The cached MP4 of the session as it is now, or undefined when it must be converted first. */
  async cached(session: Session): Promise<CachedMp4 | undefined> {
    const found = await openIfPresent(await this.#pathOf(session));
    if (found !== undefined) {
      this.#hits++;
    }
    return found;
  }

  /**
   * The session's MP4, converted now if it is not cached (or joining the conversion in progress).
   * Rejects with the conversion's error, or with the signal's reason when the waiter went away.
   */
  async get(session: Session, request: Mp4Request = {}): Promise<CachedMp4> {
    const path = await this.#pathOf(session);
    const existing = await openIfPresent(path);
    if (existing !== undefined) {
      this.#hits++;
      return existing;
    }
    await this.#join(session, path, request);
    const made = await openIfPresent(path);
    if (made === undefined) {
      // Removed between the conversion and this open: only a deletion does that.
      throw new Error(`the MP4 of ${session.sessionId} was removed as it was made`);
    }
    return made;
  }

  /** Stops every conversion (shutdown): ffmpeg killed, partial files removed. */
  async close(): Promise<void> {
    const running = [...this.#inFlight.values()];
    for (const conversion of running) {
      conversion.controller.abort(new Error('the node is shutting down'));
    }
    await Promise.all(running.map((conversion) => conversion.promise.catch(() => undefined)));
  }

  /** Removes every cached MP4 of the session (pruned or deleted). */
  async discard(session: Session): Promise<void> {
    const path = await this.#pathOf(session);
    await this.#removeOthers(session.sessionId, dirname(path), undefined);
  }

  async #join(session: Session, path: string, request: Mp4Request): Promise<void> {
    let conversion = this.#inFlight.get(path);
    // A conversion being stopped (its last waiter just left) is not joined: a new one starts.
    if (conversion === undefined || conversion.controller.signal.aborted) {
      const controller = new AbortController();
      const started: Conversion = {
        promise: this.#convert(session, path, controller.signal).finally(() => {
          if (this.#inFlight.get(path) === started) {
            this.#inFlight.delete(path);
          }
        }),
        controller,
        waiters: 0,
        kept: false,
      };
      conversion = started;
      this.#inFlight.set(path, conversion);
    }
    const joined = conversion;
    joined.waiters++;
    joined.kept ||= request.keep === true;
    const { signal } = request;
    if (signal === undefined) {
      try {
        await joined.promise;
      } finally {
        joined.waiters--;
      }
      return;
    }
    let onAbort: (() => void) | undefined;
    const gone = new Promise<never>((_resolve, reject) => {
      onAbort = () => {
        reject(signal.reason instanceof Error ? signal.reason : new Error('the request went away'));
      };
      if (signal.aborted) {
        onAbort();
      } else {
        signal.addEventListener('abort', onAbort, { once: true });
      }
    });
    try {
      await Promise.race([joined.promise, gone]);
    } finally {
      if (onAbort !== undefined) {
        signal.removeEventListener('abort', onAbort);
      }
      joined.waiters--;
      if (joined.waiters === 0 && !joined.kept) {
        // Nobody waits for this file any more: stop ffmpeg rather than spend a core on it.
        joined.controller.abort(new Error('every request for the MP4 went away'));
      }
      // The conversion's own outcome is observed here too, so an abort is never unhandled.
      joined.promise.catch(() => undefined);
    }
  }

  async #convert(session: Session, path: string, signal: AbortSignal): Promise<string> {
    try {
      await this.#slot(signal);
    } catch (error) {
      this.#aborted++;
      throw error;
    }
    this.#conversions++;
    const { logger } = this.#options;
    const startedMs = performance.now();
    try {
      await mkdir(dirname(path), { recursive: true });
      await (this.#options.convert ?? exportSessionMp4)({
        session,
        mediaDir: this.#options.mediaDir,
        outPath: path,
        signal,
        logger,
        ...(this.#options.ffmpegPath === undefined ? {} : { ffmpegPath: this.#options.ffmpegPath }),
      });
      logger.info(
        { sessionId: session.sessionId, seconds: Math.round(performance.now() - startedMs) / 1000 },
        'MP4 conversion done',
      );
      await this.#removeOthers(session.sessionId, dirname(path), path);
      this.#options.events?.publish({
        eventType: 'SESSION_EVENT',
        eventAction: 'UPDATED',
        sessionId: session.sessionId,
        change: 'media',
        at: (this.#options.now ?? Date.now)(),
      });
      return path;
    } catch (error) {
      if (signal.aborted) {
        this.#aborted++;
        logger.info({ sessionId: session.sessionId }, 'MP4 conversion stopped: nobody waits for it');
      } else {
        this.#failures++;
        logger.error({ err: error, sessionId: session.sessionId }, 'MP4 conversion failed');
      }
      throw error;
    } finally {
      this.#release();
    }
  }

  /** Hands the slot to the next waiting conversion, or frees it. */
  #release(): void {
    const next = this.#queue.shift();
    if (next === undefined) {
      this.#running--;
    } else {
      // The slot passes straight on, so a new conversion can never slip in between.
      next();
    }
  }

  /** Waits for a conversion slot; rejects (leaving the queue) if aborted first. */
  async #slot(signal: AbortSignal): Promise<void> {
    if (this.#running < this.#maxConcurrent) {
      this.#running++;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const go = (): void => {
        signal.removeEventListener('abort', cancel);
        resolve();
      };
      const cancel = (): void => {
        const at = this.#queue.indexOf(go);
        if (at >= 0) {
          this.#queue.splice(at, 1);
        }
        reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
      };
      signal.addEventListener('abort', cancel, { once: true });
      this.#queue.push(go);
    });
  }

  /** Removes the session's cached files other than `keep` (older fingerprints, partial files). */
  async #removeOthers(sessionId: string, folder: string, keep: string | undefined): Promise<void> {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    const prefix = `${safeName(sessionId)}.`;
    const inFlightHere = [...this.#inFlight.keys()].filter(
      (path) => path !== keep && dirname(path) === folder && basename(path).startsWith(prefix),
    );
    for (const name of names) {
      const full = join(folder, name);
      const stale = name.startsWith(prefix) && name.endsWith('.mp4') && full !== keep;
      // `.<name>.<random>.partial`: left by a conversion that a crash interrupted, unless one of
      // this session's conversions is running now (it may be writing it).
      const partial = name.startsWith(`.${prefix}`) && name.endsWith('.partial') && inFlightHere.length === 0;
      if ((stale && !this.#inFlight.has(full)) || partial) {
        await unlink(full).catch(() => undefined);
      }
    }
  }

  /** Where the MP4 of the session as it is now lives (see the fingerprint above). */
  async #pathOf(session: Session): Promise<string> {
    const { fingerprint, folder } = await derivedFileKey(session, this.#options.mediaDir, FORMAT_VERSION);
    const name = `${safeName(session.sessionId)}.${fingerprint}.mp4`;
    return join(folder ?? this.#options.fallbackDir, name);
  }
}

async function openIfPresent(path: string): Promise<CachedMp4 | undefined> {
  let file: FileHandle;
  try {
    file = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
  const info = await file.stat();
  return { file, sizeBytes: info.size };
}
