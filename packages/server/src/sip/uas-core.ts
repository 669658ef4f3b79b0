import { randomBytes, randomInt } from 'node:crypto';
import type { Logger } from 'pino';
import { parseSipMessage } from '../protocol/sip/parse.js';
import { buildResponse, serializeSipMessage } from '../protocol/sip/serialize.js';
import {
  getHeader,
  getHeaders,
  type SipHeader,
  type SipRequest,
  type SipResponse,
} from '../protocol/sip/message.js';
import { splitHeaderList } from '../protocol/sip/headers.js';
import type { SipTransport, SipTransportAddress } from '../transport/sip-transport.js';
import { InviteServerTransaction, type ServerTransactionContext } from './invite-server-transaction.js';
import {
  contactUri,
  readMessageFields,
  readTopVia,
  recordRoutes,
  requestUriScheme,
  uriTarget,
  type MessageFields,
} from './message-fields.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import { NonInviteServerTransaction } from './non-invite-server-transaction.js';
import { salvageRequest } from './salvage.js';
import { dialogKey, UasDialog, type DialogHost } from './server-dialog.js';
import { NamedTimers } from './transaction-timers.js';
import { systemClock, type Clock } from './timers.js';
import type {
  DialogDelegate,
  IncomingInvite,
  ServerDialog,
  SipBody,
  SipPeer,
  SipServerDelegate,
  SipTransportProtocol,
} from './types.js';
import { annotateTopVia, defaultPort, MAGIC_COOKIE, responseDestination } from './via.js';

/** Methods this UAS implements (RFC 3261 §20.5 Allow). */
export const ALLOWED_METHODS = ['INVITE', 'ACK', 'CANCEL', 'BYE', 'OPTIONS', 'UPDATE', 'INFO'] as const;
/**
 * Option tags we support (RFC 3261 §20.37). A recording server (SRS) has to accept
 * `Require: siprec` (RFC 7866 §6.1.1); anything else required gets 420 (§8.2.2.3).
 */
export const SUPPORTED_OPTION_TAGS = ['siprec'] as const;
/**
 * Methods we know and refuse with 405 (RFC 3261 §8.2.1: "the UAS SHOULD generate a 405"
 * when it recognises the method but does not support it). Everything else unknown gets 501.
 */
const KNOWN_UNSUPPORTED_METHODS = new Set([
  'REGISTER',
  'SUBSCRIBE',
  'NOTIFY',
  'REFER',
  'MESSAGE',
  'PUBLISH',
  'PRACK',
]);
/** Requests that only make sense inside a dialog: without one they get 481 (§12.2.2, §15.1.2). */
const IN_DIALOG_ONLY = new Set(['BYE', 'UPDATE', 'INFO']);

const COUNTER_NAMES = [
  'received',
  'sent',
  'requestsReceived',
  'responsesReceived',
  'malformed',
  'badRequestsAnswered',
  'dropped',
  'retransmissionsAbsorbed',
  'retransmissionsSent',
  'acksUnknownDialog',
  'responsesUnmatched',
  'untrustedRejected',
  'overloadRejected',
  'cancelsMatched',
  'cancelsUnmatched',
  'invitesAccepted',
  'invitesRejected',
  'ackTimeouts',
  'nonTwoxxAckTimeouts',
  'byesReceived',
  'byesSent',
  'byeTimeouts',
  'unknownDialog',
  'sendFailures',
] as const;
export type SipCounterName = (typeof COUNTER_NAMES)[number];

export interface SipUasCoreOptions {
  /** Host written into our Contact header and the Via of our BYE. */
  readonly advertise: string;
  /** INVITEs from other peers get 403 without reaching the delegate. */
  readonly isTrusted: (peer: SipPeer) => boolean;
  readonly delegate: SipServerDelegate;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Written into Server and User-Agent headers, e.g. "Verbatim/0.1.0". */
  readonly userAgent?: string;
  /** Server and client transactions kept at once; beyond it requests get a stateless 503. */
  readonly maxTransactions?: number;
  /** Dialogs kept at once; beyond it INVITEs get 503. */
  readonly maxDialogs?: number;
  /** A delegate that neither accepts nor rejects an INVITE within this time gets a 500 for it. */
  readonly inviteAnswerTimeoutMs?: number;
}

