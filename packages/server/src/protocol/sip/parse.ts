/**
 * SIP message parser (RFC 3261 §7, grammar in §25). Bytes in, a SipMessage or a typed error
 * out; it never throws, whatever the input. Strict where a wrong reading would be dangerous
 * (framing, the start line, the headers the transaction layer keys on) and tolerant elsewhere:
 * bare LF line ends, folding, compact forms, odd casing and unknown headers are all accepted.
 */
import { err, ok, type ParseError, type Result } from '../result.js';
import { decodeUtf8 } from '../text.js';
import { MAX_SIP_MESSAGE_BYTES, SipErrorCode } from './errors.js';
import { parseCSeq, parseNameAddr, parseVia } from './headers.js';
import { canonicalHeaderName, type SipHeader, type SipMessage } from './message.js';
import { isToken, parseBoundedInteger, splitTopLevelCommas, trimWhitespace } from './syntax.js';
import { parseSipUri } from './uri.js';

const LF = 0x0a;
const CR = 0x0d;

/** Headers whose grammar is a comma-separated list (RFC 3261 §20 and the RFCs defining them). */
const LIST_HEADERS: ReadonlySet<string> = new Set(
  [
    'Via',
    'Contact',
    'Route',
    'Record-Route',
    'Allow',
    'Supported',
    'Require',
    'Proxy-Require',
    'Unsupported',
    'Accept',
    'Accept-Encoding',
    'Accept-Language',
    'Allow-Events',
    'Content-Encoding',
    'In-Reply-To',
    'Call-Info',
    'Alert-Info',
    'Error-Info',
    'Warning',
    'P-Asserted-Identity',
  ].map((name) => name.toLowerCase()),
);

/** Headers that may appear only once (RFC 3261 §20; RFC 4475 §3.3.8 multi01, §3.3.9 mcl01). */
const SINGLE_HEADERS: readonly string[] = ['From', 'To', 'Call-ID', 'CSeq', 'Max-Forwards', 'Content-Length'];

/** Mandatory in every request and response (RFC 3261 §8.1.1, §8.2.6.2). */
const MANDATORY_HEADERS: readonly string[] = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

interface RawLine {
  readonly text: string;
  /** Character offset of the line in the decoded header section. */
  readonly offset: number;
}

interface HeaderSection {
  /** Index of the first byte of the start line (leading CRLFs skipped, RFC 3261 §7.5). */
  readonly start: number;
  /** Index just after the last header byte (before the empty line). */
  readonly headerEnd: number;
  /** Index of the first body byte, or undefined when the empty line is missing. */
  readonly bodyStart: number | undefined;
}

/** Finds the start line and the empty line ending the headers, accepting CRLF or bare LF. */
function findHeaderSection(bytes: Uint8Array): HeaderSection {
  let start = 0;
  while (start < bytes.length && (bytes[start] === CR || bytes[start] === LF)) {
    start += 1;
  }
  let lineStart = start;
  for (let index = start; index < bytes.length; index += 1) {
    if (bytes[index] !== LF) {
      continue;
    }
    const lineLength = index - lineStart;
    if (lineLength === 0 || (lineLength === 1 && bytes[lineStart] === CR)) {
      return { start, headerEnd: lineStart, bodyStart: index + 1 };
    }
    lineStart = index + 1;
  }
  return { start, headerEnd: bytes.length, bodyStart: undefined };
}

function splitLines(text: string): Result<RawLine[]> {
  const lines: RawLine[] = [];
  let offset = 0;
  for (const piece of text.split('\n')) {
    const line = piece.endsWith('\r') ? piece.slice(0, -1) : piece;
    const bareCr = line.indexOf('\r');
    if (bareCr >= 0) {
      return err(SipErrorCode.HeaderSyntax, 'bare CR inside a line', offset + bareCr);
    }
    lines.push({ text: line, offset });
    offset += piece.length + 1;
  }
  // A trailing line end leaves one empty piece that is not a line.
  if (lines.length > 0 && lines[lines.length - 1]?.text === '') {
    lines.pop();
  }
  return ok(lines);
}

type StartLine =
  | { readonly type: 'request'; readonly method: string; readonly requestUri: string }
  | { readonly type: 'response'; readonly status: number; readonly reason: string };

function isSipVersion(text: string): boolean {
  return text.toUpperCase() === 'SIP/2.0';
}

/**
 * Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly one SP between
 * the three elements and none around them (RFC 4475 §3.1.2.8–10 lwsruri, lwsstart, trws).
 * Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2), the phrase possibly empty.
 */
