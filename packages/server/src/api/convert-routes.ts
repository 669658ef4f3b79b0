import { Type } from 'typebox';

import type { Mp4Cache } from '../playback/mp4-cache.js';
import { failure, RESPONSE_CODES, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import type { OraRouteDeps } from './ora-routes.js';
import { describeValue } from './params.js';
import { SessionIdSchema } from './schemas.js';
import { sessionUrls } from './session-json.js';

/**
 * convertSession of the management service (reference §6, deprecated by MediaSense 10 but still
 * called by older clients): makes the session's MP4 and answers its link,
 * `{"responseBody": {"convertedLink": "<mp4Url>"}}`. It is the same conversion, in the same cache,
 * as the first request of `mp4Url` (playback/mp4-cache.ts): a session already converted (by
 * either) answers its link again at once, without a second conversion; a conversion in progress
 * is joined. The answer comes once the MP4 is ready, so the link plays when the client follows
 * it; the conversion that produced the file publishes SESSION_EVENT UPDATED.
 *
 * Choices where the reference is silent (docs/api.md "MP4"): `conversionFormat` absent or "mp4"
 * (any case) converts to MP4; "wav" answers the wavUrl without converting anything (the WAV is
 * streamed on demand, there is nothing to wait for) and publishes nothing; anything else is 4001.
 * ACTIVE and CLOSED_ERROR sessions are refused with 4042 as MediaSense refused them, DELETED and
 * pruned ones too (no media); an unknown session is 4041.
 */

const CONVERT_PATH = '/ora/managementService/manage/convertSession';

const ConvertParamsSchema = Type.Object({
  sessionId: SessionIdSchema,
  conversionFormat: Type.Optional(
    Type.String({
      maxLength: 32,
      description: '"mp4" (the default, any case) or "wav"',
    }),
  ),
});

export function convertRoutes(ctx: OraRouteDeps & { readonly mp4: Mp4Cache }): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: CONVERT_PATH,
      summary: 'Convert a closed session to MP4 and answer its link (again, without converting, once done)',
      description:
        'Answers when the MP4 is ready (a one-hour call takes seconds). ACTIVE, CLOSED_ERROR, DELETED and pruned sessions are refused (4042). `conversionFormat` "wav" answers the wavUrl, which needs no conversion.',
      permission: 'play',
      audit: true,
      input: 'requestParameters',
      params: ConvertParamsSchema,
      responseBody: Type.Object({ convertedLink: Type.String() }),
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = params.sessionId;
        const format = (params.conversionFormat ?? 'mp4').trim().toLowerCase();
        if (format !== 'mp4' && format !== 'wav') {
          return failure(
            RESPONSE_CODES.invalidParameter,
            `requestParameters.conversionFormat must be "mp4" or "wav", got ${describeValue(params.conversionFormat)}`,
          );
        }
        call.audit.detail = { conversionFormat: format };
        const session = await ctx.repository.getSession(params.sessionId);
        if (session === undefined) {
          return failure(RESPONSE_CODES.notFound, `no session ${describeValue(params.sessionId)}`);
        }
        const refused =
          session.sessionState === 'ACTIVE'
            ? 'is still recording (ACTIVE); convert it once it has ended'
            : session.sessionState === 'CLOSED_ERROR'
              ? 'ended in error (CLOSED_ERROR): it is not converted, as in MediaSense; its mp4Url and wavUrl still serve what was recorded'
              : session.sessionState === 'DELETED'
                ? 'is DELETED'
                : session.prunedAt !== undefined
                  ? 'has had its media pruned'
                  : undefined;
        if (refused !== undefined) {
          return failure(
            RESPONSE_CODES.invalidState,
            `session ${describeValue(params.sessionId)} ${refused}`,
          );
        }
        const urls = sessionUrls(session, ctx.urls);
        if (format === 'wav') {
          return success({ convertedLink: urls.wavUrl });
        }
        try {
          const mp4 = await ctx.mp4.get(session, { keep: true });
          await mp4.file.close();
        } catch (error) {
          const code = (error as { code?: unknown }).code;
          return failure(
            RESPONSE_CODES.internalError,
            `the MP4 conversion failed${typeof code === 'string' ? ` (${code})` : ''}; the node's log has the reason`,
          );
        }
        return success({ convertedLink: urls.mp4Url });
      },
    }),
  ];
}
