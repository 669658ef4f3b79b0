import { readdir, readFile } from 'node:fs/promises';
import { FDS_PER_AUDIO_CALL, parseOpenFilesLimit } from './fd-budget.js';

/**
 * Refuses new calls before the process runs out of file descriptors (issue 13 point 3). A call
 * that got "too many open files" half way would fail its track files or sockets; refused with 503
 * up front, the controller tries another recorder and the calls in progress keep recording.
 *
 * The descriptors in use are counted from /proc/self/fd once a second (a directory read, off the
 * SIP path), and the calls admitted since that count are assumed to hold FDS_PER_AUDIO_CALL each,
 * so a burst of INVITEs between two counts cannot overshoot. A margin is kept for what is not a
 * call (API and RTSP clients, ffmpeg pipes, log and database files).
 *
 * The limit itself is read again at each count: an operator who raises it on the running process
 * (`prlimit --pid`) gets the calls it allows without a restart, and one who lowers it is obeyed.
 */

/** Descriptors always kept free for everything but calls. */
export const OPEN_FILES_MARGIN = 64;
const SAMPLE_INTERVAL_MS = 1000;

export interface OpenFilesGateOptions {
  /** The soft RLIMIT_NOFILE the process runs under now; Infinity: no gate. */
  readonly readLimit?: () => Promise<number>;
  /** Told when a count finds a limit other than the last one (the first count included). */
  readonly onLimit?: (limit: number, previous: number | undefined) => void;
  /** Sessions recorded now (the registry's size). */
  readonly activeSessions: () => number;
  /** Descriptors open now, or undefined when it cannot be told (no /proc). */
  readonly countOpen?: () => Promise<number | undefined>;
}

export class OpenFilesGate {
  /** Infinity until the first count: no refusal on a guess. */
  #limit = Number.POSITIVE_INFINITY;
  #limitKnown = false;
  readonly #readLimit: () => Promise<number>;
  readonly #onLimit: ((limit: number, previous: number | undefined) => void) | undefined;
  readonly #activeSessions: () => number;
  readonly #countOpen: () => Promise<number | undefined>;
  #sampledOpen: number | undefined;
  #sessionsAtSample = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: OpenFilesGateOptions) {
    this.#readLimit = options.readLimit ?? softOpenFilesLimit;
    this.#onLimit = options.onLimit;
    this.#activeSessions = options.activeSessions;
    this.#countOpen = options.countOpen ?? countOpenDescriptors;
  }

  /** Takes a first count, then one a second (an unlimited process may be given a limit later). */
  async start(): Promise<void> {
    await this.sample();
    this.#timer = setInterval(() => void this.sample(), SAMPLE_INTERVAL_MS);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async sample(): Promise<void> {
    const limit = await this.#readLimit().catch(() => Number.POSITIVE_INFINITY);
    if (!this.#limitKnown || limit !== this.#limit) {
      const previous = this.#limitKnown ? this.#limit : undefined;
      this.#limit = limit;
      this.#limitKnown = true;
      this.#onLimit?.(limit, previous);
    }
    if (!Number.isFinite(limit)) {
      this.#sampledOpen = undefined;
      return;
    }
    const sessions = this.#activeSessions();
    const open = await this.#countOpen().catch(() => undefined);
    this.#sampledOpen = open;
    this.#sessionsAtSample = sessions;
  }

  /** Descriptors in use now as far as can be told: the last count plus the calls admitted since. */
  estimatedOpen(): number | undefined {
    if (this.#sampledOpen === undefined) {
      return undefined;
    }
    const newCalls = Math.max(0, this.#activeSessions() - this.#sessionsAtSample);
    return this.#sampledOpen + newCalls * FDS_PER_AUDIO_CALL;
  }

  /** True when one more call would leave less than the margin free: refuse it. */
  full(): boolean {
    const open = this.estimatedOpen();
    return open !== undefined && open + FDS_PER_AUDIO_CALL + OPEN_FILES_MARGIN > this.#limit;
  }

  get limit(): number {
    return this.#limit;
  }
}

/** Entries of /proc/self/fd (Linux); undefined elsewhere. */
export async function countOpenDescriptors(): Promise<number | undefined> {
  try {
    return (await readdir('/proc/self/fd')).length;
  } catch {
    return undefined;
  }
}

/** The soft open-file limit this process runs under; Infinity when unlimited or unknown. */
export async function softOpenFilesLimit(): Promise<number> {
  try {
    return parseOpenFilesLimit(await readFile('/proc/self/limits', 'utf8'))?.soft ?? Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}
