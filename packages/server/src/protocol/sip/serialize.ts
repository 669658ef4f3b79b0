/**
 * SIP message serializer and the builders the transaction and dialog layers use. Strict when
 * we send: long header names, CRLF line ends, one header value per line, and a Content-Length
 * always computed from the body (RFC 3261 §7.4.1, §18.3).
 */
import { encodeUtf8 } from '../text.js';
import { parseNameAddr } from './headers.js';
import {
  canonicalHeaderName,
  getHeader,
  getHeaders,
  type SipHeader,
  type SipRequest,
  type SipResponse,
  type SipMessage,
} from './message.js';

const CONTENT_LENGTH = 'content-length';

/** Header values come from our own code or from parsed input; never let one inject a line. */
function sanitizeValue(value: string): string {
  return value.replace(/[\r\n]+[ \t]*/g, ' ');
}

/**
 * Writes a message as bytes. Content-Length is written where the message had its first
 * Content-Length header (so parse → serialize → parse is stable), or after the last header.
 */
export function serializeSipMessage(message: SipMessage): Uint8Array {
  const startLine =
    message.type === 'request'
      ? `${message.method} ${message.requestUri} SIP/2.0`
      : `SIP/2.0 ${message.status} ${sanitizeValue(message.reason)}`;
  const lines: string[] = [startLine];
  const contentLengthLine = `Content-Length: ${message.body.length}`;
  let wroteContentLength = false;
  for (const header of message.headers) {
    const name = canonicalHeaderName(header.name);
    if (name.toLowerCase() === CONTENT_LENGTH) {
      if (!wroteContentLength) {
        lines.push(contentLengthLine);
        wroteContentLength = true;
      }
      continue;
    }
    lines.push(`${name}: ${sanitizeValue(header.value)}`);
  }
  if (!wroteContentLength) {
    lines.push(contentLengthLine);
  }
  const head = encodeUtf8(`${lines.join('\r\n')}\r\n\r\n`);
  const out = new Uint8Array(head.length + message.body.length);
  out.set(head, 0);
  out.set(message.body, head.length);
  return out;
}

export interface SipBody {
  readonly contentType: string;
  /** Text is sent as UTF-8. */
  readonly content: string | Uint8Array;
}

export interface BuildResponseOptions {
  /** Added to To as ";tag=…" when the request's To has no tag (RFC 3261 §8.2.6.2). */
  readonly toTag?: string;
  /** Extra headers after the copied ones (Contact, Allow, Supported, Server, Warning, …). */
  readonly headers?: readonly SipHeader[];
  readonly body?: SipBody;
}

function bodyBytes(body: SipBody | undefined): Uint8Array {
  if (body === undefined) {
    return new Uint8Array(0);
  }
  return typeof body.content === 'string' ? encodeUtf8(body.content) : body.content;
}

function hasToTag(to: string): boolean {
  const parsed = parseNameAddr(to);
  // A To that does not parse never reached here through parseSipMessage; treat it as untagged.
  return parsed.ok && parsed.value.params.has('tag');
}

/**
 * Builds a response to `request` as RFC 3261 §8.2.6.2 asks: the Via headers in order, From,
 * Call-ID and CSeq copied, To copied with a tag added when `toTag` is given and To has none, and
 * a 100 Trying copies Timestamp (§8.2.6.1).
 */
export function buildResponse(
  request: SipRequest,
  status: number,
  reason: string,
  options: BuildResponseOptions = {},
): SipResponse {
  const headers: SipHeader[] = [];
  for (const via of getHeaders(request, 'Via')) {
    headers.push({ name: 'Via', value: via });
  }
  const from = getHeader(request, 'From');
  if (from !== undefined) {
    headers.push({ name: 'From', value: from });
  }
  const to = getHeader(request, 'To');
  if (to !== undefined) {
    const tagged = options.toTag !== undefined && !hasToTag(to) ? `${to};tag=${options.toTag}` : to;
    headers.push({ name: 'To', value: tagged });
  }
  for (const name of ['Call-ID', 'CSeq']) {
    const value = getHeader(request, name);
    if (value !== undefined) {
      headers.push({ name, value });
    }
  }
  const timestamp = status === 100 ? getHeader(request, 'Timestamp') : undefined;
  if (timestamp !== undefined) {
    headers.push({ name: 'Timestamp', value: timestamp });
  }
  headers.push(...(options.headers ?? []));
  if (options.body !== undefined) {
    headers.push({ name: 'Content-Type', value: options.body.contentType });
  }
  return { type: 'response', status, reason, headers, body: bodyBytes(options.body) };
}

export interface BuildRequestOptions {
  readonly method: string;
  readonly requestUri: string;
  /** The Via value, e.g. "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK…". */
  readonly via: string;
  readonly from: string;
  readonly to: string;
  readonly callId: string;
  readonly cseq: number;
  /** Defaults to 70 (RFC 3261 §8.1.1.6). */
  readonly maxForwards?: number;
  /** Route set values, in order (RFC 3261 §12.2.1.1). */
  readonly routes?: readonly string[];
  readonly contact?: string;
  readonly headers?: readonly SipHeader[];
  readonly body?: SipBody;
}

/**
 * Builds a request such as an in-dialog BYE (RFC 3261 §12.2.1.1, §15.1.1): the caller supplies
 * the dialog's remote target as requestUri, local and remote URIs with tags as from/to, and the
 * route set; the CSeq method is always the request method.
 */
export function buildRequest(options: BuildRequestOptions): SipRequest {
  const headers: SipHeader[] = [
    { name: 'Via', value: options.via },
    { name: 'Max-Forwards', value: String(options.maxForwards ?? 70) },
    ...(options.routes ?? []).map((value) => ({ name: 'Route', value })),
    { name: 'From', value: options.from },
    { name: 'To', value: options.to },
    { name: 'Call-ID', value: options.callId },
    { name: 'CSeq', value: `${options.cseq} ${options.method}` },
  ];
  if (options.contact !== undefined) {
    headers.push({ name: 'Contact', value: options.contact });
  }
  headers.push(...(options.headers ?? []));
  if (options.body !== undefined) {
    headers.push({ name: 'Content-Type', value: options.body.contentType });
  }
  return {
    type: 'request',
    method: options.method,
    requestUri: options.requestUri,
    headers,
    body: bodyBytes(options.body),
  };
}
