/**
 * Character classes and small scanners shared by the SIP parsers (RFC 3261 §25.1). Everything
 * works on JavaScript strings by index and never throws: callers get a Result or a plain value.
 */
import { err, ok, type Result } from '../result.js';
import { SipErrorCode } from './errors.js';

const ALPHANUM = /^[A-Za-z0-9]$/;

/** RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~"). */
export function isTokenChar(ch: string): boolean {
  return ALPHANUM.test(ch) || "-.!%*_+`'~".includes(ch);
}

export function isToken(text: string): boolean {
  if (text.length === 0) {
    return false;
  }
  for (const ch of text) {
    if (!isTokenChar(ch)) {
      return false;
    }
  }
  return true;
}

/** Linear white space inside a header value after unfolding: SP and HTAB (RFC 3261 §25.1 LWS). */
export function isWhitespace(ch: string | undefined): boolean {
  return ch === ' ' || ch === '\t';
}

/**
 * Trims SP and HTAB only. String.prototype.trim would also remove U+FEFF and other Unicode
 * spaces that are part of a value (RFC 4475 §3.1.1.2 intmeth ends a header with a BOM).
 */
export function trimWhitespace(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && isWhitespace(text[start])) {
    start += 1;
  }
  while (end > start && isWhitespace(text[end - 1])) {
    end -= 1;
  }
  return text.slice(start, end);
}

export function skipWhitespace(text: string, position: number): number {
  let index = position;
  while (index < text.length && isWhitespace(text[index])) {
    index += 1;
  }
  return index;
}

export function isDigits(text: string): boolean {
  return text.length > 0 && /^[0-9]+$/.test(text);
}

/**
 * Parses a decimal string of any length (leading zeros allowed, as in RFC 4475 wsinv) and gives
 * undefined when it is empty, non-numeric or above `max`, without ever building a huge number.
 */
export function parseBoundedInteger(text: string, max: number): number | undefined {
  if (!isDigits(text)) {
    return undefined;
  }
  let value = 0;
  for (const ch of text) {
    value = value * 10 + (ch.charCodeAt(0) - 48);
    if (value > max) {
      return undefined;
    }
  }
  return value;
}

export interface QuotedString {
  /** Index just after the closing quote. */
  readonly end: number;
  /** The text as written, quotes and backslashes included. */
  readonly raw: string;
  /** The content with quoted-pairs resolved and without the surrounding quotes. */
  readonly value: string;
}

/**
 * Reads a quoted-string starting at `position` (which must hold the opening quote), resolving
 * quoted-pairs (RFC 3261 §25.1: quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)); a backslash may
 * also precede UTF-8 text here, which is harmless and tolerated.
 */
export function readQuotedString(text: string, position: number): Result<QuotedString> {
  if (text[position] !== '"') {
    return err(SipErrorCode.HeaderSyntax, 'expected a quoted string', position);
  }
  let value = '';
  let index = position + 1;
  while (index < text.length) {
    const ch = text.charAt(index);
    if (ch === '\\') {
      const next = text[index + 1];
      if (next === undefined || next === '\r' || next === '\n') {
        break;
      }
      value += next;
      index += 2;
      continue;
    }
    if (ch === '"') {
      return ok({ end: index + 1, raw: text.slice(position, index + 1), value });
    }
    value += ch;
    index += 1;
  }
  return err(SipErrorCode.HeaderSyntax, 'unterminated quoted string', position);
}

/**
 * Splits a header value at commas that are outside quoted strings and outside <...> (RFC 3261
 * §7.3.1: a comma-separated list is equivalent to separate header lines). Items are trimmed and
 * empty items dropped, as the #rule of RFC 2616 §2.1 (used by RFC 3261) allows null elements.
 */
export function splitTopLevelCommas(value: string): string[] {
  const items: string[] = [];
  let start = 0;
  let inQuotes = false;
  let inAngles = false;
  for (let index = 0; index < value.length; index += 1) {
    const ch = value[index];
    if (inQuotes) {
      if (ch === '\\') {
        index += 1;
      } else if (ch === '"') {
        inQuotes = false;
      }
    } else if (ch === '"') {
      inQuotes = true;
    } else if (ch === '<') {
      inAngles = true;
    } else if (ch === '>') {
      inAngles = false;
    } else if (ch === ',' && !inAngles) {
      items.push(value.slice(start, index));
      start = index + 1;
    }
  }
  items.push(value.slice(start));
  return items.map(trimWhitespace).filter((item) => item.length > 0);
}

/** Characters allowed in an unquoted gen-value: token, host (IPv6 brackets and colons) chars. */
function isGenValueChar(ch: string): boolean {
  return isTokenChar(ch) || ch === ':' || ch === '[' || ch === ']';
}

