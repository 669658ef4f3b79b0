import { createHash, randomInt } from 'node:crypto';
import {
  digestAuthorization,
  parseDigestChallenge,
  type DigestChallenge,
  type DigestHash,
} from '../protocol/sip/digest.js';
import {
  getHeader,
  getHeaders,
  type SipHeader,
  type SipRequest,
  type SipResponse,
} from '../protocol/sip/message.js';
import { buildRequest } from '../protocol/sip/serialize.js';
import { serializeSipMessage } from '../protocol/sip/serialize.js';
import { parseNameAddr, splitHeaderList } from '../protocol/sip/headers.js';
import type { SipTransport, SipTransportAddress } from '../transport/sip-transport.js';
import { dialogDestination } from './bye-client.js';
import { hostForUri, randomToken } from './identifiers.js';
import { InviteClientTransaction } from './invite-client-transaction.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import type {
  OutboundCall,
  OutboundCallOutcome,
  OutboundCallRequest,
  OutboundFailureReason,
} from './outbound-types.js';
import { UasDialog, type DialogHost } from './server-dialog.js';
import { ALLOWED_METHODS } from './responses.js';
import { NamedTimers } from './transaction-timers.js';
import { TIMER_B_MS } from './timers.js';
import type { UasContext } from './uas-context.js';
import { MAGIC_COOKIE } from './via.js';

/** A second challenge after our credentials means they were refused (unless the nonce was stale). */
const MAX_AUTH_ATTEMPTS = 2;

const md5OrSha256: DigestHash = (algorithm, text) =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text, 'utf8')
    .digest('hex');

/**
 * Places Verbatim's own calls (direct outbound recording): the INVITE through the call
 * controller in an INVITE client transaction, the answer to its authentication challenge, the
 * ACK of the 2xx (sent by this core, §13.2.2.4, again for each retransmitted 2xx), and the CANCEL
 * when nobody answers. The dialog it creates is a `UasDialog` in the core's dialog table, so the
 * far side's BYE and re-INVITEs are handled as in every recording dialog.
 */
export class OutboundCalls {
  readonly #ctx: UasContext;
  readonly #dialogHost: DialogHost;
  /** Calls not yet settled, or whose INVITE transaction (or CANCEL guard) still runs. */
  readonly #live = new Set<OutboundInvite>();

  constructor(ctx: UasContext, dialogHost: DialogHost) {
    this.#ctx = ctx;
    this.#dialogHost = dialogHost;
  }

  call(request: OutboundCallRequest): OutboundCall {
    const invite = new OutboundInvite(this.#ctx, this.#dialogHost, request, () => {
      this.#live.delete(invite);
    });
    this.#live.add(invite);
    invite.start();
    return invite;
  }

  /** Shutdown: every call still ringing is given up (its outcome settles as cancelled), no timer is left. */
  close(): void {
    for (const invite of [...this.#live]) {
      invite.cancel();
      invite.stopTimers();
    }
    this.#live.clear();
  }
}

class OutboundInvite implements OutboundCall {
  readonly callId: string;
  readonly outcome: Promise<OutboundCallOutcome>;
  readonly #ctx: UasContext;
  readonly #dialogHost: DialogHost;
  readonly #request: OutboundCallRequest;
  readonly #onDone: () => void;
  readonly #fromTag = randomToken();
  readonly #timers: NamedTimers<'answer' | 'cancelGuard'>;
  readonly #destination: SipTransportAddress;
  #resolve!: (outcome: OutboundCallOutcome) => void;
  #settled = false;
  #cseq = randomInt(1, 2 ** 20);
  #authAttempts = 0;
  #nonceCount = 0;
  #authHeader: SipHeader | undefined;
  #invite: SipRequest | undefined;
  #branch = '';
  #tx: InviteClientTransaction | undefined;
  #provisional = false;
  /** The 2xx's ACK, re-sent for each retransmitted 2xx; and the dialog it belongs to. */
  #ack: { readonly bytes: Uint8Array; readonly to: SipTransportAddress } | undefined;

  constructor(ctx: UasContext, dialogHost: DialogHost, request: OutboundCallRequest, onDone: () => void) {
    this.#ctx = ctx;
    this.#dialogHost = dialogHost;
    this.#request = request;
    this.#onDone = onDone;
    this.#timers = new NamedTimers(ctx.clock);
    this.callId = request.callId ?? `${randomToken()}${randomToken()}@${hostForUri(ctx.advertise)}`;
    this.#destination = { address: request.proxy.host, port: request.proxy.port };
    this.outcome = new Promise((resolve) => {
      this.#resolve = resolve;
    });
  }

