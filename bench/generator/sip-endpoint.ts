/**
 * The generator's SIP user agent client over UDP: one socket, RFC 3261 client transactions with
 * their UDP timers, and routing of the recorder's own requests (BYE) to the dialog they belong to.
 * It plays a call controller, so it is strict in what it sends and counts what it drops.
 */
import dgram from 'node:dgram';
import { parseCSeq, parseVia } from '../../packages/server/src/protocol/sip/headers.js';
import {
  getHeader,
  type SipRequest,
  type SipResponse,
} from '../../packages/server/src/protocol/sip/message.js';
import { parseSipMessage } from '../../packages/server/src/protocol/sip/parse.js';
import {
  buildRequest,
  buildResponse,
  serializeSipMessage,
} from '../../packages/server/src/protocol/sip/serialize.js';

/** RFC 3261 §17.1.1.1 timer values. */
export const T1_MS = 500;
export const T2_MS = 4000;
const TIMER_B_MS = 64 * T1_MS;
const TIMER_F_MS = 64 * T1_MS;
/** Timer D (§17.1.1.2): at least 32 s on UDP, absorbing retransmitted non-2xx finals. */
const TIMER_D_MS = 32_000;
/** Timer M (RFC 6026 §8.4): 2xx retransmissions still reach the TU for 64*T1 after the first. */
const TIMER_M_MS = 64 * T1_MS;
/** Timer K (§17.1.2.2): T4 on UDP. */
const TIMER_K_MS = 5000;

export interface InviteHandlers {
  /** Every final response, including retransmitted 2xx (the TU ACKs each, §13.2.2.4). */
  onFinal(response: SipResponse, retransmission: boolean): void;
  /** No final response within 64*T1 (Timer B). A final that arrives later still goes to onFinal. */
  onTimeout(): void;
}

/** Handles a request the recorder sends inside a dialog; it must call respond once. */
export type DialogRequestHandler = (request: SipRequest, respond: (response: SipResponse) => void) => void;

export interface SipEndpointCounters {
  /** Datagrams that did not parse as SIP (dropped). */
  unparseable: number;
  /** Responses matching no transaction (dropped, e.g. retransmissions after a transaction ended). */
  strayResponses: number;
  /** Requests for an unknown dialog (answered 481). */
  unknownDialogRequests: number;
  /** Requests this UA sent again on a timer. */
  retransmissions: number;
  /** Errors the socket reported (the transaction timers deal with the lost message). */
  socketErrors: number;
}

interface InviteTransaction {
  readonly kind: 'invite';
  readonly request: SipRequest;
  readonly bytes: Uint8Array;
  readonly handlers: InviteHandlers;
  state: 'calling' | 'proceeding' | 'accepted' | 'completed' | 'timed-out';
  intervalMs: number;
  retransmitTimer: NodeJS.Timeout | undefined;
  lifeTimer: NodeJS.Timeout | undefined;
  /** The ACK of a non-2xx final (same branch, §17.1.1.3), resent for each retransmission. */
  ackBytes: Uint8Array | undefined;
}

interface NonInviteTransaction {
  readonly kind: 'non-invite';
  readonly bytes: Uint8Array;
  readonly onResult: (response: SipResponse | undefined) => void;
  state: 'trying' | 'proceeding' | 'completed';
  intervalMs: number;
  retransmitTimer: NodeJS.Timeout | undefined;
  lifeTimer: NodeJS.Timeout | undefined;
}

type ClientTransaction = InviteTransaction | NonInviteTransaction;

export class SipEndpoint {
  readonly localAddress: string;
  readonly localPort: number;
  readonly counters: SipEndpointCounters = {
    unparseable: 0,
    strayResponses: 0,
    unknownDialogRequests: 0,
    retransmissions: 0,
    socketErrors: 0,
  };
  lastSocketError: string | undefined;
  readonly #socket: dgram.Socket;
  readonly #targetHost: string;
  readonly #targetPort: number;
  /** Client transactions by branch + CSeq method (§17.1.3). */
  readonly #transactions = new Map<string, ClientTransaction>();
  readonly #dialogs = new Map<string, DialogRequestHandler>();
  #closed = false;

