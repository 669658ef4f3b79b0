import { Type } from 'typebox';

import type { ControlRefusal, ControlResult } from '../recording/recording-service.js';
import { failure, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success, type Envelope } from './envelope.js';
import { describeValue } from './params.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { SessionIdSchema } from './schemas.js';

/**
 * MediaSense's controlService calls that act on a recording in progress: pauseRecording and
 * resumeRecording (reference §7, addendum §4), `POST` with `{"requestParameters": {"sessionId":
 * "…"}}`. While a recording is paused nothing its streams receive is stored (PCI): see
 * recording/recording-control.ts. The registrar checks the caller, the role (`control`) and the
 * sessionId before the handler runs, and audits each call.
 */

const CONTROL = '/ora/controlService/control';

/** What the routes need of the recording domain (RecordingService). */
export interface RecordingControlApi {
  pauseRecording(sessionId: string): Promise<ControlResult>;
  resumeRecording(sessionId: string): Promise<ControlResult>;
}

type ControlAction = 'pauseRecording' | 'resumeRecording';

const DESCRIPTIONS: Readonly<Record<ControlAction, { summary: string; description: string }>> = {
  pauseRecording: {
    summary: 'Pause the recording of an ACTIVE session: nothing received until resumeRecording is stored',
    description:
      'Every stream of the session, and any stream it opens while paused, stops storing what it ' +
      'receives (PCI: nothing said or keyed in while paused reaches the disk); the answer comes once ' +
      'every stream has stopped. A session-level SYSTEM_DEFINED `Pause` tag marks the moment ' +
      '(tagOffset from the session start); the WAV is silent from there until the `Resume` tag. ' +
      '4041: no such session; 4042: the session is not ACTIVE, or is already paused.',
  },
  resumeRecording: {
    summary: 'Resume the recording of a session paused with pauseRecording',
    description:
      'The streams store again from the answer on; a session-level `Resume` tag marks the moment. ' +
      'Naming a CUCM session that a hold ended while paused resumes the call in its next session. ' +
      '4041: no such session; 4042: the session is not ACTIVE, or is not paused.',
  },
};

export function controlRoutes(deps: { readonly recording: RecordingControlApi }): OraRoute[] {
  return (['pauseRecording', 'resumeRecording'] as const).map((action) =>
    oraRoute({
      method: 'POST',
      path: `${CONTROL}/${action}`,
      ...DESCRIPTIONS[action],
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ sessionId: SessionIdSchema }),
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = params.sessionId;
        const result =
          action === 'pauseRecording'
            ? await deps.recording.pauseRecording(params.sessionId)
            : await deps.recording.resumeRecording(params.sessionId);
        if (!result.ok) {
          call.audit.detail = { refused: result.refusal };
          return refusal(action, result.refusal, params.sessionId);
        }
        if (result.tag !== undefined) {
          call.audit.detail = { tag: result.tag.tagName, tagOffset: String(result.tag.tagOffset ?? 0) };
        }
        return success(undefined, MESSAGE_SUCCESSFUL);
      },
    }),
  );
}

function refusal(action: ControlAction, reason: ControlRefusal, sessionId: string): Envelope {
  const id = describeValue(sessionId);
  switch (reason) {
    case 'not-found':
      return failure(RESPONSE_CODES.notFound, `no session ${id}`);
    case 'not-active':
      return failure(
        RESPONSE_CODES.invalidState,
        `session ${id} is not ACTIVE; ${action} acts on a recording in progress`,
      );
    case 'already-paused':
      return failure(
        RESPONSE_CODES.invalidState,
        `session ${id} is already paused; resumeRecording resumes it`,
      );
    case 'not-paused':
      return failure(RESPONSE_CODES.invalidState, `session ${id} is not paused; pauseRecording pauses it`);
  }
}
