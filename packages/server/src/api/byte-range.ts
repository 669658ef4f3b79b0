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

/**
 * `bytes = first - last` (either side possibly empty, blanks anywhere between the tokens), as
 * text; undefined for anything else. Cut at "=" and "-" rather than matched by one regex: the
 * pattern /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/ took quadratic time on a header of many
 * blanks, since two blank runs around an empty number can trade characters.
 */
function readSingleRange(header: string): { firstText: string; lastText: string } | undefined {
  // RFC 9110 §14.1.2: ranges-specifier = range-unit "=" range-set; the unit is case-insensitive.
  const equals = header.indexOf('=');
  if (equals < 0 || header.slice(0, equals).trim().toLowerCase() !== 'bytes') {
    return undefined;
  }
  const rangeSet = header.slice(equals + 1);
  const dash = rangeSet.indexOf('-');
  if (dash < 0) {
    return undefined;
  }
  const firstText = rangeSet.slice(0, dash).trim();
  const lastText = rangeSet.slice(dash + 1).trim();
  return DIGITS.test(firstText) && DIGITS.test(lastText) ? { firstText, lastText } : undefined;
}

const DIGITS = /^\d*$/;

export function decideByteRange(header: string | undefined, totalBytes: number): ByteRangeDecision {
  if (header === undefined) {
    return FULL;
  }
  const spec = readSingleRange(header);
  if (spec === undefined) {
    // An invalid or multi-range header is ignored (§14.2: "...ignore the Range header field").
    return FULL;
  }
  const { firstText, lastText } = spec;
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