type ServerTransaction =
  | {
      readonly kind: 'invite';
      readonly tx: InviteServerTransaction;
      invite?: InviteHandle;
      /** Our To tag for every response of this transaction (also the 200 to its CANCEL, §9.2). */
      toTag?: string;
      /** Bounds how long the delegate may take to answer; cleared with the transaction. */
      answerTimer?: NamedTimers<'answer'>;
    }
  | { readonly kind: 'non-invite'; readonly tx: NonInviteServerTransaction };

/** One request in flight: where it came from and how to answer it. */
interface Inbound {
  readonly request: SipRequest;
  readonly fields: MessageFields;
  readonly source: SipPeer;
  readonly transport: SipTransport;
}

interface ResponseOptions {
  readonly toTag?: string;
  readonly extraHeaders?: readonly SipHeader[];
  readonly body?: SipBody;
  /** Adds our Contact (2xx to INVITE, UPDATE and OPTIONS). */
  readonly contact?: boolean;
  /** Leaves out Allow/Supported (a 100 Trying only needs the copied headers). */
  readonly minimal?: boolean;
  /** The transport whose port and protocol our Contact names. */
  readonly transportForContact?: SipTransport;
}

const DEFAULT_MAX_TRANSACTIONS = 50_000;
const DEFAULT_MAX_DIALOGS = 20_000;
const DEFAULT_INVITE_ANSWER_TIMEOUT_MS = 32_000;

