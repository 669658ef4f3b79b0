import { performance } from 'node:perf_hooks';

/**
 * How far behind real time the thread it runs on is: a media worker (rtp-worker.ts), or the main
 * thread, where app.ts gives one to admission control. A timer due every `PROBE_INTERVAL_MS`
 * notes how late it fires, which is how long a datagram or a request that became readable at that
 * moment waited before the thread could read it. It costs one timer per thread, nothing per
 * packet: 50 wakes a second of an idle thread, about 1 % of a core on a small VM (a wake costs
 * ~0.2 ms there); 10 ms would double that for a precision admission does not need. (perf_hooks'
 * event-loop delay histogram records a stall only once it ends, so it cannot see a thread that
 * is stalled right now.)
 *
 * The probe reports the *mean wait*: how late the worker was, averaged over the wall time of the
 * window, which is what a datagram arriving at a random moment waits on average. While the probe
 * is overdue its lateness grows one millisecond per millisecond, so a stall of S ms adds S²/2 to
 * the window's integral. A lone stall (a garbage collection of 60 ms) weighs little in a 250 ms
 * window (7 ms), while a worker that is always behind (starved of CPU, or with more packets than
 * it can read) shows its real delay. The worst single lag, which a lone stall sets for a whole
 * window, told admission control to refuse calls on a healthy node.
 */
const PROBE_INTERVAL_MS = 20;

/** One window of a LagProbe (ms). */
export interface LagWindow {
  /** How late the thread was on average over the window: what a datagram arriving at random waited. */
  readonly meanWaitMs: number;
  /**
   * The longest the thread was late in the window: the longest any datagram that became readable
   * in it waited before the thread could read it (within the probe's 20 ms period).
   */
  readonly maxWaitMs: number;
  readonly windowMs: number;
}

export class LagProbe {
  /** When the pending probe was due. */
  #dueAt = 0;
  /** Up to when the lateness has been integrated, and since when the window runs. */
  #integratedTo = 0;
  #windowStart = 0;
  /** The integral of lateness over the window (ms²). */
  #lateMsTimesMs = 0;
  /** The longest the probe was late in the window: the longest a readable datagram waited. */
  #maxLateMs = 0;
  #timer: NodeJS.Timeout | undefined;

  start(): void {
    const now = performance.now();
    this.#dueAt = now + PROBE_INTERVAL_MS;
    this.#integratedTo = now;
    this.#windowStart = now;
    this.#schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** The mean wait (ms) since the previous call, a probe overdue right now included; starts a new window. */
  takeMeanWaitMs(): number {
    return this.takeWindow().meanWaitMs;
  }

  /** The mean wait since the previous call and how long that window was (ms); starts a new window. */
  takeWindow(): LagWindow {
    const now = performance.now();
    this.#integrateTo(now);
    const windowMs = now - this.#windowStart;
    const meanMs = windowMs > 0 ? this.#lateMsTimesMs / windowMs : 0;
    // A probe overdue right now is as late as it is so far.
    const maxMs = Math.max(this.#maxLateMs, now - this.#dueAt);
    this.#lateMsTimesMs = 0;
    this.#maxLateMs = 0;
    this.#windowStart = now;
    return {
      meanWaitMs: Math.round(meanMs * 10) / 10,
      maxWaitMs: Math.round(Math.max(0, maxMs) * 10) / 10,
      windowMs: Math.round(windowMs),
    };
  }

  /** The probe's timer fired: its lateness ends now. */
  readonly #tick = (): void => {
    const now = performance.now();
    this.#integrateTo(now);
    this.#maxLateMs = Math.max(this.#maxLateMs, now - this.#dueAt);
    this.#dueAt = now + PROBE_INTERVAL_MS;
    this.#schedule();
  };

  /** The probe never keeps its thread alive. */
  #schedule(): void {
    this.#timer = setTimeout(this.#tick, PROBE_INTERVAL_MS);
    this.#timer.unref();
  }

  /** Adds the lateness from `#integratedTo` to `now`: the area under max(0, t − dueAt). */
  #integrateTo(now: number): void {
    const lateNow = Math.max(0, now - this.#dueAt);
    const lateBefore = Math.max(0, this.#integratedTo - this.#dueAt);
    this.#lateMsTimesMs += (lateNow * lateNow - lateBefore * lateBefore) / 2;
    this.#integratedTo = now;
  }
}