/**
 * Parses `*( SEMI generic-param )` (RFC 3261 §25.1) as found after a Via sent-by or a name-addr:
 * LWS around ";" and "=" is allowed, names are lowercased, values are kept as written (a quoted
 * value keeps its quotes), a parameter without "=" maps to null, and the first of two equal
 * names wins. An empty name (";;") or an empty value ("tag=") is an error.
 */
export function parseGenericParams(
  text: string,
  errorCode: string,
): Result<ReadonlyMap<string, string | null>> {
  const params = new Map<string, string | null>();
  let index = skipWhitespace(text, 0);
  while (index < text.length) {
    if (text[index] !== ';') {
      return err(errorCode, `unexpected character "${text[index] ?? ''}" before a parameter`, index);
    }
    index = skipWhitespace(text, index + 1);
    const nameStart = index;
    while (index < text.length && isTokenChar(text[index] ?? '')) {
      index += 1;
    }
    const name = text.slice(nameStart, index).toLowerCase();
    if (name.length === 0) {
      return err(errorCode, 'empty parameter name', nameStart);
    }
    index = skipWhitespace(text, index);
    let value: string | null = null;
    if (text[index] === '=') {
      index = skipWhitespace(text, index + 1);
      if (text[index] === '"') {
        const quoted = readQuotedString(text, index);
        if (!quoted.ok) {
          return err(errorCode, `parameter "${name}": unterminated quoted value`, index);
        }
        value = quoted.value.raw;
        index = quoted.value.end;
      } else {
        const valueStart = index;
        while (index < text.length && isGenValueChar(text[index] ?? '')) {
          index += 1;
        }
        value = text.slice(valueStart, index);
        if (value.length === 0) {
          return err(errorCode, `parameter "${name}" has an empty value`, valueStart);
        }
      }
      index = skipWhitespace(text, index);
    }
    if (!params.has(name)) {
      params.set(name, value);
    }
  }
  return ok(params);
}

/** Writes parameters back as `;name=value` / `;name`. */
export function serializeParams(params: ReadonlyMap<string, string | null>): string {
  let out = '';
  for (const [name, value] of params) {
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  return out;
}

/** Quotes a display name for writing, escaping backslash and double quote (RFC 3261 §25.1). */
export function quoteString(value: string): string {
  return `"${value.replace(/[\\"]/g, (ch) => `\\${ch}`)}"`;
}

/**
 * The `name=value, name="value"` list of an HTTP-style Authorization or WWW-Authenticate header
 * (RFC 7235 auth-params, as SIP digest and RTSP use them) from `start`: names lower-cased, quoted
 * values unescaped, the first of a repeated name kept. An unquoted value is a token (`'token'`,
 * SIP: empty refused) or runs to the next comma or space (`'to-comma'`, RTSP: what players send
 * unquoted, such as a `uri` with `/`). Errors carry `code`.
 */
export function readAuthParams(
  text: string,
  start: number,
  code: string,
  unquoted: 'token' | 'to-comma',
): Result<Map<string, string>> {
  const params = new Map<string, string>();
  let index = skipWhitespace(text, start);
  while (index < text.length) {
    const nameStart = index;
    while (index < text.length && isTokenChar(text[index] ?? '')) {
      index += 1;
    }
    const name = text.slice(nameStart, index).toLowerCase();
    index = skipWhitespace(text, index);
    if (name === '' || text[index] !== '=') {
      return err(code, 'expected name=value', index);
    }
    index = skipWhitespace(text, index + 1);
    let value: string;
    if (text[index] === '"') {
      const quoted = readQuotedString(text, index);
      if (!quoted.ok) {
        return err(code, `parameter "${name}": unterminated quoted value`, index);
      }
      value = quoted.value.value;
      index = quoted.value.end;
    } else {
      const valueStart = index;
      const inValue =
        unquoted === 'token'
          ? (ch: string): boolean => isTokenChar(ch)
          : (ch: string): boolean => ch !== ',' && ch !== ' ' && ch !== '\t';
      while (index < text.length && inValue(text[index] ?? '')) {
        index += 1;
      }
      value = text.slice(valueStart, index);
      if (value === '' && unquoted === 'token') {
        return err(code, `parameter "${name}" has an empty value`, valueStart);
      }
    }
    if (!params.has(name)) {
      params.set(name, value);
    }
    index = skipWhitespace(text, index);
    if (index < text.length) {
      if (text[index] !== ',') {
        return err(code, 'parameters must be separated by commas', index);
      }
      index = skipWhitespace(text, index + 1);
    }
  }
  return ok(params);
}