function parseStartLine(line: RawLine): Result<StartLine> {
  const text = line.text;
  if (/^SIP\//i.test(text)) {
    const firstSpace = text.indexOf(' ');
    const version = firstSpace < 0 ? text : text.slice(0, firstSpace);
    if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) {
      return err(SipErrorCode.StartLine, 'malformed Status-Line', line.offset);
    }
    if (!isSipVersion(version)) {
      return err(SipErrorCode.Version, `unsupported version ${version}`, line.offset);
    }
    const rest = firstSpace < 0 ? '' : text.slice(firstSpace + 1);
    const code = rest.slice(0, 3);
    const afterCode = rest.slice(3);
    if (!/^[1-6][0-9][0-9]$/.test(code) || (afterCode.length > 0 && !afterCode.startsWith(' '))) {
      return err(SipErrorCode.StartLine, 'Status-Code must be three digits from 100 to 699', line.offset);
    }
    return ok({ type: 'response', status: Number(code), reason: afterCode.slice(1) });
  }
  const parts = text.split(' ');
  if (parts.length !== 3) {
    return err(
      SipErrorCode.StartLine,
      'Request-Line must be "METHOD SP Request-URI SP SIP/2.0"',
      line.offset,
    );
  }
  const [method = '', requestUri = '', version = ''] = parts;
  if (!isToken(method)) {
    return err(SipErrorCode.StartLine, 'method is not a token', line.offset);
  }
  if (!/^SIP\/[0-9]+\.[0-9]+$/i.test(version)) {
    return err(SipErrorCode.StartLine, 'malformed SIP-Version', line.offset);
  }
  if (!isSipVersion(version)) {
    return err(SipErrorCode.Version, `unsupported version ${version}`, line.offset);
  }
  const uri = parseSipUri(requestUri);
  if (!uri.ok) {
    return err(SipErrorCode.RequestUri, `bad Request-URI: ${uri.error.message}`, line.offset);
  }
  if ((uri.value.scheme === 'sip' || uri.value.scheme === 'sips') && uri.value.headers.size > 0) {
    // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11).
    return err(SipErrorCode.RequestUri, 'escaped headers are not allowed in a Request-URI', line.offset);
  }
  return ok({ type: 'request', method, requestUri });
}

/** Joins folded lines (RFC 3261 §7.3.1) and splits each field into name and value. */
function parseHeaderLines(lines: readonly RawLine[]): Result<SipHeader[]> {
  const fields: { name: string; value: string; offset: number }[] = [];
  for (const line of lines) {
    const first = line.text[0];
    if (first === ' ' || first === '\t') {
      const previous = fields[fields.length - 1];
      if (previous === undefined) {
        return err(SipErrorCode.HeaderSyntax, 'continuation line without a header', line.offset);
      }
      // All linear white space, folding included, has the semantics of one SP (§7.3.1).
      const continuation = trimWhitespace(line.text);
      if (continuation.length > 0) {
        previous.value = previous.value.length > 0 ? `${previous.value} ${continuation}` : continuation;
      }
      continue;
    }
    const colon = line.text.indexOf(':');
    if (colon < 0) {
      return err(SipErrorCode.HeaderSyntax, 'header line without a colon', line.offset);
    }
    // Not /[ \t]+$/: a regex scan for trailing blanks is quadratic on a long run of inner blanks.
    const name = trimWhitespace(line.text.slice(0, colon));
    if (!isToken(name)) {
      return err(SipErrorCode.HeaderSyntax, 'header name is not a token', line.offset);
    }
    fields.push({
      name: canonicalHeaderName(name),
      value: trimWhitespace(line.text.slice(colon + 1)),
      offset: line.offset,
    });
  }
  const headers: SipHeader[] = [];
  for (const field of fields) {
    const lower = field.name.toLowerCase();
    const isList = LIST_HEADERS.has(lower) && !(lower === 'contact' && field.value === '*');
    if (isList) {
      for (const value of splitTopLevelCommas(field.value)) {
        headers.push({ name: field.name, value });
      }
    } else {
      headers.push({ name: field.name, value: field.value });
    }
  }
  return ok(headers);
}

function valuesOf(headers: readonly SipHeader[], name: string): string[] {
  const lower = name.toLowerCase();
  return headers.filter((header) => header.name.toLowerCase() === lower).map((header) => header.value);
}

