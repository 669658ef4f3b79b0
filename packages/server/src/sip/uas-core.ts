import type { Logger } from 'pino';
import { RateLimitedLog } from '../rate-limited-log.js';
import type { ParseError, Result } from '../protocol/result.js';
import { parseSipMessage } from '../protocol/sip/parse.js';
import { serializeSipMessage } from '../protocol/sip/serialize.js';
import {
  getHeaders,
  type SipHeader,
  type SipMessage,
  type SipRequest,
  type SipResponse,
} from '../protocol/sip/message.js';
import { splitHeaderList } from '../protocol/sip/headers.js';
import type { SipTransport } from '../transport/sip-transport.js';
import { ByeClient } from './bye-client.js';
import { randomToken } from './identifiers.js';
import { InDialogRequests } from './in-dialog-requests.js';
import { InviteHandling } from './invite-handling.js';
import { readMessageFields, readTopVia, requestUriScheme } from './message-fields.js';
import { answerForParseError, checkSipMessageLimits, type SipLimitReason } from './message-limits.js';
import { KNOWN_UNSUPPORTED_METHODS, SUPPORTED_OPTION_TAGS, UasResponses } from './responses.js';
import { salvageRequest } from './salvage.js';
import { OutboundCalls } from './outbound-call.js';
import type { OutboundCall, OutboundCallRequest } from './outbound-types.js';
import { SourceRateLimiter } from './source-rate-limiter.js';
import type { DialogHost, UasDialog } from './server-dialog.js';
import { systemClock, type Clock } from './timers.js';
import { TransactionTable, type Inbound } from './transaction-table.js';
import type { SipPeer, SipServerDelegate, SipTransportProtocol } from './types.js';
import type { UasContext } from './uas-context.js';
import { newUasCounters } from './uas-counters.js';
import { annotateTopVia, responseDestination } from './via.js';

/** Requests that only make sense inside a dialog: without one they get 481 (§12.2.2, §15.1.2). */
const IN_DIALOG_ONLY = new Set(['BYE', 'UPDATE', 'INFO']);

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
  /**
   * New-dialog INVITEs per second one source address may send (a burst of twice as many passes);
   * beyond it they get a stateless 503 with Retry-After. 0 or absent: no per-source limit.
   */
  readonly sourceInviteRate?: number;
}

const DEFAULT_MAX_TRANSACTIONS = 50_000;
const DEFAULT_MAX_DIALOGS = 20_000;
const DEFAULT_INVITE_ANSWER_TIMEOUT_MS = 32_000;
/**
 * The burst of new-dialog INVITEs one source may send at once, in seconds of its rate: a
 * controller that fails over to this node sends the calls it was setting up in one go.
 */
const SOURCE_BURST_SECONDS = 2;
/**
 * Source addresses with a bucket at once (source-rate-limiter.ts): far more controllers than a
 * deployment has, few enough (about 1 MB) that a scan from many addresses costs little.
 */
const MAX_RATE_LIMITED_SOURCES = 10_000;
/** Retry-After of the 503 when the transaction table is full: most transactions end within T4 (5 s). */
const OVERLOAD_RETRY_AFTER_S = 5;
/** Retry-After of a per-source refusal: a token comes back within a second at any rate >= 1/s. */
const SOURCE_RATE_RETRY_AFTER_S = 1;
/** Counter of each message limit (message-limits.ts). */
const LIMIT_COUNTERS = {
  'header-fields': 'overLimitHeaderFields',
  vias: 'overLimitVias',
  'header-field-length': 'overLimitHeaderFieldLength',
} as const satisfies Record<SipLimitReason, string>;

/**
 * The UAS core over injected transports and clock: parses what the transports deliver, runs the
 * server transactions (RFC 3261 §17.2), keeps dialogs (§12) and answers everything RFC 3261
 * prescribes by itself. Only decisions that need the recording domain reach the delegate.
 *
 * This class receives and routes; its parts do the work: transaction-table.ts (the transactions
 * in progress), invite-handling.ts (dialog-creating INVITE, CANCEL, ACK), in-dialog-requests.ts
 * (BYE, re-INVITE, UPDATE, INFO), bye-client.ts (our BYE), outbound-call.ts (our own INVITEs,
 * direct outbound recording) and responses.ts (what every response says about us).
 */
export class SipUasCore {
  readonly #logger: Logger;
  readonly #maxTransactions: number;
  readonly #transports = new Map<SipTransportProtocol, SipTransport>();
  readonly #counts = newUasCounters();
  readonly #dialogs = new Map<string, UasDialog>();
  readonly #transactions: TransactionTable;
  readonly #responses: UasResponses;
  readonly #ctx: UasContext;
  readonly #byes: ByeClient;
  readonly #invites: InviteHandling;
  readonly #inDialog: InDialogRequests;
  readonly #outbound: OutboundCalls;
  readonly #clock: Clock;
  readonly #notices: RateLimitedLog;
  readonly #sourceLimiter: SourceRateLimiter | undefined;
  #closed = false;

