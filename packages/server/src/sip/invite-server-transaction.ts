import type { SipResponse } from '../protocol/sip/message.js';
import { NamedTimers } from './transaction-timers.js';
import { nextInterval, TIMER_G_MS, TIMER_H_MS, TIMER_I_MS, TIMER_L_MS, type Clock } from './timers.js';

/**
 * RFC 3261 §17.2.1 with the RFC 6026 §7.1 "Accepted" state: after a 2xx the transaction keeps
 * absorbing INVITE retransmissions for Timer L, while the UAS core (not the transaction)
 * retransmits the 2xx until the ACK arrives (§13.3.1.4).
 */
export type InviteServerState = 'proceeding' | 'accepted' | 'completed' | 'confirmed' | 'terminated';

export interface ServerTransactionContext {
  readonly clock: Clock;
  /** TCP/TLS: Timer G is not run and Timer I is zero (§17.2.1). */
  readonly reliable: boolean;
  send(response: SipResponse): void;
  /** A retransmitted request or ACK that the transaction swallowed. */
  onAbsorbed(): void;
  /** Timer H fired: the ACK for a non-2xx final response never came. */
  onTimeout?(): void;
  /** The transaction reached Terminated and may be forgotten. */
  onTerminated(): void;
}

type InviteTimer = 'G' | 'H' | 'I' | 'L';

export class InviteServerTransaction {
  #state: InviteServerState = 'proceeding';
  #lastResponse: SipResponse | undefined;
  #timerGIntervalMs = TIMER_G_MS;
  readonly #context: ServerTransactionContext;
  readonly #timers: NamedTimers<InviteTimer>;

  constructor(context: ServerTransactionContext) {
    this.#context = context;
    this.#timers = new NamedTimers(context.clock);
  }

  get state(): InviteServerState {
    return this.#state;
  }

  /** A status code was already sent as a final response. */
  get finalSent(): boolean {
    return this.#state !== 'proceeding';
  }

  /**
   * Passes a response from the TU to the transport. Returns false when the transaction can no
   * longer send one (a final response was already sent), so the caller can tell the TU.
   */
  respond(response: SipResponse): boolean {
    if (this.#state !== 'proceeding') {
      return false;
    }
    this.#lastResponse = response;
    this.#context.send(response);
    if (response.status < 200) {
      // §17.2.1: "any provisional responses passed by the TU ... MUST be passed to the transport".
      return true;
    }
    if (response.status < 300) {
      // RFC 6026 §8.5: a 2xx moves the transaction to Accepted; Timer L bounds its life.
      this.#state = 'accepted';
      this.#timers.start('L', TIMER_L_MS, () => {
        this.#terminate();
      });
      return true;
    }
    // §17.2.1: a 300-699 response moves the transaction to Completed, starts Timer G on
    // unreliable transports and Timer H on all of them.
    this.#state = 'completed';
    if (!this.#context.reliable) {
      this.#timerGIntervalMs = TIMER_G_MS;
      this.#startTimerG();
    }
    this.#timers.start('H', TIMER_H_MS, () => {
      this.#context.onTimeout?.();
      this.#terminate();
    });
    return true;
  }

  /** A retransmission of the INVITE that created this transaction. */
  receiveInvite(): void {
    this.#context.onAbsorbed();
    if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#lastResponse !== undefined) {
      // §17.2.1: "If a request retransmission is received while in the "Proceeding" state, the
      // most recent provisional response that was received from the TU MUST be passed to the
      // transport layer for retransmission"; likewise the final response in "Completed".
      this.#context.send(this.#lastResponse);
    }
    // RFC 6026 §8.5: in Accepted the retransmission is absorbed; the UAS core resends the 2xx.
  }

  /** An ACK matching this transaction: the ACK of a non-2xx final response (§17.2.1). */
  receiveAck(): void {
    if (this.#state === 'completed') {
      // §17.2.1: "If an ACK is received while the server transaction is in the "Completed"
      // state, the server transaction MUST transition to the "Confirmed" state. As Timer G is
      // ignored in this state, any retransmissions of the response will cease."
      this.#state = 'confirmed';
      this.#timers.clear('G');
      this.#timers.clear('H');
      const timerIMs = this.#context.reliable ? 0 : TIMER_I_MS;
      if (timerIMs === 0) {
        this.#terminate();
      } else {
        this.#timers.start('I', timerIMs, () => {
          this.#terminate();
        });
      }
      return;
    }
    // §17.2.1: in Confirmed, further ACKs are absorbed without being passed to the TU.
    this.#context.onAbsorbed();
  }

  /** Stops every timer and forgets the transaction (server shutdown). */
  close(): void {
    this.#timers.clearAll();
    this.#state = 'terminated';
  }

  #startTimerG(): void {
    this.#timers.start('G', this.#timerGIntervalMs, () => {
      if (this.#state !== 'completed' || this.#lastResponse === undefined) {
        return;
      }
      // §17.2.1: on Timer G the response is retransmitted and the interval becomes
      // MIN(2*T1, T2), then MIN(4*T1, T2) and so on.
      this.#context.send(this.#lastResponse);
      this.#timerGIntervalMs = nextInterval(this.#timerGIntervalMs);
      this.#startTimerG();
    });
  }

  #terminate(): void {
    if (this.#state === 'terminated') {
      return;
    }
    this.#timers.clearAll();
    this.#state = 'terminated';
    this.#context.onTerminated();
  }
}
