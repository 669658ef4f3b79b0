import type { Logger } from 'pino';
import { RateLimitedLog, type RateLimitedLevel } from '../rate-limited-log.js';

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
  'forbidden',
  'download-unauthorized',
  'https-required',
  'unknown-api',
] as const;

export type ApiRefusalReason = (typeof API_REFUSAL_REASONS)[number];

/**
 * At most one line per reason per interval. 10 s, not the 1 s of the INVITE refusals: a client
 * stuck in a loop repeats the same mistake for hours, and its line says how often.
 */
export const API_REFUSAL_LOG_INTERVAL_MS = 10_000;

/**
 * The counts of refused API requests (for /metrics) and their log lines, rate-limited by the
 * node's RateLimitedLog: the first refusal of a reason is logged at once; the next ones are
 * counted, and the line that ends the interval says how many there were (`refused`).
 */
export class ApiRefusalLog {
  readonly #lines: RateLimitedLog;
  readonly #now: () => number;
  readonly #totals = new Map<ApiRefusalReason, number>();

  constructor(log: Logger, now: () => number = Date.now, intervalMs = API_REFUSAL_LOG_INTERVAL_MS) {
    this.#now = now;
    this.#lines = new RateLimitedLog(log, {
      intervalMs,
      countField: 'refused',
      // The count of the last burst is written even when no refusal follows it.
      timer: { now, setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref() },
    });
  }

  /** Counts a refusal and logs it, unless a line for its reason was written less than an interval ago. */
  note(
    reason: ApiRefusalReason,
    level: RateLimitedLevel,
    message: string,
    fields: Readonly<Record<string, unknown>> = {},
  ): void {
    this.#totals.set(reason, (this.#totals.get(reason) ?? 0) + 1);
    this.#lines.note(reason, message, fields, this.#now(), level);
  }

  /** Refusals of each reason since the node started (for /metrics). */
  totals(): Readonly<Record<ApiRefusalReason, number>> {
    return Object.fromEntries(
      API_REFUSAL_REASONS.map((reason) => [reason, this.#totals.get(reason) ?? 0]),
    ) as Record<ApiRefusalReason, number>;
  }

  /** Writes the counts held back (the API is closing). */
  close(): void {
    this.#lines.flush(this.#now(), true);
  }
}
