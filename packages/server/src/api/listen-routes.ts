import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
// The `websocket` route option and handler types come with the plugin's declarations.
import type {} from '@fastify/websocket';
import type { Repository } from '../db/repository.js';
import type { Session } from '../model/session.js';
import { LIVE_CHANNEL_TRACKS, LiveAudioStream, liveTrackCodecs } from '../playback/live-audio.js';
import { encodeLiveFrame } from '../playback/live-frame.js';
import type { LiveFeed } from '../playback/live-feed.js';
import type { AuditTrail } from './audit-trail.js';
import type { Authenticator, Principal } from './authenticator.js';
import { failure, RESPONSE_CODES, type FailureCode } from './envelope.js';
import { LISTEN_PAGE_HTML } from './listen-page.js';
import type { MediaTokens } from './media-tokens.js';
import type { DocumentedPath } from './openapi.js';
import { isJsonObject, queryString } from './params.js';
import { allows, rolesWith } from './permissions.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * Live listening in the browser (issue 12, point 5; docs/api.md "Live listening"):
 * `GET /listen/<sessionId>` answers a page that plays the call, `GET /listen/<sessionId>/ws` is
 * the WebSocket that carries it (a JSON `start`, binary PCM frames from playback/live-audio.ts, a
 * JSON `end` when the call ends, then a normal close). Both take the media token of `listenUrl`,
 * the JSESSIONID cookie or Basic credentials, need the role to play recordings, and refuse before
 * any upgrade: 401 (no or bad credentials, an expired token), 403 (the role), 404 (no such
 * session, or it is not ACTIVE).
 */

export interface ListenRouteContext {
  readonly repository: Repository;
  readonly authenticator: Authenticator;
  readonly mediaTokens: MediaTokens;
  readonly liveFeed: LiveFeed;
  readonly refusals: ApiRefusalLog;
  readonly audit: AuditTrail;
  readonly logger: Logger;
}

/**
 * The most bytes a listener's socket may hold unsent; past it frames are dropped (a slow client
 * hears gaps, the recorder never waits and never buffers without bound). About 3 s of 8 kHz stereo.
 */
const MAX_BUFFERED_BYTES = 96 * 1024;
/** Closed with this code when the session is not being recorded on this node (after the checks). */
const CLOSE_NOT_LIVE = 4404;

const LISTEN_PARAMETERS = [
  { name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } },
  {
    name: 'token',
    in: 'query',
    required: false,
    description: "The media token of the session's listenUrl (else the API session or Basic)",
    schema: { type: 'string' },
  },
];
const LISTEN_FAILURES = {
  401: { description: 'No credentials, or a bad or expired token (4021); the reason in `detail`' },
  403: { description: 'The role may not play recordings (4022)' },
  404: { description: 'No such session, or it is not ACTIVE (4040); the reason in `detail`' },
};
const LISTEN_SECURITY = [{ basic: [] }, { jsessionCookie: [] }, { jsessionHeader: [] }];

/** The live-listening routes in the OpenAPI document (they answer a page and a WebSocket). */
export const LISTEN_DOCUMENTED_PATHS: readonly DocumentedPath[] = [
  {
    path: '/listen/{sessionId}',
    method: 'get',
    operation: {
      operationId: 'listenPage',
      summary: 'A web page that plays an ACTIVE session live (the listenUrl of the session)',
      description: `Roles: ${rolesWith('play').join(', ')}. See docs/api.md "Live listening".`,
      tags: ['media'],
      security: LISTEN_SECURITY,
      parameters: LISTEN_PARAMETERS,
      responses: { 200: { description: 'text/html' }, ...LISTEN_FAILURES },
    },
  },
  {
    path: '/listen/{sessionId}/ws',
    method: 'get',
    operation: {
      operationId: 'listenWebSocket',
      summary: 'WebSocket: an ACTIVE session as PCM frames per channel, then an end message',
      description: `Roles: ${rolesWith('play').join(', ')}. Audited (listen:live). Messages: docs/api.md "Live listening".`,
      tags: ['media'],
      security: LISTEN_SECURITY,
      parameters: LISTEN_PARAMETERS,
      responses: { 101: { description: 'Switching to the WebSocket protocol' }, ...LISTEN_FAILURES },
    },
  },
];

