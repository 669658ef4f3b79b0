/**
 * Token buckets by source address for INVITEs that would create a dialog: each address may send
 * `ratePerSecond` of them on average and `burst` at once. One address scanning or looping cannot
 * take the node's set-up capacity from the others, and its excess is answered before any state
 * exists for it.
 *
 * The table is bounded: a bucket idle long enough to have refilled is the same as no bucket and
 * is forgotten, and past `maxSources` addresses the least recently seen is dropped, so a scan
 * from many addresses costs a bounded amount of memory. (A dropped address that comes back
 * starts with a full bucket; to drop an address still being limited, a scan must cycle through
 * `maxSources` other addresses within `burst / ratePerSecond` seconds.)
 */
export class SourceRateLimiter {
  readonly #ratePerMs: number;
  readonly #burst: number;
  readonly #maxSources: number;
  /** How long an idle bucket takes to refill completely: after that it is forgotten. */
  readonly #refillMs: number;
  /** By address, least recently used first (a Map keeps insertion order; use re-inserts). */
  readonly #buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(ratePerSecond: number, burst: number, maxSources: number) {
    if (!(ratePerSecond > 0) || !(burst >= 1) || !(maxSources >= 1)) {
      throw new RangeError(`bad source rate limit ${ratePerSecond}/s, burst ${burst}, ${maxSources} sources`);
    }
    this.#ratePerMs = ratePerSecond / 1000;
    this.#burst = burst;
    this.#maxSources = maxSources;
    this.#refillMs = burst / this.#ratePerMs;
  }

  /** Addresses with a bucket now. */
  get size(): number {
    return this.#buckets.size;
  }

  /** Takes one token for `address`; false when it has none left (the request is refused). */
  take(address: string, nowMs: number): boolean {
    this.#forgetIdle(nowMs);
    const bucket = this.#buckets.get(address);
    let tokens = this.#burst;
    if (bucket !== undefined) {
      this.#buckets.delete(address);
      tokens = Math.min(this.#burst, bucket.tokens + Math.max(0, nowMs - bucket.atMs) * this.#ratePerMs);
    }
    const allowed = tokens >= 1;
    this.#buckets.set(address, { tokens: allowed ? tokens - 1 : tokens, atMs: nowMs });
    if (this.#buckets.size > this.#maxSources) {
      const oldest = this.#buckets.keys().next();
      if (oldest.done !== true) {
        this.#buckets.delete(oldest.value);
      }
    }
    return allowed;
  }

  /** Drops the buckets, oldest first, that have refilled since their last use. */
  #forgetIdle(nowMs: number): void {
    for (const [address, bucket] of this.#buckets) {
      if (nowMs - bucket.atMs < this.#refillMs) {
        return;
      }
      this.#buckets.delete(address);
    }
  }
}