  private constructor(socket: dgram.Socket, targetHost: string, targetPort: number) {
    this.#socket = socket;
    this.#targetHost = targetHost;
    this.#targetPort = targetPort;
    const address = socket.address();
    this.localAddress = address.address;
    this.localPort = address.port;
    socket.on('message', (datagram) => {
      this.#onDatagram(datagram);
    });
  }

  /** Binds a socket on `localAddress` (port 0) that sends every request to the recorder at target. */
  static async open(localAddress: string, targetHost: string, targetPort: number): Promise<SipEndpoint> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: localAddress, port: 0 }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    // Bursts of 200 call setups per second must not overflow the default receive buffer; the
    // kernel caps the request at net.core.rmem_max.
    socket.setRecvBufferSize(4 * 1024 * 1024);
    const endpoint = new SipEndpoint(socket, targetHost, targetPort);
    socket.on('error', (error) => {
      // A send error on UDP (e.g. ICMP unreachable reported late) is not fatal: the transaction
      // timers turn a lost request into a timeout.
      endpoint.counters.socketErrors++;
      endpoint.lastSocketError = error.message;
    });
    return endpoint;
  }

  /** Via for a new request from this UA, with rport (RFC 3581 §3). */
  via(branch: string): string {
    return `SIP/2.0/UDP ${this.localAddress}:${this.localPort};branch=${branch};rport`;
  }

  /** Sends an INVITE as a client transaction (§17.1.1): Timer A retransmits, Timer B gives up. */
  sendInvite(request: SipRequest, handlers: InviteHandlers): void {
    const key = transactionKey(request);
    const bytes = serializeSipMessage(request);
    const transaction: InviteTransaction = {
      kind: 'invite',
      request,
      bytes,
      handlers,
      state: 'calling',
      intervalMs: T1_MS,
      retransmitTimer: undefined,
      lifeTimer: undefined,
      ackBytes: undefined,
    };
    this.#transactions.set(key, transaction);
    this.send(bytes);
    transaction.retransmitTimer = setTimeout(() => {
      this.#retransmitInvite(transaction);
    }, T1_MS);
    // Timer B. The RFC runs it only in the Calling state; the generator also gives up on a call
    // that got a provisional response but no final one in 64*T1, as its TU would.
    transaction.lifeTimer = setTimeout(() => {
      this.#inviteTimedOut(key, transaction);
    }, TIMER_B_MS);
  }

  /** Sends a non-INVITE request (BYE) as a client transaction (§17.1.2): Timer E, Timer F. */
  sendNonInvite(request: SipRequest, onResult: (response: SipResponse | undefined) => void): void {
    const key = transactionKey(request);
    const bytes = serializeSipMessage(request);
    const transaction: NonInviteTransaction = {
      kind: 'non-invite',
      bytes,
      onResult,
      state: 'trying',
      intervalMs: T1_MS,
      retransmitTimer: undefined,
      lifeTimer: undefined,
    };
    this.#transactions.set(key, transaction);
    this.send(bytes);
    transaction.retransmitTimer = setTimeout(() => {
      this.#retransmitNonInvite(transaction);
    }, T1_MS);
    transaction.lifeTimer = setTimeout(() => {
      this.#clearTimers(transaction);
      this.#transactions.delete(key);
      if (transaction.state !== 'completed') {
        transaction.state = 'completed';
        onResult(undefined);
      }
    }, TIMER_F_MS);
  }

  /** Sends bytes to the recorder (ACK for a 2xx is sent this way: it is no transaction, §17.1.1.3). */
  send(bytes: Uint8Array): void {
    if (!this.#closed) {
      this.#socket.send(bytes, this.#targetPort, this.#targetHost);
    }
  }

  /** Routes the recorder's requests with this Call-ID to `handler` until removed. */
  addDialog(callId: string, handler: DialogRequestHandler): void {
    this.#dialogs.set(callId, handler);
  }

  removeDialog(callId: string): void {
    this.#dialogs.delete(callId);
  }

  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    for (const transaction of this.#transactions.values()) {
      this.#clearTimers(transaction);
    }
    this.#transactions.clear();
    this.#dialogs.clear();
    this.#socket.close();
  }

  #onDatagram(datagram: Buffer): void {
    if (this.#closed) {
      return;
    }
    // Keep-alive CRLFs (RFC 5626 §3.5.1) are not messages.
    if (datagram.length <= 4 && datagram.every((b) => b === 0x0d || b === 0x0a)) {
      return;
    }
    const parsed = parseSipMessage(datagram);
    if (!parsed.ok) {
      this.counters.unparseable++;
      return;
    }
    const message = parsed.value;
    if (message.type === 'response') {
      this.#onResponse(message);
    } else {
      this.#onRequest(message);
    }
  }

  #onResponse(response: SipResponse): void {
    const key = responseKey(response);
    const transaction = key === undefined ? undefined : this.#transactions.get(key);
    if (key === undefined || transaction === undefined) {
      this.counters.strayResponses++;
      return;
    }
    if (transaction.kind === 'invite') {
      this.#onInviteResponse(key, transaction, response);
    } else {
      this.#onNonInviteResponse(key, transaction, response);
    }
  }

  #onInviteResponse(key: string, transaction: InviteTransaction, response: SipResponse): void {
    if (response.status < 200) {
      if (transaction.state === 'calling') {
        // §17.1.1.2: a provisional response stops the retransmissions.
        transaction.state = 'proceeding';
        clearTimeout(transaction.retransmitTimer);
        transaction.retransmitTimer = undefined;
      }
      return;
    }
    const retransmission = transaction.state === 'accepted' || transaction.state === 'completed';
    if (response.status < 300) {
      if (!retransmission) {
        this.#clearTimers(transaction);
        transaction.state = 'accepted';
        transaction.lifeTimer = setTimeout(() => this.#transactions.delete(key), TIMER_M_MS);
        transaction.lifeTimer.unref();
      }
      transaction.handlers.onFinal(response, retransmission);
      return;
    }
    // §17.1.1.3: a non-2xx final is ACKed by the transaction, with the INVITE's branch.
    if (transaction.ackBytes === undefined) {
      transaction.ackBytes = serializeSipMessage(nonSuccessAck(transaction.request, response));
    }
    this.send(transaction.ackBytes);
    if (retransmission) {
      return;
    }
    this.#clearTimers(transaction);
    transaction.state = 'completed';
    transaction.lifeTimer = setTimeout(() => this.#transactions.delete(key), TIMER_D_MS);
    transaction.lifeTimer.unref();
    transaction.handlers.onFinal(response, false);
  }

  #onNonInviteResponse(key: string, transaction: NonInviteTransaction, response: SipResponse): void {
    if (transaction.state === 'completed') {
      return;
    }
    if (response.status < 200) {
      transaction.state = 'proceeding';
      return;
    }
    this.#clearTimers(transaction);
    transaction.state = 'completed';
    transaction.lifeTimer = setTimeout(() => this.#transactions.delete(key), TIMER_K_MS);
    transaction.lifeTimer.unref();
    transaction.onResult(response);
  }

  #onRequest(request: SipRequest): void {
    if (request.method === 'ACK') {
      return;
    }
    const respond = (response: SipResponse): void => {
      this.send(serializeSipMessage(response));
    };
    if (request.method === 'OPTIONS') {
      respond(buildResponse(request, 200, 'OK'));
      return;
    }
    const callId = getHeader(request, 'Call-ID');
    const handler = callId === undefined ? undefined : this.#dialogs.get(callId);
    if (handler === undefined) {
      this.counters.unknownDialogRequests++;
      respond(buildResponse(request, 481, 'Call/Transaction Does Not Exist'));
      return;
    }
    handler(request, respond);
  }

  #retransmitInvite(transaction: InviteTransaction): void {
    if (transaction.state !== 'calling') {
      return;
    }
    this.counters.retransmissions++;
    this.send(transaction.bytes);
    // Timer A doubles on each retransmission (§17.1.1.2).
    transaction.intervalMs *= 2;
    transaction.retransmitTimer = setTimeout(() => {
      this.#retransmitInvite(transaction);
    }, transaction.intervalMs);
  }

  #retransmitNonInvite(transaction: NonInviteTransaction): void {
    if (transaction.state === 'completed') {
      return;
    }
    this.counters.retransmissions++;
    this.send(transaction.bytes);
    // Timer E doubles up to T2 while Trying and stays at T2 once Proceeding (§17.1.2.2).
    transaction.intervalMs =
      transaction.state === 'proceeding' ? T2_MS : Math.min(transaction.intervalMs * 2, T2_MS);
    transaction.retransmitTimer = setTimeout(() => {
      this.#retransmitNonInvite(transaction);
    }, transaction.intervalMs);
  }

  #inviteTimedOut(key: string, transaction: InviteTransaction): void {
    if (transaction.state !== 'calling' && transaction.state !== 'proceeding') {
      return;
    }
    clearTimeout(transaction.retransmitTimer);
    transaction.retransmitTimer = undefined;
    transaction.state = 'timed-out';
    // Keep listening for a while: a 2xx that arrives late must still be ACKed (and hung up by
    // the TU), or the recorder keeps a session open for a call nobody placed.
    transaction.lifeTimer = setTimeout(() => this.#transactions.delete(key), TIMER_M_MS);
    transaction.lifeTimer.unref();
    transaction.handlers.onTimeout();
  }

  #clearTimers(transaction: ClientTransaction): void {
    clearTimeout(transaction.retransmitTimer);
    clearTimeout(transaction.lifeTimer);
    transaction.retransmitTimer = undefined;
    transaction.lifeTimer = undefined;
  }
}

