import websocket from '@fastify/websocket';
import Fastify, {
  LogController,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type https from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { Mp4Cache } from '../playback/mp4-cache.js';
import { WaveformCache } from '../playback/waveform.js';
import type { Repository } from '../db/repository.js';
import { AuthSessionStore, DEFAULT_SESSION_IDLE_MS } from './auth-sessions.js';
import { Authenticator } from './authenticator.js';
import { registerConcurrencyLimit } from './concurrency-limit.js';
import { failure, RESPONSE_CODES } from './envelope.js';
import { HttpsWithPlainServer } from './https-with-plain-server.js';
import { parseJsonBody, type JsonBodyError } from './json-body.js';
import { shortText, urlPath } from './params.js';
import { MEDIA_DOCUMENTED_PATHS, registerMediaRoutes } from './media-routes.js';
import { registerWaveformRoute, WAVEFORM_DOCUMENTED_PATH } from './waveform-routes.js';
import { METRICS_DOCUMENTED_PATH, registerMetricsRoute, type MetricsSource } from './metrics-route.js';
import { registerOraRoutes, type ExtraOraRoutes } from './ora-routes.js';
import { registerAgentGadget } from './agent-gadget.js';
import { registerWebApp } from './web-app.js';
import { LISTEN_DOCUMENTED_PATHS, registerListenRoutes } from './listen-routes.js';
import type { LiveFeed } from '../playback/live-feed.js';
import { AuditTrail } from './audit-trail.js';
import { productVersion } from '../version.js';
import { dummyPasswordHash } from './passwords.js';
import { MediaTokens } from './media-tokens.js';
import type { MediaUrlOptions } from './session-json.js';
import { registerPlainHttpPolicy } from './plain-http-policy.js';
import { ApiRefusalLog, type ApiRefusalReason } from './refusal-log.js';
import { HTTP_DRAIN_MS, MAX_BODY_BYTES, MAX_CONCURRENT_ORA_REQUESTS } from './request-limits.js';
import { isVerbatimError, VerbatimError } from '../model/errors.js';

export interface HttpApiOptions {
  repository: Repository;
  logger: Logger;
  /** Host part of the media URLs (`--advertise`). */
  advertise: string;
  httpPort: number;
  rtspPort: number;
  /** The scheme of the media URLs and the `Secure` cookie flag; false under --no-tls. */
  tls: boolean;
  /** Absent under --no-tls (or behind a TLS-terminating proxy): plain HTTP. */
  https?: { key: string; cert: string };
  /** Track mediaPath values are relative to it. */
  mediaDir: string;
  /** Called before exporting an ACTIVE session, so its WAV holds everything received so far. */
  flushMedia(): Promise<void>;
  /** Injected clock: session expiry and the duration of ACTIVE sessions. */
  now?: () => number;
  /** JSESSIONID idle expiry; MediaSense's 30 minutes by default. */
  sessionIdleMs?: number;
  /** The node's counters for `GET /metrics`; without it there is no /metrics route. */
  metrics?: MetricsSource;
  /** Routes of the node's services (recording control, jobs, …), built by app.ts. */
  extraRoutes?: readonly ExtraOraRoutes[];
  /** Most /ora requests in progress at once before 5042 (`--api-max-requests`). */
  maxConcurrentRequests?: number;
  /**
   * Signs the media tokens in the URLs of session objects; shared with the RTSP server, which
   * accepts them. One with a key of its own when absent.
   */
  mediaTokens?: MediaTokens;
  /**
   * The MP4 cache of `mp4Url` (shared with convertSession, which app.ts builds); one of its own,
   * caching beside the media directory, when absent.
   */
  mp4?: Mp4Cache;
  /**
   * The kept waveforms of the peaks route (app.ts builds it, to discard them with a session's
   * media); one of its own, caching beside the media directory, when absent.
   */
  waveforms?: WaveformCache;
  /**
   * An ACTIVE session's packets as they arrive, for live listening (`/listen/<sessionId>`, a
   * WebSocket); without it those routes do not exist.
   */
  liveFeed?: LiveFeed;
  /**
   * The built web apps (packages/web/dist) served at `/` and `/admin`; without it those pages do
   * not exist (the API tests). A folder that is missing answers a page saying how to build it.
   */
  webRoot?: string;
}

/** Raised by the body parser; turned into a 4000 envelope by the error handler. */
class MalformedBodyError extends VerbatimError<JsonBodyError['code']> {
  // fastify reads `statusCode` to choose the reply status of an error raised by a body parser.
  readonly statusCode = 400;

  constructor(error: JsonBodyError) {
    super(error.code, error.message, { httpStatus: 400 });
  }
}

/** The refusal a client error stands for in the log and the counters, and its envelope detail. */
function clientErrorOf(error: FastifyError): { reason: ApiRefusalReason; detail: string } {
  if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return {
      reason: 'body-too-large',
      detail: `the body is larger than ${MAX_BODY_BYTES} bytes (MAX_BODY_BYTES)`,
    };
  }
  if (error.code === 'VERBATIM_ERR_API_JSON_TOO_DEEP') {
    return { reason: 'json-too-deep', detail: error.message };
  }
  return { reason: 'malformed-request', detail: error.message };
}

