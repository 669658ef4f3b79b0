import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import type { Session, Track } from '../model/session.js';
import type { CachedMp4, Mp4Cache } from '../playback/mp4-cache.js';
import {
  createWavExport,
  type WavExport,
  type WavLayout,
  type WavTrackSource,
} from '../playback/wav-export.js';
import { attachmentHeader, downloadFileName } from './download-names.js';
import type { AuditTrail } from './audit-trail.js';
import type { Authenticator, Principal } from './authenticator.js';
import { decideByteRange } from './byte-range.js';
import { failure, RESPONSE_CODES, type FailureCode } from './envelope.js';
import { isJsonObject, queryString, shortText, urlPath, type JsonObject } from './params.js';
import type { DocumentedPath } from './openapi.js';
import { allows, rolesWith } from './permissions.js';
import type { ApiRefusalLog } from './refusal-log.js';
import { resolveMediaPath } from '../storage/session-media.js';

/**
 * Media downloads on the API port (DESIGN.md §1.3): the stereo WAV of a session and the raw pcap
 * capture of one track. Both honour single byte ranges and stream from disk without buffering.
 */

export interface MediaRouteContext {
  readonly repository: Repository;
  readonly authenticator: Authenticator;
  /** Track `mediaPath` values are relative to this directory. */
  readonly mediaDir: string;
  readonly flushMedia: () => Promise<void>;
  readonly now: () => number;
  /** Receives the export's warnings about damaged track files. */
  readonly logger: Logger;
  readonly refusals: ApiRefusalLog;
  readonly audit: AuditTrail;
  /** The MP4 of closed sessions: made on first request, cached, single-flight (playback/mp4-cache.ts). */
  readonly mp4: Mp4Cache;
}

/** Codecs the WAV export decodes; other tracks become a silent channel. */
const WAV_PATH = '/recordedMedia/oramedia/wav/:file';
const MP4_PATH = '/recordedMedia/oramedia/mp4/:file';
const EXPORT_RAW_PATH = '/mma/ExportRaw';
const GET_AND_HEAD = ['GET', 'HEAD'];

const DOWNLOAD_SECURITY = [{ basic: [] }, { jsessionCookie: [] }, { jsessionHeader: [] }];
const DOWNLOAD_FAILURES = {
  401: { description: 'No valid credentials (a Basic challenge follows)' },
  403: { description: 'The role may not play recordings (4022)' },
  404: { description: 'No such session or track, or it was deleted (4040)' },
  416: { description: 'The range cannot be satisfied' },
};

/** The download routes in the OpenAPI document (they answer media, not envelopes). */
export const MEDIA_DOCUMENTED_PATHS: readonly DocumentedPath[] = [
  {
    path: '/recordedMedia/oramedia/wav/{sessionId}.wav',
    method: 'get',
    operation: {
      operationId: 'downloadWav',
      summary: 'The session as a stereo WAV (track 0 left, track 1 right); an ACTIVE one so far',
      description: `Roles: ${rolesWith('play').join(', ')}. Honours a single Range. Audited (a request from byte 0).`,
      tags: ['media'],
      security: DOWNLOAD_SECURITY,
      parameters: [{ name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: {
          description: 'audio/wav',
          content: { 'audio/wav': { schema: { type: 'string', format: 'binary' } } },
        },
        206: { description: 'The requested range' },
        ...DOWNLOAD_FAILURES,
      },
    },
  },
  {
    path: '/recordedMedia/oramedia/mp4/{sessionId}.mp4',
    method: 'get',
    operation: {
      operationId: 'downloadMp4',
      summary:
        'The session as an MP4 (AAC stereo, track 0 left; H.264 video when recorded): mp4Url and httpUrl',
      description: `Roles: ${rolesWith('play').join(', ')}. Made on the first request (the answer waits for the conversion), then cached; honours a single Range. An ACTIVE session is refused (409, 4042): its WAV URL streams what was recorded so far. Audited (a request from byte 0).`,
      tags: ['media'],
      security: DOWNLOAD_SECURITY,
      parameters: [{ name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } }],
      responses: {
        200: {
          description: 'video/mp4',
          content: { 'video/mp4': { schema: { type: 'string', format: 'binary' } } },
        },
        206: { description: 'The requested range' },
        ...DOWNLOAD_FAILURES,
        404: { description: 'No such session, or it was deleted or its media pruned (4040)' },
        409: { description: 'The session is still recording (4042)' },
        500: { description: 'The conversion failed (5000); nothing is cached' },
      },
    },
  },
  {
    path: '/mma/ExportRaw',
    method: 'get',
    operation: {
      operationId: 'exportRaw',
      summary: "One track's stored capture (pcap: each RTP packet with its arrival time)",
      description: `Roles: ${rolesWith('play').join(', ')}. Honours a single Range. Audited (a request from byte 0).`,
      tags: ['media'],
      security: DOWNLOAD_SECURITY,
      parameters: [
        {
          name: 'recording',
          in: 'query',
          required: true,
          description: '<sessionId>-TRACK<n>',
          schema: { type: 'string' },
        },
      ],
      responses: {
        200: {
          description: 'application/vnd.tcpdump.pcap',
          content: { 'application/vnd.tcpdump.pcap': { schema: { type: 'string', format: 'binary' } } },
        },
        206: { description: 'The requested range' },
        400: { description: 'recording is not <sessionId>-TRACK<n> (4001)' },
        ...DOWNLOAD_FAILURES,
      },
    },
  },
];

