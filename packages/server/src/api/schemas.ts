import { HEALTH_PROBLEM_KINDS } from '../model/session-health.js';
import { Type, type TSchema } from 'typebox';

/**
 * JSON Schemas (TypeBox) of what the API sends and takes, shared by the route declarations: they
 * validate parameters and describe responses in the OpenAPI document. The session shapes follow
 * session-json.ts, which builds them.
 */

/** A MediaSense session id as Verbatim issues them; longer text is refused before any lookup. */
export const SessionIdSchema = Type.String({ minLength: 1, maxLength: 128, description: 'A session id' });

/** Epoch milliseconds. */
export const EpochMsSchema = Type.Integer({ minimum: 0, description: 'Epoch milliseconds (UTC)' });

export const TagSchema = Type.Object({
  tagName: Type.String(),
  tagType: Type.Union([Type.Literal('USER_DEFINED'), Type.Literal('SYSTEM_DEFINED')]),
  tagCreateDate: EpochMsSchema,
  tagOffset: Type.Optional(Type.Integer({ minimum: 0, description: 'ms from the session (or track) start' })),
  trackNumber: Type.Optional(Type.Integer({ minimum: 0 })),
});

export const ParticipantSchema = Type.Object({
  deviceRef: Type.String(),
  deviceId: Type.Optional(Type.String()),
  xRefCi: Type.Optional(Type.String()),
  name: Type.Optional(Type.String({ description: 'Verbatim extension: display name' })),
  isConference: Type.Boolean(),
  participantStartDate: EpochMsSchema,
  participantDuration: Type.Optional(Type.Integer({ minimum: 0 })),
  loginId: Type.Optional(
    Type.String({ description: 'Finesse login id of the agent signed in at deviceRef' }),
  ),
  loginName: Type.Optional(Type.String({ description: 'Finesse login name of that agent' })),
  agentFirstName: Type.Optional(Type.String({ description: 'Verbatim extension: the agent first name' })),
  agentLastName: Type.Optional(Type.String({ description: 'Verbatim extension: the agent last name' })),
});

export const TrackSchema = Type.Object({
  trackNumber: Type.Integer({ minimum: 0 }),
  trackStartDate: EpochMsSchema,
  trackDuration: Type.Optional(Type.Integer({ minimum: 0 })),
  trackMediaType: Type.Union([Type.Literal('AUDIO'), Type.Literal('VIDEO')]),
  codec: Type.String(),
  downloadUrl: Type.Optional(
    Type.String({ description: 'Raw track capture; CLOSED_NORMAL AUDIO tracks only' }),
  ),
  participants: Type.Array(ParticipantSchema),
  tags: Type.Array(TagSchema),
  stats: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()]), {
    description: 'Verbatim extension: reception statistics (numbers; `content` is audio or silence)',
  }),
});

/** A session's recording health (model/session-health.ts; docs/api.md "health"). */
const SessionHealthSchema = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  problems: Type.Array(
    Type.Object(
      {
        kind: Type.Union(HEALTH_PROBLEM_KINDS.map((kind) => Type.Literal(kind))),
        trackNumber: Type.Optional(Type.Integer({ description: 'absent for one-sided' })),
        trackNumbers: Type.Optional(
          Type.Array(Type.Integer(), { description: 'one-sided: the unheard tracks' }),
        ),
      },
      { additionalProperties: true, description: 'figures by kind: see docs/api.md' },
    ),
  ),
  tracks: Type.Array(
    Type.Object({
      trackNumber: Type.Integer(),
      expected: Type.Integer(),
      received: Type.Integer(),
      lost: Type.Integer(),
      lossPercent: Type.Number(),
      gaps: Type.Integer(),
      gapMs: Type.Integer(),
      longestGapMs: Type.Integer(),
      content: Type.Union([Type.Literal('audio'), Type.Literal('silence'), Type.Literal('not-checked')]),
    }),
  ),
});

export const SessionSchema = Type.Object({
  sessionId: Type.String(),
  sessionState: Type.Union([
    Type.Literal('ACTIVE'),
    Type.Literal('CLOSED_NORMAL'),
    Type.Literal('CLOSED_ERROR'),
    Type.Literal('DELETED'),
  ]),
  sessionStartDate: EpochMsSchema,
  sessionDuration: Type.Optional(Type.Integer({ minimum: 0, description: 'Absent while ACTIVE' })),
  callControllerIP: Type.String(),
  callControllerType: Type.String(),
  ccid: Type.String(),
  undecodable: Type.Optional(Type.Literal(true)),
  correlation: Type.Optional(Type.Record(Type.String(), Type.String())),
  pruned: Type.Optional(Type.Literal(true, { description: 'Present when the media was pruned (issue 10)' })),
  closeReason: Type.Optional(
    Type.String({ description: 'Why a CLOSED_ERROR session ended (`disk-full`, `write-failed: EIO`, …)' }),
  ),
  health: SessionHealthSchema,
  tags: Type.Array(TagSchema),
  tracks: Type.Array(TrackSchema),
  urls: Type.Object({
    rtspUrl: Type.String({
      description: "With `?token=`, the signed-in user's media token, when answered to one",
    }),
    wavUrl: Type.String(),
    mp4Url: Type.String(),
    httpUrl: Type.String(),
    listenUrl: Type.Optional(
      Type.String({ description: 'While ACTIVE, for a signed-in user: a page that plays the call live' }),
    ),
  }),
});

/** `responseBody` of every session query. */
export const SessionsBodySchema = Type.Object({ sessions: Type.Array(SessionSchema) });

/** A route without parameters. */
export const NoParamsSchema = Type.Object({});

/** The envelope every /ora API answers with (HTTP 200 also for application errors). */
export function envelopeSchema(responseBody?: TSchema): TSchema {
  return Type.Object({
    responseCode: Type.Integer({
      description: '2000 success, 2001 no results, 4xxx client error, 5xxx server error',
    }),
    responseMessage: Type.String(),
    ...(responseBody === undefined ? {} : { responseBody: Type.Optional(responseBody) }),
    detail: Type.Optional(Type.String({ description: 'What was wrong, on failures' })),
  });
}
