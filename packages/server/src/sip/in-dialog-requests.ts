import { randomInt } from 'node:crypto';
import { ALLOWED_METHODS, KNOWN_UNSUPPORTED_METHODS } from './responses.js';
import { dialogKey, type UasDialog } from './server-dialog.js';
import type { Inbound } from './transaction-table.js';
import type { SipHeader } from '../protocol/sip/message.js';
import type { SipBody } from './types.js';
import type { UasContext } from './uas-context.js';

/**
 * Requests with a To tag (RFC 3261 §12.2.2) other than ACK and CANCEL: matched to their dialog,
 * checked for CSeq order, BYE answered by the layer, re-INVITE, UPDATE and INFO by the dialog's
 * delegate.
 */
export class InDialogRequests {
  readonly #ctx: UasContext;

  constructor(ctx: UasContext) {
    this.#ctx = ctx;
  }

  handle(inbound: Inbound, toTag: string): void {
    const ctx = this.#ctx;
    const { request, fields } = inbound;
    const method = request.method;
    const dialog = ctx.dialogs.get(dialogKey(fields.callId, toTag, fields.fromTag ?? ''));
    if (dialog === undefined) {
      // §12.2.2: "If the UAS receives a request with a tag in the To header field that does not
      // match any existing dialog ... the UAS SHOULD respond with a 481."
      ctx.counts.unknownDialog++;
      ctx.replyInTransaction(inbound, method, 481, 'Call/Transaction Does Not Exist');
      return;
    }
    if (fields.cseq.seq < dialog.remoteSeq) {
      // §12.2.2: "If the remote sequence number ... is lower than this value, the request is out
      // of order and MUST be rejected with a 500 (Server Internal Error) response."
      ctx.replyInTransaction(inbound, method, 500, 'Server Internal Error', [
        ctx.responses.warning('CSeq out of order'),
      ]);
      return;
    }
    dialog.remoteSeq = fields.cseq.seq;
    if (method === 'BYE') {
      ctx.counts.byesReceived++;
      ctx.replyInTransaction(inbound, method, 200, 'OK');
      try {
        dialog.receiveBye(request);
      } catch (error) {
        ctx.logger.error({ err: error, callId: fields.callId }, 'onBye threw');
      }
      return;
    }
    if (method === 'INVITE' && dialog.inviteInProgress) {
      // §14.2: "A UAS that receives a second INVITE before it sends the final response to a
      // first INVITE with a lower CSeq sequence number on the same dialog MUST return a 500
      // (Server Internal Error) response to the second INVITE and MUST include a Retry-After
      // header field with a randomly chosen value of between 0 and 10 seconds."
      ctx.replyInTransaction(inbound, method, 500, 'Server Internal Error', [
        { name: 'Retry-After', value: String(randomInt(0, 11)) },
      ]);
      return;
    }
    if (method !== 'INVITE' && !(ALLOWED_METHODS as readonly string[]).includes(method)) {
      ctx.replyInTransaction(inbound, method, KNOWN_UNSUPPORTED_METHODS.has(method) ? 405 : 501, '');
      return;
    }
    this.#answerByDelegate(inbound, dialog);
  }

  /** A re-INVITE, UPDATE or INFO inside an established dialog, answered by the delegate. */
  #answerByDelegate(inbound: Inbound, dialog: UasDialog): void {
    const ctx = this.#ctx;
    const { request, fields } = inbound;
    const isInvite = request.method === 'INVITE';
    const inviteEntry = isInvite ? ctx.transactions.createInvite(inbound) : undefined;
    const nonInviteTx = isInvite ? undefined : ctx.transactions.createNonInvite(inbound);
    if (inviteEntry !== undefined) {
      dialog.inviteInProgress = true;
      inviteEntry.tx.respond(ctx.responses.build(request, 100, 'Trying', { minimal: true }));
    }
    let answered = false;
    const respond = (
      status: number,
      reason: string,
      body?: SipBody,
      extraHeaders: readonly SipHeader[] = [],
    ): void => {
      if (answered || status < 200 || status > 699) {
        ctx.logger.warn(
          { callId: fields.callId, status },
          'in-dialog respond ignored (repeated or not final)',
        );
        return;
      }
      answered = true;
      const twoxx = status < 300;
      const response = ctx.responses.build(request, status, reason, {
        ...(body === undefined ? {} : { body }),
        extraHeaders,
        contact: twoxx && (isInvite || request.method === 'UPDATE'),
        transportForContact: inbound.transport,
      });
      if (inviteEntry !== undefined) {
        dialog.inviteInProgress = false;
        inviteEntry.tx.respond(response);
        if (twoxx && !dialog.terminated) {
          // §14.2 and §13.3.1.4: the 2xx to a re-INVITE is retransmitted until its ACK too.
          dialog.startAckWait(fields.cseq.seq, () => {
            ctx.sendResponse(response, fields.topVia, inbound.source, inbound.transport);
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
      ctx.logger.error({ err: error, callId: fields.callId }, 'onRequest threw');
      respond(500, 'Server Internal Error');
    }
  }
}
