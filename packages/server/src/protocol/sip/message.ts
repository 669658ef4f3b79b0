/**
 * SIP message values (RFC 3261 §7). Header names are stored in their canonical long form
 * ("Via", "Call-ID", "Content-Length"; compact forms such as "v", "i", "l" are expanded by the
 * parser). Headers that RFC 3261 allows as comma-separated lists (Via, Contact, Route,
 * Record-Route, Allow, Supported, Require, …) are split into one entry per value, in order.
 */
export interface SipHeader {
  readonly name: string;
  readonly value: string;
}

export interface SipRequest {
  readonly type: 'request';
  readonly method: string;
  readonly requestUri: string;
  readonly headers: readonly SipHeader[];
  readonly body: Uint8Array;
}

export interface SipResponse {
  readonly type: 'response';
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly SipHeader[];
  readonly body: Uint8Array;
}

export type SipMessage = SipRequest | SipResponse;

/** The first value of a header, by case-insensitive name (long or compact form). */
export function getHeader(message: SipMessage, name: string): string | undefined {
  const wanted = canonicalHeaderName(name).toLowerCase();
  for (const header of message.headers) {
    if (header.name.toLowerCase() === wanted) {
      return header.value;
    }
  }
  return undefined;
}

/** Every value of a header, in message order. */
export function getHeaders(message: SipMessage, name: string): string[] {
  const wanted = canonicalHeaderName(name).toLowerCase();
  return message.headers.filter((h) => h.name.toLowerCase() === wanted).map((h) => h.value);
}

const COMPACT_FORMS: Readonly<Record<string, string>> = {
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
};

const KNOWN_CASING: Readonly<Record<string, string>> = Object.fromEntries(
  [
    ...Object.values(COMPACT_FORMS),
    'Call-Info',
    'CSeq',
    'Max-Forwards',
    'Record-Route',
    'Route',
    'Allow',
    'Require',
    'Proxy-Require',
    'Unsupported',
    'User-Agent',
    'Server',
    'Warning',
    'Retry-After',
    'WWW-Authenticate',
    'Authorization',
    'Expires',
    'Min-SE',
    'Date',
    'Session-ID',
    'Cisco-Guid',
    'P-Asserted-Identity',
    'Remote-Party-ID',
    'Accept',
    'MIME-Version',
    'RSeq',
    'RAck',
  ].map((n) => [n.toLowerCase(), n]),
);

/** Expands a compact form and gives well-known headers their usual casing ("call-id" → "Call-ID"). */
export function canonicalHeaderName(name: string): string {
  const trimmed = name.trim();
  const lower = trimmed.toLowerCase();
  if (lower.length === 1) {
    const long = COMPACT_FORMS[lower];
    if (long !== undefined) {
      return long;
    }
  }
  return KNOWN_CASING[lower] ?? trimmed;
}
