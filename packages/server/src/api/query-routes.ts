import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Repository, SessionQuery } from '../db/repository.js';
import type { Result } from '../protocol/result.js';
import { failureEnvelope, noResults, success, type ApiFailure, type Envelope } from './envelope.js';
import { isJsonObject, type JsonObject } from './params.js';
import { withSession, type OraRouteContext } from './ora-routes.js';
import { sessionJson, type MediaUrlOptions } from './session-json.js';
import { keyedSessionsQuery, prunedSessionsQuery } from './simple-query.js';

/**
 * The simple GET queries of the query service added in issue 10 (reference §4.1, addendum §3):
 * getAllPrunedSessions, getSessionsByDeviceRef, getSessionsByMediaType, getSessionsByTag. Each is
 * translated (simple-query.ts) into a getSessions query of the repository and answered like it:
 * 2000 with `responseBody.sessions`, newest first, or 2001 when nothing matches.
 */

const QUERY = '/ora/queryService/query';

/** Runs a translated query and answers with its page of sessions, or 2001 for none. */
export async function answerSessionQuery(
  repository: Repository,
  urls: MediaUrlOptions,
  query: Result<SessionQuery, ApiFailure>,
): Promise<Envelope> {
  if (!query.ok) {
    return failureEnvelope(query.error);
  }
  const sessions = await repository.querySessions(query.value);
  return sessions.length === 0
    ? noResults()
    : success({ sessions: sessions.map((s) => sessionJson(s, urls)) });
}

function queryObject(request: FastifyRequest): JsonObject {
  return isJsonObject(request.query) ? request.query : {};
}

/** The query routes, each a translation of the query string. */
export const SIMPLE_QUERIES: Readonly<
  Record<string, (query: JsonObject) => Result<SessionQuery, ApiFailure>>
> = {
  getAllPrunedSessions: prunedSessionsQuery,
  getSessionsByDeviceRef: (query) => keyedSessionsQuery('deviceRef', query),
  getSessionsByMediaType: (query) => keyedSessionsQuery('mediaType', query),
  getSessionsByTag: (query) => keyedSessionsQuery('tagName', query),
};

export function registerQueryRoutes(app: FastifyInstance, ctx: OraRouteContext): void {
  for (const [name, translate] of Object.entries(SIMPLE_QUERIES)) {
    app.get(
      `${QUERY}/${name}`,
      withSession(ctx, (request) =>
        answerSessionQuery(ctx.repository, ctx.urls, translate(queryObject(request))),
      ),
    );
  }
}
