import type { FastifyInstance, FastifyRequest } from 'fastify';
import type {
  OutboundRecorder,
  OutboundRecordingFailure,
  OutboundStartResult,
  OutboundStopResult,
} from '../recording/outbound-recording.js';
import type { Authenticator } from './authenticator.js';
import { failure, RESPONSE_CODES, success, type Envelope } from './envelope.js';
import { describeValue, getFirstParam, getParam, isJsonObject, shortText, urlPath } from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';

/**
 * Direct outbound recording (MediaSense `controlService`, reference §5 and addendum): startRecording
 * calls a device through the call controller and answers once it answered or the call failed;
 * stopRecording hangs up and answers once the session is stored closed.
 */
export interface OutboundRouteContext {
  readonly authenticator: Authenticator;
  readonly recorder: OutboundRecorder;
  readonly refusals: ApiRefusalLog;
}

const CONTROL = '/ora/controlService/control';

/**
 * Verbatim's codes for the outcomes of direct outbound recording (MediaSense's are not known:
 * docs/api.md "startRecording"). 4070-4079 is a block of its own.
 */
export const OUTBOUND_RESPONSE_CODES = {
  notConfigured: 4070,
  alreadyRecording: 4071,
  busy: 4072,
  noAnswer: 4073,
  authenticationFailed: 4074,
  refused: 4075,
  unreachable: 4076,
  notFound: 4077,
  cancelled: 4078,
  unavailable: 4079,
} as const;

type OutboundCode = (typeof OUTBOUND_RESPONSE_CODES)[keyof typeof OUTBOUND_RESPONSE_CODES];

export const OUTBOUND_FAILURE_MESSAGES: Readonly<Record<OutboundCode, string>> = {
  4070: 'Failure: Direct outbound recording is not configured on this node.',
  4071: 'Failure: The device is already being recorded.',
  4072: 'Failure: The device is busy.',
  4073: 'Failure: The device did not answer.',
  4074: 'Failure: The call controller refused the credentials of the recording call.',
  4075: 'Failure: The call controller or the device refused the recording call.',
  4076: 'Failure: The call controller could not be reached.',
  4077: 'Failure: No outbound recording of this device or session is in progress.',
  4078: 'Failure: The recording call was cancelled before it was answered.',
  4079: 'Failure: The node cannot start another recording now.',
};

function outboundFailure(code: OutboundCode, detail: string, body?: Record<string, unknown>): Envelope {
  return {
    responseCode: code,
    responseMessage: OUTBOUND_FAILURE_MESSAGES[code],
    ...(body === undefined ? {} : { responseBody: body }),
    detail,
  };
}

const CODE_OF_FAILURE: Readonly<
  Record<Exclude<OutboundRecordingFailure['kind'], 'invalid-device'>, OutboundCode>
> = {
  'not-configured': OUTBOUND_RESPONSE_CODES.notConfigured,
  'already-recording': OUTBOUND_RESPONSE_CODES.alreadyRecording,
  unavailable: OUTBOUND_RESPONSE_CODES.unavailable,
  'not-found': OUTBOUND_RESPONSE_CODES.notFound,
  busy: OUTBOUND_RESPONSE_CODES.busy,
  'no-answer': OUTBOUND_RESPONSE_CODES.noAnswer,
  rejected: OUTBOUND_RESPONSE_CODES.refused,
  'bad-answer': OUTBOUND_RESPONSE_CODES.refused,
  'auth-failed': OUTBOUND_RESPONSE_CODES.authenticationFailed,
  unreachable: OUTBOUND_RESPONSE_CODES.unreachable,
  cancelled: OUTBOUND_RESPONSE_CODES.cancelled,
};

/** The envelope of a failed start or stop: the code of its kind, the detail, what is known of the call. */
function failureOf(f: OutboundRecordingFailure, deviceRef: string | undefined): Envelope {
  if (f.kind === 'invalid-device') {
    return failure(RESPONSE_CODES.invalidParameter, `requestParameters.deviceRef: ${f.detail}`);
  }
  const body: Record<string, unknown> = {
    ...(deviceRef === undefined ? {} : { deviceRef }),
    ...('sessionId' in f ? { sessionId: f.sessionId } : {}),
    ...('callId' in f ? { callId: f.callId } : {}),
    ...('sipStatus' in f ? { sipStatus: f.sipStatus } : {}),
  };
  return outboundFailure(
    CODE_OF_FAILURE[f.kind],
    f.detail,
    Object.keys(body).length === 0 ? undefined : body,
  );
}

