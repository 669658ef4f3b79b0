/**
 * A parse result: wire input is hostile and malformed input is normal, so parsers return a
 * value or a typed error and never throw.
 */
export type Result<T, E = ParseError> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

export interface ParseError {
  /** Stable code, `VERBATIM_ERR_<AREA>_<WHAT>`, listed in docs/errors.md. */
  readonly code: string;
  readonly message: string;
  /** Byte or character offset where the problem was found, when known. */
  readonly offset?: number;
}

export function ok<T>(value: T): { readonly ok: true; readonly value: T } {
  return { ok: true, value };
}

export function err(
  code: string,
  message: string,
  offset?: number,
): { readonly ok: false; readonly error: ParseError } {
  return { ok: false, error: offset === undefined ? { code, message } : { code, message, offset } };
}