interface Refusal {
  readonly status: 401 | 403 | 404;
  readonly code: FailureCode;
  readonly reason: string;
  /** Who asked, once known (a listen to a session that is not live is audited). */
  readonly principal?: Principal;
  /**
   * No credentials at all: the page answers with a Basic challenge, so a browser asks for a
   * password. A bad token gets none: its holder is told why instead.
   */
  readonly challenge?: true;
}

type Admission = { readonly ok: true; readonly principal: Principal; readonly session: Session } | Refusal;

/** Who asks, and whether they may listen to this session now. */
async function admit(
  ctx: ListenRouteContext,
  request: FastifyRequest,
  sessionId: string,
): Promise<Admission> {
  const token = queryString(isJsonObject(request.query) ? request.query : {}, ['token']);
  let principal: Principal | undefined;
  if (token !== undefined) {
    principal = await ctx.mediaTokens.verify(token, sessionId);
    if (principal === undefined) {
      ctx.refusals.note('download-unauthorized', 'info', 'live listening with a bad or expired token', {
        sessionId,
      });
      return {
        status: 401,
        code: RESPONSE_CODES.invalidSession,
        reason: 'the token is invalid or has expired: get the session again for a new listenUrl',
      };
    }
  } else {
    principal = await ctx.authenticator.downloadPrincipal(request.headers);
    if (principal === undefined) {
      ctx.refusals.note('download-unauthorized', 'info', 'live listening without credentials', {
        sessionId,
      });
      return {
        status: 401,
        code: RESPONSE_CODES.invalidSession,
        reason: 'sign in, give API credentials, or open the listenUrl of the session (it carries a token)',
        challenge: true,
      };
    }
  }
  if (!allows(principal.role, 'play')) {
    ctx.refusals.note('forbidden', 'info', 'live listening refused for the role', {
      username: principal.username,
      role: principal.role,
    });
    return {
      status: 403,
      code: RESPONSE_CODES.forbidden,
      reason: `listening needs one of the roles ${rolesWith('play').join(', ')}`,
    };
  }
  const session = await ctx.repository.getSession(sessionId);
  if (session === undefined || session.sessionState === 'DELETED') {
    return { status: 404, code: RESPONSE_CODES.mediaNotFound, reason: `no session ${sessionId}`, principal };
  }
  if (session.sessionState !== 'ACTIVE') {
    return {
      principal,
      status: 404,
      code: RESPONSE_CODES.mediaNotFound,
      reason: `session ${sessionId} is ${session.sessionState}, not ACTIVE: download its recording instead`,
    };
  }
  return { ok: true, principal, session };
}

function sessionIdOf(request: FastifyRequest): string {
  const params = isJsonObject(request.params) ? request.params : {};
  return typeof params.sessionId === 'string' ? params.sessionId : '';
}