/** A random tag or branch suffix: 64 bits, well above the 32 bits RFC 3261 §19.3 asks for. */
function randomToken(): string {
  return randomBytes(8).toString('hex');
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

/** A warning text as an RFC 3261 §20.43 quoted-string. */
function warning(host: string, text: string): SipHeader {
  const safe = text
    .replace(/[\\"]/g, "'")
    .replace(/[\r\n]/g, ' ')
    .slice(0, 200);
  return { name: 'Warning', value: `399 ${host} "${safe}"` };
}

function hostForUri(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The INVITE handed to the delegate (sip/types.ts IncomingInvite). */
class InviteHandle implements IncomingInvite {
  readonly request: SipRequest;
  readonly source: SipPeer;
  readonly callId: string;
  oncancel?: () => void;
  #cancelled = false;
  readonly #accept: InviteHandle['accept'];
  readonly #reject: InviteHandle['reject'];

  constructor(
    inbound: Inbound,
    accept: (
      body: SipBody,
      delegate: DialogDelegate,
      extraHeaders?: readonly SipHeader[],
    ) => ServerDialog | undefined,
    reject: (status: number, reason: string, extraHeaders?: readonly SipHeader[]) => void,
  ) {
    this.request = inbound.request;
    this.source = inbound.source;
    this.callId = inbound.fields.callId;
    this.#accept = accept;
    this.#reject = reject;
  }

  get cancelled(): boolean {
    return this.#cancelled;
  }

  markCancelled(): void {
    this.#cancelled = true;
  }

  accept(
    body: SipBody,
    delegate: DialogDelegate,
    extraHeaders?: readonly SipHeader[],
  ): ServerDialog | undefined {
    return this.#accept(body, delegate, extraHeaders);
  }

  reject(status: number, reason: string, extraHeaders?: readonly SipHeader[]): void {
    this.#reject(status, reason, extraHeaders);
  }
}

/**
 * The UAS core over injected transports and clock: parses what the transports deliver, runs the
 * server transactions (RFC 3261 §17.2), keeps dialogs (§12) and answers everything RFC 3261
 * prescribes by itself. Only decisions that need the recording domain reach the delegate.
 */
export class SipUasCore {
  readonly #options: SipUasCoreOptions;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #userAgent: string;
  readonly #maxTransactions: number;
  readonly #maxDialogs: number;
  readonly #transports = new Map<SipTransportProtocol, SipTransport>();
  readonly #serverTransactions = new Map<string, ServerTransaction>();
  readonly #clientTransactions = new Map<string, NonInviteClientTransaction>();
  readonly #dialogs = new Map<string, UasDialog>();
  readonly #counts = Object.fromEntries(COUNTER_NAMES.map((n) => [n, 0])) as Record<SipCounterName, number>;
  readonly #dialogHost: DialogHost;
  #closed = false;

  constructor(options: SipUasCoreOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'sip' });
    this.#clock = options.clock ?? systemClock;
    this.#userAgent = options.userAgent ?? 'Verbatim';
    this.#maxTransactions = options.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    this.#maxDialogs = options.maxDialogs ?? DEFAULT_MAX_DIALOGS;
    this.#dialogHost = {
      clock: this.#clock,
      logger: this.#logger,
      sendBye: (dialog) => {
        this.#sendBye(dialog);
      },
      onTerminated: (dialog) => {
        if (this.#dialogs.get(dialog.key) === dialog) {
          this.#dialogs.delete(dialog.key);
        }
      },
      onRetransmission: () => {
        this.#counts.retransmissionsSent++;
      },
      onAbsorbed: () => {
        this.#counts.retransmissionsAbsorbed++;
      },
      onAckTimeout: () => {
        this.#counts.ackTimeouts++;
      },
    };
  }

  /** Makes a transport available for responses and our own requests over its protocol. */
  attach(transport: SipTransport): void {
    this.#transports.set(transport.protocol, transport);
  }

  counters(): Readonly<Record<string, number>> {
    return {
      ...this.#counts,
      serverTransactions: this.#serverTransactions.size,
      clientTransactions: this.#clientTransactions.size,
      dialogs: this.#dialogs.size,
    };
  }

  /** Stops every timer; transports are closed by their owner. */
  close(): void {
    this.#closed = true;
    for (const entry of this.#serverTransactions.values()) {
      entry.tx.close();
      if (entry.kind === 'invite') {
        entry.answerTimer?.clearAll();
      }
    }
    for (const tx of this.#clientTransactions.values()) {
      tx.close();
    }
    for (const dialog of this.#dialogs.values()) {
      dialog.close();
    }
    this.#serverTransactions.clear();
    this.#clientTransactions.clear();
    this.#dialogs.clear();
  }

  /** Entry point for every message a transport delivers. Never throws on wire input. */
  receive(bytes: Uint8Array, source: SipPeer): void {
    if (this.#closed) {
      return;
    }
    this.#counts.received++;
    const transport = this.#transports.get(source.protocol);
    if (transport === undefined) {
      this.#counts.dropped++;
      return;
    }
    const parsed = parseSipMessage(bytes);
    if (!parsed.ok) {
      this.#counts.malformed++;
      this.#logger.debug(
        { peer: source, code: parsed.error.code, reason: parsed.error.message },
        'malformed message',
      );
      const salvaged = salvageRequest(bytes);
      if (
        salvaged === undefined ||
        !this.#answerBadRequest(salvaged, parsed.error.message, source, transport)
      ) {
        this.#counts.dropped++;
      }
      return;
    }
    const message = parsed.value;
    if (message.type === 'response') {
      this.#counts.responsesReceived++;
      this.#handleResponse(message);
      return;
    }
    this.#counts.requestsReceived++;
    const fields = readMessageFields(message);
    if (!fields.ok) {
      this.#counts.malformed++;
      this.#logger.debug(
        { peer: source, code: fields.error.code, reason: fields.error.message },
        'unusable request',
      );
      if (
        message.method === 'ACK' ||
        !this.#answerBadRequest(message, fields.error.message, source, transport)
      ) {
        this.#counts.dropped++;
      }
      return;
    }
    const inbound: Inbound = {
      request: annotateTopVia(message, fields.value.topVia.host, source),
      fields: fields.value,
      source,
      transport,
    };
    this.#handleRequest(inbound);
  }

  /** Sends a stateless 400 naming the problem (§8.2, §18.3). False when it cannot be routed. */
  #answerBadRequest(request: SipRequest, problem: string, source: SipPeer, transport: SipTransport): boolean {
    const topVia = readTopVia(request);
    if (!topVia.ok) {
      return false;
    }
    const annotated = annotateTopVia(request, topVia.value.host, source);
    const response = this.#build(annotated, 400, 'Bad Request', {
      toTag: randomToken(),
      extraHeaders: [warning(this.#options.advertise, problem)],
    });
    this.#sendResponse(response, topVia.value, source, transport);
    this.#counts.badRequestsAnswered++;
    return true;
  }

  #handleRequest(inbound: Inbound): void {
    const { request, fields } = inbound;
    const method = request.method;
    if (method === 'ACK') {
      this.#handleAck(inbound);
      return;
    }
    const existing = this.#serverTransactions.get(transactionKey(fields, method, request));
    if (existing !== undefined) {
      if (existing.kind === 'invite') {
        existing.tx.receiveInvite();
      } else {
        existing.tx.receiveRequest();
      }
      return;
    }
    if (this.#serverTransactions.size + this.#clientTransactions.size >= this.#maxTransactions) {
      this.#rejectOverload(inbound);
      return;
    }
    if (method === 'CANCEL') {
      this.#handleCancel(inbound);
      return;
    }
    if (fields.toTag !== undefined) {
      this.#handleInDialog(inbound, fields.toTag);
      return;
    }
    this.#handleOutOfDialog(inbound);
  }

  #handleOutOfDialog(inbound: Inbound): void {
    const { request } = inbound;
    const method = request.method;
    const scheme = requestUriScheme(request.requestUri);
    if (scheme !== 'sip' && scheme !== 'sips' && scheme !== 'tel') {
      // §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject
      // the request with a 416 (Unsupported URI Scheme) response."
      this.#replyInTransaction(inbound, method, 416, 'Unsupported URI Scheme');
      return;
    }
    const unsupported = getHeaders(request, 'Require')
      .flatMap((v) => splitHeaderList(v))
      .map((t) => t.trim())
      .filter((t) => t !== '' && !(SUPPORTED_OPTION_TAGS as readonly string[]).includes(t.toLowerCase()));
    if (unsupported.length > 0) {
      // §8.2.2.3: a Require with option tags we do not understand gets 420 listing them.
      this.#replyInTransaction(inbound, method, 420, 'Bad Extension', [
        { name: 'Unsupported', value: unsupported.join(', ') },
      ]);
      return;
    }
    if (method === 'INVITE') {
      this.#handleInitialInvite(inbound);
      return;
    }
    if (method === 'OPTIONS') {
      // §11.2: the answer to OPTIONS lists Allow, Accept and Supported; CUCM uses it as keep-alive.
      this.#replyInTransaction(
        inbound,
        method,
        200,
        'OK',
        [{ name: 'Accept', value: 'application/sdp' }],
        true,
      );
      return;
    }
    if (IN_DIALOG_ONLY.has(method)) {
      this.#counts.unknownDialog++;
      this.#replyInTransaction(inbound, method, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (KNOWN_UNSUPPORTED_METHODS.has(method)) {
      this.#replyInTransaction(inbound, method, 405, 'Method Not Allowed');
      return;
    }
    // §8.2.1: a method the UAS does not recognise gets 501 (Not Implemented).
    this.#replyInTransaction(inbound, method, 501, 'Not Implemented');
  }

  /** Answers a request with one final response inside its own server transaction. */
  #replyInTransaction(
    inbound: Inbound,
    method: string,
    status: number,
    reason: string,
    extraHeaders: readonly SipHeader[] = [],
    contact = false,
  ): void {
    const toTag = inbound.fields.toTag === undefined ? randomToken() : undefined;
    const response = this.#build(inbound.request, status, reason, {
      ...(toTag === undefined ? {} : { toTag }),
      extraHeaders,
      contact,
      transportForContact: inbound.transport,
    });
    if (method === 'INVITE') {
      const tx = this.#createInviteTransaction(inbound);
      tx.tx.respond(response);
    } else {
      const tx = this.#createNonInviteTransaction(inbound);
      tx.respond(response);
    }
  }

  #rejectOverload(inbound: Inbound): void {
    this.#counts.overloadRejected++;
    const response = this.#build(inbound.request, 503, 'Service Unavailable', {
      toTag: randomToken(),
      extraHeaders: [{ name: 'Retry-After', value: '5' }],
    });
    this.#sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
  }

  #handleInitialInvite(inbound: Inbound): void {
    if (!this.#options.isTrusted(inbound.source)) {
      this.#counts.untrustedRejected++;
      this.#logger.info(
        { peer: inbound.source, callId: inbound.fields.callId },
        'INVITE from untrusted peer',
      );
      this.#replyInTransaction(inbound, 'INVITE', 403, 'Forbidden');
      return;
    }
    if (this.#dialogs.size >= this.#maxDialogs) {
      this.#counts.overloadRejected++;
      this.#replyInTransaction(inbound, 'INVITE', 503, 'Service Unavailable', [
        { name: 'Retry-After', value: '5' },
      ]);
      return;
    }
    const toTag = randomToken();
    const answerTimer = new NamedTimers<'answer'>(this.#clock);
    const entry = this.#createInviteTransaction(inbound);
    entry.toTag = toTag;
    entry.answerTimer = answerTimer;
    const finalResponse = (response: SipResponse): boolean => {
      const sent = entry.tx.respond(response);
      if (sent) {
        answerTimer.clearAll();
      }
      return sent;
    };
    const accept = (
      body: SipBody,
      delegate: DialogDelegate,
      extraHeaders: readonly SipHeader[] = [],
    ): ServerDialog | undefined => {
      if (entry.tx.finalSent || handle.cancelled) {
        return undefined;
      }
      const dialog = this.#createDialog(inbound, toTag, delegate);
      const response = this.#build(inbound.request, 200, 'OK', {
        toTag,
        extraHeaders,
        body,
        contact: true,
        transportForContact: inbound.transport,
      });
      if (!finalResponse(response)) {
        return undefined;
      }
      this.#counts.invitesAccepted++;
      this.#dialogs.set(dialog.key, dialog);
      dialog.startAckWait(inbound.fields.cseq.seq, () => {
        this.#sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
      });
      return dialog;
    };
    const reject = (status: number, reason: string, extraHeaders: readonly SipHeader[] = []): void => {
      if (!Number.isInteger(status) || status < 300 || status > 699) {
        throw new RangeError(`reject needs a 300-699 status, got ${status}`);
      }
      const response = this.#build(inbound.request, status, reason, { toTag, extraHeaders });
      if (finalResponse(response)) {
        this.#counts.invitesRejected++;
      }
    };
    const handle = new InviteHandle(inbound, accept, reject);
    entry.invite = handle;
    // §17.2.1: the 100 Trying stops the client's INVITE retransmissions; sent at once.
    entry.tx.respond(this.#build(inbound.request, 100, 'Trying', { minimal: true }));
    answerTimer.start(
      'answer',
      this.#options.inviteAnswerTimeoutMs ?? DEFAULT_INVITE_ANSWER_TIMEOUT_MS,
      () => {
        this.#logger.warn({ callId: inbound.fields.callId }, 'INVITE not answered by the delegate in time');
        finalResponse(this.#build(inbound.request, 500, 'Server Internal Error', { toTag }));
      },
    );
    try {
      this.#options.delegate.onInvite(handle);
    } catch (error) {
      this.#logger.error({ err: error, callId: inbound.fields.callId }, 'onInvite threw');
      finalResponse(this.#build(inbound.request, 500, 'Server Internal Error', { toTag }));
    }
  }

  #createDialog(inbound: Inbound, toTag: string, delegate: DialogDelegate): UasDialog {
    const { request, fields, source } = inbound;
    const toValue = getHeader(request, 'To') ?? '';
    const fromValue = getHeader(request, 'From') ?? '';
    return new UasDialog(
      {
        callId: fields.callId,
        localTag: toTag,
        remoteTag: fields.fromTag ?? '',
        // §8.1.1.8 makes Contact mandatory in INVITE; a peer without one is reached where it sent from.
        remoteTarget: contactUri(request) ?? `sip:${hostForUri(source.address)}:${source.port}`,
        routeSet: recordRoutes(request),
        localUri: `${toValue};tag=${toTag}`,
        remoteUri: fromValue,
        remoteSeq: fields.cseq.seq,
        peer: source,
      },
      delegate,
      this.#dialogHost,
      randomInt(1, 2 ** 20),
    );
  }

  #handleCancel(inbound: Inbound): void {
    const { fields, request } = inbound;
    const inviteEntry = this.#serverTransactions.get(transactionKey(fields, 'INVITE', request));
    const cancelTx = this.#createNonInviteTransaction(inbound);
    if (inviteEntry?.kind !== 'invite') {
      // §9.2: "If the UAS did not find a matching transaction for the CANCEL ... it SHOULD
      // respond to the CANCEL with a 481 (Call Leg/Transaction Does Not Exist)."
      this.#counts.cancelsUnmatched++;
      cancelTx.respond(
        this.#build(request, 481, 'Call/Transaction Does Not Exist', { toTag: randomToken() }),
      );
      return;
    }
    this.#counts.cancelsMatched++;
    const invite = inviteEntry.invite;
    const toTag = fields.toTag === undefined ? (inviteEntry.toTag ?? randomToken()) : undefined;
    // §9.2: the CANCEL itself is answered 200 whether or not the INVITE still can be cancelled.
    cancelTx.respond(this.#build(request, 200, 'OK', toTag === undefined ? {} : { toTag }));
    if (invite !== undefined && !inviteEntry.tx.finalSent) {
      // §9.2: "the UAS SHOULD then respond to the INVITE with a 487 (Request Terminated)."
      invite.markCancelled();
      invite.reject(487, 'Request Terminated');
      try {
        invite.oncancel?.();
      } catch (error) {
        this.#logger.error({ err: error, callId: fields.callId }, 'oncancel threw');
      }
    }
  }

  #handleAck(inbound: Inbound): void {
    const { fields, request } = inbound;
    const entry = this.#serverTransactions.get(transactionKey(fields, 'INVITE', request));
    if (entry?.kind === 'invite' && entry.tx.state !== 'accepted') {
      // §17.2.3: an ACK matching the INVITE's transaction acknowledges a non-2xx response.
      entry.tx.receiveAck();
      return;
    }
    const dialog =
      fields.toTag === undefined
        ? undefined
        : this.#dialogs.get(dialogKey(fields.callId, fields.toTag, fields.fromTag ?? ''));
    if (dialog === undefined) {
      // §17.2.3 / §12.2.2: an ACK outside any transaction or dialog is discarded; never answered.
      this.#counts.acksUnknownDialog++;
      this.#counts.dropped++;
      return;
    }
    try {
      dialog.receiveAck(request, fields.cseq.seq);
    } catch (error) {
      this.#logger.error({ err: error, callId: fields.callId }, 'onAck threw');
    }
  }

  #handleInDialog(inbound: Inbound, toTag: string): void {
    const { request, fields } = inbound;
    const method = request.method;
    const dialog = this.#dialogs.get(dialogKey(fields.callId, toTag, fields.fromTag ?? ''));
    if (dialog === undefined) {
      // §12.2.2: "If the UAS receives a request with a tag in the To header field that does not
      // match any existing dialog ... the UAS SHOULD respond with a 481."
      this.#counts.unknownDialog++;
      this.#replyInTransaction(inbound, method, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (fields.cseq.seq < dialog.remoteSeq) {
      // §12.2.2: "If the remote sequence number ... is lower than this value, the request is out
      // of order and MUST be rejected with a 500 (Server Internal Error) response."
      this.#replyInTransaction(inbound, method, 500, 'Server Internal Error', [
        warning(this.#options.advertise, 'CSeq out of order'),
      ]);
      return;
    }
    dialog.remoteSeq = fields.cseq.seq;
    if (method === 'BYE') {
      this.#counts.byesReceived++;
      this.#replyInTransaction(inbound, method, 200, 'OK');
      try {
        dialog.receiveBye(request);
      } catch (error) {
        this.#logger.error({ err: error, callId: fields.callId }, 'onBye threw');
      }
      return;
    }
    if (method === 'INVITE' && dialog.inviteInProgress) {
      // §14.2: "A UAS that receives a second INVITE before it sends the final response to a
      // first INVITE with a lower CSeq sequence number on the same dialog MUST return a 500
      // (Server Internal Error) response to the second INVITE and MUST include a Retry-After
      // header field with a randomly chosen value of between 0 and 10 seconds."
      this.#replyInTransaction(inbound, method, 500, 'Server Internal Error', [
        { name: 'Retry-After', value: String(randomInt(0, 11)) },
      ]);
      return;
    }
    if (method !== 'INVITE' && !(ALLOWED_METHODS as readonly string[]).includes(method)) {
      this.#replyInTransaction(inbound, method, KNOWN_UNSUPPORTED_METHODS.has(method) ? 405 : 501, '');
      return;
    }
    this.#handleInDialogRequest(inbound, dialog);
  }

  /** A re-INVITE, UPDATE or INFO inside an established dialog, answered by the delegate. */
  #handleInDialogRequest(inbound: Inbound, dialog: UasDialog): void {
    const { request, fields } = inbound;
    const isInvite = request.method === 'INVITE';
    const inviteEntry = isInvite ? this.#createInviteTransaction(inbound) : undefined;
    const nonInviteTx = isInvite ? undefined : this.#createNonInviteTransaction(inbound);
    if (inviteEntry !== undefined) {
      dialog.inviteInProgress = true;
      inviteEntry.tx.respond(this.#build(request, 100, 'Trying', { minimal: true }));
    }
    let answered = false;
    const respond = (status: number, reason: string, body?: SipBody): void => {
      if (answered || status < 200 || status > 699) {
        this.#logger.warn(
          { callId: fields.callId, status },
          'in-dialog respond ignored (repeated or not final)',
        );
        return;
      }
      answered = true;
      const twoxx = status < 300;
      const response = this.#build(request, status, reason, {
        ...(body === undefined ? {} : { body }),
        contact: twoxx && (isInvite || request.method === 'UPDATE'),
        transportForContact: inbound.transport,
      });
      if (inviteEntry !== undefined) {
        dialog.inviteInProgress = false;
        inviteEntry.tx.respond(response);
        if (twoxx && !dialog.terminated) {
          // §14.2 and §13.3.1.4: the 2xx to a re-INVITE is retransmitted until its ACK too.
          dialog.startAckWait(fields.cseq.seq, () => {
            this.#sendResponse(response, fields.topVia, inbound.source, inbound.transport);
          });
        }
      } else {
        nonInviteTx?.respond(response);
      }
    };
    if (dialog.delegate.onRequest === undefined) {
      respond(200, 'OK');
      return;
    }
    try {
      dialog.delegate.onRequest(request, respond);
    } catch (error) {
      this.#logger.error({ err: error, callId: fields.callId }, 'onRequest threw');
      respond(500, 'Server Internal Error');
    }
  }

  #handleResponse(response: SipResponse): void {
    const fields = readMessageFields(response);
    const branch = fields.ok ? fields.value.topVia.branch : undefined;
    const tx = branch === undefined ? undefined : this.#clientTransactions.get(branch);
    // §17.1.3: a response matches a client transaction by top Via branch and CSeq method.
    if (tx === undefined || !fields.ok || fields.value.cseq.method !== 'BYE') {
      this.#counts.responsesUnmatched++;
      this.#counts.dropped++;
      return;
    }
    tx.receiveResponse(response);
  }

  #sendBye(dialog: UasDialog): void {
    const { state } = dialog;
    const transport = this.#transports.get(state.peer.protocol);
    if (transport === undefined || this.#closed) {
      return;
    }
    const destination = this.#byeDestination(dialog, transport);
    if (destination === undefined) {
      this.#counts.sendFailures++;
      this.#logger.warn({ callId: dialog.callId, target: state.remoteTarget }, 'no address to send BYE to');
      return;
    }
    const branch = `${MAGIC_COOKIE}${randomToken()}`;
    const protocol = transport.protocol.toUpperCase();
    const request: SipRequest = {
      type: 'request',
      method: 'BYE',
      requestUri: state.remoteTarget,
      headers: [
        {
          name: 'Via',
          value: `SIP/2.0/${protocol} ${hostForUri(this.#options.advertise)}:${transport.port};branch=${branch};rport`,
        },
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: state.localUri },
        { name: 'To', value: state.remoteUri },
        { name: 'Call-ID', value: state.callId },
        { name: 'CSeq', value: `${dialog.nextLocalSeq()} BYE` },
        // §12.2.1.1: with a loose-routing route set the Request-URI is the remote target and
        // the route set goes into Route headers, in order.
        ...state.routeSet.map((value) => ({ name: 'Route', value })),
        { name: 'User-Agent', value: this.#userAgent },
      ],
      body: new Uint8Array(0),
    };
    const bytes = serializeSipMessage(request);
    const tx = new NonInviteClientTransaction(request, {
      clock: this.#clock,
      reliable: transport.reliable,
      send: () => {
        this.#counts.sent++;
        transport.send(bytes, destination);
      },
      onFinalResponse: (response) => {
        this.#logger.debug({ callId: state.callId, status: response.status }, 'BYE answered');
      },
      onTimeout: () => {
        this.#counts.byeTimeouts++;
        this.#logger.info({ callId: state.callId }, 'BYE timed out (Timer F)');
      },
      onAbsorbed: () => {
        this.#counts.retransmissionsAbsorbed++;
      },
      onTerminated: () => {
        this.#clientTransactions.delete(branch);
      },
    });
    this.#clientTransactions.set(branch, tx);
    this.#counts.byesSent++;
    tx.start();
  }

  /**
   * Where our BYE goes: over the connection the INVITE came on while it is open; otherwise to
   * the first route (§12.2.1.1) or to the remote target (the INVITE's Contact).
   */
  #byeDestination(dialog: UasDialog, transport: SipTransport): SipTransportAddress | undefined {
    const { peer, routeSet, remoteTarget } = dialog.state;
    if (transport.reliable && transport.isConnected(peer)) {
      return { address: peer.address, port: peer.port };
    }
    const firstRoute = routeSet[0];
    const target = uriTarget(firstRoute ?? remoteTarget);
    if (target === undefined) {
      return undefined;
    }
    return { address: target.host, port: target.port ?? defaultPort(transport.protocol) };
  }

  #createInviteTransaction(inbound: Inbound): ServerTransaction & { kind: 'invite' } {
    const key = transactionKey(inbound.fields, 'INVITE', inbound.request);
    const tx = new InviteServerTransaction(
      this.#transactionContext(inbound, key, () => {
        this.#counts.nonTwoxxAckTimeouts++;
      }),
    );
    const entry: ServerTransaction & { kind: 'invite' } = { kind: 'invite', tx };
    this.#serverTransactions.set(key, entry);
    return entry;
  }

  #createNonInviteTransaction(inbound: Inbound): NonInviteServerTransaction {
    const key = transactionKey(inbound.fields, inbound.request.method, inbound.request);
    const tx = new NonInviteServerTransaction(this.#transactionContext(inbound, key));
    this.#serverTransactions.set(key, { kind: 'non-invite', tx });
    return tx;
  }

  #transactionContext(inbound: Inbound, key: string, onTimeout?: () => void): ServerTransactionContext {
    return {
      clock: this.#clock,
      reliable: inbound.transport.reliable,
      send: (response) => {
        this.#sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
      },
      onAbsorbed: () => {
        this.#counts.retransmissionsAbsorbed++;
      },
      ...(onTimeout === undefined ? {} : { onTimeout }),
      onTerminated: () => {
        this.#serverTransactions.delete(key);
      },
    };
  }

  #sendResponse(
    response: SipResponse,
    via: { readonly port?: number; readonly rport: boolean },
    source: SipPeer,
    transport: SipTransport,
  ): void {
    if (this.#closed) {
      return;
    }
    const destination = responseDestination(via, source, (peer) => transport.isConnected(peer));
    this.#counts.sent++;
    transport.send(serializeSipMessage(response), destination);
  }

  /** Builds a response with our own headers (RFC 3261 §8.2.6, §20.35 Server, §20.5 Allow). */
  #build(request: SipRequest, status: number, reason: string, options: ResponseOptions): SipResponse {
    const extra = options.extraHeaders ?? [];
    const extraNames = new Set(extra.map((h) => h.name.toLowerCase()));
    const ours: SipHeader[] = [];
    if (options.contact === true && options.transportForContact !== undefined) {
      const transport = options.transportForContact;
      ours.push({
        name: 'Contact',
        value: `<sip:verbatim@${hostForUri(this.#options.advertise)}:${transport.port};transport=${transport.protocol}>`,
      });
    }
    if (options.minimal !== true) {
      ours.push({ name: 'Allow', value: ALLOWED_METHODS.join(', ') });
      ours.push({ name: 'Supported', value: SUPPORTED_OPTION_TAGS.join(', ') });
    }
    ours.push({ name: 'Server', value: this.#userAgent });
    const headers = [...ours.filter((h) => !extraNames.has(h.name.toLowerCase())), ...extra];
    return buildResponse(request, status, reason === '' ? defaultReason(status) : reason, {
      ...(options.toTag === undefined ? {} : { toTag: options.toTag }),
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  }
}

function defaultReason(status: number): string {
  switch (status) {
    case 405:
      return 'Method Not Allowed';
    case 501:
      return 'Not Implemented';
    default:
      return 'Unknown';
  }
}
