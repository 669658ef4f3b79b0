import { RESPONSE_CODES, type ApiFailure } from './envelope.js';
import { describeValue, queryString, toNonNegativeInteger, type JsonObject } from './params.js';
import { MAX_PAGE_LIMIT } from './session-query.js';

/**
 * Paging and the start-date window of the simple GET queries (getAllActiveSessions and the
 * getSessionsBy… family): `offset`, `limit` (1…1000, default 1000), `minSessionStartDate`,
 * `maxSessionStartDate` (addendum §3), each a non-negative integer in the query string.
 */
export interface SessionPage {
  readonly offset: number;
  readonly limit: number;
  readonly minStart: number;
  readonly maxStart: number;
}

function integerParam(query: JsonObject, name: string, fallback: number): number | ApiFailure {
  const raw = queryString(query, [name]);
  if (raw === undefined) {
    return fallback;
  }
  const n = toNonNegativeInteger(raw);
  return (
    n ?? {
      responseCode: RESPONSE_CODES.invalidParameter,
      detail: `${name} must be a non-negative integer, got ${describeValue(raw)}`,
    }
  );
}

export function sessionPage(query: JsonObject): SessionPage | ApiFailure {
  const offset = integerParam(query, 'offset', 0);
  if (typeof offset !== 'number') {
    return offset;
  }
  const limit = integerParam(query, 'limit', MAX_PAGE_LIMIT);
  if (typeof limit !== 'number') {
    return limit;
  }
  if (limit < 1 || limit > MAX_PAGE_LIMIT) {
    return {
      responseCode: RESPONSE_CODES.invalidParameter,
      detail: `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${limit}`,
    };
  }
  const minStart = integerParam(query, 'minSessionStartDate', 0);
  if (typeof minStart !== 'number') {
    return minStart;
  }
  const maxStart = integerParam(query, 'maxSessionStartDate', Number.MAX_SAFE_INTEGER);
  if (typeof maxStart !== 'number') {
    return maxStart;
  }
  return { offset, limit, minStart, maxStart };
}

/** The query-string schema of these parameters (for the OpenAPI document; sessionPage checks them). */
export const SESSION_PAGE_PARAMS = {
  offset: 'Rows to skip, from 0 (default 0)',
  limit: `Rows per page, 1 to ${MAX_PAGE_LIMIT} (default ${MAX_PAGE_LIMIT})`,
  minSessionStartDate: 'Earliest session start, epoch ms (default 0)',
  maxSessionStartDate: 'Latest session start, epoch ms (default: no limit)',
} as const;
