import { randomInt } from 'node:crypto';
import { getHeader, type SipHeader, type SipRequest, type SipResponse } from '../protocol/sip/message.js';
import { hostForUri, randomToken } from './identifiers.js';
import { contactUri, recordRoutes } from './message-fields.js';
import { dialogKey, UasDialog, type DialogHost } from './server-dialog.js';
import type { Inbound, PendingInvite } from './transaction-table.js';
import { NamedTimers } from './transaction-timers.js';
import type { DialogDelegate, ServerDialog, SipBody, SipPeer, SipServerDelegate } from './types.js';
import type { UasContext } from './uas-context.js';

interface InviteHandlingOptions {
  /** INVITEs from other peers get 403 without reaching the delegate. */
  readonly isTrusted: (peer: SipPeer) => boolean;
  readonly delegate: SipServerDelegate;
  /** Dialogs kept at once; beyond it INVITEs get 503. */
  readonly maxDialogs: number;
  /** A delegate that neither accepts nor rejects an INVITE within this time gets a 500 for it. */
  readonly answerTimeoutMs: number;
  /** Handed to every dialog created: how it sends BYE and tells the core it ended. */
  readonly dialogHost: DialogHost;
}

/** The INVITE handed to the delegate (sip/types.ts IncomingInvite). */
class InviteHandle implements PendingInvite {
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
 * The dialog-creating INVITE from first request to dialog: trust and capacity checks, 100 Trying,
 * the delegate's accept or reject (bounded in time), the 2xx retransmitted until its ACK, and
 * CANCEL (§9.2) and the ACK (§17.2.3) that belong to it.
 */
export class InviteHandling {
  readonly #ctx: UasContext;
  readonly #options: InviteHandlingOptions;

  constructor(ctx: UasContext, options: InviteHandlingOptions) {
    this.#ctx = ctx;
    this.#options = options;
  }

