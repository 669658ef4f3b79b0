import type { Logger } from 'pino';
import type { SipRequest } from '../protocol/sip/message.js';
import { NamedTimers } from './transaction-timers.js';
import { ACK_WAIT_MS, nextInterval, T1_MS, type Clock } from './timers.js';
import type { DialogDelegate, ServerDialog, SipPeer } from './types.js';

/** What a dialog needs from the UAS core that owns it. */
export interface DialogHost {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Sends BYE in a new non-INVITE client transaction (RFC 3261 §15.1.1). */
  sendBye(dialog: UasDialog): void;
  /** The dialog ended; the core forgets it. */
  onTerminated(dialog: UasDialog): void;
  onRetransmission(): void;
  onAbsorbed(): void;
  onAckTimeout(): void;
}

/** The dialog state of RFC 3261 §12.1.1 (UAS side) that this server keeps. */
export interface UasDialogState {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** Remote target: the Contact URI of the INVITE (§12.1.1). */
  readonly remoteTarget: string;
  /** Record-Route values of the INVITE, in order (§12.1.1: the UAS keeps them as received). */
  readonly routeSet: readonly string[];
  /** Our To header value including our tag: the From of requests we send in the dialog. */
  readonly localUri: string;
  /** The INVITE's From header value with the remote tag: the To of requests we send. */
  readonly remoteUri: string;
  readonly remoteSeq: number;
  /** Where the INVITE came from: the connection (or UDP peer) our requests reuse. */
  readonly peer: SipPeer;
}

interface PendingAck {
  readonly timers: NamedTimers<'retransmit' | 'giveUp'>;
  intervalMs: number;
}

export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/**
 * A UAS dialog (RFC 3261 §12) and the 2xx retransmission that the UAS core owns (§13.3.1.4):
 * "the 2xx response is passed to the transport with an interval that starts at T1 seconds and
 * doubles for each retransmission until it reaches T2 seconds", until the ACK arrives or 64*T1
 * passes, after which the session "SHOULD be terminated" with a BYE.
 */
export class UasDialog implements ServerDialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  readonly key: string;
  readonly state: UasDialogState;
  delegate: DialogDelegate;
  /** §12.2.2: the highest CSeq seen from the remote side. */
  remoteSeq: number;
  /** §14.2: a re-INVITE is being answered; another one gets 500 with Retry-After. */
  inviteInProgress = false;
  #localSeq: number;
  #terminated = false;
  readonly #host: DialogHost;
  readonly #pendingAcks = new Map<number, PendingAck>();

  constructor(state: UasDialogState, delegate: DialogDelegate, host: DialogHost, initialLocalSeq: number) {
    this.state = state;
    this.callId = state.callId;
    this.localTag = state.localTag;
    this.remoteTag = state.remoteTag;
    this.key = dialogKey(state.callId, state.localTag, state.remoteTag);
    this.remoteSeq = state.remoteSeq;
    this.delegate = delegate;
    this.#host = host;
    this.#localSeq = initialLocalSeq;
  }

  get terminated(): boolean {
    return this.#terminated;
  }

  /** §12.2.1.1: the local sequence number is incremented by one for each new request. */
  nextLocalSeq(): number {
    this.#localSeq += 1;
    return this.#localSeq;
  }

  /** Starts retransmitting a 2xx to the INVITE with CSeq `seq` until its ACK (§13.3.1.4). */
  startAckWait(seq: number, resend: () => void): void {
    const pending: PendingAck = { timers: new NamedTimers(this.#host.clock), intervalMs: T1_MS };
    this.#pendingAcks.get(seq)?.timers.clearAll();
    this.#pendingAcks.set(seq, pending);
    const retransmit = (): void => {
      pending.timers.start('retransmit', pending.intervalMs, () => {
        this.#host.onRetransmission();
        resend();
        pending.intervalMs = nextInterval(pending.intervalMs);
        retransmit();
      });
    };
    retransmit();
    pending.timers.start('giveUp', ACK_WAIT_MS, () => {
      pending.timers.clearAll();
      this.#pendingAcks.delete(seq);
      this.#host.onAckTimeout();
      this.#host.logger.info(
        { callId: this.callId, cseq: seq },
        'no ACK for 2xx within 64*T1, ending dialog',
      );
      this.delegate.onAckTimeout?.();
      this.bye();
    });
  }

  /**
   * An ACK for a 2xx (it matched no server transaction, §17.2.3). The first ACK for an
   * outstanding 2xx stops its retransmission and reaches the delegate; later copies are absorbed.
   */
  receiveAck(ack: SipRequest, seq: number): void {
    const pending = this.#pendingAcks.get(seq);
    if (pending === undefined || this.#terminated) {
      this.#host.onAbsorbed();
      return;
    }
    pending.timers.clearAll();
    this.#pendingAcks.delete(seq);
    this.delegate.onAck?.(ack);
  }

  /** The remote side ended the dialog (§15.1.2); the core has sent the 200 already. */
  receiveBye(bye: SipRequest): void {
    if (this.#terminated) {
      return;
    }
    this.#terminate();
    this.delegate.onBye?.(bye);
  }

  bye(): void {
    if (this.#terminated) {
      return;
    }
    // §15: the session is over as soon as the BYE is passed to the client transaction.
    this.#terminate();
    this.#host.sendBye(this);
  }

  /** Stops every timer without signalling (server shutdown). */
  close(): void {
    for (const pending of this.#pendingAcks.values()) {
      pending.timers.clearAll();
    }
    this.#pendingAcks.clear();
    this.#terminated = true;
  }

  #terminate(): void {
    this.close();
    this.#host.onTerminated(this);
  }
}