  constructor(options: SipUasCoreOptions) {
    this.#logger = options.logger.child({ component: 'sip' });
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.#notices = new RateLimitedLog(this.#logger, { timer: clock });
    const rate = options.sourceInviteRate ?? 0;
    this.#sourceLimiter =
      rate > 0
        ? new SourceRateLimiter(rate, Math.max(1, rate * SOURCE_BURST_SECONDS), MAX_RATE_LIMITED_SOURCES)
        : undefined;
    const userAgent = options.userAgent ?? 'Verbatim';
    this.#maxTransactions = options.maxTransactions ?? DEFAULT_MAX_TRANSACTIONS;
    this.#responses = new UasResponses(options.advertise, userAgent);
    this.#transactions = new TransactionTable({
      clock,
      sendResponse: (response, inbound) => {
        this.#sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
      },
      onAbsorbed: () => {
        this.#counts.retransmissionsAbsorbed++;
      },
      onNonTwoxxAckTimeout: () => {
        this.#counts.nonTwoxxAckTimeouts++;
      },
    });
    this.#ctx = {
      advertise: options.advertise,
      userAgent,
      logger: this.#logger,
      notice: (reason, message, fields) => {
        this.#notices.note(reason, message, fields, clock.now());
      },
      clock,
      counts: this.#counts,
      transactions: this.#transactions,
      dialogs: this.#dialogs,
      responses: this.#responses,
      isClosed: () => this.#closed,
      transportFor: (protocol) => this.#transports.get(protocol),
      sendResponse: (response, via, source, transport) => {
        this.#sendResponse(response, via, source, transport);
      },
      replyInTransaction: (inbound, method, status, reason, extraHeaders, contact) => {
        this.#replyInTransaction(inbound, method, status, reason, extraHeaders, contact);
      },
    };
    this.#byes = new ByeClient(this.#ctx);
    const dialogHost: DialogHost = {
      clock,
      logger: this.#logger,
      sendBye: (dialog) => {
        this.#byes.send(dialog);
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
    this.#invites = new InviteHandling(this.#ctx, {
      isTrusted: options.isTrusted,
      delegate: options.delegate,
      maxDialogs: options.maxDialogs ?? DEFAULT_MAX_DIALOGS,
      answerTimeoutMs: options.inviteAnswerTimeoutMs ?? DEFAULT_INVITE_ANSWER_TIMEOUT_MS,
      dialogHost,
    });
    this.#outbound = new OutboundCalls(this.#ctx, dialogHost);
    this.#inDialog = new InDialogRequests(this.#ctx);
  }

  /** Makes a transport available for responses and our own requests over its protocol. */
  attach(transport: SipTransport): void {
    this.#transports.set(transport.protocol, transport);
  }

  counters(): Readonly<Record<string, number>> {
    return {
      ...this.#counts,
      serverTransactions: this.#transactions.serverCount,
      clientTransactions: this.#transactions.clientCount,
      dialogs: this.#dialogs.size,
    };
  }

  /** Places an outbound call (direct outbound recording) through the given call controller. */
  call(request: OutboundCallRequest): OutboundCall {
    return this.#outbound.call(request);
  }

  /** Stops every timer; transports are closed by their owner. */
  close(): void {
    this.#outbound.close();
    this.#closed = true;
    this.#notices.flush(this.#clock.now(), true);
    this.#transactions.close();
    for (const dialog of this.#dialogs.values()) {
      dialog.close();
    }
    this.#dialogs.clear();
  }

  /**
   * Entry point for every message a transport delivers. Never throws on wire input. With
   * `refusedFor`, the transport refused the message (a stream message over the size cap) and
   * `bytes` is its header section: it is answered (413) if it can be, never processed.
   */
  receive(bytes: Uint8Array, source: SipPeer, refusedFor?: ParseError): void {
    if (this.#closed) {
      return;
    }
    this.#counts.received++;
    const transport = this.#transports.get(source.protocol);
    if (transport === undefined) {
      this.#counts.dropped++;
      return;
    }
    const parsed: Result<SipMessage> =
      refusedFor === undefined ? parseSipMessage(bytes) : { ok: false, error: refusedFor };
    if (!parsed.ok) {
      this.#counts.malformed++;
      this.#noteMalformed(parsed.error, source, 'malformed message');
      const salvaged = salvageRequest(bytes);
      if (salvaged === undefined || !this.#answerBadRequest(salvaged, parsed.error, source, transport)) {
        this.#counts.dropped++;
      }
      return;
    }
    const message = parsed.value;
    const overLimit = checkSipMessageLimits(message);
    if (overLimit !== undefined) {
      this.#counts[LIMIT_COUNTERS[overLimit.reason]]++;
      this.#ctx.notice(`limit-${overLimit.reason}`, 'message over a limit', {
        peer: source,
        detail: overLimit.detail,
      });
      if (
        message.type === 'response' ||
        message.method === 'ACK' ||
        !this.#answerBadRequest(
          message,
          { status: 400, phrase: overLimit.phrase, detail: overLimit.detail },
          source,
          transport,
        )
      ) {
        this.#counts.dropped++;
      }
      return;
    }
    if (message.type === 'response') {
      this.#counts.responsesReceived++;
      this.#receiveResponse(message);
      return;
    }
    this.#counts.requestsReceived++;
    const fields = readMessageFields(message);
    if (!fields.ok) {
      this.#counts.malformed++;
      this.#noteMalformed(fields.error, source, 'unusable request');
      if (message.method === 'ACK' || !this.#answerBadRequest(message, fields.error, source, transport)) {
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

  /** §17.1.3: a response matches one of our client transactions by top Via branch and CSeq method. */
  #receiveResponse(response: SipResponse): void {
    const fields = readMessageFields(response);
    const tx = fields.ok
      ? fields.value.topVia.branch === undefined
        ? undefined
        : this.#transactions.findClient(fields.value.topVia.branch, fields.value.cseq.method)
      : undefined;
    if (tx === undefined) {
      this.#counts.responsesUnmatched++;
      this.#counts.dropped++;
      return;
    }
    tx.receiveResponse(response);
  }

  /** Malformed input is the peer's problem, not ours: a counted, rate-limited warn, no stack. */
  #noteMalformed(error: ParseError, source: SipPeer, message: string): void {
    this.#ctx.notice(error.code, message, { peer: source, detail: error.message.slice(0, 200) });
  }

  /**
   * Sends a stateless 4xx naming the problem in its reason phrase (§21.4.1) and a Warning with
   * the details (§8.2, §18.3): 400, or 413 for a message over the size cap. False when it cannot
   * be routed.
   */
  #answerBadRequest(
    request: SipRequest,
    problem: ParseError | { readonly status: number; readonly phrase: string; readonly detail: string },
    source: SipPeer,
    transport: SipTransport,
  ): boolean {
    const topVia = readTopVia(request);
    if (!topVia.ok) {
      return false;
    }
    const { status, phrase } = 'status' in problem ? problem : answerForParseError(problem);
    const detail = 'detail' in problem ? problem.detail : problem.message;
    const annotated = annotateTopVia(request, topVia.value.host, source);
    const response = this.#responses.build(annotated, status, phrase, {
      toTag: randomToken(),
      extraHeaders: [this.#responses.warning(detail)],
    });
    this.#sendResponse(response, topVia.value, source, transport);
    this.#counts.badRequestsAnswered++;
    return true;
  }

  #handleRequest(inbound: Inbound): void {
    const { request, fields } = inbound;
    const method = request.method;
    if (method === 'ACK') {
      this.#invites.handleAck(inbound);
      return;
    }
    const existing = this.#transactions.findServer(fields, method, request);
    if (existing !== undefined) {
      if (existing.kind === 'invite') {
        existing.tx.receiveInvite();
      } else {
        existing.tx.receiveRequest();
      }
      return;
    }
    if (
      method === 'INVITE' &&
      fields.toTag === undefined &&
      this.#sourceLimiter?.take(inbound.source.address, this.#clock.now()) === false
    ) {
      // Checked before anything is kept for the request: a flood from one address costs one
      // bucket lookup and one stateless answer per INVITE (§8.2.7 lets a UAS answer statelessly).
      this.#counts.sourceRateLimited++;
      this.#ctx.notice('source-rate-limited', 'new-dialog INVITEs over the per-source rate: 503', {
        peer: inbound.source,
      });
      this.#rejectStateless(inbound, SOURCE_RATE_RETRY_AFTER_S);
      return;
    }
    if (this.#transactions.size >= this.#maxTransactions) {
      this.#counts.overloadRejected++;
      this.#ctx.notice('max-transactions', 'transaction table full: request refused with 503', {
        peer: inbound.source,
      });
      this.#rejectStateless(inbound, OVERLOAD_RETRY_AFTER_S);
      return;
    }
    if (method === 'CANCEL') {
      this.#invites.handleCancel(inbound);
      return;
    }
    if (fields.toTag !== undefined) {
      this.#inDialog.handle(inbound, fields.toTag);
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
      this.#invites.handleInitialInvite(inbound);
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
    const response = this.#responses.build(inbound.request, status, reason, {
      ...(toTag === undefined ? {} : { toTag }),
      extraHeaders,
      contact,
      transportForContact: inbound.transport,
    });
    if (method === 'INVITE') {
      const tx = this.#transactions.createInvite(inbound);
      tx.tx.respond(response);
    } else {
      const tx = this.#transactions.createNonInvite(inbound);
      tx.respond(response);
    }
  }

  /** A stateless 503 with Retry-After (§21.5.4): nothing is kept for the request. */
  #rejectStateless(inbound: Inbound, retryAfterSeconds: number): void {
    const response = this.#responses.build(inbound.request, 503, 'Service Unavailable', {
      toTag: randomToken(),
      extraHeaders: [{ name: 'Retry-After', value: String(retryAfterSeconds) }],
    });
    this.#sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
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
}
