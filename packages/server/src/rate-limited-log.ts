import type { Logger } from 'pino';

export interface RateLimitedLogOptions {
  /** At most one line per reason in this many milliseconds. */
  readonly intervalMs?: number;
  /** The field that says how many events a line stands for ("refused" for refused INVITEs). */
  readonly countField?: string;
  /**
   * With a timer, the events counted after a reason's line are logged when its interval ends,
   * even if no event of that reason follows; without one, at the next event or `flush`.
   */
  readonly timer?: LogTimer;
}

/** What the log needs of a clock: the SIP layer's injected one, or the system's. */
export interface LogTimer {
  now(): number;
  setTimeout(callback: () => void, delayMs: number): unknown;
}

const DEFAULT_INTERVAL_MS = 1000;

/**
 * `warn` for what a peer did wrong or the node refused; `info` for a client's ordinary mistakes
 * (an expired session, a rejected query), which are no sign of trouble.
 */
export type RateLimitedLevel = 'info' | 'warn';

/**
 * Warn lines for expected events that a peer can cause at any rate (refused INVITEs, malformed
 * SIP, requests for dialogs that do not exist): at most one line per reason per interval. The first
 * event of a reason is logged at once; the next ones are counted, and the following line (or
 * `flush`) says how many there were. Never a stack: these events are the node working as designed,
 * not errors an operator must act on.
 *
 * Reasons must come from a bounded set (error codes, refusal reasons), never from peer input, so
 * that the table stays small whatever is sent.
 */
export class RateLimitedLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #countField: string;
  readonly #timer: LogTimer | undefined;
  #flushPending = false;
  readonly #byReason = new Map<
    string,
    { lastLineAtMs: number; unlogged: number; message: string; level: RateLimitedLevel }
  >();

  constructor(log: Logger, options: RateLimitedLogOptions = {}) {
    this.#log = log;
    this.#intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#countField = options.countField ?? 'count';
    this.#timer = options.timer;
  }

  note(
    reason: string,
    message: string,
    fields: Readonly<Record<string, unknown>>,
    nowMs: number,
    level: RateLimitedLevel = 'warn',
  ): void {
    const entry = this.#byReason.get(reason);
    if (entry !== undefined && nowMs - entry.lastLineAtMs < this.#intervalMs) {
      entry.unlogged++;
      entry.message = message;
      entry.level = level;
      this.#scheduleFlush(entry.lastLineAtMs + this.#intervalMs - nowMs);
      return;
    }
    const count = (entry?.unlogged ?? 0) + 1;
    this.#log[level]({ reason, [this.#countField]: count, ...fields }, message);
    this.#byReason.set(reason, { lastLineAtMs: nowMs, unlogged: 0, message, level });
  }

  /** Logs the events counted since each reason's last line, once its interval is over (or `force`). */
  flush(nowMs: number, force = false): void {
    for (const [reason, entry] of this.#byReason) {
      if (entry.unlogged > 0 && (force || nowMs - entry.lastLineAtMs >= this.#intervalMs)) {
        this.#log[entry.level]({ reason, [this.#countField]: entry.unlogged }, entry.message);
        entry.unlogged = 0;
        entry.lastLineAtMs = nowMs;
      }
    }
  }

  #scheduleFlush(delayMs: number): void {
    const timer = this.#timer;
    if (timer === undefined || this.#flushPending) {
      return;
    }
    this.#flushPending = true;
    timer.setTimeout(
      () => {
        this.#flushPending = false;
        const nowMs = timer.now();
        this.flush(nowMs);
        // Reasons whose interval is not over yet wait for the next timer.
        let nextMs = Infinity;
        for (const entry of this.#byReason.values()) {
          if (entry.unlogged > 0) {
            nextMs = Math.min(nextMs, entry.lastLineAtMs + this.#intervalMs - nowMs);
          }
        }
        if (nextMs !== Infinity) {
          this.#scheduleFlush(nextMs);
        }
      },
      Math.max(0, delayMs),
    );
  }
}