export function sendFailure(
  reply: FastifyReply,
  httpStatus: number,
  code: FailureCode,
  detail?: string,
): FastifyReply {
  return reply.code(httpStatus).type('application/json; charset=utf-8').send(failure(code, detail));
}

/**
 * The caller of a download: 401 with a Basic challenge without credentials (players and curl then
 * retry with the API credentials), 403 when the role may not play recordings.
 */
export async function authorize(
  ctx: MediaRouteContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Principal | undefined> {
  const principal = await ctx.authenticator.downloadPrincipal(request.headers);
  if (principal === undefined) {
    ctx.refusals.note('download-unauthorized', 'info', 'download without valid API credentials', {
      url: shortText(urlPath(request.url)),
    });
    void reply.header('www-authenticate', 'Basic realm="Verbatim"');
    await sendFailure(reply, 401, RESPONSE_CODES.invalidSession);
    return undefined;
  }
  if (!allows(principal.role, 'play')) {
    ctx.refusals.note('forbidden', 'info', 'download refused for the role', {
      username: principal.username,
      role: principal.role,
    });
    await sendFailure(
      reply,
      403,
      RESPONSE_CODES.forbidden,
      `downloads need one of the roles ${rolesWith('play').join(', ')}`,
    );
    return undefined;
  }
  return principal;
}

/**
 * Writes the audit record of a download. A player seeking sends many range requests for one
 * playback; only a request from the first byte (no Range, or one starting at 0) is a new download
 * or playback, and HEAD reads nothing.
 */
async function auditDownload(
  ctx: MediaRouteContext,
  request: FastifyRequest,
  principal: Principal,
  action: string,
  target: string,
  outcome: FailureCode | 2000,
): Promise<void> {
  const range = request.headers.range;
  const fromStart = typeof range !== 'string' || /^bytes=0-/i.test(range.trim());
  if (request.method === 'HEAD' || !fromStart) {
    return;
  }
  await ctx.audit.record({
    username: principal.username,
    role: principal.role,
    action,
    target,
    outcome,
    source: request.ip,
    ...(principal.via === 'basic' ? { detail: { via: 'basic' } } : {}),
  });
}

/** Sets the range headers and status; returns the inclusive range to send, or undefined for none. */
function applyRange(
  request: FastifyRequest,
  reply: FastifyReply,
  totalBytes: number,
): { start: number; end: number } | 'unsatisfiable' | undefined {
  void reply.header('accept-ranges', 'bytes');
  const rangeHeader = request.headers.range;
  const decision = decideByteRange(typeof rangeHeader === 'string' ? rangeHeader : undefined, totalBytes);
  switch (decision.kind) {
    case 'full':
      void reply.header('content-length', String(totalBytes));
      return undefined;
    case 'unsatisfiable':
      // RFC 9110 §15.5.17: a 416 names the current length in an unsatisfied-range Content-Range.
      void reply.code(416).header('content-range', `bytes */${totalBytes}`);
      return 'unsatisfiable';
    case 'partial':
      void reply
        .code(206)
        .header('content-range', `bytes ${decision.start}-${decision.end}/${totalBytes}`)
        .header('content-length', String(decision.end - decision.start + 1));
      return { start: decision.start, end: decision.end };
  }
}

export function isGone(session: Session | undefined): session is undefined {
  return session === undefined || session.sessionState === 'DELETED';
}

/**
 * The WAV export of `session` as it is now, of `tracks` in `layout` (track 0 left and track 1
 * right for stereo). An ACTIVE session gives what has been recorded so far: its buffered packets
 * are pushed to disk first, and it lasts until now.
 */
export async function sessionWavExport(
  ctx: MediaRouteContext,
  session: Session,
  tracks: readonly (Track | undefined)[],
  layout: WavLayout,
): Promise<WavExport> {
  const active = session.sessionState === 'ACTIVE';
  if (active) {
    await ctx.flushMedia();
  }
  const durationMs =
    !active && session.sessionDuration !== undefined
      ? session.sessionDuration
      : Math.max(0, ctx.now() - session.sessionStartDate);
  return createWavExport({
    tracks: await Promise.all(tracks.map((track) => wavSource(ctx, track))),
    layout,
    sessionStartMs: session.sessionStartDate,
    durationMs,
    logger: ctx.logger,
  });
}

/**
 * The WAV source of a track, or undefined for a silent channel: no such track, video, a codec not
 * known yet (delayed offer before the ACK), or no media file yet (an ACTIVE track whose first
 * packet has not arrived). A codec the export cannot decode becomes silence in the export itself.
 */
async function wavSource(
  ctx: MediaRouteContext,
  track: Track | undefined,
): Promise<WavTrackSource | undefined> {
  if (track?.trackMediaType !== 'AUDIO' || track.codec === '') {
    return undefined;
  }
  const filePath = resolveMediaPath(ctx.mediaDir, track.mediaPath);
  if (filePath === undefined || (await fileSize(filePath)) === undefined) {
    return undefined;
  }
  return {
    filePath,
    codec: track.codec.toUpperCase(),
    payloadType: track.payloadType,
    clockRateHz: track.clockRateHz,
  };
}

type WavChoice =
  | { readonly kind: 'stereo' | 'mix' }
  | { readonly kind: 'track'; readonly trackNumber: number }
  | { readonly kind: 'invalid'; readonly detail: string };

/**
 * Which WAV a download asks for: the session in stereo (no parameter), one track in mono
 * (`?track=N`), or both parties mixed into one channel (`?mix=1`, as the RTSP URLs will take it).
 */
function wavLayoutOf(query: JsonObject): WavChoice {
  const track = queryString(query, ['track']);
  const mix = queryString(query, ['mix']);
  if (track !== undefined && mix !== undefined) {
    return { kind: 'invalid', detail: 'ask for one track (track=N) or the mix (mix=1), not both' };
  }
  if (track !== undefined) {
    return /^\d{1,9}$/.test(track)
      ? { kind: 'track', trackNumber: Number(track) }
      : { kind: 'invalid', detail: `track must be a track number, got ${JSON.stringify(shortText(track))}` };
  }
  if (mix !== undefined) {
    return mix === '1' || mix.toLowerCase() === 'true'
      ? { kind: 'mix' }
      : { kind: 'invalid', detail: `mix must be 1, got ${JSON.stringify(shortText(mix))}` };
  }
  return { kind: 'stereo' };
}

/** The session id of a `<sessionId><extension>` file in the URL (any case of the extension). */
function sessionIdOfFile(request: FastifyRequest, extension: string): string | undefined {
  const params = isJsonObject(request.params) ? request.params : {};
  const file = typeof params.file === 'string' ? params.file : '';
  return file.length > extension.length && file.toLowerCase().endsWith(extension)
    ? file.slice(0, -extension.length)
    : undefined;
}

export function registerMediaRoutes(app: FastifyInstance, ctx: MediaRouteContext): void {
  // HEAD is declared with GET instead of fastify's automatic HEAD route, which would produce
  // (and drain) the whole body only to discard it.
  app.route({
    method: GET_AND_HEAD,
    url: WAV_PATH,
    handler: async (request, reply) => {
      const principal = await authorize(ctx, request, reply);
      if (principal === undefined) {
        return reply;
      }
      const sessionId = sessionIdOfFile(request, '.wav');
      if (sessionId === undefined) {
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, 'the WAV URL names no session');
      }
      const session = await ctx.repository.getSession(sessionId);
      if (isGone(session)) {
        await auditDownload(ctx, request, principal, 'download:wav', sessionId, RESPONSE_CODES.mediaNotFound);
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, `no session ${sessionId}`);
      }
      await auditDownload(ctx, request, principal, 'download:wav', sessionId, RESPONSE_CODES.success);
      const byNumber = (n: number): Track | undefined => session.tracks.find((t) => t.trackNumber === n);
      const layout = wavLayoutOf(isJsonObject(request.query) ? request.query : {});
      if (layout.kind === 'invalid') {
        return sendFailure(reply, 400, RESPONSE_CODES.invalidParameter, layout.detail);
      }
      let tracks: (Track | undefined)[];
      if (layout.kind === 'track') {
        const track = byNumber(layout.trackNumber);
        if (track === undefined) {
          return sendFailure(
            reply,
            404,
            RESPONSE_CODES.mediaNotFound,
            `no track ${layout.trackNumber} in ${sessionId}`,
          );
        }
        tracks = [track];
      } else {
        // Track 0 is the left channel and track 1 the right (DESIGN.md §1.3), or both in one.
        tracks = [byNumber(0), byNumber(1)];
      }
      const wav = await sessionWavExport(
        ctx,
        session,
        tracks,
        layout.kind === 'track' ? 'mono' : layout.kind,
      );
      const suffix =
        layout.kind === 'track'
          ? `-TRACK${layout.trackNumber}.wav`
          : layout.kind === 'mix'
            ? '-mix.wav'
            : '.wav';
      void reply
        .type('audio/wav')
        .header('content-disposition', attachmentHeader(downloadFileName(session, suffix)));
      const range = applyRange(request, reply, wav.totalBytes);
      if (range === 'unsatisfiable' || request.method === 'HEAD') {
        return reply.send();
      }
      return reply.send(wav.open(range));
    },
  });

  app.route({
    method: GET_AND_HEAD,
    url: MP4_PATH,
    handler: async (request, reply) => {
      const principal = await authorize(ctx, request, reply);
      if (principal === undefined) {
        return reply;
      }
      const sessionId = sessionIdOfFile(request, '.mp4');
      if (sessionId === undefined) {
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, 'the MP4 URL names no session');
      }
      const session = await ctx.repository.getSession(sessionId);
      if (isGone(session) || session.prunedAt !== undefined) {
        if (session !== undefined) {
          // Never served again; removed now in case the media removal left it.
          await ctx.mp4.discard(session);
        }
        await auditDownload(ctx, request, principal, 'download:mp4', sessionId, RESPONSE_CODES.mediaNotFound);
        const why = session === undefined ? 'no session' : `the media was removed from session`;
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, `${why} ${sessionId}`);
      }
      if (session.sessionState === 'ACTIVE') {
        // An MP4 is a finished file: one made now would be stale at once and could not be cached.
        return sendFailure(
          reply,
          409,
          RESPONSE_CODES.invalidState,
          `session ${sessionId} is still recording; its MP4 is made once it ends (its WAV URL streams it now)`,
        );
      }
      await auditDownload(ctx, request, principal, 'download:mp4', sessionId, RESPONSE_CODES.success);
      let mp4: CachedMp4;
      try {
        mp4 = await mp4For(ctx.mp4, session, reply);
      } catch (error) {
        if (reply.raw.destroyed || reply.raw.writableEnded) {
          return reply;
        }
        ctx.logger.error({ err: error, sessionId }, 'MP4 download failed');
        const code = (error as { code?: unknown }).code;
        return sendFailure(
          reply,
          500,
          RESPONSE_CODES.internalError,
          `the MP4 conversion of ${sessionId} failed${typeof code === 'string' ? ` (${code})` : ''}; the node's log has the reason`,
        );
      }
      void reply
        .type('video/mp4')
        .header('content-disposition', attachmentHeader(downloadFileName(session, '.mp4')));
      const range = applyRange(request, reply, mp4.sizeBytes);
      if (range === 'unsatisfiable' || request.method === 'HEAD' || mp4.sizeBytes === 0) {
        await mp4.file.close();
        return reply.send();
      }
      const { start, end } = range ?? { start: 0, end: mp4.sizeBytes - 1 };
      // The stream closes the handle when it ends or is destroyed (autoClose).
      return reply.send(mp4.file.createReadStream({ start, end }));
    },
  });

  app.route({
    method: GET_AND_HEAD,
    url: EXPORT_RAW_PATH,
    handler: async (request, reply) => {
      const principal = await authorize(ctx, request, reply);
      if (principal === undefined) {
        return reply;
      }
      const query = isJsonObject(request.query) ? request.query : {};
      const recording = queryString(query, ['recording']) ?? '';
      const parsed = parseRecordingName(recording);
      if (parsed === undefined) {
        return sendFailure(
          reply,
          400,
          RESPONSE_CODES.invalidParameter,
          'recording must be <sessionId>-TRACK<n>',
        );
      }
      const { sessionId, trackNumber } = parsed;
      const session = await ctx.repository.getSession(sessionId);
      const track = session?.tracks.find((t) => t.trackNumber === trackNumber);
      const filePath = track === undefined ? undefined : resolveMediaPath(ctx.mediaDir, track.mediaPath);
      if (isGone(session) || filePath === undefined) {
        await auditDownload(ctx, request, principal, 'download:raw', recording, RESPONSE_CODES.mediaNotFound);
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, `no track ${recording}`);
      }
      await auditDownload(ctx, request, principal, 'download:raw', recording, RESPONSE_CODES.success);
      if (session.sessionState === 'ACTIVE') {
        await ctx.flushMedia();
      }
      const sizeBytes = await fileSize(filePath);
      if (sizeBytes === undefined) {
        return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, `no media file for ${recording}`);
      }
      void reply
        .type('application/vnd.tcpdump.pcap')
        .header(
          'content-disposition',
          attachmentHeader(downloadFileName(session, `-TRACK${trackNumber}.pcap`)),
        );
      const range = applyRange(request, reply, sizeBytes);
      if (range === 'unsatisfiable' || request.method === 'HEAD') {
        return reply.send();
      }
      // The file of an ACTIVE track grows while we read: the stream stops at the size announced.
      const { start, end } = range ?? { start: 0, end: sizeBytes - 1 };
      return reply.send(end < start ? Readable.from([]) : createReadStream(filePath, { start, end }));
    },
  });
}

