import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Repository } from '../db/repository.js';
import type { Session } from '../model/session.js';
import type { AuthSession } from './auth-sessions.js';
import type { Authenticator } from './authenticator.js';
import { expiredSessionCookie, sessionCookie } from './credentials.js';
import {
  failure,
  failureEnvelope,
  MESSAGE_SUCCESSFUL,
  noResults,
  RESPONSE_CODES,
  success,
  type ApiFailure,
  type Envelope,
} from './envelope.js';
import {
  describeValue,
  getParam,
  isJsonObject,
  queryString,
  shortText,
  toNonNegativeInteger,
  urlPath,
  type JsonObject,
} from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';
import { sessionJson, type MediaUrlOptions } from './session-json.js';
import { MAX_PAGE_LIMIT, translateGetSessionsBody } from './session-query.js';

/**
 * The MediaSense `/ora/...` JSON APIs implemented so far: authentication, system time and the
 * session queries (reference §2–4). Every answer is an envelope with HTTP 200, including
 * application errors, exactly as MediaSense (reference §1 "HTTP status").
 */

export interface OraRouteContext {
  readonly repository: Repository;
  readonly authenticator: Authenticator;
  readonly urls: MediaUrlOptions;
  readonly tls: boolean;
  readonly now: () => number;
  readonly refusals: ApiRefusalLog;
}

const AUTH = '/ora/authenticationService/authentication';
const INFO = '/ora/infoService/info';
const QUERY = '/ora/queryService/query';

type SessionHandler = (
  request: FastifyRequest,
  reply: FastifyReply,
  session: AuthSession,
) => Promise<Envelope>;

/** Wraps a handler that needs a signed-in session: without one, the answer is 4021. */
export function withSession(ctx: OraRouteContext, handler: SessionHandler) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<Envelope> => {
    const session = ctx.authenticator.sessionOf(request.headers);
    if (session === undefined) {
      // Normal when a session expires (the client signs in again on 4021), hence info.
      ctx.refusals.note('invalid-session', 'info', 'API request without a valid JSESSIONID', {
        url: shortText(urlPath(request.url)),
      });
      return failure(RESPONSE_CODES.invalidSession);
    }
    return handler(request, reply, session);
  };
}

function queryObject(request: FastifyRequest): JsonObject {
  return isJsonObject(request.query) ? request.query : {};
}

export function registerOraRoutes(app: FastifyInstance, ctx: OraRouteContext): void {
  const toJson = (session: Session): unknown => sessionJson(session, ctx.urls);

  app.post(`${AUTH}/signIn`, async (request, reply): Promise<Envelope> => {
    const params = isJsonObject(request.body) ? getParam(request.body, 'requestParameters') : undefined;
    if (!isJsonObject(params)) {
      return failure(
        RESPONSE_CODES.missingParameter,
        'requestParameters with username and password is required',
      );
    }
    const username = getParam(params, 'username');
    const password = getParam(params, 'password');
    if (typeof username !== 'string' || username === '') {
      return failure(RESPONSE_CODES.missingParameter, 'requestParameters.username is required');
    }
    if (typeof password !== 'string') {
      return failure(RESPONSE_CODES.missingParameter, 'requestParameters.password is required');
    }
    const session = await ctx.authenticator.signIn(username, password);
    if (session === undefined) {
      ctx.refusals.note('sign-in-refused', 'warn', 'API sign-in refused', { username: shortText(username) });
      return failure(RESPONSE_CODES.authenticationFailed);
    }
    request.log.info({ username: session.username }, 'API sign-in');
    void reply.header('set-cookie', sessionCookie(session.id, ctx.tls));
    return success(undefined, MESSAGE_SUCCESSFUL);
  });

  app.post(
    `${AUTH}/signOut`,
    withSession(ctx, (request, reply, session) => {
      ctx.authenticator.signOut(session);
      request.log.info({ username: session.username }, 'API sign-out');
      void reply.header('set-cookie', expiredSessionCookie(ctx.tls));
      return Promise.resolve(success(undefined, MESSAGE_SUCCESSFUL));
    }),
  );

  app.get(
    `${INFO}/getSystemTime`,
    withSession(ctx, () =>
      // Epoch milliseconds as a string, as MediaSense sends it (reference §3).
      Promise.resolve(success({ currentSystemTime: String(ctx.now()) })),
    ),
  );

  app.get(
    `${QUERY}/getSessionBySessionId`,
    withSession(ctx, async (request) => {
      // MediaSense clients send `value` (addendum §3); the literal name is accepted too.
      const sessionId = queryString(queryObject(request), ['value', 'sessionId']);
      if (sessionId === undefined || sessionId === '') {
        return failure(RESPONSE_CODES.missingParameter, 'value (the sessionId) is required');
      }
      const session = await ctx.repository.getSession(sessionId);
      return session === undefined ? noResults() : success({ sessions: [toJson(session)] });
    }),
  );

  app.get(
    `${QUERY}/getAllActiveSessions`,
    withSession(ctx, async (request) => {
      const page = activeSessionsPage(queryObject(request));
      if ('responseCode' in page) {
        return failureEnvelope(page);
      }
      const sessions = (await ctx.repository.listActiveSessions())
        .filter((s) => s.sessionStartDate >= page.minStart && s.sessionStartDate <= page.maxStart)
        .sort((a, b) => b.sessionStartDate - a.sessionStartDate || compareIds(a, b))
        .slice(page.offset, page.offset + page.limit);
      return sessions.length === 0 ? noResults() : success({ sessions: sessions.map(toJson) });
    }),
  );

  app.post(
    `${QUERY}/getSessions`,
    withSession(ctx, async (request) => {
      const query = translateGetSessionsBody(request.body);
      if (!query.ok) {
        ctx.refusals.note('invalid-query', 'info', 'getSessions query rejected', {
          code: query.error.code,
          detail: query.error.message,
        });
        return failure(query.error.responseCode, query.error.message);
      }
      const sessions = await ctx.repository.querySessions(query.value);
      // 2001 both for "nothing matched" and "paged past the end": clients stop paging on it.
      return sessions.length === 0 ? noResults() : success({ sessions: sessions.map(toJson) });
    }),
  );
}

function compareIds(a: Session, b: Session): number {
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0;
}

interface ActivePage {
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

/** limit/offset and the optional min/maxSessionStartDate window of the simple GET queries. */
function activeSessionsPage(query: JsonObject): ActivePage | ApiFailure {
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
