/**
 * The HTTP `Range` request header for downloads (RFC 9110 §14). Only single byte ranges are
 * served; a multi-range request is answered with the whole representation, which §14.2 allows
 * ("A server MAY ignore the Range header field").
 */

export type ByteRangeDecision =
  | { readonly kind: 'full' }
  /** Inclusive byte positions, as in `Content-Range: bytes start-end/total`. */
  | { readonly kind: 'partial'; readonly start: number; readonly end: number }
  | { readonly kind: 'unsatisfiable' };

const FULL: ByteRangeDecision = { kind: 'full' };
const UNSATISFIABLE: ByteRangeDecision = { kind: 'unsatisfiable' };

export function decideByteRange(header: string | undefined, totalBytes: number): ByteRangeDecision {
  if (header === undefined) {
    return FULL;
  }
  // RFC 9110 §14.1.2: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (match === null) {
    // An invalid or multi-range header is ignored (§14.2: "...ignore the Range header field").
    return FULL;
  }
  const [, firstText = '', lastText = ''] = match;
  if (firstText === '') {
    if (lastText === '') {
      return FULL;
    }
    // suffix-range: the last N bytes; "-0" is unsatisfiable (§14.1.3).
    const suffixLength = Number(lastText);
    if (!Number.isSafeInteger(suffixLength) || suffixLength === 0 || totalBytes === 0) {
      return UNSATISFIABLE;
    }
    return { kind: 'partial', start: Math.max(0, totalBytes - suffixLength), end: totalBytes - 1 };
  }
  const first = Number(firstText);
  const last = lastText === '' ? Number.POSITIVE_INFINITY : Number(lastText);
  if (!Number.isSafeInteger(first)) {
    return UNSATISFIABLE;
  }
  if (last < first) {
    // §14.1.1: a last-pos below first-pos makes the range-spec invalid, so the header is ignored.
    return FULL;
  }
  if (first >= totalBytes) {
    return UNSATISFIABLE;
  }
  return { kind: 'partial', start: first, end: Math.min(last, totalBytes - 1) };
}
