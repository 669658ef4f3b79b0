/**
 * RTSP/1.0 requests (RFC 2326 §6) read from bytes, and responses (§7) written to bytes.
 *
 *    Request      = Request-Line            ; Method SP Request-URI SP RTSP-Version CRLF
 *                   *( header CRLF )
 *                   CRLF
 *                   [ message-body ]
 *
 * Header names are case-insensitive and kept lower-cased; a repeated header keeps every value in
 * order. Lines may end in CRLF or a bare LF (RFC 2326 §4 asks servers to accept both).
 */
import { err, ok, type Result } from '../result.js';
import { decodeUtf8, encodeUtf8 } from '../text.js';
import { parseBoundedInteger } from '../sip/syntax.js';
import { MAX_RTSP_BODY_BYTES, MAX_RTSP_HEADER_BYTES, RtspErrorCode } from './errors.js';

export interface RtspRequest {
  /** As sent (methods are case-sensitive, RFC 2326 §6.1); unknown ones are the server's to refuse. */
  readonly method: string;
  readonly uri: string;
  /** 'RTSP/1.0'. */
  readonly version: string;
  readonly cseq: number;
  /** Lower-cased names, values trimmed, in order of appearance. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  readonly body: Uint8Array;
}

export interface RtspResponse {
  readonly status: number;
  /** Default: the reason phrase of RFC 2326 §7.1.1 for the status. */
  readonly reason?: string;
  /** Headers in order; CSeq is the caller's to include (it echoes the request's). */
  readonly headers: readonly (readonly [string, string])[];
  readonly body?: Uint8Array;
}

/** The first value of a header, or undefined. */
export function header(request: Pick<RtspRequest, 'headers'>, name: string): string | undefined {
  return request.headers.get(name.toLowerCase())?.[0];
}

const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,64}$/;
const MAX_URI_CHARS = 4096;
/** CSeq is a 32-bit counter in practice; anything above is garbage. */
const MAX_CSEQ = 0xffffffff;

/**
 * Reads one request: `head` is the header section (request line, headers, the empty line) as the
 * framer cut it, `body` the bytes Content-Length announced. Never throws.
 */