function refusalPage(refusal: Refusal): string {
  const text = refusal.reason.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Verbatim - cannot listen</title></head><body><h1>Cannot listen to this call</h1><p id="state" data-state="error">error</p><p id="detail">${text}</p></body></html>`;
}

export function registerListenRoutes(app: FastifyInstance, ctx: ListenRouteContext): void {
  /** What `admit` decided for a WebSocket request, kept from its preValidation to its handler. */
  const admitted = new WeakMap<FastifyRequest, { principal: Principal; session: Session }>();

  app.get('/listen/:sessionId', async (request, reply) => {
    const result = await admit(ctx, request, sessionIdOf(request));
    void reply.header('cache-control', 'no-store');
    if (!('ok' in result)) {
      if (result.challenge === true) {
        void reply.header('www-authenticate', 'Basic realm="Verbatim"');
      }
      return reply.code(result.status).type('text/html; charset=utf-8').send(refusalPage(result));
    }
    return reply.type('text/html; charset=utf-8').send(LISTEN_PAGE_HTML);
  });

  app.get(
    '/listen/:sessionId/ws',
    {
      websocket: true,
      // Refused with an HTTP status before the upgrade, so that any client can tell why.
      preValidation: async (request: FastifyRequest, reply: FastifyReply) => {
        const sessionId = sessionIdOf(request);
        const result = await admit(ctx, request, sessionId);
        if (!('ok' in result)) {
          if (result.principal !== undefined) {
            await auditListen(ctx, request, result.principal, sessionId, result.code);
          }
          return reply
            .code(result.status)
            .type('application/json; charset=utf-8')
            .send(failure(result.code, result.reason));
        }
        await auditListen(ctx, request, result.principal, sessionId, RESPONSE_CODES.success);
        admitted.set(request, { principal: result.principal, session: result.session });
        return undefined;
      },
    },
    (socket: WebSocket, request: FastifyRequest) => {
      const entry = admitted.get(request);
      admitted.delete(request);
      if (entry === undefined) {
        socket.close(1011, 'not admitted');
        return;
      }
      serveListener(ctx, socket, entry.session, entry.principal);
    },
  );
}

/** Listening is playing a recording: audited as one, once per connection. */
async function auditListen(
  ctx: ListenRouteContext,
  request: FastifyRequest,
  principal: Principal,
  sessionId: string,
  outcome: FailureCode | 2000,
): Promise<void> {
  await ctx.audit.record({
    username: principal.username,
    role: principal.role,
    action: 'listen:live',
    target: sessionId,
    outcome,
    source: request.ip,
    ...(principal.via === 'session' ? {} : { detail: { via: principal.via } }),
  });
}

/** Streams one session to one WebSocket until the call ends or the client goes. */
function serveListener(
  ctx: ListenRouteContext,
  socket: WebSocket,
  session: Session,
  principal: Principal,
): void {
  const log = ctx.logger.child({ sessionId: session.sessionId, username: principal.username });
  let droppedFrames = 0;
  const audio = new LiveAudioStream({
    logger: log,
    codecOf: liveTrackCodecs(ctx.repository, session),
    send: (frame) => {
      if (socket.readyState !== socket.OPEN) {
        return;
      }
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        droppedFrames++;
        return;
      }
      socket.send(encodeLiveFrame(frame));
    },
  });
  let ended = false;
  const finish = (code: number, message: Record<string, unknown>): void => {
    if (ended) {
      return;
    }
    ended = true;
    if (socket.readyState === socket.OPEN) {
      socket.send(JSON.stringify(message));
      socket.close(code, typeof message.reason === 'string' ? message.reason.slice(0, 120) : '');
    }
  };
  socket.send(
    JSON.stringify({
      type: 'start',
      sessionId: session.sessionId,
      format: 'pcm-s16le',
      channels: LIVE_CHANNEL_TRACKS.map((trackNumber, channel) => ({ channel, trackNumber })),
    }),
  );
  const subscription = ctx.liveFeed.subscribe(session.sessionId, {
    packets: (trackNumber, packets) => {
      audio.push(trackNumber, packets);
    },
    ended: () => {
      // What was received before the end is sent first.
      void audio.drained().then(() => {
        finish(1000, { type: 'end', reason: 'the call ended' });
      });
    },
  });
  if (subscription === undefined) {
    finish(CLOSE_NOT_LIVE, { type: 'error', reason: 'the session is not being recorded on this node' });
  }
  socket.on('close', () => {
    ended = true;
    subscription?.close();
    audio.close();
    if (droppedFrames > 0 || audio.droppedBatches > 0) {
      log.info(
        { droppedFrames, undecodedBatches: audio.droppedBatches },
        'live listener too slow: audio dropped',
      );
    }
  });
  socket.on('error', (error) => {
    log.debug({ err: error }, 'live listening socket failed');
  });
  // The client sends nothing that matters; whatever it sends is read and ignored.
}
