import type { SipHeader, SipRequest } from '../protocol/sip/message.js';

/**
 * The user-agent-server API that the recording domain uses. The sip/ layer owns transactions
 * (RFC 3261 §17.2), dialogs (§12) and every response that RFC 3261 prescribes by itself (100
 * Trying, 2xx retransmission until ACK, 487 after CANCEL, 481, 405/501, 400, 403, OPTIONS 200).
 * It hands only the decisions that need the domain to the delegate below.
 */

export type SipTransportProtocol = 'udp' | 'tcp' | 'tls';

export interface SipPeer {
  readonly protocol: SipTransportProtocol;
  readonly address: string;
  readonly port: number;
}

export interface SipBody {
  readonly contentType: string;
  readonly content: string;
}

/** A dialog-creating INVITE from a trusted peer, not yet answered (100 Trying already sent). */
export interface IncomingInvite {
  readonly request: SipRequest;
  readonly source: SipPeer;
  readonly callId: string;
  /** True once CANCEL ended the transaction (487 sent); accept/reject are then no-ops. */
  readonly cancelled: boolean;
  /**
   * Sends the 2xx with `body`, creating the dialog. On UDP the 2xx is retransmitted (T1 doubling
   * up to T2) until the ACK arrives, and the dialog ends with `onAckTimeout` after 64*T1.
   */
  accept(
    body: SipBody,
    delegate: DialogDelegate,
    extraHeaders?: readonly SipHeader[],
  ): ServerDialog | undefined;
  reject(status: number, reason: string, extraHeaders?: readonly SipHeader[]): void;
  /** Called once if CANCEL arrives before a final response (200 to CANCEL and 487 already sent). */
  oncancel?: () => void;
}

/** An established (or early, waiting for ACK) dialog on the UAS side. */
export interface ServerDialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Sends BYE to the remote target (used when the recording ends on our side, e.g. media timeout). */
  bye(): void;
  readonly terminated: boolean;
}

export interface DialogDelegate {
  /** The ACK for our 2xx; in delayed offer it carries the answer SDP in its body. */
  onAck?(ack: SipRequest): void;
  /** No ACK arrived for our 2xx within 64*T1: the dialog is gone. */
  onAckTimeout?(): void;
  /** The remote side sent BYE (200 already sent) or the dialog otherwise ended. */
  onBye?(bye: SipRequest): void;
  /**
   * Any other in-dialog request (re-INVITE, UPDATE, INFO, …). The delegate must call `respond`
   * exactly once; when the delegate is absent the layer answers 200 with no body.
   */
  onRequest?(
    request: SipRequest,
    respond: (status: number, reason: string, body?: SipBody, extraHeaders?: readonly SipHeader[]) => void,
  ): void;
}

export interface SipServerDelegate {
  onInvite(invite: IncomingInvite): void;
}
