import type { Logger } from 'pino';

/**
 * The warn lines of refused INVITEs, at most one per reason per `intervalMs`: under a flood of
 * INVITEs the first refusal of a reason is logged at once, the next ones are counted, and the
 * following line (or `flush`) says how many there were. Never a stack: a refusal is the node
 * working as designed, not an error.
 */
export class RefusalLog {
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #byReason = new Map<string, { lastLineAtMs: number; unlogged: number; message: string }>();

  constructor(log: Logger, intervalMs = 1000) {
    this.#log = log;
    this.#intervalMs = intervalMs;
  }

  note(reason: string, message: string, fields: Readonly<Record<string, unknown>>, nowMs: number): void {
    const entry = this.#byReason.get(reason);
    if (entry !== undefined && nowMs - entry.lastLineAtMs < this.#intervalMs) {
      entry.unlogged++;
      entry.message = message;
      return;
    }
    const refused = (entry?.unlogged ?? 0) + 1;
    this.#log.warn({ reason, refused, ...fields }, message);
    this.#byReason.set(reason, { lastLineAtMs: nowMs, unlogged: 0, message });
  }

  /** Logs the refusals counted since each reason's last line, once its interval is over (or `force`). */
  flush(nowMs: number, force = false): void {
    for (const [reason, entry] of this.#byReason) {
      if (entry.unlogged > 0 && (force || nowMs - entry.lastLineAtMs >= this.#intervalMs)) {
        this.#log.warn({ reason, refused: entry.unlogged }, entry.message);
        entry.unlogged = 0;
        entry.lastLineAtMs = nowMs;
      }
    }
  }
}
