import pino from 'pino';
import { getHeader, type SipResponse } from '../../../../src/protocol/sip/message.js';
import { createSipServer, type SipServer, type SipServerOptions } from '../../../../src/sip/sip-server.js';
import type { DialogDelegate, IncomingInvite, SipServerDelegate } from '../../../../src/sip/types.js';
import { OFFER_SDP } from './sip-messages.js';

/**
 * The SIP server as the integration tests run it: on 127.0.0.1, ephemeral ports, a silent log,
 * every peer trusted; `overrides` changes any of these.
 */
export function loopbackSipServer(
  delegate: SipServerDelegate,
  overrides: Partial<Omit<SipServerOptions, 'delegate'>> = {},
): SipServer {
  return createSipServer({
    bind: '127.0.0.1',
    udpTcpPort: 0,
    advertise: '127.0.0.1',
    isTrusted: () => true,
    logger: pino({ level: 'silent' }),
    ...overrides,
    delegate,
  });
}

/** Answers the INVITE 200 with the canned SDP offer (the recorder offers when the INVITE has none). */
export function acceptWithOffer(invite: IncomingInvite, dialog: DialogDelegate): void {
  invite.accept({ contentType: 'application/sdp', content: OFFER_SDP }, dialog);
}

/** The To tag the server put in its response. */
export function toTagOf(response: SipResponse): string {
  const match = /;tag=([^;]+)/.exec(getHeader(response, 'To') ?? '');
  if (match?.[1] === undefined) {
    throw new Error('response without To tag');
  }
  return match[1];
}