/** `requestParameters` of the body (an object), or a 4000/4002 envelope. */
function requestParameters(request: FastifyRequest): Record<string, unknown> | Envelope {
  if (!isJsonObject(request.body)) {
    return failure(
      RESPONSE_CODES.missingParameter,
      'the body must be {"requestParameters": {"deviceRef": "…"}}',
    );
  }
  const params = getParam(request.body, 'requestParameters');
  if (!isJsonObject(params)) {
    return failure(
      params === undefined ? RESPONSE_CODES.missingParameter : RESPONSE_CODES.invalidParameter,
      `requestParameters must be an object, got ${describeValue(params)}`,
    );
  }
  return params;
}

/** A text parameter (a number is read as its decimal digits: a JSON client may send 1000). */
function textParam(params: Record<string, unknown>, names: readonly string[]): string | undefined | Envelope {
  const value = getFirstParam(params, names);
  if (value === undefined || value === null) {
    return undefined;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) {
    return String(value);
  }
  if (typeof value !== 'string' || value.trim() === '') {
    return failure(
      RESPONSE_CODES.invalidParameter,
      `requestParameters.${names[0] ?? ''} must be a non-empty string, got ${describeValue(value)}`,
    );
  }
  return value.trim();
}

function isEnvelope(value: unknown): value is Envelope {
  return typeof value === 'object' && value !== null && 'responseCode' in value;
}

export function registerOutboundRoutes(app: FastifyInstance, ctx: OutboundRouteContext): void {
  const signedIn = (request: FastifyRequest): boolean => {
    if (ctx.authenticator.sessionOf(request.headers) !== undefined) {
      return true;
    }
    ctx.refusals.note('invalid-session', 'info', 'API request without a valid JSESSIONID', {
      url: shortText(urlPath(request.url)),
    });
    return false;
  };

  app.post(`${CONTROL}/startRecording`, async (request): Promise<Envelope> => {
    if (!signedIn(request)) {
      return failure(RESPONSE_CODES.invalidSession);
    }
    const params = requestParameters(request);
    if (isEnvelope(params)) {
      return params;
    }
    const deviceRef = textParam(params, ['deviceRef']);
    if (isEnvelope(deviceRef)) {
      return deviceRef;
    }
    if (deviceRef === undefined) {
      return failure(RESPONSE_CODES.missingParameter, 'requestParameters.deviceRef is required');
    }
    const result: OutboundStartResult = await ctx.recorder.start(deviceRef);
    return result.ok
      ? success({ sessionId: result.sessionId, deviceRef: result.deviceRef })
      : failureOf(result.failure, deviceRef);
  });

  app.post(`${CONTROL}/stopRecording`, async (request): Promise<Envelope> => {
    if (!signedIn(request)) {
      return failure(RESPONSE_CODES.invalidSession);
    }
    const params = requestParameters(request);
    if (isEnvelope(params)) {
      return params;
    }
    const deviceRef = textParam(params, ['deviceRef']);
    const sessionId = textParam(params, ['sessionId']);
    if (isEnvelope(deviceRef)) {
      return deviceRef;
    }
    if (isEnvelope(sessionId)) {
      return sessionId;
    }
    if (deviceRef === undefined && sessionId === undefined) {
      return failure(
        RESPONSE_CODES.missingParameter,
        'requestParameters.deviceRef (or sessionId) is required',
      );
    }
    const result: OutboundStopResult = await ctx.recorder.stop(
      deviceRef === undefined ? { sessionId: sessionId ?? '' } : { deviceRef },
    );
    return result.ok
      ? success({
          deviceRef: result.deviceRef,
          ...(result.sessionId === undefined ? {} : { sessionId: result.sessionId }),
        })
      : failureOf(result.failure, deviceRef);
  });
}