function transactionKey(request: SipRequest): string {
  const via = getHeader(request, 'Via');
  const branch = via === undefined ? undefined : parseVia(via);
  if (branch === undefined || !branch.ok || branch.value.branch === undefined) {
    throw new Error('a request sent by the generator must carry a Via with a branch');
  }
  return `${branch.value.branch} ${request.method}`;
}

/** §17.1.3: the top Via branch and the CSeq method identify the client transaction. */
function responseKey(response: SipResponse): string | undefined {
  const viaText = getHeader(response, 'Via');
  const cseqText = getHeader(response, 'CSeq');
  if (viaText === undefined || cseqText === undefined) {
    return undefined;
  }
  const via = parseVia(viaText);
  const cseq = parseCSeq(cseqText);
  if (!via.ok || !cseq.ok || via.value.branch === undefined) {
    return undefined;
  }
  return `${via.value.branch} ${cseq.value.method}`;
}

/**
 * The ACK for a non-2xx final response (§17.1.1.3): the INVITE's Request-URI, top Via (same
 * branch), From, Call-ID and Route, the response's To (with its tag), CSeq number with ACK.
 */
function nonSuccessAck(invite: SipRequest, response: SipResponse): SipRequest {
  const header = (message: SipRequest | SipResponse, name: string): string => getHeader(message, name) ?? '';
  const cseq = parseCSeq(header(invite, 'CSeq'));
  return buildRequest({
    method: 'ACK',
    requestUri: invite.requestUri,
    via: header(invite, 'Via'),
    from: header(invite, 'From'),
    to: header(response, 'To'),
    callId: header(invite, 'Call-ID'),
    cseq: cseq.ok ? cseq.value.seq : 1,
    routes: invite.headers.filter((h) => h.name === 'Route').map((h) => h.value),
  });
}
