/**
 * G.711 (ITU-T Recommendation G.711, 1988): 8-bit logarithmic companding of 8 kHz audio,
 * µ-law (PCMU, RTP payload type 0) and A-law (PCMA, payload type 8), RFC 3551 §4.5.14.
 *
 * Decoding is a table lookup: both 256-entry tables are computed once at module load from the
 * segment/mantissa formulas of the Recommendation (the same arithmetic as the widely used Sun
 * Microsystems reference implementation), so decoding an hour of audio costs one array read per
 * sample. The encoders are the reverse of those formulas and exist for tests and fixtures.
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

function mulawToLinear(code: number): number {
  // G.711 transmits µ-law with every bit inverted.
  const u = ~code & 0xff;
  const exponent = (u >>> 4) & 0x07;
  const mantissa = u & 0x0f;
  const magnitude = (((mantissa << 3) + MULAW_BIAS) << exponent) - MULAW_BIAS;
  return (u & 0x80) !== 0 ? -magnitude : magnitude;
}

function alawToLinear(code: number): number {
  // G.711 transmits A-law with the even bits inverted.
  const a = code ^ 0x55;
  const segment = (a & 0x70) >>> 4;
  let magnitude = (a & 0x0f) << 4;
  if (segment === 0) {
    magnitude += 8;
  } else {
    magnitude = (magnitude + 0x108) << (segment - 1);
  }
  return (a & 0x80) !== 0 ? magnitude : -magnitude;
}

function buildTable(decode: (code: number) => number): Int16Array {
  const table = new Int16Array(256);
  for (let code = 0; code < 256; code++) {
    table[code] = decode(code);
  }
  return table;
}

/** µ-law code → 16-bit linear sample. */
export const MULAW_TO_LINEAR: Int16Array = buildTable(mulawToLinear);
/** A-law code → 16-bit linear sample. */
export const ALAW_TO_LINEAR: Int16Array = buildTable(alawToLinear);

function decodeWith(table: Int16Array, src: Uint8Array, dst: Int16Array, dstOffset: number): number {
  const count = Math.min(src.length, dst.length - dstOffset);
  for (let i = 0; i < count; i++) {
    // Every index is a byte, so the lookup always hits one of the 256 entries.
    dst[dstOffset + i] = table[src[i] as number] as number;
  }
  return count < 0 ? 0 : count;
}

/**
 * Decodes µ-law bytes into `dst` from `dstOffset` on, one sample per byte. Stops at the end of
 * `dst`; returns the number of samples written.
 */
export function decodeMulaw(src: Uint8Array, dst: Int16Array, dstOffset = 0): number {
  return decodeWith(MULAW_TO_LINEAR, src, dst, dstOffset);
}

/** Decodes A-law bytes into `dst` from `dstOffset` on; returns the number of samples written. */
export function decodeAlaw(src: Uint8Array, dst: Int16Array, dstOffset = 0): number {
  return decodeWith(ALAW_TO_LINEAR, src, dst, dstOffset);
}

/** Encodes one 16-bit linear sample to µ-law (G.711 §3, biased segment search). */
export function encodeMulawSample(sample: number): number {
  let value = Math.trunc(sample);
  const sign = value < 0 ? 0x80 : 0;
  if (value < 0) {
    value = -value;
  }
  if (value > MULAW_CLIP) {
    value = MULAW_CLIP;
  }
  value += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (value & mask) === 0 && exponent > 0; mask >>>= 1) {
    exponent--;
  }
  const mantissa = (value >>> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** Encodes one 16-bit linear sample to A-law (G.711 §2, on the 13-bit magnitude). */
export function encodeAlawSample(sample: number): number {
  let value = Math.trunc(sample) >> 3;
  let mask: number;
  if (value >= 0) {
    mask = 0xd5;
  } else {
    mask = 0x55;
    value = -value - 1;
  }
  let segment = 0;
  for (let end = 0x1f; segment < 8 && value > end; end = (end << 1) | 1) {
    segment++;
  }
  if (segment >= 8) {
    return 0x7f ^ mask;
  }
  const mantissa = segment < 2 ? (value >>> 1) & 0x0f : (value >>> segment) & 0x0f;
  return ((segment << 4) | mantissa) ^ mask;
}

function encodeWith(encode: (sample: number) => number, src: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(src.length);
  for (let i = 0; i < src.length; i++) {
    out[i] = encode(src[i] ?? 0);
  }
  return out;
}

/** Encodes linear samples to µ-law bytes. */
export function encodeMulaw(src: ArrayLike<number>): Uint8Array {
  return encodeWith(encodeMulawSample, src);
}

/** Encodes linear samples to A-law bytes. */
export function encodeAlaw(src: ArrayLike<number>): Uint8Array {
  return encodeWith(encodeAlawSample, src);
}
