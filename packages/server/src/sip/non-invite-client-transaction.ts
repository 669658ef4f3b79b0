import type { SipRequest, SipResponse } from '../protocol/sip/message.js';
import { NamedTimers } from './transaction-timers.js';
import { nextInterval, T2_MS, TIMER_E_MS, TIMER_F_MS, TIMER_K_MS, type Clock } from './timers.js';

/** RFC 3261 §17.1.2, https://www.rfc-editor.org/rfc/rfc3261#section-17.1.2 (used for our BYE). */
export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

export interface ClientTransactionContext {
  readonly clock: Clock;
  readonly reliable: boolean;
  send(request: SipRequest): void;
  /** The final response, passed to the TU once. */
  onFinalResponse(response: SipResponse): void;
  /** Timer F fired with no final response (§17.1.2.2: the TU is told of the timeout). */
  onTimeout(): void;
  onAbsorbed(): void;
  onTerminated(): void;
}

type ClientTimer = 'E' | 'F' | 'K';

export class NonInviteClientTransaction {
  #state: NonInviteClientState = 'trying';
  #timerEIntervalMs = TIMER_E_MS;
  readonly #request: SipRequest;
  readonly #context: ClientTransactionContext;
  readonly #timers: NamedTimers<ClientTimer>;

  constructor(request: SipRequest, context: ClientTransactionContext) {
    this.#request = request;
    this.#context = context;
    this.#timers = new NamedTimers(context.clock);
  }

  get state(): NonInviteClientState {
    return this.#state;
  }

  /** Sends the request and starts Timer F, plus Timer E on unreliable transports (§17.1.2.2). */
  start(): void {
    this.#context.send(this.#request);
    if (!this.#context.reliable) {
      this.#startTimerE();
    }
    this.#timers.start('F', TIMER_F_MS, () => {
      if (this.#state === 'trying' || this.#state === 'proceeding') {
        this.#context.onTimeout();
        this.#terminate();
      }
    });
  }

  receiveResponse(response: SipResponse): void {
    if (this.#state === 'completed' || this.#state === 'terminated') {
      // §17.1.2.2: in Completed, retransmitted final responses are buffered away (absorbed).
      this.#context.onAbsorbed();
      return;
    }
    if (response.status < 200) {
      // §17.1.2.2: a provisional response moves Trying to Proceeding; Timer E keeps running with
      // its interval set to T2 from then on.
      this.#state = 'proceeding';
      this.#timerEIntervalMs = T2_MS;
      return;
    }
    this.#state = 'completed';
    this.#timers.clear('E');
    this.#timers.clear('F');
    this.#context.onFinalResponse(response);
    if (this.#context.reliable) {
      this.#terminate();
    } else {
      this.#timers.start('K', TIMER_K_MS, () => {
        this.#terminate();
      });
    }
  }

  close(): void {
    this.#timers.clearAll();
    this.#state = 'terminated';
  }

  #startTimerE(): void {
    this.#timers.start('E', this.#timerEIntervalMs, () => {
      if (this.#state !== 'trying' && this.#state !== 'proceeding') {
        return;
      }
      this.#context.send(this.#request);
      this.#timerEIntervalMs = this.#state === 'proceeding' ? T2_MS : nextInterval(this.#timerEIntervalMs);
      this.#startTimerE();
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
