import type { FastifyInstance } from 'fastify';
import type { Track } from '../model/session.js';
import {
  WAVEFORM_DEFAULT_BUCKETS,
  WAVEFORM_MAX_BUCKETS,
  computeWaveform,
  type WaveformCache,
} from '../playback/waveform.js';
import { RESPONSE_CODES, success } from './envelope.js';
import { authorize, isGone, sendFailure, sessionWavExport, type MediaRouteContext } from './media-routes.js';
import type { DocumentedPath } from './openapi.js';
import { isJsonObject, queryString, shortText } from './params.js';
import { rolesWith } from './permissions.js';

/**
 * The waveform of a session for the web player (Verbatim extension, docs/api.md "Waveform"):
 * `GET /recordedMedia/oramedia/peaks/<sessionId>.json?buckets=N`, beside the WAV and MP4 it
 * describes, with their credentials (cookie, JSESSIONID header or Basic) and permission (`play`).
 * Answers an envelope whose responseBody is the Waveform (playback/waveform.ts). Not audited:
 * it carries no audio, and the player's WAV request that follows it is.
 */

export interface WaveformRouteContext extends MediaRouteContext {
  readonly waveforms: WaveformCache;
}

const PEAKS_PATH = '/recordedMedia/oramedia/peaks/:file';
const EXTENSION = '.json';

export const WAVEFORM_DOCUMENTED_PATH: DocumentedPath = {
  path: '/recordedMedia/oramedia/peaks/{sessionId}.json',
  method: 'get',
  operation: {
    operationId: 'getWaveform',
    summary:
      "Verbatim extension: the session's waveform, per channel the min and max sample of N equal buckets of the stereo WAV",
    description: `Roles: ${rolesWith('play').join(', ')}. An envelope; responseBody {sessionId, sampleRateHz, durationMs, frames, buckets, channels: [{channel, trackNumber, min[], max[]}]}, samples at full scale −1…1, aligned exactly like the WAV (track 0 left, track 1 right). Computed once and kept for a closed session.`,
    tags: ['media'],
    security: [{ basic: [] }, { jsessionCookie: [] }, { jsessionHeader: [] }],
    parameters: [
      { name: 'sessionId', in: 'path', required: true, schema: { type: 'string' } },
      {
        name: 'buckets',
        in: 'query',
        required: false,
        description: `1 to ${WAVEFORM_MAX_BUCKETS}; default ${WAVEFORM_DEFAULT_BUCKETS}`,
        schema: { type: 'integer', minimum: 1, maximum: WAVEFORM_MAX_BUCKETS },
      },
    ],
    responses: {
      200: { description: 'An envelope with the waveform (2000)' },
      400: { description: 'buckets is not an integer from 1 to the cap (4001)' },
      401: { description: 'No valid credentials (a Basic challenge follows)' },
      403: { description: 'The role may not play recordings (4022)' },
      404: { description: 'No such session, or it was deleted or its media pruned (4040)' },
    },
  },
};

/** The bucket count asked for, or why it is refused. */
function bucketsOf(query: unknown): number | string {
  const raw = queryString(isJsonObject(query) ? query : {}, ['buckets']);
  if (raw === undefined) {
    return WAVEFORM_DEFAULT_BUCKETS;
  }
  const value = /^\d{1,9}$/.test(raw) ? Number(raw) : Number.NaN;
  return value >= 1 && value <= WAVEFORM_MAX_BUCKETS
    ? value
    : `buckets must be an integer from 1 to ${WAVEFORM_MAX_BUCKETS}, got ${JSON.stringify(shortText(raw))}`;
}

export function registerWaveformRoute(app: FastifyInstance, ctx: WaveformRouteContext): void {
  app.get(PEAKS_PATH, async (request, reply) => {
    const principal = await authorize(ctx, request, reply);
    if (principal === undefined) {
      return reply;
    }
    const params = isJsonObject(request.params) ? request.params : {};
    const file = typeof params.file === 'string' ? params.file : '';
    const sessionId = file.toLowerCase().endsWith(EXTENSION) ? file.slice(0, -EXTENSION.length) : '';
    if (sessionId === '') {
      return sendFailure(
        reply,
        404,
        RESPONSE_CODES.mediaNotFound,
        'the URL names no session (<sessionId>.json)',
      );
    }
    const buckets = bucketsOf(request.query);
    if (typeof buckets === 'string') {
      return sendFailure(reply, 400, RESPONSE_CODES.invalidParameter, buckets);
    }
    const session = await ctx.repository.getSession(sessionId);
    if (isGone(session) || session.prunedAt !== undefined) {
      const why = session === undefined ? 'no session' : 'no media for session';
      return sendFailure(reply, 404, RESPONSE_CODES.mediaNotFound, `${why} ${sessionId}`);
    }
    const waveform = await ctx.waveforms.get(session, buckets, async () => {
      const byNumber = (n: number): Track | undefined => session.tracks.find((t) => t.trackNumber === n);
      // The stereo WAV the player plays, as its URL would answer it now (ACTIVE: so far).
      const wav = await sessionWavExport(ctx, session, [byNumber(0), byNumber(1)], 'stereo');
      return computeWaveform(sessionId, wav, buckets);
    });
    return reply.type('application/json; charset=utf-8').send(success(waveform));
  });
}
