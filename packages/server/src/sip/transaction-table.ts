import type { SipRequest, SipResponse } from '../protocol/sip/message.js';
import type { SipTransport } from '../transport/sip-transport.js';
import { InviteServerTransaction, type ServerTransactionContext } from './invite-server-transaction.js';
import type { MessageFields } from './message-fields.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import type { NamedTimers } from './transaction-timers.js';
import type { Clock } from './timers.js';
import type { IncomingInvite, SipPeer } from './types.js';
import { MAGIC_COOKIE } from './via.js';

/** One request in flight: where it came from and how to answer it. */
export interface Inbound {
  readonly request: SipRequest;
  readonly fields: MessageFields;
  readonly source: SipPeer;
  readonly transport: SipTransport;
}

/** The delegate's handle on an initial INVITE, kept so that a CANCEL can end it (§9.2). */
export interface PendingInvite extends IncomingInvite {
  markCancelled(): void;
}

interface InviteTransactionEntry {
  readonly kind: 'invite';
  readonly tx: InviteServerTransaction;
  invite?: PendingInvite;
  /** Our To tag for every response of this transaction (also the 200 to its CANCEL, §9.2). */
  toTag?: string;
  /** Bounds how long the delegate may take to answer; cleared with the transaction. */
  answerTimer?: NamedTimers<'answer'>;
}

type ServerTransactionEntry =
  InviteTransactionEntry | { readonly kind: 'non-invite'; readonly tx: NonInviteServerTransaction };

/** Our own client transactions (BYE, CANCEL, the INVITE of an outbound call), as the table sees them. */
export interface ClientTransaction {
  receiveResponse(response: SipResponse): void;
  close(): void;
}

/** What the table needs from the UAS core that owns it. */
interface TransactionTableHost {
  readonly clock: Clock;
  /** Sends a response of a server transaction back to where its request came from. */
  sendResponse(response: SipResponse, inbound: Inbound): void;
  /** A retransmitted request or ACK that a transaction swallowed. */
  onAbsorbed(): void;
  /** Timer H fired: the ACK for a non-2xx final response to an INVITE never came. */
  onNonTwoxxAckTimeout(): void;
}

function transactionKey(fields: MessageFields, method: string, request: SipRequest): string {
  const branch = fields.topVia.branch;
  if (branch?.startsWith(MAGIC_COOKIE) === true) {
    // §17.2.3: branch, sent-by and method (ACK matches the INVITE) identify the transaction.
    return `${branch}\n${fields.topVia.sentBy}\n${method}`;
  }
  // §17.2.3 fallback for RFC 2543 peers without the magic cookie: Request-URI, From tag,
  // Call-ID, CSeq number and top Via. The To tag is left out so that the ACK and the CANCEL
  // (which carry no or another To tag) match their INVITE; Request-URI is left out for the ACK
  // of a 2xx, which does not reach this key anyway.
  const uri = method === 'INVITE' || method === 'CANCEL' ? request.requestUri : '';
  return `2543\n${uri}\n${fields.fromTag ?? ''}\n${fields.callId}\n${fields.cseq.seq}\n${fields.topVia.sentBy}\n${method}`;
}

/**
 * The transactions in progress: server transactions by their RFC 3261 §17.2.3 key, our own
 * client transactions by branch and CSeq method (§17.1.3: a CANCEL shares its INVITE's branch). Each one leaves the table when it terminates.
 */
export class TransactionTable {
  readonly #host: TransactionTableHost;
  readonly #server = new Map<string, ServerTransactionEntry>();
  readonly #client = new Map<string, ClientTransaction>();

  constructor(host: TransactionTableHost) {
    this.#host = host;
  }

  get serverCount(): number {
    return this.#server.size;
  }

  get clientCount(): number {
    return this.#client.size;
  }

  /** Server and client transactions together: the number that maxTransactions bounds. */
  get size(): number {
    return this.#server.size + this.#client.size;
  }

  /** The server transaction `request` belongs to; `method` is INVITE for an ACK or a CANCEL. */
  findServer(fields: MessageFields, method: string, request: SipRequest): ServerTransactionEntry | undefined {
    return this.#server.get(transactionKey(fields, method, request));
  }

  createInvite(inbound: Inbound): InviteTransactionEntry {
    const key = transactionKey(inbound.fields, 'INVITE', inbound.request);
    const tx = new InviteServerTransaction(
      this.#context(inbound, key, () => {
        this.#host.onNonTwoxxAckTimeout();
      }),
    );
    const entry: InviteTransactionEntry = { kind: 'invite', tx };
    this.#server.set(key, entry);
    return entry;
  }

  createNonInvite(inbound: Inbound): NonInviteServerTransaction {
    const key = transactionKey(inbound.fields, inbound.request.method, inbound.request);
    const tx = new NonInviteServerTransaction(this.#context(inbound, key));
    this.#server.set(key, { kind: 'non-invite', tx });
    return tx;
  }

  findClient(branch: string, method: string): ClientTransaction | undefined {
    return this.#client.get(`${branch}\n${method}`);
  }

  addClient(branch: string, method: string, tx: ClientTransaction): void {
    this.#client.set(`${branch}\n${method}`, tx);
  }

  deleteClient(branch: string, method: string): void {
    this.#client.delete(`${branch}\n${method}`);
  }

  /** Stops every transaction's timers and forgets them all (server shutdown). */
  close(): void {
    for (const entry of this.#server.values()) {
      entry.tx.close();
      if (entry.kind === 'invite') {
        entry.answerTimer?.clearAll();
      }
    }
    for (const tx of this.#client.values()) {
      tx.close();
    }
    this.#server.clear();
    this.#client.clear();
  }

  #context(inbound: Inbound, key: string, onTimeout?: () => void): ServerTransactionContext {
    return {
      clock: this.#host.clock,
      reliable: inbound.transport.reliable,
      send: (response) => {
        this.#host.sendResponse(response, inbound);
      },
      onAbsorbed: () => {
        this.#host.onAbsorbed();
      },
      ...(onTimeout === undefined ? {} : { onTimeout }),
      onTerminated: () => {
        this.#server.delete(key);
      },
    };
  }
}
