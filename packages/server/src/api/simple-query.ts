import type { QueryExpression, SessionQuery } from '../db/repository.js';
import type { Result } from '../protocol/result.js';
import { RESPONSE_CODES, type ApiFailure } from './envelope.js';
import { describeValue, queryString, toNonNegativeInteger, type JsonObject } from './params.js';
import { MAX_QUERY_VALUE_LENGTH, MAX_TAG_NAME_LENGTH } from './request-limits.js';
import { MAX_PAGE_LIMIT, pageOf } from './session-query.js';

/**
 * The simple GET queries of the query service (reference §4.1, addendum §3): getAllPrunedSessions,
 * getSessionsByDeviceRef, getSessionsByMediaType and getSessionsByTag. Each becomes a getSessions
 * query of the repository (the same indexed SQL, sorted newest first), so a key and a time window
 * cost what the equivalent getSessions costs. Parameters come from the query string, their names
 * case-insensitive; problems answer 4001 (4002 for a missing key) with a `detail`.
 */

export type KeyedQuery = 'deviceRef' | 'mediaType' | 'tagName' | 'loginId';

/** The window and page every simple GET query takes (min/maxSessionStartDate, offset, limit). */
export interface WindowPage {
  readonly minStart: number;
  readonly maxStart: number;
  readonly offset: number;
  readonly limit: number;
}

/** The query-string schema of these parameters (for the OpenAPI document; windowPageOf checks them). */
export const SESSION_PAGE_PARAMS = {
  offset: 'Rows to skip, from 0 (default 0; a negative offset reads as 0)',
  limit: `Rows per page, 1 to ${MAX_PAGE_LIMIT} (default ${MAX_PAGE_LIMIT}; a larger limit reads as ${MAX_PAGE_LIMIT})`,
  minSessionStartDate: 'Earliest session start, epoch ms (default 0)',
  maxSessionStartDate: 'Latest session start, epoch ms (default: no limit)',
} as const;

const NEWEST_FIRST: SessionQuery['sort'] = [{ field: 'sessionStartDate', order: 'DESC' }];

function invalid(detail: string): { ok: false; error: ApiFailure } {
  return { ok: false, error: { responseCode: RESPONSE_CODES.invalidParameter, detail } };
}

/**
 * `offset`, `limit`, `minSessionStartDate` and `maxSessionStartDate` of a simple GET query, with
 * getSessions' paging leniencies (a negative offset reads as 0, a limit over 1000 as 1000). The
 * window is inclusive; each bound is epoch ms and optional.
 */
export function windowPageOf(query: JsonObject): Result<WindowPage, ApiFailure> {
  const page = pageOf(queryString(query, ['offset']), queryString(query, ['limit']), '');
  if ('detail' in page) {
    return invalid(page.detail);
  }
  const bound = (name: string, fallback: number): number | string => {
    const raw = queryString(query, [name]);
    if (raw === undefined || raw === '') {
      return fallback;
    }
    return toNonNegativeInteger(raw) ?? `${name} must be epoch milliseconds, got ${describeValue(raw)}`;
  };
  const minStart = bound('minSessionStartDate', 0);
  if (typeof minStart === 'string') {
    return invalid(minStart);
  }
  const maxStart = bound('maxSessionStartDate', Number.MAX_SAFE_INTEGER);
  if (typeof maxStart === 'string') {
    return invalid(maxStart);
  }
  return { ok: true, value: { minStart, maxStart, ...page } };
}

function windowCondition(page: WindowPage): QueryExpression {
  return {
    kind: 'condition',
    field: 'sessionStartDate',
    operator: 'between',
    values: [page.minStart, page.maxStart],
  };
}

/** getAllPrunedSessions: the sessions flagged as pruned, in the window, newest first. */
export function prunedSessionsQuery(query: JsonObject): Result<SessionQuery, ApiFailure> {
  const page = windowPageOf(query);
  if (!page.ok) {
    return page;
  }
  const { offset, limit } = page.value;
  return {
    ok: true,
    value: { where: windowCondition(page.value), sort: NEWEST_FIRST, offset, limit, prunedOnly: true },
  };
}

/**
 * getSessionsByDeviceRef / ByMediaType / ByTag / ByLoginId. The key is read from `value` (what MediaSense
 * clients send for getSessionBySessionId, addendum §3) or from the literal name; a device matches
 * any participant of any track, a media type any track (AUDIO or VIDEO, any case), a tag name any
 * session or track tag without regard to case, a login id the agent of any participant (exactly).
 */
export function keyedSessionsQuery(kind: KeyedQuery, query: JsonObject): Result<SessionQuery, ApiFailure> {
  const raw = queryString(query, ['value', kind]);
  if (raw === undefined || raw.trim() === '') {
    return {
      ok: false,
      error: { responseCode: RESPONSE_CODES.missingParameter, detail: `value (the ${kind}) is required` },
    };
  }
  const key = keyValue(kind, raw);
  if (typeof key !== 'string') {
    return invalid(key.detail);
  }
  const page = windowPageOf(query);
  if (!page.ok) {
    return page;
  }
  const { offset, limit } = page.value;
  const field = kind === 'mediaType' ? 'trackMediaType' : kind;
  return {
    ok: true,
    value: {
      where: {
        kind: 'and',
        items: [windowCondition(page.value), { kind: 'condition', field, operator: 'equals', values: [key] }],
      },
      sort: NEWEST_FIRST,
      offset,
      limit,
    },
  };
}

function keyValue(kind: KeyedQuery, raw: string): string | { detail: string } {
  switch (kind) {
    case 'mediaType': {
      // Old clients send "audio" (addendum §2.2); stored types are upper case.
      const type = raw.trim().toUpperCase();
      return type === 'AUDIO' || type === 'VIDEO'
        ? type
        : { detail: `mediaType must be AUDIO or VIDEO, got ${describeValue(raw)}` };
    }
    case 'tagName':
      return raw.length <= MAX_TAG_NAME_LENGTH
        ? raw
        : {
            detail: `tagName is at most ${MAX_TAG_NAME_LENGTH} characters (MAX_TAG_NAME_LENGTH), got ${raw.length}`,
          };
    case 'loginId':
    case 'deviceRef':
      return raw.length <= MAX_QUERY_VALUE_LENGTH
        ? raw
        : {
            detail: `${kind} is at most ${MAX_QUERY_VALUE_LENGTH} characters (MAX_QUERY_VALUE_LENGTH), got ${raw.length}`,
          };
  }
}
