import type { Logger } from 'pino';

/**
 * Why the API refused a request. Each is the client's doing (or the node protecting itself), so it
 * is counted and logged without a stack, never as an error.
 */
export const API_REFUSAL_REASONS = [
  'too-many-requests',
  'body-too-large',
  'json-too-deep',
  'malformed-request',
  'invalid-query',
  'invalid-session',
  'sign-in-refused',
  'download-unauthorized',
  'unknown-api',
] as const;

export type ApiRefusalReason = (typeof API_REFUSAL_REASONS)[number];

/**
 * At most one line per reason per interval. 10 s, not the 1 s of the INVITE refusals: a client
 * stuck in a loop repeats the same mistake for hours, and its line says how often.
 */
export const API_REFUSAL_LOG_INTERVAL_MS = 10_000;

interface ReasonState {
  total: number;
  unlogged: number;
  lastLineAtMs: number;
  /** The message and fields of the last refusal not logged yet. */
  last: { level: 'info' | 'warn'; message: string; fields: Readonly<Record<string, unknown>> } | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The log lines and counts of refused API requests. Under a flood of bad requests the first of a
 * reason is logged at once; the next ones are counted, and one line at the end of the interval
 * says how many there were (`refused`) and shows the last of them.
 */
export class ApiRefusalLog {
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #intervalMs: number;
  readonly #byReason = new Map<ApiRefusalReason, ReasonState>();

  constructor(log: Logger, now: () => number = Date.now, intervalMs = API_REFUSAL_LOG_INTERVAL_MS) {
    this.#log = log;
    this.#now = now;
    this.#intervalMs = intervalMs;
  }

  /** Counts a refusal and logs it, unless a line for its reason was written less than an interval ago. */
  note(
    reason: ApiRefusalReason,
    level: 'info' | 'warn',
    message: string,
    fields: Readonly<Record<string, unknown>> = {},
  ): void {
    const nowMs = this.#now();
    const state = this.#byReason.get(reason) ?? {
      total: 0,
      unlogged: 0,
      lastLineAtMs: -Infinity,
      last: undefined,
      timer: undefined,
    };
    this.#byReason.set(reason, state);
    state.total++;
    if (nowMs - state.lastLineAtMs >= this.#intervalMs) {
      this.#write(reason, level, message, fields, 1 + state.unlogged, nowMs, state);
      return;
    }
    state.unlogged++;
    state.last = { level, message, fields };
    // The count of the last burst is written even when no refusal follows it.
    state.timer ??= setTimeout(
      () => {
        state.timer = undefined;
        this.#flushReason(reason, state);
      },
      Math.max(0, state.lastLineAtMs + this.#intervalMs - nowMs),
    ).unref();
  }

  /** Refusals of each reason since the node started (for /metrics). */
  totals(): Readonly<Record<ApiRefusalReason, number>> {
    return Object.fromEntries(
      API_REFUSAL_REASONS.map((reason) => [reason, this.#byReason.get(reason)?.total ?? 0]),
    ) as Record<ApiRefusalReason, number>;
  }

  /** Writes the pending counts and stops the timers (the API is closing). */
  close(): void {
    for (const [reason, state] of this.#byReason) {
      clearTimeout(state.timer);
      state.timer = undefined;
      this.#flushReason(reason, state);
    }
  }

  #flushReason(reason: ApiRefusalReason, state: ReasonState): void {
    if (state.unlogged > 0 && state.last !== undefined) {
      const { level, message, fields } = state.last;
      this.#write(reason, level, message, fields, state.unlogged, this.#now(), state);
    }
  }

  #write(
    reason: ApiRefusalReason,
    level: 'info' | 'warn',
    message: string,
    fields: Readonly<Record<string, unknown>>,
    refused: number,
    nowMs: number,
    state: ReasonState,
  ): void {
    this.#log[level]({ ...fields, reason, refused }, message);
    state.unlogged = 0;
    state.last = undefined;
    state.lastLineAtMs = nowMs;
  }
}
