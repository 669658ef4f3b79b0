/**
 * G.722 decoder (ITU-T Recommendation G.722, 7 kHz audio coding within 64 kbit/s), mode 1 only:
 * every byte carries a 6-bit lower sub-band code and a 2-bit higher sub-band code, and decodes
 * to two 16 kHz samples. RTP carries G.722 with an 8000 Hz timestamp clock although the audio is
 * sampled at 16 kHz, an error kept for compatibility (RFC 3551 §4.5.2), so one RTP timestamp unit
 * is two output samples.
 *
 * Written from the functional blocks of the Recommendation (§6.2: INVQAL/INVQBL, LOGSCL, SCALEL,
 * the pole-zero predictor of blocks UPPOL1, UPPOL2, UPZERO, FILTEP, FILTEZ, and the receive
 * QMF), in the integer arithmetic of the public-domain CMU/Steve Underwood description, so the
 * output matches other bit-exact decoders. Modes 2 and 3 (56 and 48 kbit/s) only differ in the
 * lower-band inverse quantizer; RTP offers no way to signal them and no recorder source uses
 * them, so they are not implemented.
 *
 * The decoder is a small state machine: the ADPCM predictors and the QMF delay line carry over
 * from one packet to the next, so a stream is decoded by one instance, packet after packet.
 */

/** Samples (16 kHz) produced by one G.722 byte. */
export const G722_SAMPLES_PER_BYTE = 2;
export const G722_SAMPLE_RATE_HZ = 16000;
/** The RTP timestamp clock of G.722, RFC 3551 §4.5.2 (not the sampling rate). */
export const G722_RTP_CLOCK_RATE_HZ = 8000;

// Tables of G.722 §6.2 (Tables 6/G.722 to 15/G.722 as the integer values of the reference code).

/** INVQAL: 4-bit inverse quantizer of the lower band (the truncated code drives the adaptation). */
const QM4 = Int32Array.from([
  0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0,
]);

/** INVQBL in mode 1: 6-bit inverse quantizer of the lower band (the reconstructed output). */
const QM6 = Int32Array.from([
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360,
  -8576, -7856, -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688,
  -1360, -1040, -728, 24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192,
  6576, 6000, 5456, 4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432,
  -136,
]);

/** LOGSCL: magnitude index of a 4-bit lower-band code, then its log-scale factor multiplier. */
const RL42 = Int32Array.from([0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0]);
const WL = Int32Array.from([-60, -30, 58, 172, 334, 538, 1198, 3042]);

/** INVQAH: 2-bit inverse quantizer of the higher band. */
const QM2 = Int32Array.from([-7408, -1616, 7408, 1616]);
/** LOGSCH: magnitude index of a 2-bit higher-band code, then its log-scale factor multiplier. */
const RH2 = Int32Array.from([2, 1, 2, 1]);
const WH = Int32Array.from([0, -214, 798]);

/**
 * SCALEL/SCALEH: the antilog table, 2048 × 2^(i/32) rounded (the fractional part of the log scale
 * factor, five bits).
 */
const ILB = Int32Array.from({ length: 32 }, (_, i) => Math.round(2048 * 2 ** (i / 32)));

/** Receive QMF coefficients h(0)…h(11) of the 24-tap filter, §6.2.3 / Table 11 (halved, ×2^13). */
const QMF = Int32Array.from([3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11]);

const QMF_TAPS = 24;
const NBL_MAX = 18432;
const NBH_MAX = 22528;

function clamp16(value: number): number {
  return value > 32767 ? 32767 : value < -32768 ? -32768 : value;
}

/**
 * One sub-band ADPCM decoder: the adaptive scale factor (LOGSCL/SCALEL or LOGSCH/SCALEH) and the
 * adaptive predictor (two poles, six zeros) of blocks 3 and 4.
 */