  get #transport(): SipTransport | undefined {
    return this.#ctx.transportFor(this.#request.proxy.protocol);
  }

  start(): void {
    if (this.#transport === undefined || this.#ctx.isClosed()) {
      this.#fail('unreachable', `no SIP ${this.#request.proxy.protocol.toUpperCase()} transport to send on`);
      return;
    }
    this.#timers.start('answer', this.#request.answerTimeoutMs, () => {
      this.#giveUp('no-answer', `not answered within ${this.#request.answerTimeoutMs / 1000} s`);
    });
    this.#sendInvite();
  }

  cancel(): void {
    this.#giveUp('cancelled', 'cancelled before the device answered');
  }

  /** A new INVITE transaction: the first one, or the retry carrying our credentials (§22.2). */
  #sendInvite(): void {
    const transport = this.#transport;
    if (transport === undefined) {
      return;
    }
    const ctx = this.#ctx;
    const protocol = transport.protocol;
    this.#branch = `${MAGIC_COOKIE}${randomToken()}`;
    const invite = buildRequest({
      method: 'INVITE',
      requestUri: this.#request.requestUri,
      via: `SIP/2.0/${protocol.toUpperCase()} ${hostForUri(ctx.advertise)}:${transport.port};branch=${this.#branch};rport`,
      from: `<sip:verbatim@${hostForUri(ctx.advertise)}>;tag=${this.#fromTag}`,
      to: `<${this.#request.requestUri}>`,
      callId: this.callId,
      cseq: this.#cseq,
      contact: `<sip:verbatim@${hostForUri(ctx.advertise)}:${transport.port};transport=${protocol}>`,
      headers: [
        { name: 'Allow', value: ALLOWED_METHODS.join(', ') },
        { name: 'User-Agent', value: ctx.userAgent },
        ...(this.#authHeader === undefined ? [] : [this.#authHeader]),
      ],
      body: this.#request.offer,
    });
    this.#invite = invite;
    const branch = this.#branch;
    const tx = new InviteClientTransaction(invite, {
      clock: ctx.clock,
      reliable: transport.reliable,
      send: (request) => {
        ctx.counts.sent++;
        transport.send(serializeSipMessage(request), this.#destination, (code) => {
          this.#onTransportError(tx, code);
        });
      },
      onProvisional: () => {
        this.#provisional = true;
      },
      onSuccess: (response) => {
        this.#onSuccess(response);
      },
      onFailure: (response) => {
        this.#onFailure(response);
      },
      onTimeout: () => {
        this.#fail('unreachable', `no response from the call controller within ${TIMER_B_MS / 1000} s`);
      },
      onAbsorbed: () => {
        ctx.counts.retransmissionsAbsorbed++;
      },
      onTerminated: () => {
        ctx.transactions.deleteClient(branch, 'INVITE');
        if (this.#tx === tx) {
          this.#tx = undefined;
          this.#timers.clear('cancelGuard');
          this.#doneIfIdle();
        }
      },
    });
    this.#tx = tx;
    ctx.transactions.addClient(branch, 'INVITE', tx);
    ctx.counts.outboundInvitesSent++;
    tx.start();
  }

  #onTransportError(tx: InviteClientTransaction, code: string): void {
    if (this.#tx !== tx || this.#settled) {
      return;
    }
    tx.abandon();
    this.#fail(
      'unreachable',
      `could not reach the call controller over ${this.#request.proxy.protocol.toUpperCase()} (${code})`,
    );
  }

  #onFailure(response: SipResponse): void {
    const status = response.status;
    if (this.#settled) {
      return;
    }
    if (status === 401 || status === 407) {
      this.#answerChallenge(response);
      return;
    }
    const phrase = `${status} ${response.reason}`;
    const reason: OutboundFailureReason =
      status === 486 || status === 600
        ? 'busy'
        : status === 408 || status === 480 || status === 487
          ? 'no-answer'
          : 'rejected';
    this.#fail(reason, `the call controller answered ${phrase}`, status);
  }

  /** §22.2 / §22.3: a new INVITE (CSeq + 1, same Call-ID and From tag) with our credentials. */
  #answerChallenge(response: SipResponse): void {
    const status = response.status;
    const credentials = this.#request.credentials;
    if (credentials === undefined) {
      this.#fail(
        'auth-failed',
        `the call controller asked for credentials (${status}) and none are configured (--outbound-username)`,
        status,
      );
      return;
    }
    const challengeHeader = status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
    let challenge: DigestChallenge | undefined;
    let problem = `no ${challengeHeader} header`;
    for (const value of getHeaders(response, challengeHeader)) {
      const parsed = parseDigestChallenge(value);
      if (parsed.ok) {
        challenge = parsed.value;
        break;
      }
      problem = parsed.error.message;
    }
    if (challenge === undefined) {
      this.#fail('auth-failed', `cannot answer the ${status} challenge: ${problem}`, status);
      return;
    }
    this.#authAttempts++;
    if (this.#authAttempts > MAX_AUTH_ATTEMPTS || (this.#authAttempts > 1 && !challenge.stale)) {
      this.#fail(
        'auth-failed',
        `the call controller refused the credentials of user "${credentials.username}" (${status})`,
        status,
      );
      return;
    }
    this.#ctx.counts.outboundAuthChallenges++;
    this.#nonceCount++;
    const value = digestAuthorization(
      challenge,
      credentials,
      { method: 'INVITE', uri: this.#request.requestUri },
      { cnonce: randomToken(), nonceCount: this.#nonceCount },
      md5OrSha256,
    );
    this.#authHeader = { name: status === 401 ? 'Authorization' : 'Proxy-Authorization', value };
    this.#cseq++;
    this.#provisional = false;
    this.#sendInvite();
  }

  #onSuccess(response: SipResponse): void {
    if (this.#ack !== undefined) {
      // §13.2.2.4: each retransmitted 2xx is answered with the same ACK again.
      this.#sendAck();
      return;
    }
    const dialog = this.#createDialog(response);
    if (dialog === undefined) {
      this.#fail('rejected', 'the 2xx has no usable To tag or Contact');
      return;
    }
    const transport = this.#transport;
    const to = transport === undefined ? undefined : dialogDestination(dialog.state, transport);
    if (to === undefined) {
      this.#fail('rejected', 'no address to send the ACK to');
      return;
    }
    this.#ack = { bytes: serializeSipMessage(this.#ackRequest(dialog)), to };
    this.#sendAck();
    if (this.#settled) {
      // Answered after we gave up (the 200 crossed our CANCEL): the call is ended at once.
      dialog.bye();
      return;
    }
    this.#ctx.dialogs.set(dialog.key, dialog);
    this.#ctx.counts.outboundAnswered++;
    this.#settle({ kind: 'answered', dialog, response });
  }

  #sendAck(): void {
    const transport = this.#transport;
    if (this.#ack === undefined || transport === undefined) {
      return;
    }
    this.#ctx.counts.sent++;
    transport.send(this.#ack.bytes, this.#ack.to);
  }

  /** §12.1.2: the UAC's dialog from the 2xx: route set reversed, remote target its Contact. */
  #createDialog(response: SipResponse): UasDialog | undefined {
    const to = getHeader(response, 'To');
    const parsedTo = to === undefined ? undefined : parseNameAddr(to.trim());
    const remoteTag = parsedTo?.ok === true ? parsedTo.value.params.get('tag') : undefined;
    if (to === undefined || remoteTag === undefined || remoteTag === null || this.#invite === undefined) {
      return undefined;
    }
    const contactValue = getHeader(response, 'Contact');
    const contact = contactValue === undefined ? undefined : splitHeaderList(contactValue)[0];
    const parsedContact = contact === undefined ? undefined : parseNameAddr(contact.trim());
    const remoteTarget = parsedContact?.ok === true ? parsedContact.value.uriText : this.#request.requestUri;
    const routeSet = getHeaders(response, 'Record-Route')
      .flatMap((v) => splitHeaderList(v).map((s) => s.trim()))
      .reverse();
    return new UasDialog(
      {
        callId: this.callId,
        localTag: this.#fromTag,
        remoteTag,
        remoteTarget,
        routeSet,
        localUri: getHeader(this.#invite, 'From') ?? '',
        remoteUri: to,
        // The far side has sent nothing in the dialog yet; its first request sets it (§12.2.2).
        remoteSeq: 0,
        peer: {
          protocol: this.#request.proxy.protocol,
          address: this.#destination.address,
          port: this.#destination.port,
        },
      },
      this.#request.delegate,
      this.#dialogHost,
      this.#cseq,
    );
  }

  /** §13.2.2.4: the ACK of a 2xx is a request of the dialog with the INVITE's CSeq number. */
  #ackRequest(dialog: UasDialog): SipRequest {
    const transport = this.#transport;
    const protocol = transport?.protocol ?? 'udp';
    return buildRequest({
      method: 'ACK',
      requestUri: dialog.state.remoteTarget,
      via: `SIP/2.0/${protocol.toUpperCase()} ${hostForUri(this.#ctx.advertise)}:${transport?.port ?? 0};branch=${MAGIC_COOKIE}${randomToken()};rport`,
      routes: dialog.state.routeSet,
      from: dialog.state.localUri,
      to: dialog.state.remoteUri,
      callId: this.callId,
      cseq: this.#cseq,
      // The ACK carries the INVITE's credentials (§22.2: a proxy may check them on the ACK too).
      headers: [
        { name: 'User-Agent', value: this.#ctx.userAgent },
        ...(this.#authHeader === undefined ? [] : [this.#authHeader]),
      ],
    });
  }

  /**
   * Stops waiting for the answer. A call that rang gets a CANCEL (§9.1); one that never got a
   * response at all is only abandoned (§9.1 forbids a CANCEL before a provisional response).
   */
  #giveUp(reason: 'no-answer' | 'cancelled', detail: string): void {
    if (this.#settled) {
      return;
    }
    const tx = this.#tx;
    if (tx !== undefined && this.#provisional && (tx.state === 'proceeding' || tx.state === 'calling')) {
      this.#sendCancel();
      // §9.1: no final response within 64*T1 of the CANCEL: the INVITE transaction is destroyed.
      this.#timers.start('cancelGuard', TIMER_B_MS, () => {
        tx.abandon();
      });
      this.#fail(reason, detail);
      return;
    }
    tx?.abandon();
    this.#fail(
      reason === 'no-answer' ? 'unreachable' : reason,
      reason === 'no-answer'
        ? `no response from the call controller within ${this.#request.answerTimeoutMs / 1000} s`
        : detail,
    );
  }

  /** §9.1: Request-URI, Call-ID, From, To, CSeq number, top Via and Route of the INVITE. */
  #sendCancel(): void {
    const transport = this.#transport;
    const invite = this.#invite;
    if (transport === undefined || invite === undefined) {
      return;
    }
    const ctx = this.#ctx;
    const keep = new Set(['via', 'route', 'from', 'to', 'call-id']);
    const headers: SipHeader[] = [];
    let viaSeen = false;
    for (const header of invite.headers) {
      const name = header.name.toLowerCase();
      if (!keep.has(name) || (name === 'via' && viaSeen)) {
        continue;
      }
      viaSeen ||= name === 'via';
      headers.push(header);
    }
    headers.push(
      { name: 'CSeq', value: `${this.#cseq} CANCEL` },
      { name: 'Max-Forwards', value: '70' },
      { name: 'User-Agent', value: ctx.userAgent },
    );
    const cancel: SipRequest = {
      type: 'request',
      method: 'CANCEL',
      requestUri: invite.requestUri,
      headers,
      body: new Uint8Array(0),
    };
    const bytes = serializeSipMessage(cancel);
    const branch = this.#branch;
    const tx = new NonInviteClientTransaction(cancel, {
      clock: ctx.clock,
      reliable: transport.reliable,
      send: () => {
        ctx.counts.sent++;
        transport.send(bytes, this.#destination);
      },
      onFinalResponse: () => undefined,
      onTimeout: () => undefined,
      onAbsorbed: () => {
        ctx.counts.retransmissionsAbsorbed++;
      },
      onTerminated: () => {
        ctx.transactions.deleteClient(branch, 'CANCEL');
      },
    });
    ctx.transactions.addClient(branch, 'CANCEL', tx);
    ctx.counts.outboundCancelsSent++;
    tx.start();
  }

  #fail(reason: OutboundFailureReason, detail: string, sipStatus?: number): void {
    if (this.#settled) {
      return;
    }
    this.#ctx.counts.outboundFailed++;
    this.#settle({ kind: 'failed', reason, detail, ...(sipStatus === undefined ? {} : { sipStatus }) });
  }

  #settle(outcome: OutboundCallOutcome): void {
    this.#settled = true;
    this.#timers.clear('answer');
    this.#doneIfIdle();
    this.#resolve(outcome);
  }

  /** Settled and no INVITE transaction left: the call needs nothing more. */
  #doneIfIdle(): void {
    if (this.#settled && this.#tx === undefined) {
      this.#timers.clearAll();
      this.#onDone();
    }
  }

  stopTimers(): void {
    this.#timers.clearAll();
  }
}
