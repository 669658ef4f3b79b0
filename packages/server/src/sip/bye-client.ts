import type { SipRequest } from '../protocol/sip/message.js';
import { serializeSipMessage } from '../protocol/sip/serialize.js';
import type { SipTransport, SipTransportAddress } from '../transport/sip-transport.js';
import { hostForUri, randomToken } from './identifiers.js';
import { uriTarget } from './message-fields.js';
import { NonInviteClientTransaction } from './non-invite-client-transaction.js';
import type { UasDialog, UasDialogState } from './server-dialog.js';
import type { UasContext } from './uas-context.js';
import { defaultPort, MAGIC_COOKIE } from './via.js';

/**
 * BYE inside a dialog (RFC 3261 §15.1.1), each in its own non-INVITE client transaction
 * (§17.1.2); the core matches the responses to it by branch (transaction-table.ts).
 */
export class ByeClient {
  readonly #ctx: UasContext;

  constructor(ctx: UasContext) {
    this.#ctx = ctx;
  }

  send(dialog: UasDialog): void {
    const ctx = this.#ctx;
    const { state } = dialog;
    const transport = ctx.transportFor(state.peer.protocol);
    if (transport === undefined || ctx.isClosed()) {
      return;
    }
    const destination = dialogDestination(dialog.state, transport);
    if (destination === undefined) {
      ctx.counts.sendFailures++;
      ctx.logger.warn({ callId: dialog.callId, target: state.remoteTarget }, 'no address to send BYE to');
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
          value: `SIP/2.0/${protocol} ${hostForUri(ctx.advertise)}:${transport.port};branch=${branch};rport`,
        },
        { name: 'Max-Forwards', value: '70' },
        { name: 'From', value: state.localUri },
        { name: 'To', value: state.remoteUri },
        { name: 'Call-ID', value: state.callId },
        { name: 'CSeq', value: `${dialog.nextLocalSeq()} BYE` },
        // §12.2.1.1: with a loose-routing route set the Request-URI is the remote target and
        // the route set goes into Route headers, in order.
        ...state.routeSet.map((value) => ({ name: 'Route', value })),
        { name: 'User-Agent', value: ctx.userAgent },
      ],
      body: new Uint8Array(0),
    };
    const bytes = serializeSipMessage(request);
    const tx = new NonInviteClientTransaction(request, {
      clock: ctx.clock,
      reliable: transport.reliable,
      send: () => {
        ctx.counts.sent++;
        transport.send(bytes, destination);
      },
      onFinalResponse: (response) => {
        ctx.logger.debug({ callId: state.callId, status: response.status }, 'BYE answered');
      },
      onTimeout: () => {
        ctx.counts.byeTimeouts++;
        ctx.logger.info({ callId: state.callId }, 'BYE timed out (Timer F)');
      },
      onAbsorbed: () => {
        ctx.counts.retransmissionsAbsorbed++;
      },
      onTerminated: () => {
        ctx.transactions.deleteClient(branch, 'BYE');
      },
    });
    ctx.transactions.addClient(branch, 'BYE', tx);
    ctx.counts.byesSent++;
    tx.start();
  }
}

/**
 * Where a request inside a dialog goes: over the connection the dialog's peer used while it is
 * open; otherwise to the first route (§12.2.1.1) or to the remote target (its Contact).
 */
export function dialogDestination(
  state: UasDialogState,
  transport: SipTransport,
): SipTransportAddress | undefined {
  const { peer, routeSet, remoteTarget } = state;
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