class SubBand {
  /** Quantizer scale factor DETL/DETH, and its logarithm NBL/NBH. */
  det: number;
  nb = 0;
  /** Predicted signal SL/SH, and its zero-section part SZL/SZH. */
  predicted = 0;
  zeroPart = 0;
  /** Pole coefficients a1, a2 (index 1, 2) and zero coefficients b1…b6 (index 1…6). */
  readonly a = new Int32Array(3);
  readonly b = new Int32Array(7);
  /** Quantized differences d(n)…d(n−6), partial reconstructions p(n)…p(n−2), reconstructions r(n)…r(n−2). */
  readonly d = new Int32Array(7);
  readonly p = new Int32Array(3);
  readonly r = new Int32Array(3);

  constructor(initialDet: number) {
    this.det = initialDet;
  }

  /** SCALEL (shift 8) or SCALEH (shift 10): DET from the log scale factor NB. */
  scale(shiftBase: number): void {
    const fraction = ILB[(this.nb >> 6) & 31] as number;
    const shift = shiftBase - (this.nb >> 11);
    this.det = (shift < 0 ? fraction << -shift : fraction >> shift) << 2;
  }

  /** Block 4: RECONS, PARREC, UPPOL2, UPPOL1, UPZERO, DELAYA, FILTEP, FILTEZ, PREDIC. */
  adapt(difference: number): void {
    const { a, b, d, p, r } = this;
    d[0] = difference;
    r[0] = clamp16(this.predicted + difference);
    p[0] = clamp16(this.zeroPart + difference);

    // UPPOL2: a2 leaks towards 0 and moves with the signs of the partial reconstructions.
    const sign0 = p[0] >> 15;
    const sign1 = (p[1] as number) >> 15;
    const sign2 = (p[2] as number) >> 15;
    const a1Times4 = clamp16((a[1] as number) * 4);
    let wd = sign0 === sign1 ? -a1Times4 : a1Times4;
    if (wd > 32767) {
      wd = 32767;
    }
    let a2 = (sign0 === sign2 ? 128 : -128) + (wd >> 7) + (((a[2] as number) * 32512) >> 15);
    a2 = a2 > 12288 ? 12288 : a2 < -12288 ? -12288 : a2;

    // UPPOL1: a1 is bounded by 1 − 2^−4 − a2 so the pole section stays stable.
    let a1 = clamp16((sign0 === sign1 ? 192 : -192) + (((a[1] as number) * 32640) >> 15));
    const bound = clamp16(15360 - a2);
    a1 = a1 > bound ? bound : a1 < -bound ? -bound : a1;

    // UPZERO: each b_i leaks and moves by the sign agreement of d(n) and d(n−i).
    const step = difference === 0 ? 0 : 128;
    const signD = difference >> 15;
    for (let i = 1; i < 7; i++) {
      const agree = (d[i] as number) >> 15 === signD;
      b[i] = clamp16((agree ? step : -step) + (((b[i] as number) * 32640) >> 15));
    }

    // DELAYA: shift the delay lines.
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1] as number;
    }
    r[2] = r[1] as number;
    r[1] = r[0];
    p[2] = p[1] as number;
    p[1] = p[0];
    a[1] = a1;
    a[2] = a2;

    // FILTEP and FILTEZ: the pole and zero sections of the predictor, then PREDIC.
    const r1 = clamp16(r[1] * 2);
    const r2 = clamp16(r[2] * 2);
    const polePart = clamp16(((a1 * r1) >> 15) + ((a2 * r2) >> 15));
    let zeroPart = 0;
    for (let i = 6; i > 0; i--) {
      zeroPart += ((b[i] as number) * clamp16((d[i] as number) * 2)) >> 15;
    }
    this.zeroPart = clamp16(zeroPart);
    this.predicted = clamp16(polePart + this.zeroPart);
  }
}

