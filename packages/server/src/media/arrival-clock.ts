import { performance } from 'node:perf_hooks';

/**
 * Above this drift from the wall clock, the arrival clock is stepped back in line: an arrival time
 * may be this far from Date.now() at the same instant (performance.timeOrigin alone is commonly
 * off by 1 to 2.5 ms).
 */
export const ARRIVAL_CLOCK_MAX_DRIFT_US = 2000;

/**
 * Arrival times for stored packets, in epoch microseconds. Exports align the tracks of a call by
 * these times, so they must be accurate to about a millisecond, yet Date.now() has only
 * millisecond resolution and is comparatively slow to call per packet. This clock reads the
 * monotonic performance.now() per packet and adds an epoch origin that `resync` corrects, once a
 * second, when the wall clock was stepped (NTP) by more than ARRIVAL_CLOCK_MAX_DRIFT_US.
 */
export class ArrivalClock {
  #originUs: number;

  constructor() {
    this.#originUs = performance.timeOrigin * 1000;
    this.resync();
  }

  nowUs(): number {
    return Math.floor(this.#originUs + performance.now() * 1000);
  }

  resync(): void {
    const driftUs = Date.now() * 1000 - this.nowUs();
    // Date.now() truncates to the millisecond, so a drift within one millisecond is noise.
    if (Math.abs(driftUs) > ARRIVAL_CLOCK_MAX_DRIFT_US) {
      this.#originUs += driftUs;
    }
  }
}
