import { Type } from 'typebox';

import type { OutboundRecorder, OutboundRecordingFailure } from '../recording/outbound-recording.js';
import { failure, RESPONSE_CODES, success, type Envelope, type FailureCode } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { SessionIdSchema } from './schemas.js';

/**
 * Direct outbound recording (MediaSense `controlService`, reference §5 and addendum):
 * startRecording calls a device through the call controller (`--outbound-proxy`) and answers once
 * it answered (2000 with the sessionId) or the call failed; stopRecording hangs up and answers
 * once the session is stored closed.
 */
export interface OutboundRouteContext {
  readonly recorder: OutboundRecorder;
}

const CONTROL = '/ora/controlService/control';

const CODE_OF_FAILURE: Readonly<Record<OutboundRecordingFailure['kind'], FailureCode>> = {
  'not-configured': RESPONSE_CODES.outboundNotConfigured,
  'invalid-device': RESPONSE_CODES.invalidParameter,
  'already-recording': RESPONSE_CODES.alreadyExists,
  unavailable: RESPONSE_CODES.recordingUnavailable,
  'not-found': RESPONSE_CODES.notFound,
  busy: RESPONSE_CODES.deviceBusy,
  'no-answer': RESPONSE_CODES.deviceNoAnswer,
  rejected: RESPONSE_CODES.outboundRefused,
  'bad-answer': RESPONSE_CODES.outboundRefused,
  'auth-failed': RESPONSE_CODES.outboundAuthenticationFailed,
  unreachable: RESPONSE_CODES.controllerUnreachable,
  cancelled: RESPONSE_CODES.outboundCancelled,
};

/** Every failure code the two APIs answer, for the OpenAPI document. */
const OUTBOUND_FAILURES: readonly FailureCode[] = [...new Set(Object.values(CODE_OF_FAILURE))];

const DeviceRefSchema = Type.String({
  minLength: 1,
  maxLength: 64,
  description:
    'The device to call: the user part of `sip:<deviceRef>@<call controller>` (a directory number)',
});

const OutboundBodySchema = Type.Object({
  deviceRef: Type.String(),
  sessionId: Type.Optional(Type.String({ description: 'Absent when the call was cancelled while ringing' })),
});

const FailureBodySchema = Type.Object(
  {
    deviceRef: Type.Optional(Type.String()),
    sessionId: Type.Optional(Type.String({ description: 'The session already recording the device (4043)' })),
    callId: Type.Optional(Type.String({ description: 'The Call-ID of the outbound INVITE' })),
    sipStatus: Type.Optional(Type.Integer({ description: 'The final SIP status the controller sent' })),
  },
  { description: 'On a failure of the call: what is known of it' },
);

/** The envelope of a failed start or stop: the code of its kind, the detail, what is known of the call. */
function failureOf(f: OutboundRecordingFailure, deviceRef: string | undefined): Envelope {
  const envelope = failure(
    CODE_OF_FAILURE[f.kind],
    f.kind === 'invalid-device' ? `deviceRef: ${f.detail}` : f.detail,
  );
  const body = {
    ...(deviceRef === undefined ? {} : { deviceRef }),
    ...('sessionId' in f ? { sessionId: f.sessionId } : {}),
    ...('callId' in f ? { callId: f.callId } : {}),
    ...('sipStatus' in f ? { sipStatus: f.sipStatus } : {}),
  };
  return f.kind === 'invalid-device' || Object.keys(body).length === 0
    ? envelope
    : { ...envelope, responseBody: body };
}

export function outboundRoutes(ctx: OutboundRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: `${CONTROL}/startRecording`,
      summary: 'Call a device through the call controller and record what it sends',
      description:
        'Direct outbound recording: an INVITE to `sip:<deviceRef>@<--outbound-proxy host>` with a recvonly offer. ' +
        'Answers once the device answered (2000, `responseBody.sessionId`: a one-track ACTIVE session) or the call ' +
        'failed (4072 busy, 4073 no answer, 4074 credentials refused, 4075 refused, 4076 controller unreachable, ' +
        '4078 cancelled), with the SIP status in `responseBody.sipStatus`; a failure is also published as ' +
        '`RECORDING_EVENT OUTBOUND_FAILED`. The wait is bounded by `--outbound-answer-timeout` (30 s).',
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ deviceRef: DeviceRefSchema }),
      responseBody: Type.Union([OutboundBodySchema, FailureBodySchema]),
      failures: OUTBOUND_FAILURES,
      handler: async (params, call) => {
        call.audit.target = params.deviceRef;
        const result = await ctx.recorder.start(params.deviceRef);
        if (!result.ok) {
          call.audit.detail = { outcome: result.failure.kind };
          return failureOf(result.failure, params.deviceRef);
        }
        call.audit.detail = { sessionId: result.sessionId };
        return success({ sessionId: result.sessionId, deviceRef: result.deviceRef });
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${CONTROL}/stopRecording`,
      summary: 'End a direct outbound recording (BYE), by deviceRef or sessionId',
      description:
        'Answers once the session is stored CLOSED_NORMAL (2000 with `sessionId`); a call still ringing is ' +
        'cancelled (2000 without `sessionId`, and its startRecording answers 4078). 4041 when no outbound ' +
        'recording of the device or session is in progress.',
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        deviceRef: Type.Optional(DeviceRefSchema),
        sessionId: Type.Optional(SessionIdSchema),
      }),
      responseBody: OutboundBodySchema,
      failures: [RESPONSE_CODES.notFound],
      handler: async (params, call) => {
        const { deviceRef, sessionId } = params;
        const by =
          deviceRef !== undefined ? { deviceRef } : sessionId !== undefined ? { sessionId } : undefined;
        if (by === undefined) {
          return failure(RESPONSE_CODES.missingParameter, 'deviceRef (or sessionId) is required');
        }
        call.audit.target = deviceRef ?? sessionId ?? '';
        const result = await ctx.recorder.stop(by);
        if (!result.ok) {
          return failureOf(result.failure, deviceRef);
        }
        return success({
          deviceRef: result.deviceRef,
          ...(result.sessionId === undefined ? {} : { sessionId: result.sessionId }),
        });
      },
    }),
  ];
}