/** A streaming G.722 mode-1 decoder: 64 kbit/s in, 16 kHz 16-bit samples out. */
export class G722Decoder {
  #low = new SubBand(32);
  #high = new SubBand(8);
  /**
   * Receive QMF delay line: the last 12 pairs (xs, xd) are x[base … base + 23], oldest first,
   * in a buffer with room to slide.
   */
  readonly #qmf = new Int32Array(QMF_TAPS + 2 * 1024);
  #qmfBase = 0;

  /** Forgets the state, as at the start of a new stream (a new SSRC). */
  reset(): void {
    this.#low = new SubBand(32);
    this.#high = new SubBand(8);
    this.#qmf.fill(0);
    this.#qmfBase = 0;
  }

  /**
   * Decodes `payload` into `out` from `outOffset` on (two samples per byte), allocating the
   * output when `out` is omitted. Every byte value is a valid code, so decoding cannot fail;
   * returns the samples written (fewer when `out` is too small).
   */
  decode(payload: Uint8Array): Int16Array;
  decode(payload: Uint8Array, out: Int16Array, outOffset?: number): number;
  decode(payload: Uint8Array, out?: Int16Array, outOffset = 0): Int16Array | number {
    const target = out ?? new Int16Array(payload.length * G722_SAMPLES_PER_BYTE);
    const bytes = Math.min(payload.length, Math.floor((target.length - outOffset) / 2));
    const low = this.#low;
    const high = this.#high;
    const x = this.#qmf;
    let base = this.#qmfBase;
    let at = outOffset;
    for (let n = 0; n < bytes; n++) {
      const code = payload[n] as number;
      const lowCode = code & 0x3f;
      const highCode = code >> 6;

      // Lower band: INVQBL (6-bit, the output), INVQAL (4-bit, the adaptation), LOGSCL, SCALEL.
      let lowOut = low.predicted + ((low.det * (QM6[lowCode] as number)) >> 15);
      lowOut = lowOut > 16383 ? 16383 : lowOut < -16384 ? -16384 : lowOut;
      const lowCode4 = lowCode >> 2;
      const lowDifference = (low.det * (QM4[lowCode4] as number)) >> 15;
      let nbl = ((low.nb * 127) >> 7) + (WL[RL42[lowCode4] as number] as number);
      nbl = nbl < 0 ? 0 : nbl > NBL_MAX ? NBL_MAX : nbl;
      low.nb = nbl;
      low.scale(8);
      low.adapt(lowDifference);

      // Higher band: INVQAH, RECONS, LOGSCH, SCALEH.
      const highDifference = (high.det * (QM2[highCode] as number)) >> 15;
      let highOut = high.predicted + highDifference;
      highOut = highOut > 16383 ? 16383 : highOut < -16384 ? -16384 : highOut;
      let nbh = ((high.nb * 127) >> 7) + (WH[RH2[highCode] as number] as number);
      nbh = nbh < 0 ? 0 : nbh > NBH_MAX ? NBH_MAX : nbh;
      high.nb = nbh;
      high.scale(10);
      high.adapt(highDifference);

      // Receive QMF (§4.4): xd = rl − rh and xs = rl + rh enter the delay line; the even taps
      // on xs and the odd taps on xd give the two output samples of this 8 kHz period.
      // The 24-entry window slides along a longer buffer and is moved back only when it
      // reaches the end, instead of shifting 22 entries for every byte.
      base += 2;
      if (base + QMF_TAPS > x.length) {
        x.copyWithin(0, base, base + QMF_TAPS - 2);
        base = 0;
      }
      x[base + 22] = lowOut + highOut;
      x[base + 23] = lowOut - highOut;
      let first = 0;
      let second = 0;
      for (let i = 0; i < 12; i++) {
        second += (x[base + 2 * i] as number) * (QMF[i] as number);
        first += (x[base + 2 * i + 1] as number) * (QMF[11 - i] as number);
      }
      target[at++] = clamp16(first >> 11);
      target[at++] = clamp16(second >> 11);
    }
    this.#qmfBase = base;
    return out === undefined ? target : at - outOffset;
  }
}
