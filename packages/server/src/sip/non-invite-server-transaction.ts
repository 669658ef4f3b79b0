import type { SipResponse } from '../protocol/sip/message.js';
import type { ServerTransactionContext } from './invite-server-transaction.js';
import { NamedTimers } from './transaction-timers.js';
import { TIMER_J_MS } from './timers.js';

/** RFC 3261 §17.2.2, https://www.rfc-editor.org/rfc/rfc3261#section-17.2.2 */
export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export class NonInviteServerTransaction {
  #state: NonInviteServerState = 'trying';
  #lastResponse: SipResponse | undefined;
  readonly #context: ServerTransactionContext;
  readonly #timers: NamedTimers<'J'>;

  constructor(context: ServerTransactionContext) {
    this.#context = context;
    this.#timers = new NamedTimers(context.clock);
  }

  get state(): NonInviteServerState {
    return this.#state;
  }

  get finalSent(): boolean {
    return this.#state === 'completed' || this.#state === 'terminated';
  }

  respond(response: SipResponse): boolean {
    if (this.#state !== 'trying' && this.#state !== 'proceeding') {
      return false;
    }
    this.#lastResponse = response;
    this.#context.send(response);
    if (response.status < 200) {
      this.#state = 'proceeding';
      return true;
    }
    // §17.2.2: on a final response the transaction enters Completed and starts Timer J: 64*T1
    // for unreliable transports, zero for reliable ones.
    this.#state = 'completed';
    if (this.#context.reliable) {
      this.#terminate();
    } else {
      this.#timers.start('J', TIMER_J_MS, () => {
        this.#terminate();
      });
    }
    return true;
  }

  receiveRequest(): void {
    this.#context.onAbsorbed();
    // §17.2.2: in Trying, retransmissions are discarded; in Proceeding and Completed the last
    // response "MUST be passed to the transport layer for retransmission".
    if ((this.#state === 'proceeding' || this.#state === 'completed') && this.#lastResponse !== undefined) {
      this.#context.send(this.#lastResponse);
    }
  }

  close(): void {
    this.#timers.clearAll();
    this.#state = 'terminated';
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
