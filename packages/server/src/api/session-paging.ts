import type { ApiFailure } from './envelope.js';
import type { JsonObject } from './params.js';
import { MAX_PAGE_LIMIT } from './session-query.js';
import { windowPageOf } from './simple-query.js';

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

/**
 * The page and window of a simple GET query, with the getSessions leniencies (issue 10): a
 * negative offset reads as 0 and a limit over 1000 as 1000; one code for every GET query
 * (simple-query.ts windowPageOf).
 */
export function sessionPage(query: JsonObject): SessionPage | ApiFailure {
  const page = windowPageOf(query);
  return page.ok ? page.value : page.error;
}

/** The query-string schema of these parameters (for the OpenAPI document; sessionPage checks them). */
export const SESSION_PAGE_PARAMS = {
  offset: 'Rows to skip, from 0 (default 0; a negative offset reads as 0)',
  limit: `Rows per page, 1 to ${MAX_PAGE_LIMIT} (default ${MAX_PAGE_LIMIT}; a larger limit reads as ${MAX_PAGE_LIMIT})`,
  minSessionStartDate: 'Earliest session start, epoch ms (default 0)',
  maxSessionStartDate: 'Latest session start, epoch ms (default: no limit)',
} as const;
