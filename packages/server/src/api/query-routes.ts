import { Type } from 'typebox';

import type { Repository, SessionQuery } from '../db/repository.js';
import type { Result } from '../protocol/result.js';
import { failureEnvelope, noResults, success, type ApiFailure } from './envelope.js';
import { oraRoute, type OraCall, type OraRoute } from './ora-route.js';
import { isJsonObject, queryString, type JsonObject } from './params.js';
import { SessionsBodySchema } from './schemas.js';
import { sessionJson, type MediaUrlOptions } from './session-json.js';
import {
  keyedSessionsQuery,
  prunedSessionsQuery,
  SESSION_PAGE_PARAMS,
  type KeyedQuery,
} from './simple-query.js';

/**
 * The simple GET queries of the query service added in issue 10 (reference §4.1, addendum §3):
 * getAllPrunedSessions, getSessionsByDeviceRef, getSessionsByMediaType, getSessionsByTag (and
 * getSessionsByLoginId, issue 11). Each is
 * translated (simple-query.ts) into a getSessions query of the repository and answered like it:
 * 2000 with `responseBody.sessions`, newest first, or 2001 when nothing matches.
 */

const QUERY = '/ora/queryService/query';

/** Optional query-string text; simple-query.ts checks it with the getSessions leniencies. */
const text = (description: string) => Type.Optional(Type.String({ description, maxLength: 300 }));

const PAGE = Object.fromEntries(Object.entries(SESSION_PAGE_PARAMS).map(([name, d]) => [name, text(d)]));

const KEYED: readonly { api: string; key: KeyedQuery; summary: string; valueText: string }[] = [
  {
    api: 'getSessionsByDeviceRef',
    key: 'deviceRef',
    summary: 'Sessions with a participant of this device reference (extension), most recent first',
    valueText: 'The device reference, e.g. 1000',
  },
  {
    api: 'getSessionsByMediaType',
    key: 'mediaType',
    summary: 'Sessions with a track of this media type, most recent first',
    valueText: 'AUDIO or VIDEO, any case',
  },
  {
    api: 'getSessionsByTag',
    key: 'tagName',
    summary: 'Sessions with a session or track tag of this name (any case), most recent first',
    valueText: 'The tag name, at most 255 characters',
  },
  {
    api: 'getSessionsByLoginId',
    key: 'loginId',
    summary:
      'Sessions with a participant the agent of this Finesse login id was signed in at, most recent first',
    valueText: 'The login id, compared exactly',
  },
];

/** What the query routes use (ora-routes.ts passes its OraRouteDeps). */
export interface QueryRouteContext {
  readonly repository: Repository;
  readonly urls: MediaUrlOptions;
}

export function queryRoutes(ctx: QueryRouteContext): OraRoute[] {
  const answer = async (query: Result<SessionQuery, ApiFailure>, call: OraCall) => {
    if (!query.ok) {
      return failureEnvelope(query.error);
    }
    const sessions = await ctx.repository.querySessions(query.value);
    return sessions.length === 0
      ? noResults()
      : success({ sessions: sessions.map((s) => sessionJson(s, ctx.urls, call.user)) });
  };
  const raw = (params: unknown): JsonObject => (isJsonObject(params) ? params : {});
  return [
    oraRoute({
      method: 'GET',
      path: `${QUERY}/getAllPrunedSessions`,
      summary:
        'Sessions whose media was pruned (state kept CLOSED_*, flagged pruned: true), most recent first',
      permission: 'search',
      audit: true,
      input: 'query',
      // Described, not enforced: simple-query.ts reads the page with getSessions' leniencies.
      checkedByHandler: true,
      params: Type.Object(PAGE),
      responseBody: SessionsBodySchema,
      handler: (params, call) => answer(prunedSessionsQuery(raw(params)), call),
    }),
    ...KEYED.map(({ api, key, summary, valueText }) =>
      oraRoute({
        method: 'GET',
        path: `${QUERY}/${api}`,
        summary,
        description: `The key is given as \`value\` (as MediaSense clients send it) or \`${key}\`.`,
        permission: 'search',
        audit: true,
        input: 'query',
        checkedByHandler: true,
        params: Type.Object({ value: text(valueText), [key]: text(valueText), ...PAGE }),
        responseBody: SessionsBodySchema,
        handler: (params, call) => {
          const query = keyedSessionsQuery(key, raw(params));
          if (query.ok) {
            call.audit.detail = { [key]: queryString(raw(params), ['value', key]) ?? '' };
          }
          return answer(query, call);
        },
      }),
    ),
  ];
}
