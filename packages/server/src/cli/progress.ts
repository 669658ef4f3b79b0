/**
 * The progress of a long command (`verbatim export`) on stderr. On a terminal: one bar, redrawn in
 * place (`\r`, erase to the end of the line) at most a few times a second, with the percentage,
 * the audio done out of the total, the speed against real time, the time left and the bytes
 * written. Elsewhere (a log file, a pipe, cron): a plain line at every tenth of the job and one
 * at the end, so a log stays readable. Quiet: nothing. The stream and the clock are handed in, so
 * the rendering is tested without a terminal.
 */

/** What the reporter writes to: process.stderr, or a fake in tests. */
export interface ProgressStream {
  write(text: string): boolean;
  readonly isTTY?: boolean;
  /** The terminal's width; 80 when unknown or 0. */
  readonly columns?: number;
}

export type ProgressMode = 'bar' | 'lines' | 'quiet';

/** A bar on a terminal, plain lines elsewhere, nothing when asked to be quiet. */
export function progressModeOf(stream: ProgressStream, quiet: boolean): ProgressMode {
  if (quiet) {
    return 'quiet';
  }
  return stream.isTTY === true ? 'bar' : 'lines';
}

export interface ProgressOptions {
  readonly stream: ProgressStream;
  readonly mode: ProgressMode;
  /** The whole job, in milliseconds of media (the unit every export shares). */
  readonly totalMs: number;
  /** Starts every line: `export`. */
  readonly label: string;
  /** Wall clock in ms; default Date.now. */
  readonly now?: () => number;
  /** The bar is redrawn at most this often (ms); default 100. */
  readonly redrawIntervalMs?: number;
}

/** Plain lines are written at each of these fractions of the job (every 10 %). */
const LINE_STEP = 0.1;
const DEFAULT_REDRAW_INTERVAL_MS = 100;
const DEFAULT_COLUMNS = 80;
const MIN_BAR_WIDTH = 10;
const MAX_BAR_WIDTH = 40;
/** Room kept after the bar for the figures (`100%  1:02:03 / 1:02:03  120x real time  ETA …`). */
const FIGURES_ROOM = 70;
/** Erases from the cursor to the end of the line (ECMA-48 EL). */
const ERASE_LINE = '\x1b[K';

export class ProgressReporter {
  readonly #stream: ProgressStream;
  readonly #mode: ProgressMode;
  readonly #label: string;
  readonly #now: () => number;
  readonly #redrawIntervalMs: number;
  readonly #startedAt: number;
  #totalMs: number;
  #doneMs = 0;
  #bytes = 0;
  /** Text after the figures (the session being exported). */
  #detail = '';
  #lastDrawAt = Number.NEGATIVE_INFINITY;
  /** A bar is on the screen (the cursor is at its end). */
  #barShown = false;
  /** The last tenth reported as a plain line. */
  #lastStep = 0;
  #finished = false;

  constructor(options: ProgressOptions) {
    this.#stream = options.stream;
    this.#mode = options.mode;
    this.#label = options.label;
    this.#now = options.now ?? Date.now;
    this.#redrawIntervalMs = options.redrawIntervalMs ?? DEFAULT_REDRAW_INTERVAL_MS;
    this.#startedAt = this.#now();
    this.#totalMs = Math.max(0, options.totalMs);
  }