export function parseRtspRequest(
  head: Uint8Array,
  body: Uint8Array = new Uint8Array(0),
): Result<RtspRequest> {
  if (head.length > MAX_RTSP_HEADER_BYTES) {
    return err(RtspErrorCode.TooLarge, `header section over ${MAX_RTSP_HEADER_BYTES} bytes`);
  }
  if (body.length > MAX_RTSP_BODY_BYTES) {
    return err(RtspErrorCode.TooLarge, `body over ${MAX_RTSP_BODY_BYTES} bytes`);
  }
  const text = decodeUtf8(head);
  const lines = text.split('\n').map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line));
  // Drop the empty line (and anything after it, which the framer never hands over).
  const end = lines.indexOf('');
  const used = end < 0 ? lines : lines.slice(0, end);
  const [requestLine, ...headerLines] = used;
  if (requestLine === undefined || requestLine === '') {
    return err(RtspErrorCode.RequestLine, 'empty request');
  }
  const parts = requestLine.split(' ');
  if (parts.length !== 3) {
    return err(RtspErrorCode.RequestLine, 'the request line is not "METHOD URI RTSP/1.0"');
  }
  const [method = '', uri = '', version = ''] = parts;
  if (!METHOD.test(method)) {
    return err(RtspErrorCode.RequestLine, 'bad method token');
  }
  if (uri === '' || uri.length > MAX_URI_CHARS || hasSpaceOrControl(uri)) {
    return err(RtspErrorCode.RequestLine, 'bad Request-URI', method.length + 1);
  }
  if (!/^RTSP\/\d\.\d$/.test(version)) {
    return err(RtspErrorCode.RequestLine, 'bad RTSP-Version');
  }
  if (version !== 'RTSP/1.0') {
    return err(RtspErrorCode.Version, `${version} is not supported (RTSP/1.0 only)`);
  }
  const headers = new Map<string, string[]>();
  for (const line of headerLines) {
    if (line.includes('\r')) {
      return err(RtspErrorCode.HeaderSyntax, 'bare CR in a header line');
    }
    if (line.startsWith(' ') || line.startsWith('\t')) {
      // RFC 2326 §4.2 (by way of RFC 2616 §4.2): a continuation of the previous header's value.
      const last = [...headers.values()].at(-1);
      if (last === undefined || last.length === 0) {
        return err(RtspErrorCode.HeaderSyntax, 'a continuation line before any header');
      }
      last[last.length - 1] = `${last[last.length - 1] ?? ''} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    const name = colon < 0 ? '' : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name)) {
      return err(RtspErrorCode.HeaderSyntax, colon < 0 ? 'a header line without a colon' : 'bad header name');
    }
    const key = name.toLowerCase();
    const values = headers.get(key);
    const value = line.slice(colon + 1).trim();
    if (values === undefined) {
      // Re-inserted so that Map order is the order of first appearance and continuation works.
      headers.set(key, [value]);
    } else {
      headers.delete(key);
      headers.set(key, [...values, value]);
    }
  }
  const cseqValues = headers.get('cseq');
  if (cseqValues === undefined) {
    return err(RtspErrorCode.CSeq, 'no CSeq header');
  }
  const cseq = cseqValues.length === 1 ? parseBoundedInteger(cseqValues[0] ?? '', MAX_CSEQ) : undefined;
  if (cseq === undefined) {
    return err(RtspErrorCode.CSeq, cseqValues.length === 1 ? 'CSeq is not a number' : 'more than one CSeq');
  }
  const lengths = headers.get('content-length');
  if (lengths !== undefined) {
    const length =
      lengths.length === 1 ? parseBoundedInteger(lengths[0] ?? '', MAX_RTSP_BODY_BYTES) : undefined;
    if (length === undefined || length !== body.length) {
      return err(RtspErrorCode.ContentLength, 'Content-Length does not match the body');
    }
  }
  return ok({ method, uri, version, cseq, headers, body });
}

function hasSpaceOrControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code <= 0x20 || code === 0x7f) {
      return true;
    }
  }
  return false;
}

/** RFC 2326 §7.1.1 reason phrases for the statuses the server sends. */
const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Large',
  451: 'Parameter Not Understood',
  453: 'Not Enough Bandwidth',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  456: 'Header Field Not Valid for Resource',
  457: 'Invalid Range',
  459: 'Aggregate Operation Not Allowed',
  460: 'Only Aggregate Operation Allowed',
  461: 'Unsupported Transport',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'RTSP Version Not Supported',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Unknown';
}

/**
 * The bytes of a response. Header values must not contain CR or LF (they are replaced by spaces,
 * so a value that quotes a request can never inject a header). Content-Length is added when there
 * is a body.
 */
export function serializeRtspResponse(response: RtspResponse): Uint8Array {
  const clean = (text: string): string => text.replace(/[\r\n]/g, ' ');
  const lines = [`RTSP/1.0 ${response.status} ${clean(response.reason ?? reasonPhrase(response.status))}`];
  for (const [name, value] of response.headers) {
    lines.push(`${clean(name)}: ${clean(value)}`);
  }
  const body = response.body ?? new Uint8Array(0);
  if (body.length > 0) {
    lines.push(`Content-Length: ${body.length}`);
  }
  const head = encodeUtf8(`${lines.join('\r\n')}\r\n\r\n`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head, 0);
  out.set(body, head.length);
  return out;
}

/**
 * One RTP or RTCP packet interleaved on the RTSP connection (RFC 2326 §10.12):
 *
 *    | '$' (0x24) | channel (8) | length (16, network order) | packet ... |
 */
export function interleavedFrame(channel: number, packet: Uint8Array): Uint8Array {
  if (!Number.isInteger(channel) || channel < 0 || channel > 255 || packet.length > 0xffff) {
    throw new RangeError('an interleaved frame carries channel 0-255 and at most 65535 bytes');
  }
  const out = new Uint8Array(4 + packet.length);
  out[0] = 0x24;
  out[1] = channel;
  out[2] = packet.length >>> 8;
  out[3] = packet.length & 0xff;
  out.set(packet, 4);
  return out;
}

/**
 * The CSeq of a header section that could not be taken whole (its body is refused), so that the
 * refusal can still name the request it answers; undefined when there is none to read.
 */
export function cseqOfHead(head: Uint8Array): number | undefined {
  const match = /^cseq[ \t]*:[ \t]*([0-9]{1,10})[ \t]*\r?$/im.exec(
    decodeUtf8(head.subarray(0, MAX_RTSP_HEADER_BYTES)),
  );
  const value = match?.[1] === undefined ? undefined : Number(match[1]);
  return value !== undefined && value <= MAX_CSEQ ? value : undefined;
}
