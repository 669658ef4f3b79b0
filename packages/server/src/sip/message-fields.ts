import { parseCSeq, parseNameAddr, parseVia, splitHeaderList } from '../protocol/sip/headers.js';
import { getHeader, getHeaders, type SipMessage, type SipRequest } from '../protocol/sip/message.js';
import { err, ok, type Result } from '../protocol/result.js';
import { parseSipUri } from '../protocol/sip/uri.js';

/** Error codes of the SIP transaction layer (listed in docs/errors.md). */
export const SipCoreErrorCode = {
  /** A header the transaction layer needs (Via, From, To, Call-ID, CSeq) is missing or unreadable. */
  MissingHeader: 'VERBATIM_ERR_SIP_CORE_MISSING_HEADER',
  /** The CSeq method differs from the request method (RFC 3261 §8.1.1.5). */
  CSeqMethod: 'VERBATIM_ERR_SIP_CORE_CSEQ_METHOD',
} as const;

/** The top Via as the transaction layer uses it (RFC 3261 §17.2.3, §18.2). */
export interface TopVia {
  readonly host: string;
  readonly port?: number;
  readonly branch?: string;
  readonly rport: boolean;
  /** host[:port] as written, part of the transaction key. */
  readonly sentBy: string;
}

/** The fields every message must carry for the transaction and dialog layers (§8.1.1). */
export interface MessageFields {
  readonly topVia: TopVia;
  readonly callId: string;
  readonly cseq: { readonly seq: number; readonly method: string };
  readonly fromTag?: string;
  readonly toTag?: string;
}

/** A host and port a request can be sent to, from a SIP URI. */
export interface UriTarget {
  readonly host: string;
  readonly port?: number;
  readonly transport?: string;
}

/** Reads the top Via (the first value of the first Via header). */
export function readTopVia(message: SipMessage): Result<TopVia> {
  const first = getHeader(message, 'Via');
  const value = first === undefined ? undefined : splitHeaderList(first)[0];
  if (value === undefined) {
    return err(SipCoreErrorCode.MissingHeader, 'no Via header');
  }
  const via = parseVia(value);
  if (!via.ok) {
    return via;
  }
  const { host, port, branch, params } = via.value;
  return ok({
    host,
    rport: params.has('rport'),
    sentBy: port === undefined ? host.toLowerCase() : `${host.toLowerCase()}:${port}`,
    ...(port === undefined ? {} : { port }),
    ...(branch === undefined ? {} : { branch }),
  });
}

function tagOf(message: SipMessage, name: 'From' | 'To'): Result<string | undefined> {
  const value = getHeader(message, name);
  if (value === undefined) {
    return err(SipCoreErrorCode.MissingHeader, `no ${name} header`);
  }
  const parsed = parseNameAddr(value);
  if (!parsed.ok) {
    return parsed;
  }
  const tag = parsed.value.params.get('tag');
  return ok(tag === null || tag === undefined || tag === '' ? undefined : tag);
}

export function readMessageFields(message: SipMessage): Result<MessageFields> {
  const topVia = readTopVia(message);
  if (!topVia.ok) {
    return topVia;
  }
  const callId = getHeader(message, 'Call-ID')?.trim();
  if (callId === undefined || callId === '') {
    return err(SipCoreErrorCode.MissingHeader, 'no Call-ID header');
  }
  const cseqText = getHeader(message, 'CSeq');
  if (cseqText === undefined) {
    return err(SipCoreErrorCode.MissingHeader, 'no CSeq header');
  }
  const cseq = parseCSeq(cseqText);
  if (!cseq.ok) {
    return cseq;
  }
  if (message.type === 'request' && cseq.value.method !== message.method) {
    return err(
      SipCoreErrorCode.CSeqMethod,
      `CSeq method ${cseq.value.method} differs from ${message.method}`,
    );
  }
  const fromTag = tagOf(message, 'From');
  if (!fromTag.ok) {
    return fromTag;
  }
  const toTag = tagOf(message, 'To');
  if (!toTag.ok) {
    return toTag;
  }
  return ok({
    topVia: topVia.value,
    callId,
    cseq: { seq: cseq.value.seq, method: cseq.value.method },
    ...(fromTag.value === undefined ? {} : { fromTag: fromTag.value }),
    ...(toTag.value === undefined ? {} : { toTag: toTag.value }),
  });
}

/** The lowercased scheme of a Request-URI ("" when it has none). */
export function requestUriScheme(requestUri: string): string {
  const match = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(requestUri);
  return match?.[1]?.toLowerCase() ?? '';
}

/** The URI text of the first Contact of a request (the remote target, RFC 3261 §12.1.1). */
export function contactUri(request: SipRequest): string | undefined {
  const first = getHeader(request, 'Contact');
  const value = first === undefined ? undefined : splitHeaderList(first)[0];
  if (value === undefined) {
    return undefined;
  }
  const parsed = parseNameAddr(value.trim());
  return parsed.ok ? parsed.value.uriText : undefined;
}

/** Record-Route values in order, each one value (RFC 3261 §12.1.1). */
export function recordRoutes(request: SipRequest): string[] {
  return getHeaders(request, 'Record-Route').flatMap((v) => splitHeaderList(v).map((s) => s.trim()));
}

/** Host, port and transport parameter of a sip/sips URI (or of a name-addr holding one). */
export function uriTarget(text: string): UriTarget | undefined {
  const trimmed = text.trim();
  let uriText = trimmed;
  if (trimmed.includes('<')) {
    const nameAddr = parseNameAddr(trimmed);
    if (!nameAddr.ok) {
      return undefined;
    }
    uriText = nameAddr.value.uriText;
  }
  const uri = parseSipUri(uriText);
  if (!uri.ok || (uri.value.scheme !== 'sip' && uri.value.scheme !== 'sips') || uri.value.host === '') {
    return undefined;
  }
  const transport = uri.value.params.get('transport');
  const host = uri.value.host.replace(/^\[|\]$/g, '');
  return {
    host,
    ...(uri.value.port === undefined ? {} : { port: uri.value.port }),
    ...(transport === undefined || transport === null ? {} : { transport: transport.toLowerCase() }),
  };
}
