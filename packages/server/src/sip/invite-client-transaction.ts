import {
  getHeader,
  getHeaders,
  type SipHeader,
  type SipRequest,
  type SipResponse,
} from '../protocol/sip/message.js';
import { NamedTimers } from './transaction-timers.js';
import { TIMER_A_MS, TIMER_B_MS, TIMER_D_MS, TIMER_M_MS, type Clock } from './timers.js';

/**
 * RFC 3261 §17.1.1 (https://www.rfc-editor.org/rfc/rfc3261#section-17.1.1) with the Accepted
 * state of RFC 6026 §7.2: the INVITE client transaction of Verbatim's outbound calls.
 */
export type InviteClientState = 'calling' | 'proceeding' | 'accepted' | 'completed' | 'terminated';

export interface InviteClientContext {
  readonly clock: Clock;
  readonly reliable: boolean;
  /** Hands the INVITE, or the ACK of a non-2xx response, to the transport. */
  send(request: SipRequest): void;
  /** A 1xx (§17.1.1.2: passed to the TU in Calling and Proceeding). */
  onProvisional(response: SipResponse): void;
  /**
   * A 2xx: the first one and, in Accepted, each retransmission (RFC 6026 §7.2: passed to the TU,
   * whose core answers each with the ACK again, §13.2.2.4).
   */
  onSuccess(response: SipResponse): void;
  /** A 300-699 final response, once; its ACK has been sent by the transaction (§17.1.1.3). */
  onFailure(response: SipResponse): void;
  /** Timer B fired in Calling: no response at all within 64*T1 (§17.1.1.2). */
  onTimeout(): void;
  onAbsorbed(): void;
  onTerminated(): void;
}

type InviteClientTimer = 'A' | 'B' | 'D' | 'M';

export class InviteClientTransaction {
  #state: InviteClientState = 'calling';
  #timerAIntervalMs = TIMER_A_MS;
  #ack: SipRequest | undefined;
  readonly #request: SipRequest;
  readonly #context: InviteClientContext;
  readonly #timers: NamedTimers<InviteClientTimer>;

  constructor(request: SipRequest, context: InviteClientContext) {
    this.#request = request;
    this.#context = context;
    this.#timers = new NamedTimers(context.clock);
  }

  get state(): InviteClientState {
    return this.#state;
  }

  /** Sends the INVITE; Timer A retransmits it on unreliable transports, Timer B bounds Calling. */
  start(): void {
    this.#context.send(this.#request);
    if (this.#state === 'terminated') {
      // The transport failed at once and the TU abandoned the transaction (§17.1.1.2).
      return;
    }
    if (!this.#context.reliable) {
      this.#startTimerA();
    }
    this.#timers.start('B', TIMER_B_MS, () => {
      if (this.#state === 'calling') {
        this.#context.onTimeout();
        this.#terminate();
      }
    });
  }

  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.#state) {
      case 'calling':
      case 'proceeding':
        if (status < 200) {
          // §17.1.1.2: a provisional response stops the retransmissions; Timer B no longer applies.
          this.#state = 'proceeding';
          this.#timers.clear('A');
          this.#timers.clear('B');
          this.#context.onProvisional(response);
        } else if (status < 300) {
          // RFC 6026 §7.2: Accepted, where retransmitted 2xx responses still reach the TU.
          this.#state = 'accepted';
          this.#timers.clearAll();
          this.#timers.start('M', TIMER_M_MS, () => {
            this.#terminate();
          });
          this.#context.onSuccess(response);
        } else {
          this.#state = 'completed';
          this.#timers.clearAll();
          this.#ack = ackForNonTwoxx(this.#request, response);
          this.#context.send(this.#ack);
          this.#context.onFailure(response);
          if (this.#context.reliable) {
            this.#terminate();
          } else {
            this.#timers.start('D', TIMER_D_MS, () => {
              this.#terminate();
            });
          }
        }
        return;
      case 'accepted':
        if (status >= 200 && status < 300) {
          this.#context.onSuccess(response);
        } else {
          this.#context.onAbsorbed();
        }
        return;
      case 'completed':
        // §17.1.1.2: a retransmitted final response is answered with the ACK again, not passed up.
        if (status >= 300 && this.#ack !== undefined) {
          this.#context.send(this.#ack);
        }
        this.#context.onAbsorbed();
        return;
      case 'terminated':
        this.#context.onAbsorbed();
        return;
    }
  }

  /**
   * Ends the transaction without a response: a transport error (§17.1.1.2, the TU is told by the
   * caller), or the TU gave up on an INVITE that was never answered at all (§9.1 forbids a CANCEL
   * before a provisional response).
   */
  abandon(): void {
    this.#terminate();
  }

  /** Stops every timer without signalling (shutdown). */
  close(): void {
    this.#timers.clearAll();
    this.#state = 'terminated';
  }

  #startTimerA(): void {
    this.#timers.start('A', this.#timerAIntervalMs, () => {
      if (this.#state !== 'calling') {
        return;
      }
      this.#context.send(this.#request);
      // §17.1.1.2: Timer A doubles on each retransmission, without the T2 cap of non-INVITE ones.
      this.#timerAIntervalMs *= 2;
      this.#startTimerA();
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

/**
 * The ACK of a non-2xx final response (§17.1.1.3): Request-URI, Call-ID, From, the top Via (same
 * branch) and Route of the INVITE, To of the response (with its tag), the INVITE's CSeq number.
 */
export function ackForNonTwoxx(invite: SipRequest, response: SipResponse): SipRequest {
  const copy = (name: string): SipHeader[] => {
    const value = getHeader(invite, name);
    return value === undefined ? [] : [{ name, value }];
  };
  const topVia = getHeaders(invite, 'Via')[0];
  const seq = (getHeader(invite, 'CSeq') ?? '').trim().split(/\s+/)[0] ?? '';
  const to = getHeader(response, 'To') ?? getHeader(invite, 'To') ?? '';
  return {
    type: 'request',
    method: 'ACK',
    requestUri: invite.requestUri,
    headers: [
      ...(topVia === undefined ? [] : [{ name: 'Via', value: topVia }]),
      { name: 'Max-Forwards', value: '70' },
      ...getHeaders(invite, 'Route').map((value) => ({ name: 'Route', value })),
      ...copy('From'),
      { name: 'To', value: to },
      ...copy('Call-ID'),
      { name: 'CSeq', value: `${seq} ACK` },
    ],
    body: new Uint8Array(0),
  };
}