  /** Sets how much of the job is done (ms of media) and the bytes written so far. */
  update(doneMs: number, bytes: number): void {
    if (this.#finished) {
      return;
    }
    this.#doneMs = Math.min(Math.max(0, doneMs), this.#totalMs);
    this.#bytes = bytes;
    if (this.#mode === 'bar') {
      if (this.#now() - this.#lastDrawAt >= this.#redrawIntervalMs) {
        this.#drawBar();
      }
    } else if (this.#mode === 'lines') {
      const step = Math.floor((this.#fraction() + 1e-9) / LINE_STEP);
      // 100 % is the end line's to say.
      if (step > this.#lastStep && step < 1 / LINE_STEP) {
        this.#lastStep = step;
        this.#stream.write(`${this.#label}: ${this.#figures()}\n`);
      }
    }
  }

  /** What is being worked on, shown after the figures on the bar (and the plain lines). */
  setDetail(detail: string): void {
    this.#detail = detail;
  }

  /** Lowers the total when part of the job drops out (a session skipped or failed). */
  setTotal(totalMs: number): void {
    this.#totalMs = Math.max(0, totalMs);
    this.#doneMs = Math.min(this.#doneMs, this.#totalMs);
  }

  /** A line of its own (a skipped or failed session, a warning), printed above the bar. */
  note(line: string): void {
    if (this.#mode === 'quiet') {
      return;
    }
    this.#eraseBar();
    this.#stream.write(`${line}\n`);
    if (this.#mode === 'bar' && !this.#finished) {
      this.#drawBar();
    }
  }

  /**
   * Runs `write` (a line to another stream: `verbatim verify` prints its findings on stdout) with
   * the bar taken off the terminal first and drawn again after, so the two never share a line.
   */
  above(write: () => void): void {
    this.#eraseBar();
    write();
    if (this.#mode === 'bar' && !this.#finished) {
      this.#drawBar();
    }
  }

  /** The job is done: the bar at 100 % (then a new line), or the end line. */
  finish(): void {
    if (this.#finished) {
      return;
    }
    this.#doneMs = this.#totalMs;
    if (this.#mode === 'bar') {
      this.#drawBar();
      this.#stream.write('\n');
      this.#barShown = false;
    } else if (this.#mode === 'lines') {
      this.#stream.write(`${this.#label}: ${this.#figures()}\n`);
    }
    this.#finished = true;
  }

  /** The job stopped early (Ctrl-C, a failure): the bar is removed, nothing more is drawn. */
  abandon(): void {
    this.#eraseBar();
    this.#finished = true;
  }

  #fraction(): number {
    return this.#totalMs === 0 ? 1 : this.#doneMs / this.#totalMs;
  }

  /** `45%  0:27 / 1:00  120x real time  ETA 0:01  3.1 MB` (and the detail). */
  #figures(): string {
    const percent = Math.floor(this.#fraction() * 100);
    const elapsedMs = this.#now() - this.#startedAt;
    const parts = [
      `${String(percent).padStart(3)}%`,
      `${formatDuration(this.#doneMs)} / ${formatDuration(this.#totalMs)}`,
    ];
    // Speed and time left once there is something to measure them by.
    if (elapsedMs >= 200 && this.#doneMs > 0) {
      const speed = this.#doneMs / elapsedMs;
      parts.push(`${formatSpeed(speed)} real time`);
      if (this.#doneMs < this.#totalMs) {
        parts.push(`ETA ${formatDuration((this.#totalMs - this.#doneMs) / speed)}`);
      }
    }
    if (this.#finished || this.#doneMs >= this.#totalMs) {
      parts.push(`in ${formatElapsed(elapsedMs)}`);
    }
    // Some formats (MP4) know their size only at the end.
    if (this.#bytes > 0) {
      parts.push(formatBytes(this.#bytes));
    }
    if (this.#detail !== '') {
      parts.push(this.#detail);
    }
    return parts.join('  ');
  }

  #drawBar(): void {
    // A pseudo-terminal without a size reports 0 columns.
    const reported = this.#stream.columns ?? 0;
    const columns = reported > 0 ? reported : DEFAULT_COLUMNS;
    // The bar keeps one width while the figures after it grow (speed and time left appear after a
    // moment), so it does not jump.
    const width = Math.min(
      MAX_BAR_WIDTH,
      Math.max(MIN_BAR_WIDTH, columns - this.#label.length - 4 - FIGURES_ROOM),
    );
    const filled = Math.round(this.#fraction() * width);
    let line = `${this.#label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${this.#figures()}`;
    // A line longer than the terminal wraps, and `\r` would then redraw only its last part.
    if (line.length > columns - 1) {
      line = line.slice(0, Math.max(0, columns - 1));
    }
    this.#stream.write(`\r${line}${ERASE_LINE}`);
    this.#barShown = true;
    this.#lastDrawAt = this.#now();
  }

  #eraseBar(): void {
    if (this.#barShown) {
      this.#stream.write(`\r${ERASE_LINE}`);
      this.#barShown = false;
    }
  }
}

/** `0:07`, `12:34`, `1:02:03`. */
export function formatDuration(ms: number): string {
  const totalSeconds = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(totalSeconds / 3600);
  const minutes = Math.floor((totalSeconds % 3600) / 60);
  const seconds = totalSeconds % 60;
  const ss = String(seconds).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${ss}` : `${minutes}:${ss}`;
}

/** `0.4 s`, `12 s`, or as a duration beyond a minute. */
export function formatElapsed(ms: number): string {
  if (ms < 10_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  return ms < 60_000 ? `${Math.round(ms / 1000)} s` : formatDuration(ms);
}

/** `512 B`, `3.1 kB`, `45.0 MB`, `1.20 GB` (powers of 1000, as disk sizes are sold). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) {
    return `${bytes} B`;
  }
  if (bytes < 1e6) {
    return `${(bytes / 1e3).toFixed(1)} kB`;
  }
  if (bytes < 1e9) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
  }
  return `${(bytes / 1e9).toFixed(2)} GB`;
}

/** `120x`, `2.5x`, `0.80x`: media time done per wall-clock time (ASCII, for logs and cron mail). */
function formatSpeed(speed: number): string {
  if (speed >= 10) {
    return `${Math.round(speed)}x`;
  }
  return speed >= 1 ? `${speed.toFixed(1)}x` : `${speed.toFixed(2)}x`;
}
