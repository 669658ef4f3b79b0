import type { Logger } from 'pino';
import type { SipHeader, SipResponse } from '../protocol/sip/message.js';
import type { SipTransport } from '../transport/sip-transport.js';
import type { UasResponses } from './responses.js';
import type { UasDialog } from './server-dialog.js';
import type { Clock } from './timers.js';
import type { Inbound, TransactionTable } from './transaction-table.js';
import type { SipPeer, SipTransportProtocol } from './types.js';
import type { UasCounters } from './uas-counters.js';

/**
 * The state of one UAS core that its parts share (INVITE handling, in-dialog requests, the BYE
 * client): built once by SipUasCore, which alone owns the transports and decides when it closes.
 */
export interface UasContext {
  /** Host written into our Contact header and the Via of our BYE. */
  readonly advertise: string;
  /** Written into User-Agent (our requests) and Server (our responses). */
  readonly userAgent: string;
  readonly logger: Logger;
  /**
   * A warn line for an expected event a peer can cause at any rate (malformed input, a refused
   * INVITE, a request for no dialog): counted by the caller, logged at most once per reason a
   * second. `reason` comes from a fixed set, never from the peer.
   */
  notice(reason: string, message: string, fields: Readonly<Record<string, unknown>>): void;
  readonly clock: Clock;
  readonly counts: UasCounters;
  readonly transactions: TransactionTable;
  /** Established dialogs and dialogs waiting for the ACK of their 2xx, by dialogKey. */
  readonly dialogs: Map<string, UasDialog>;
  readonly responses: UasResponses;
  /** True once the core is closed: nothing is sent any more. */
  isClosed(): boolean;
  transportFor(protocol: SipTransportProtocol): SipTransport | undefined;
  /** Sends a response where the Via says (§18.2.2, RFC 3581), outside any transaction. */
  sendResponse(
    response: SipResponse,
    via: { readonly port?: number; readonly rport: boolean },
    source: SipPeer,
    transport: SipTransport,
  ): void;
  /** Answers a request with one final response inside its own server transaction. */
  replyInTransaction(
    inbound: Inbound,
    method: string,
    status: number,
    reason: string,
    extraHeaders?: readonly SipHeader[],
    contact?: boolean,
  ): void;
}
