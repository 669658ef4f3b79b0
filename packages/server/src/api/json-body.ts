import type { ParseError, Result } from '../protocol/result.js';
import { MAX_JSON_DEPTH } from './request-limits.js';

/**
 * Request bodies as JSON, with the nesting depth bounded before anything walks the parsed value:
 * a value nested 10,000 deep once overflowed the stack while an error message was being written.
 */

export type JsonBodyError = ParseError & {
  readonly code: 'VERBATIM_ERR_API_MALFORMED_JSON' | 'VERBATIM_ERR_API_JSON_TOO_DEEP';
};

/**
 * The deepest nesting of arrays and objects in JSON text, stopping as soon as it passes `limit`.
 * A single pass with a counter, no recursion: brackets inside strings (escapes included) do not
 * count. Text that is not valid JSON gets some depth; JSON.parse reports what is wrong with it.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c /* \ */) {
        i++;
      } else if (c === 0x22 /* " */) {
        inString = false;
      }
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > limit) {
        return true;
      }
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return false;
}

/** A body's JSON value; blank text is no body (undefined). Never throws. */
export function parseJsonBody(text: string): Result<unknown, JsonBodyError> {
  if (text.trim() === '') {
    return { ok: true, value: undefined };
  }
  if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    return {
      ok: false,
      error: {
        code: 'VERBATIM_ERR_API_JSON_TOO_DEEP',
        message: `the body nests arrays and objects deeper than ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH)`,
      },
    };
  }
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return {
      ok: false,
      error: {
        code: 'VERBATIM_ERR_API_MALFORMED_JSON',
        message: `the body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      },
    };
  }
}
