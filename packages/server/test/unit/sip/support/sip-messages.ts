import { randomBytes } from 'node:crypto';

/** Raw SIP requests as a call controller would send them, for unit and integration tests. */
export interface RequestOptions {
  readonly method: string;
  readonly callId: string;
  readonly branch: string;
  readonly fromTag: string;
  readonly toTag?: string;
  readonly cseq: number;
  /** CSeq method when it must differ from the request method (CANCEL/ACK use their own). */
  readonly cseqMethod?: string;
  readonly viaHost?: string;
  readonly viaPort: number;
  readonly transport?: 'UDP' | 'TCP' | 'TLS';
  readonly rport?: boolean;
  readonly requestUri?: string;
  readonly contact?: string;
  readonly extraHeaders?: readonly string[];
  readonly body?: string;
  readonly contentType?: string;
}

export function randomId(): string {
  return randomBytes(6).toString('hex');
}

export function sipRequest(o: RequestOptions): string {
  const transport = o.transport ?? 'UDP';
  const host = o.viaHost ?? '127.0.0.1';
  const body = o.body ?? '';
  const lines = [
    `${o.method} ${o.requestUri ?? 'sip:8675309@127.0.0.1'} SIP/2.0`,
    `Via: SIP/2.0/${transport} ${host}:${o.viaPort};branch=${o.branch}${o.rport === true ? ';rport' : ''}`,
    `From: <sip:9110001@${host};x-nearend;x-refci=38960750>;tag=${o.fromTag}`,
    `To: <sip:8675309@127.0.0.1>${o.toTag === undefined ? '' : `;tag=${o.toTag}`}`,
    `Call-ID: ${o.callId}`,
    `CSeq: ${o.cseq} ${o.cseqMethod ?? o.method}`,
    'Max-Forwards: 70',
    ...(o.contact === undefined && o.method !== 'INVITE'
      ? []
      : [
          `Contact: ${o.contact ?? `<sip:9110001@${host}:${o.viaPort};transport=${transport.toLowerCase()}>`}`,
        ]),
    ...(o.extraHeaders ?? []),
    ...(body === '' ? [] : [`Content-Type: ${o.contentType ?? 'application/sdp'}`]),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ];
  return lines.join('\r\n');
}

/** An OPTIONS out of dialog with fresh Call-ID, branch and From tag, sent from `viaPort`. */
export function freshOptions(viaPort: number, transport: RequestOptions['transport'] = 'UDP'): string {
  return sipRequest({
    method: 'OPTIONS',
    callId: randomId(),
    branch: `z9hG4bK${randomId()}`,
    fromTag: randomId(),
    cseq: 1,
    viaPort,
    transport,
  });
}

/** A delayed-offer INVITE dialog as CUCM opens it: INVITE then ACK/CANCEL/BYE built from it. */
export class CallScript {
  readonly callId = `${randomId()}@127.0.0.1`;
  readonly fromTag = randomId();
  readonly inviteBranch = `z9hG4bK${randomId()}`;
  readonly viaPort: number;
  readonly transport: 'UDP' | 'TCP' | 'TLS';
  readonly rport: boolean;

  constructor(viaPort: number, transport: 'UDP' | 'TCP' | 'TLS' = 'UDP', rport = false) {
    this.viaPort = viaPort;
    this.transport = transport;
    this.rport = rport;
  }

  #base(): Pick<RequestOptions, 'callId' | 'fromTag' | 'viaPort' | 'transport' | 'rport'> {
    return {
      callId: this.callId,
      fromTag: this.fromTag,
      viaPort: this.viaPort,
      transport: this.transport,
      rport: this.rport,
    };
  }

  invite(extra: Partial<RequestOptions> = {}): string {
    return sipRequest({ ...this.#base(), method: 'INVITE', branch: this.inviteBranch, cseq: 101, ...extra });
  }

  /** The ACK of a 2xx: a new branch and the To tag of the 2xx (RFC 3261 §13.2.2.4). */
  ackFor2xx(toTag: string, body?: string, cseq = 101): string {
    return sipRequest({
      ...this.#base(),
      method: 'ACK',
      branch: `z9hG4bK${randomId()}`,
      toTag,
      cseq,
      ...(body === undefined ? {} : { body }),
    });
  }

  /** The ACK of a non-2xx: same branch as the INVITE (RFC 3261 §17.1.1.3). */
  ackForFailure(toTag: string): string {
    return sipRequest({ ...this.#base(), method: 'ACK', branch: this.inviteBranch, toTag, cseq: 101 });
  }

  cancel(): string {
    return sipRequest({ ...this.#base(), method: 'CANCEL', branch: this.inviteBranch, cseq: 101 });
  }

  inDialog(method: string, toTag: string, cseq: number, extra: Partial<RequestOptions> = {}): string {
    return sipRequest({ ...this.#base(), method, branch: `z9hG4bK${randomId()}`, toTag, cseq, ...extra });
  }
}

export const ANSWER_SDP = [
  'v=0',
  'o=CiscoSystemsCCM-SIP 2000 1 IN IP4 127.0.0.1',
  's=SIP Call',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 24580 RTP/AVP 0 101',
  'a=rtpmap:0 PCMU/8000',
  'a=sendonly',
  '',
].join('\r\n');

export const OFFER_SDP = [
  'v=0',
  'o=Verbatim 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 40000 RTP/AVP 0 8',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=recvonly',
  '',
].join('\r\n');
