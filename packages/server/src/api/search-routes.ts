import { Type } from 'typebox';

import type { Repository } from '../db/repository.js';
import type { Session } from '../model/session.js';
import { failure, failureEnvelope, noResults, RESPONSE_CODES, success } from './envelope.js';
import { oraRoute, type OraCall, type OraRoute } from './ora-route.js';
import type { ApiRefusalLog } from './refusal-log.js';
import { SessionIdSchema, SessionsBodySchema } from './schemas.js';
import { sessionJson, type MediaUrlOptions } from './session-json.js';
import { MAX_PAGE_LIMIT, translateGetSessionsBody } from './session-query.js';
import { SESSION_PAGE_PARAMS, windowPageOf } from './simple-query.js';

/** The session queries that existed before issue 10: by id, the active ones, and getSessions. */
export interface SearchRouteContext {
  readonly repository: Repository;
  readonly urls: MediaUrlOptions;
  readonly refusals: ApiRefusalLog;
}

const QUERY = '/ora/queryService/query';

/** The page parameters as optional query-string text (sessionPage checks them, as before). */
export const SessionPageQuerySchema = Type.Object(
  Object.fromEntries(
    Object.entries(SESSION_PAGE_PARAMS).map(([name, description]) => [
      name,
      Type.Optional(Type.String({ description, maxLength: 32 })),
    ]),
  ),
);

export function searchRoutes(ctx: SearchRouteContext): OraRoute[] {
  const toJson =
    (call: OraCall) =>
    (session: Session): unknown =>
      sessionJson(session, ctx.urls, call.user);
  return [
    oraRoute({
      method: 'GET',
      path: `${QUERY}/getSessionBySessionId`,
      summary: 'One session by its id',
      description: 'The id is given as `value` (as MediaSense clients send it) or `sessionId`.',
      permission: 'search',
      audit: true,
      input: 'query',
      params: Type.Object({
        value: Type.Optional(SessionIdSchema),
        sessionId: Type.Optional(SessionIdSchema),
      }),
      responseBody: SessionsBodySchema,
      handler: async (params, call) => {
        const sessionId = params.value ?? params.sessionId;
        if (sessionId === undefined) {
          return failure(RESPONSE_CODES.missingParameter, 'value (the sessionId) is required');
        }
        call.audit.target = sessionId;
        const session = await ctx.repository.getSession(sessionId);
        return session === undefined ? noResults() : success({ sessions: [toJson(call)(session)] });
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${QUERY}/getAllActiveSessions`,
      summary: 'The sessions being recorded now, most recent first',
      permission: 'search',
      audit: true,
      input: 'query',
      params: SessionPageQuerySchema,
      responseBody: SessionsBodySchema,
      handler: async (params, call) => {
        const result = windowPageOf(params);
        if (!result.ok) {
          return failureEnvelope(result.error);
        }
        const page = result.value;
        const sessions = (await ctx.repository.listActiveSessions())
          .filter((s) => s.sessionStartDate >= page.minStart && s.sessionStartDate <= page.maxStart)
          .sort((a, b) => b.sessionStartDate - a.sessionStartDate || compareIds(a, b))
          .slice(page.offset, page.offset + page.limit);
        // Polled by Search and Play: recorded when what it shows changes (AUDIT_REPEAT_WINDOW_MS).
        call.audit.repeatKey = `${JSON.stringify(params)} ${sessions.map((s) => s.sessionId).join(',')}`;
        return sessions.length === 0 ? noResults() : success({ sessions: sessions.map(toJson(call)) });
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${QUERY}/getSessions`,
      summary: 'Sessions matching a query (the MediaSense query language)',
      description:
        'The body is `{requestParameters: [clause…], pageParameters?: {offset, limit}, sortParameters?}`; ' +
        'a `sessionStartDate` `between` condition is mandatory and at most ' +
        `${MAX_PAGE_LIMIT} sessions come back per page (docs/api.md "The getSessions query language").`,
      permission: 'search',
      audit: true,
      input: 'body',
      // Described, not enforced: translateGetSessionsBody checks the body with MediaSense's leniencies.
      checkedByHandler: true,
      params: Type.Object(
        {
          requestParameters: Type.Array(
            Type.Object(
              {
                fieldName: Type.String(),
                fieldConditions: Type.Array(
                  Type.Object(
                    {
                      fieldOperator: Type.String(),
                      fieldValues: Type.Array(Type.Union([Type.String(), Type.Number()])),
                      fieldConnector: Type.Optional(Type.String()),
                    },
                    { additionalProperties: true },
                  ),
                ),
                paramConnector: Type.Optional(Type.String()),
              },
              { additionalProperties: true },
            ),
          ),
          pageParameters: Type.Optional(Type.Unknown()),
          sortParameters: Type.Optional(Type.Unknown()),
        },
        { additionalProperties: true },
      ),
      responseBody: SessionsBodySchema,
      handler: async (_params, call) => {
        // The raw body: the translator applies the query language's own rules and messages.
        const query = translateGetSessionsBody(call.request.body);
        if (!query.ok) {
          ctx.refusals.note('invalid-query', 'info', 'getSessions query rejected', {
            code: query.error.code,
            detail: query.error.message,
          });
          return failure(query.error.responseCode, query.error.message);
        }
        const sessions = await ctx.repository.querySessions(query.value);
        call.audit.detail = { sessions: String(sessions.length) };
        // 2001 both for "nothing matched" and "paged past the end": clients stop paging on it.
        return sessions.length === 0 ? noResults() : success({ sessions: sessions.map(toJson(call)) });
      },
    }),
  ];
}

function compareIds(a: Session, b: Session): number {
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0;
}