/**
 * The session and track of an ExportRaw `recording=<sessionId>-TRACK<n>` (reference §5.2, observed
 * on 11.5). Any track number a session can have is addressable: track numbers are non-negative
 * integers without an upper bound (a CUCM call that keeps adding legs counts on, and SDP
 * tracks number their m= lines), so <n> is any run of digits that is a safe integer.
 */
export function parseRecordingName(
  recording: string,
): { sessionId: string; trackNumber: number } | undefined {
  const match = /^(.+)-TRACK(\d+)$/i.exec(recording);
  const sessionId = match?.[1];
  const trackNumber = Number(match?.[2]);
  return sessionId === undefined || !Number.isSafeInteger(trackNumber)
    ? undefined
    : { sessionId, trackNumber };
}

/**
 * The session's cached MP4, converting it first if needed. The client leaving while it waits
 * (the connection closes before any answer) withdraws its interest: the conversion stops when
 * nobody else waits for it.
 */
async function mp4For(cache: Mp4Cache, session: Session, reply: FastifyReply): Promise<CachedMp4> {
  const cached = await cache.cached(session);
  if (cached !== undefined) {
    return cached;
  }
  const gone = new AbortController();
  const onClose = (): void => {
    if (!reply.raw.writableFinished) {
      gone.abort(new Error('the client went away'));
    }
  };
  reply.raw.once('close', onClose);
  try {
    return await cache.get(session, { signal: gone.signal });
  } finally {
    reply.raw.off('close', onClose);
  }
}

/** The size of a media file, or undefined when it does not exist (yet). */
async function fileSize(filePath: string): Promise<number | undefined> {
  try {
    const info = await stat(filePath);
    return info.isFile() ? info.size : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return undefined;
    }
    throw error;
  }
}
