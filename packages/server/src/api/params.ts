/**
 * MediaSense treats parameter names as case-insensitive (reference §1 "Naming"), in query strings
 * and in JSON bodies alike, so every lookup of a client-supplied key goes through these helpers.
 */

export type JsonObject = Readonly<Record<string, unknown>>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The value of `name` in `obj`, matching the key case-insensitively. An exact match wins over a
 * case-folded one, so `{limit, LIMIT}` resolves deterministically.
 */
export function getParam(obj: JsonObject, name: string): unknown {
  if (Object.hasOwn(obj, name)) {
    return obj[name];
  }
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(obj)) {
    if (key.toLowerCase() === wanted) {
      return value;
    }
  }
  return undefined;
}

/** The first of `names` present in `obj` (case-insensitively), for parameters with aliases. */
export function getFirstParam(obj: JsonObject, names: readonly string[]): unknown {
  for (const name of names) {
    const value = getParam(obj, name);
    if (value !== undefined) {
      return value;
    }
  }
  return undefined;
}

/**
 * A query-string value as one string: fastify gives an array for a repeated key, and the first
 * occurrence is the one a MediaSense client means.
 */
export function queryString(query: JsonObject, names: readonly string[]): string | undefined {
  const value = getFirstParam(query, names);
  if (typeof value === 'string') {
    return value;
  }
  if (Array.isArray(value)) {
    const first: unknown = value[0];
    return typeof first === 'string' ? first : undefined;
  }
  return undefined;
}

/**
 * A non-negative safe integer given as a JSON number or a numeric string (clients send both,
 * addendum §2.1), or undefined when the value is anything else.
 */
export function toNonNegativeInteger(value: unknown): number | undefined {
  const n = toFiniteNumber(value);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** A finite number given as a JSON number or a decimal string; undefined otherwise. */
export function toFiniteNumber(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  if (typeof value === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(value)) {
    return Number(value);
  }
  return undefined;
}

/** The path of a request URL, without its query string. */
export function urlPath(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** The longest piece of client text quoted in a `detail` or a log line. */
const QUOTED_TEXT_MAX = 64;

/** Client text cut to a length fit for a log line, marked when cut. */
export function shortText(text: string): string {
  return text.length <= QUOTED_TEXT_MAX
    ? text
    : `${text.slice(0, QUOTED_TEXT_MAX)}… (${text.length} characters)`;
}

/**
 * A client value as a `detail` quotes it: scalars as JSON (long strings cut), arrays and objects
 * by their kind and size only. Never walks into the value, so no input can make the description
 * of an error throw or cost more than the error (a value nested 10,000 deep once overflowed the
 * stack in JSON.stringify).
 */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    return JSON.stringify(shortText(value));
  }
  if (Array.isArray(value)) {
    return `an array of ${value.length}`;
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean') {
    return String(value);
  }
  return typeof value === 'object' ? 'an object' : typeof value;
}
