import { performance } from 'node:perf_hooks';

/**
 * How late a media worker runs: a timer due every `PROBE_INTERVAL_MS` notes how late it fires,
 * which is how long a datagram that became readable at that moment waited before the worker
 * could read it. (perf_hooks' monitorEventLoopDelay measures the same, but its reset() forgets a
 * stall that began or ended next to it.) It costs one timer per worker, nothing per packet: 50
 * wakes a second of an idle worker, about 1 % of a core on a small VM (a wake costs ~0.2 ms
 * there); 10 ms would double that for a precision admission does not need.
 */
const PROBE_INTERVAL_MS = 20;

export class WorkerLagProbe {
  #dueAt = 0;
  /** The worst lag since the last `takeMs`, and since the last `takeStatsWindowMs`. */
  #windowMs = 0;
  #statsWindowMs = 0;
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    this.#dueAt = performance.now() + PROBE_INTERVAL_MS;
    this.#timer = setTimeout(this.#tick, PROBE_INTERVAL_MS);
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The worst lag (ms) since the previous call, including a probe that is overdue right now. */
  takeMs(): number {
    this.#absorbOverdue();
    const lagMs = this.#windowMs;
    this.#windowMs = 0;
    return lagMs;
  }

  /** The worst lag since the previous call of this method (the statistics interval). */
  takeStatsWindowMs(): number {
    this.#absorbOverdue();
    const lagMs = this.#statsWindowMs;
    this.#statsWindowMs = 0;
    return lagMs;
  }

  /**
   * A probe that is due and has not run yet is late already: that lateness is counted now, and
   * the probe, when it runs, counts only what comes after.
   */
  #absorbOverdue(): void {
    if (this.#timer === undefined) {
      return;
    }
    const now = performance.now();
    this.#note(roundMs(now - this.#dueAt));
    this.#dueAt = Math.max(this.#dueAt, now);
  }

  #note(lagMs: number): void {
    this.#windowMs = Math.max(this.#windowMs, lagMs);
    this.#statsWindowMs = Math.max(this.#statsWindowMs, lagMs);
  }

  readonly #tick = (): void => {
    const now = performance.now();
    this.#note(roundMs(now - this.#dueAt));
    this.#dueAt = now + PROBE_INTERVAL_MS;
    this.#timer = setTimeout(this.#tick, PROBE_INTERVAL_MS);
  };
}

function roundMs(ms: number): number {
  return Math.max(0, Math.round(ms * 10) / 10);
}
