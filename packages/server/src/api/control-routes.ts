import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ControlRefusal, ControlResult } from '../recording/recording-service.js';
import type { Authenticator } from './authenticator.js';
import {
  failure,
  MESSAGE_SUCCESSFUL,
  RESPONSE_CODES,
  success,
  type Envelope,
  type FailureCode,
} from './envelope.js';
import { describeValue, getParam, isJsonObject, shortText, urlPath } from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * MediaSense's controlService calls that act on a recording in progress: pauseRecording and
 * resumeRecording (reference §7, addendum §4), `POST` with `{"requestParameters": {"sessionId":
 * "…"}}`. While a recording is paused nothing its streams receive is stored (PCI): see
 * recording/recording-control.ts.
 */

export const CONTROL = '/ora/controlService/control';

/** What the routes need of the recording domain (RecordingService). */
export interface RecordingControlApi {
  pauseRecording(sessionId: string): Promise<ControlResult>;
  resumeRecording(sessionId: string): Promise<ControlResult>;
}

export type ControlAction = 'pauseRecording' | 'resumeRecording';

/**
 * The longest sessionId looked up. Verbatim's ids are 16 hexadecimal digits and MediaSense's
 * were shorter than 64 characters; a longer one names no session and is refused as invalid
 * before it reaches the database.
 */
export const MAX_SESSION_ID_LENGTH = 64;

const REFUSAL_CODES: Readonly<Record<ControlRefusal, FailureCode>> = {
  'not-found': RESPONSE_CODES.recordingSessionNotFound,
  'not-active': RESPONSE_CODES.recordingNotActive,
  'already-paused': RESPONSE_CODES.recordingAlreadyPaused,
  'not-paused': RESPONSE_CODES.recordingNotPaused,
};

/**
 * Handles one pauseRecording or resumeRecording body: the sessionId is checked (a non-empty string
 * of at most MAX_SESSION_ID_LENGTH characters; anything else is 4002 or 4001 with a `detail`),
 * then the recording domain pauses or resumes. Success is 2000 "Successful" without a body.
 */
export async function recordingControlRequest(
  action: ControlAction,
  body: unknown,
  control: RecordingControlApi,
): Promise<Envelope> {
  const sessionId = sessionIdOf(body);
  if (typeof sessionId !== 'string') {
    return sessionId;
  }
  const result =
    action === 'pauseRecording'
      ? await control.pauseRecording(sessionId)
      : await control.resumeRecording(sessionId);
  if (!result.ok) {
    return failure(REFUSAL_CODES[result.refusal], refusalDetail(action, result.refusal, sessionId));
  }
  return success(undefined, MESSAGE_SUCCESSFUL);
}

/** `requestParameters.sessionId` of a body (names matched case-insensitively), or the failure. */
function sessionIdOf(body: unknown): string | Envelope {
  const params = isJsonObject(body) ? getParam(body, 'requestParameters') : undefined;
  if (!isJsonObject(params)) {
    return failure(RESPONSE_CODES.missingParameter, 'requestParameters with sessionId is required');
  }
  const sessionId = getParam(params, 'sessionId');
  if (sessionId === undefined || sessionId === null || sessionId === '') {
    return failure(RESPONSE_CODES.missingParameter, 'requestParameters.sessionId is required');
  }
  if (typeof sessionId !== 'string') {
    return failure(
      RESPONSE_CODES.invalidParameter,
      `requestParameters.sessionId must be a string, got ${describeValue(sessionId)}`,
    );
  }
  if (sessionId.length > MAX_SESSION_ID_LENGTH) {
    return failure(
      RESPONSE_CODES.invalidParameter,
      `requestParameters.sessionId must be at most ${MAX_SESSION_ID_LENGTH} characters, got ${sessionId.length}`,
    );
  }
  return sessionId;
}

function refusalDetail(action: ControlAction, refusal: ControlRefusal, sessionId: string): string {
  const id = describeValue(sessionId);
  switch (refusal) {
    case 'not-found':
      return `no session ${id}`;
    case 'not-active':
      return `session ${id} is not ACTIVE; ${action} acts on a recording in progress`;
    case 'already-paused':
      return `session ${id} is already paused; resumeRecording resumes it`;
    case 'not-paused':
      return `session ${id} is not paused by pauseRecording`;
  }
}

export interface ControlRouteContext {
  readonly authenticator: Authenticator;
  readonly control: RecordingControlApi;
  readonly refusals: ApiRefusalLog;
}

/** The two routes, behind sign-in (4021 without a valid JSESSIONID), each logged at info. */
export function registerControlRoutes(app: FastifyInstance, ctx: ControlRouteContext): void {
  for (const action of ['pauseRecording', 'resumeRecording'] as const) {
    app.post(`${CONTROL}/${action}`, async (request: FastifyRequest): Promise<Envelope> => {
      const user = ctx.authenticator.sessionOf(request.headers);
      if (user === undefined) {
        ctx.refusals.note('invalid-session', 'info', 'API request without a valid JSESSIONID', {
          url: shortText(urlPath(request.url)),
        });
        return failure(RESPONSE_CODES.invalidSession);
      }
      const envelope = await recordingControlRequest(action, request.body, ctx.control);
      request.log.info(
        { username: user.username, action, responseCode: envelope.responseCode, detail: envelope.detail },
        `API ${action}`,
      );
      return envelope;
    });
  }
}