/** Checks the headers the transaction and dialog layers rely on (RFC 3261 §8.1.1, §8.2). */
function validateHeaders(headers: readonly SipHeader[], start: StartLine): ParseError | undefined {
  for (const name of SINGLE_HEADERS) {
    if (valuesOf(headers, name).length > 1) {
      return { code: SipErrorCode.DuplicateHeader, message: `${name} appears more than once` };
    }
  }
  for (const name of MANDATORY_HEADERS) {
    if (valuesOf(headers, name).length === 0) {
      return { code: SipErrorCode.MissingHeader, message: `missing mandatory header ${name}` };
    }
  }
  for (const value of valuesOf(headers, 'Via')) {
    const via = parseVia(value);
    if (!via.ok) {
      return via.error;
    }
  }
  for (const name of ['From', 'To']) {
    const nameAddr = parseNameAddr(valuesOf(headers, name)[0] ?? '');
    if (!nameAddr.ok) {
      return { code: nameAddr.error.code, message: `${name}: ${nameAddr.error.message}` };
    }
  }
  for (const value of valuesOf(headers, 'Contact')) {
    const contact = value === '*' ? undefined : parseNameAddr(value);
    if (contact !== undefined && !contact.ok) {
      return { code: contact.error.code, message: `Contact: ${contact.error.message}` };
    }
  }
  const callId = valuesOf(headers, 'Call-ID')[0] ?? '';
  if (callId.length === 0 || /[ \t]/.test(callId)) {
    return { code: SipErrorCode.CallId, message: 'Call-ID must be one non-empty word' };
  }
  const cseq = parseCSeq(valuesOf(headers, 'CSeq')[0] ?? '');
  if (!cseq.ok) {
    return cseq.error;
  }
  if (start.type === 'request' && cseq.value.method !== start.method) {
    // RFC 3261 §8.1.1.5: the CSeq method MUST match the request method, for ACK and CANCEL too.
    return {
      code: SipErrorCode.CSeq,
      message: `CSeq method ${cseq.value.method} differs from request method ${start.method}`,
    };
  }
  const maxForwards = valuesOf(headers, 'Max-Forwards')[0];
  if (maxForwards !== undefined && parseBoundedInteger(maxForwards, 255) === undefined) {
    return { code: SipErrorCode.MaxForwards, message: 'Max-Forwards must be an integer from 0 to 255' };
  }
  return undefined;
}

/**
 * Parses one SIP message from a datagram or from a frame cut by SipStreamFramer. The body is
 * cut to Content-Length when present (bytes after it are ignored, RFC 3261 §18.3 and RFC 4475
 * §3.1.1.8 dblreq); without Content-Length the body runs to the end of the input.
 */
export function parseSipMessage(bytes: Uint8Array): Result<SipMessage> {
  if (bytes.length > MAX_SIP_MESSAGE_BYTES) {
    return err(SipErrorCode.TooLarge, `message of ${bytes.length} bytes is over ${MAX_SIP_MESSAGE_BYTES}`);
  }
  const section = findHeaderSection(bytes);
  if (section.start >= bytes.length) {
    return err(SipErrorCode.Empty, 'no start line');
  }
  const lines = splitLines(decodeUtf8(bytes.subarray(section.start, section.headerEnd)));
  if (!lines.ok) {
    return lines;
  }
  const [startLine, ...headerLines] = lines.value;
  if (startLine === undefined) {
    return err(SipErrorCode.Empty, 'no start line');
  }
  const start = parseStartLine(startLine);
  if (!start.ok) {
    return start;
  }
  const headers = parseHeaderLines(headerLines);
  if (!headers.ok) {
    return headers;
  }
  const invalid = validateHeaders(headers.value, start.value);
  if (invalid !== undefined) {
    return { ok: false, error: invalid };
  }
  const available = section.bodyStart === undefined ? 0 : bytes.length - section.bodyStart;
  const contentLengthText = valuesOf(headers.value, 'Content-Length')[0];
  let bodyLength = available;
  if (contentLengthText !== undefined) {
    const contentLength = parseBoundedInteger(contentLengthText, MAX_SIP_MESSAGE_BYTES);
    if (contentLength === undefined) {
      return err(SipErrorCode.ContentLength, `bad Content-Length "${contentLengthText}"`);
    }
    if (contentLength > available) {
      return err(
        SipErrorCode.ContentLength,
        `Content-Length ${contentLength} is larger than the ${available} bytes received`,
      );
    }
    bodyLength = contentLength;
  }
  const bodyStart = section.bodyStart ?? bytes.length;
  const body = bytes.slice(bodyStart, bodyStart + bodyLength);
  if (start.value.type === 'request') {
    return ok({
      type: 'request',
      method: start.value.method,
      requestUri: start.value.requestUri,
      headers: headers.value,
      body,
    });
  }
  return ok({
    type: 'response',
    status: start.value.status,
    reason: start.value.reason,
    headers: headers.value,
    body,
  });
}
