import { Type } from 'typebox';

import type { EventSink } from '../model/events.js';
import { failureEnvelope, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import type { OraRouteDeps } from './ora-routes.js';
import { MAX_TAG_NAME_LENGTH } from './request-limits.js';
import { SessionIdSchema } from './schemas.js';
import { addUserTag, checkTagRequest, deleteUserTag, type SessionTagDeps } from './session-tags.js';

/**
 * addSessionTag and deleteSessionTag of the management service (reference §6), on the logic of
 * session-tags.ts. Both answer `{"responseCode": 2000, "responseMessage": "Successful"}`, as
 * MediaSense answers addSessionTag.
 */

const MANAGE = '/ora/managementService/manage';

const TagParamsSchema = Type.Object({
  sessionId: SessionIdSchema,
  tagName: Type.String({
    minLength: 1,
    maxLength: MAX_TAG_NAME_LENGTH,
    description: 'Compared without regard to case',
  }),
  tagOffset: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'Milliseconds from the session start (a time-bound tag); 0 is refused for a user tag',
    }),
  ),
});

export function tagRoutes(ctx: OraRouteDeps & { readonly events: EventSink }): OraRoute[] {
  const deps: SessionTagDeps = { repository: ctx.repository, events: ctx.events, now: ctx.now };
  return [
    {
      api: 'addSessionTag',
      summary:
        'Add a USER_DEFINED tag to an ACTIVE or closed session (adding one it has succeeds, once; with an offset, a whole-session tag of that name moves there)',
      change: addUserTag,
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
    },
    {
      api: 'deleteSessionTag',
      summary: 'Delete the USER_DEFINED tags of that name (only the one at tagOffset when given)',
      change: deleteUserTag,
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
    },
  ].map(({ api, summary, change, failures }) =>
    oraRoute({
      method: 'POST',
      path: `${MANAGE}/${api}`,
      summary,
      permission: 'tag',
      audit: true,
      input: 'requestParameters',
      params: TagParamsSchema,
      failures,
      handler: async (params, call) => {
        call.audit.target = params.sessionId;
        call.audit.detail = {
          tagName: params.tagName,
          ...(params.tagOffset === undefined ? {} : { tagOffset: String(params.tagOffset) }),
        };
        const request = checkTagRequest(params);
        if (!request.ok) {
          return failureEnvelope(request.error);
        }
        const result = await change(deps, request.value);
        return result.ok ? success(undefined, MESSAGE_SUCCESSFUL) : failureEnvelope(result.error);
      },
    }),
  );
}