  /** An INVITE without To tag that passed the checks every request outside a dialog gets. */
  handleInitialInvite(inbound: Inbound): void {
    const ctx = this.#ctx;
    if (!this.#options.isTrusted(inbound.source)) {
      ctx.counts.untrustedRejected++;
      ctx.notice('untrusted', 'INVITE from an untrusted peer: 403', {
        peer: inbound.source,
        callId: inbound.fields.callId,
      });
      ctx.replyInTransaction(inbound, 'INVITE', 403, 'Forbidden');
      return;
    }
    if (ctx.dialogs.size >= this.#options.maxDialogs) {
      ctx.counts.overloadRejected++;
      ctx.notice('max-dialogs', 'dialog table full: INVITE refused with 503', { peer: inbound.source });
      ctx.replyInTransaction(inbound, 'INVITE', 503, 'Service Unavailable', [
        { name: 'Retry-After', value: '5' },
      ]);
      return;
    }
    const toTag = randomToken();
    const answerTimer = new NamedTimers<'answer'>(ctx.clock);
    const entry = ctx.transactions.createInvite(inbound);
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
      const response = ctx.responses.build(inbound.request, 200, 'OK', {
        toTag,
        extraHeaders,
        body,
        contact: true,
        transportForContact: inbound.transport,
      });
      if (!finalResponse(response)) {
        return undefined;
      }
      ctx.counts.invitesAccepted++;
      ctx.dialogs.set(dialog.key, dialog);
      dialog.startAckWait(inbound.fields.cseq.seq, () => {
        ctx.sendResponse(response, inbound.fields.topVia, inbound.source, inbound.transport);
      });
      return dialog;
    };
    const reject = (status: number, reason: string, extraHeaders: readonly SipHeader[] = []): void => {
      if (!Number.isInteger(status) || status < 300 || status > 699) {
        throw new RangeError(`reject needs a 300-699 status, got ${status}`);
      }
      const response = ctx.responses.build(inbound.request, status, reason, { toTag, extraHeaders });
      if (finalResponse(response)) {
        ctx.counts.invitesRejected++;
      }
    };
    const handle = new InviteHandle(inbound, accept, reject);
    entry.invite = handle;
    // §17.2.1: the 100 Trying stops the client's INVITE retransmissions; sent at once.
    entry.tx.respond(ctx.responses.build(inbound.request, 100, 'Trying', { minimal: true }));
    answerTimer.start('answer', this.#options.answerTimeoutMs, () => {
      ctx.logger.warn({ callId: inbound.fields.callId }, 'INVITE not answered by the delegate in time');
      finalResponse(ctx.responses.build(inbound.request, 500, 'Server Internal Error', { toTag }));
    });
    try {
      this.#options.delegate.onInvite(handle);
    } catch (error) {
      ctx.logger.error({ err: error, callId: inbound.fields.callId }, 'onInvite threw');
      finalResponse(ctx.responses.build(inbound.request, 500, 'Server Internal Error', { toTag }));
    }
  }

  /** A CANCEL (no existing transaction of its own): ends the INVITE it names, if still pending. */
  handleCancel(inbound: Inbound): void {
    const ctx = this.#ctx;
    const { fields, request } = inbound;
    const inviteEntry = ctx.transactions.findServer(fields, 'INVITE', request);
    const cancelTx = ctx.transactions.createNonInvite(inbound);
    if (inviteEntry?.kind !== 'invite') {
      // §9.2: "If the UAS did not find a matching transaction for the CANCEL ... it SHOULD
      // respond to the CANCEL with a 481 (Call Leg/Transaction Does Not Exist)."
      ctx.counts.cancelsUnmatched++;
      cancelTx.respond(
        ctx.responses.build(request, 481, 'Call/Transaction Does Not Exist', { toTag: randomToken() }),
      );
      return;
    }
    ctx.counts.cancelsMatched++;
    const invite = inviteEntry.invite;
    const toTag = fields.toTag === undefined ? (inviteEntry.toTag ?? randomToken()) : undefined;
    // §9.2: the CANCEL itself is answered 200 whether or not the INVITE still can be cancelled.
    cancelTx.respond(ctx.responses.build(request, 200, 'OK', toTag === undefined ? {} : { toTag }));
    if (invite !== undefined && !inviteEntry.tx.finalSent) {
      // §9.2: "the UAS SHOULD then respond to the INVITE with a 487 (Request Terminated)."
      invite.markCancelled();
      invite.reject(487, 'Request Terminated');
      try {
        invite.oncancel?.();
      } catch (error) {
        ctx.logger.error({ err: error, callId: fields.callId }, 'oncancel threw');
      }
    }
  }

  /** An ACK: for a non-2xx it belongs to the INVITE transaction, for a 2xx to the dialog. */
  handleAck(inbound: Inbound): void {
    const ctx = this.#ctx;
    const { fields, request } = inbound;
    const entry = ctx.transactions.findServer(fields, 'INVITE', request);
    if (entry?.kind === 'invite' && entry.tx.state !== 'accepted') {
      // §17.2.3: an ACK matching the INVITE's transaction acknowledges a non-2xx response.
      entry.tx.receiveAck();
      return;
    }
    const dialog =
      fields.toTag === undefined
        ? undefined
        : ctx.dialogs.get(dialogKey(fields.callId, fields.toTag, fields.fromTag ?? ''));
    if (dialog === undefined) {
      // §17.2.3 / §12.2.2: an ACK outside any transaction or dialog is discarded; never answered.
      ctx.counts.acksUnknownDialog++;
      ctx.counts.dropped++;
      return;
    }
    try {
      dialog.receiveAck(request, fields.cseq.seq);
    } catch (error) {
      ctx.logger.error({ err: error, callId: fields.callId }, 'onAck threw');
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
      this.#options.dialogHost,
      randomInt(1, 2 ** 20),
    );
  }
}
