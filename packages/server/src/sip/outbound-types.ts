import type { SipResponse } from '../protocol/sip/message.js';
import type { DialogDelegate, ServerDialog, SipBody, SipTransportProtocol } from './types.js';

/**
 * The user-agent-client side the recording domain uses for direct outbound recording: one INVITE
 * through the call controller, its answer, and the dialog it creates. The sip/ layer runs the
 * INVITE client transaction (RFC 3261 §17.1.1), answers authentication challenges (§22.2,
 * §22.3), sends the ACK of a 2xx (§13.2.2.4) and the CANCEL of an unanswered call (§9.1).
 */

/** The call controller every outbound INVITE goes through (`--outbound-proxy`). */
export interface OutboundProxy {
  readonly protocol: SipTransportProtocol;
  /** An IP address or a host name (resolved by the transport; no SRV or NAPTR lookup). */
  readonly host: string;
  readonly port: number;
}

export interface OutboundCallRequest {
  readonly proxy: OutboundProxy;
  /** The Request-URI and To: `sip:<deviceRef>@<proxy host>`. */
  readonly requestUri: string;
  /** Our SDP offer (recvonly). */
  readonly offer: SipBody;
  /** Answers a 401/407 challenge; without them a challenge ends the call as `auth-failed`. */
  readonly credentials?: { readonly username: string; readonly password: string };
  /** Ringing for this long ends the call with CANCEL as `no-answer`. */
  readonly answerTimeoutMs: number;
  /** The Call-ID to use (the recording domain stores it as the session's ccid); a fresh one otherwise. */
  readonly callId?: string;
  /** Requests inside the dialog once answered (BYE, re-INVITE) go here. */
  readonly delegate: DialogDelegate;
}

export type OutboundFailureReason =
  /** 486 Busy Here, 600 Busy Everywhere. */
  | 'busy'
  /** Rang without an answer until the answer timeout (CANCEL sent), or 408 / 480 / 487 from the far side. */
  | 'no-answer'
  /** Any other final response 300-699 (403, 404, 488, 603, 5xx…). */
  | 'rejected'
  /** The controller challenged and no credentials were configured, or it refused the ones given. */
  | 'auth-failed'
  /** No response at all from the controller, or the transport could not reach it. */
  | 'unreachable'
  /** The caller gave up before the answer (stopRecording while ringing, shutdown). */
  | 'cancelled';

export type OutboundCallOutcome =
  | {
      readonly kind: 'answered';
      readonly dialog: ServerDialog;
      /** The 2xx, whose body is the device's SDP answer. */
      readonly response: SipResponse;
    }
  | {
      readonly kind: 'failed';
      readonly reason: OutboundFailureReason;
      /** The final SIP status, when one arrived. */
      readonly sipStatus?: number;
      /** Says what happened in words, for the API's `detail` and the event. */
      readonly detail: string;
    };

export interface OutboundCall {
  readonly callId: string;
  /** Settles once: answered, or failed with the reason. Never rejects. */
  readonly outcome: Promise<OutboundCallOutcome>;
  /** Gives up on a call not answered yet (CANCEL once it rings); the outcome is `cancelled`. */
  cancel(): void;
}

/** What the SIP server offers the recording domain for outbound calls. */
export interface OutboundCaller {
  call(request: OutboundCallRequest): OutboundCall;
}