/** A fastify option handed to the server factory, whose type it does not declare. */
function numberOption(value: unknown): number | undefined {
  return typeof value === 'number' ? value : undefined;
}

function isOraRequest(request: FastifyRequest): boolean {
  return request.url.startsWith('/ora/');
}

/**
 * Builds the HTTP API (MediaSense `/ora` JSON APIs and media downloads) without listening, as in
 * fastify's testing guide: app.ts listens, tests use `inject()`.
 */
export async function buildHttpApi(options: HttpApiOptions): Promise<FastifyInstance> {
  const now = options.now ?? Date.now;
  const refusals = new ApiRefusalLog(options.logger, now);
  const common = {
    loggerInstance: options.logger,
    // One info line per request would flood the log of a busy node; requests are logged at debug.
    logController: new LogController({ disableRequestLogging: true }),
    // Errors fastify raises before routing (an undecodable URL) get an envelope too.
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      refusals.note('malformed-request', 'warn', 'malformed API request refused', {
        code: error.code,
        detail: error.message,
      });
      void reply.code(400).send(failure(RESPONSE_CODES.malformedRequest, error.message));
    },
    // Checked against Content-Length before reading and while reading, so a large body is never
    // held; the error handler answers it with an envelope.
    bodyLimit: MAX_BODY_BYTES,
  };
  // Under TLS the port also answers plain HTTP, for getAPIVersion alone (plain-http-policy.ts).
  // The routes use only the framework API, never the raw server, so that instance is used
  // through the same FastifyInstance type as the plain one.
  const tls = options.https;
  const app = (tls === undefined
    ? Fastify(common)
    : Fastify<https.Server>({
        ...common,
        // Read by fastify only for the scheme of the address listen() returns; the server is ours.
        https: { key: tls.key, cert: tls.cert },
        serverFactory: (handler, factoryOptions) =>
          new HttpsWithPlainServer(
            {
              key: tls.key,
              cert: tls.cert,
              http: {
                keepAliveTimeout: numberOption(factoryOptions.keepAliveTimeout),
                requestTimeout: numberOption(factoryOptions.requestTimeout),
              },
              connectionTimeout: numberOption(factoryOptions.connectionTimeout),
            },
            handler,
          ) as unknown as https.Server,
      })) as unknown as FastifyInstance;

  if (options.liveFeed !== undefined) {
    // Registered before every route, as the plugin requires. Clients send nothing that matters
    // on the live-listening socket: a small maximum message keeps what they can make us hold small.
    await app.register(websocket, { options: { maxPayload: 4096 } });
  }

  // MediaSense clients do not all send `Content-Type: application/json` (and some send a charset
  // fastify's parser rejects), so every body is read as JSON text; an empty body is no body.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    const parsed = parseJsonBody(typeof body === 'string' ? body : body.toString('utf8'));
    if (parsed.ok) {
      done(null, parsed.value);
    } else {
      done(new MalformedBodyError(parsed.error), undefined);
    }
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const status = error.statusCode ?? (isVerbatimError(error) ? error.httpStatus : undefined) ?? 500;
    if (status < 500) {
      // Client errors (malformed JSON, body too large or too deep, bad URL encoding) get an
      // envelope, never fastify's default error page: MediaSense answers them with HTTP 200 and a
      // 4xxx code. They are the client's doing: counted and logged without a stack.
      const { reason, detail } = clientErrorOf(error);
      refusals.note(reason, 'warn', 'malformed API request refused', {
        url: shortText(urlPath(request.url)),
        code: error.code,
        detail,
      });
      const body = failure(RESPONSE_CODES.malformedRequest, detail);
      return isOraRequest(request) ? reply.code(200).send(body) : reply.code(status).send(body);
    }
    request.log.error({ err: error }, 'request failed');
    const body = failure(RESPONSE_CODES.internalError);
    return isOraRequest(request) ? reply.code(200).send(body) : reply.code(500).send(body);
  });

  app.setNotFoundHandler((request, reply) => {
    const path = urlPath(request.url);
    refusals.note('unknown-api', 'info', 'request for an unknown API', {
      method: shortText(request.method),
      url: shortText(path),
    });
    return reply
      .code(404)
      .send(failure(RESPONSE_CODES.unknownApi, `no API at ${shortText(request.method)} ${shortText(path)}`));
  });

  if (tls !== undefined) {
    // First of the onRequest hooks: a request refused for plain HTTP takes no 5042 slot.
    registerPlainHttpPolicy(app, refusals);
  }
  registerConcurrencyLimit(app, options.maxConcurrentRequests ?? MAX_CONCURRENT_ORA_REQUESTS, refusals);
  app.addHook('onClose', (_instance, done) => {
    refusals.close();
    done();
  });
  // On close, idle keep-alive connections are dropped at once, but a response in flight is left
  // to finish, and some never do by themselves: a media download a browser stopped reading (its
  // buffer is full), a half-sent request. After a short drain they are cut, so a node with
  // browsers connected still stops.
  // Connections that have sent nothing yet: a browser opens spare ones ahead of need. Node counts
  // them as busy (no request has completed on them), so its close would wait for them too.
  const connections = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  app.addHook('preClose', (done) => {
    for (const socket of connections) {
      if (socket.bytesRead === 0) {
        socket.destroy();
      }
    }
    const cut = setTimeout(() => {
      options.logger.info('shutting down: cutting the API connections still open');
      app.server.closeAllConnections();
    }, HTTP_DRAIN_MS);
    cut.unref();
    app.server.once('close', () => clearTimeout(cut));
    done();
  });

  app.addHook('onResponse', (request, reply, done) => {
    request.log.debug(
      {
        method: request.method,
        url: request.url,
        statusCode: reply.statusCode,
        responseTimeMs: reply.elapsedTime,
      },
      'request completed',
    );
    done();
  });

  // Computed once now, so the first sign-in of an unknown user costs what later ones do.
  await dummyPasswordHash();
  const sessions = new AuthSessionStore({ idleMs: options.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS, now });
  const authenticator = new Authenticator(options.repository, sessions);
  const mediaTokens = options.mediaTokens ?? new MediaTokens({ repository: options.repository, now });
  const urls: MediaUrlOptions = {
    advertise: options.advertise,
    httpPort: options.httpPort,
    rtspPort: options.rtspPort,
    tls: options.tls,
    mediaToken: (sessionId, username) => mediaTokens.issue(sessionId, username),
  };
  const audit = new AuditTrail(options.repository, options.logger, now);
  registerOraRoutes(app, {
    repository: options.repository,
    authenticator,
    urls,
    tls: options.tls,
    now,
    refusals,
    audit,
    productVersion: productVersion(),
    extraRoutes: options.extraRoutes ?? [],
    documentedPaths: [
      ...MEDIA_DOCUMENTED_PATHS,
      WAVEFORM_DOCUMENTED_PATH,
      ...(options.liveFeed === undefined ? [] : LISTEN_DOCUMENTED_PATHS),
      ...(options.metrics === undefined ? [] : [METRICS_DOCUMENTED_PATH]),
    ],
  });
  registerAgentGadget(app, urls);
  if (options.webRoot !== undefined) {
    registerWebApp(app, options.webRoot);
  }
  const mediaContext = {
    repository: options.repository,
    authenticator,
    mediaDir: options.mediaDir,
    flushMedia: () => options.flushMedia(),
    now,
    logger: options.logger,
    refusals,
    audit,
    mp4:
      options.mp4 ??
      new Mp4Cache({
        mediaDir: options.mediaDir,
        fallbackDir: join(options.mediaDir, '..', 'cache', 'mp4'),
        logger: options.logger,
      }),
  };
  registerMediaRoutes(app, mediaContext);
  registerWaveformRoute(app, {
    ...mediaContext,
    waveforms:
      options.waveforms ??
      new WaveformCache({
        mediaDir: options.mediaDir,
        fallbackDir: join(options.mediaDir, '..', 'cache', 'peaks'),
        logger: options.logger,
      }),
  });
  if (options.liveFeed !== undefined) {
    registerListenRoutes(app, {
      repository: options.repository,
      authenticator,
      mediaTokens,
      liveFeed: options.liveFeed,
      refusals,
      audit,
      logger: options.logger.child({ component: 'listen' }),
    });
  }
  if (options.metrics !== undefined) {
    registerMetricsRoute(app, {
      source: options.metrics,
      authenticator,
      apiRefusals: () => refusals.totals(),
      audit,
    });
  }
  return app;
}
