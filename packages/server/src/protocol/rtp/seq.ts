/**
 * Serial-number arithmetic for RTP sequence numbers (16 bits) and timestamps (32 bits), as
 * RFC 1982 defines it and RFC 3550 §A.1 applies it: two values are compared by the shorter way
 * round the circle, so 0 comes "after" 65535.
 */

/** (a + b) mod 2^16. */
export function uint16Add(a: number, b: number): number {
  return (a + b) & 0xffff;
}

/**
 * The signed distance from `from` to `to` in the 16-bit circle, in [-32768, 32767]: positive when
 * `to` is newer. uint16Diff(65535, 0) === 1.
 */
export function uint16Diff(to: number, from: number): number {
  return (((to - from) & 0xffff) << 16) >> 16;
}

/** True when `a` is newer than `b` in serial-number order. */
export function uint16Gt(a: number, b: number): boolean {
  return uint16Diff(a, b) > 0;
}

/**
 * The signed distance from `from` to `to` in the 32-bit circle, in [-2^31, 2^31 - 1]: used for
 * RTP timestamp deltas, which wrap every 2^32 ticks (about 6.2 days at 8 kHz).
 */
export function uint32Diff(to: number, from: number): number {
  return (to - from) | 0;
}

/** True when `a` is newer than `b` in 32-bit serial-number order. */
export function uint32Gt(a: number, b: number): boolean {
  return uint32Diff(a, b) > 0;
}

/**
 * Extends 16-bit sequence numbers into a monotonic counter (cycles × 2^16 + seq, RFC 3550 §A.1),
 * so that a stream lasting longer than 65536 packets (22 minutes at 20 ms) keeps an order.
 * Late packets from before a wrap map into the previous cycle rather than the current one (and a
 * packet older than the very first one seen maps below it, possibly to a negative number).
 */
export class SequenceExtender {
  #highest = -1;

  /** The highest extended sequence number seen so far, or -1 before the first packet. */
  get highest(): number {
    return this.#highest;
  }

  /** Returns the extended sequence number of `sequenceNumber`, relative to what was seen before. */
  extend(sequenceNumber: number): number {
    const seq = sequenceNumber & 0xffff;
    if (this.#highest < 0) {
      this.#highest = seq;
      return seq;
    }
    const extended = this.#highest + uint16Diff(seq, this.#highest & 0xffff);
    if (extended > this.#highest) {
      this.#highest = extended;
    }
    return extended;
  }

  reset(): void {
    this.#highest = -1;
  }
}
