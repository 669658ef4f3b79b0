import { performance } from 'node:perf_hooks';

/**
 * How late a media worker runs: a timer due every `PROBE_INTERVAL_MS` notes how late it fires,
 * which is how long a datagram that became readable at that moment waited before the worker
 * could read it. (perf_hooks' monitorEventLoopDelay measures the same, but its reset() forgets a
 * stall that began or ended next to it.) It costs one timer per worker, nothing per packet.
 */
const PROBE_INTERVAL_MS = 10;

export class WorkerLagProbe {
  #dueAt = 0;
  /** The worst lag since the last `takeMs` and since the last `takeStatsWindowMs`. */
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
    const lagMs = Math.max(this.#windowMs, this.#overdueMs());
    this.#windowMs = 0;
    this.#statsWindowMs = Math.max(this.#statsWindowMs, lagMs);
    return lagMs;
  }

  /** The worst lag since the previous call of this method (the statistics interval). */
  takeStatsWindowMs(): number {
    const lagMs = Math.max(this.#statsWindowMs, this.#windowMs, this.#overdueMs());
    this.#statsWindowMs = 0;
    return lagMs;
  }

  #overdueMs(): number {
    return this.#timer === undefined ? 0 : roundMs(performance.now() - this.#dueAt);
  }

  readonly #tick = (): void => {
    const now = performance.now();
    const lagMs = roundMs(now - this.#dueAt);
    this.#windowMs = Math.max(this.#windowMs, lagMs);
    this.#dueAt = now + PROBE_INTERVAL_MS;
    this.#timer = setTimeout(this.#tick, PROBE_INTERVAL_MS);
  };
}

function roundMs(ms: number): number {
  return Math.max(0, Math.round(ms * 10) / 10);
}
