import { canonicalHeaderName, type SipHeader, type SipRequest } from '../protocol/sip/message.js';
import { decodeLatin1 } from '../protocol/text.js';

/** Headers a response copies from its request (RFC 3261 §8.2.6.2), when the request has them. */
const COPIED = ['Via', 'From', 'To', 'Call-ID', 'CSeq'] as const;
/**
 * Without these no response can reach the client's transaction: the Via routes it (§18.2.2) and
 * the branch with the CSeq method match it (§17.1.3). A request missing From, To or Call-ID is
 * still answered (RFC 3261's own example of a 400 reason phrase is "Missing Call-ID header field").
 */
const NEEDED = ['Via', 'CSeq'] as const;
const MAX_SALVAGE_HEADER_LINES = 200;

/**
 * Recovers just enough of a request that failed to parse to answer it with 400 (RFC 3261
 * §8.2, §18.3: a request whose body is cut short "SHOULD" get a 400). Returns undefined for
 * responses, for ACK (never answered, §17.1.1.3) and when the Via or CSeq a response needs is
 * missing: such messages can only be dropped and counted.
 */
export function salvageRequest(bytes: Uint8Array): SipRequest | undefined {
  const text = decodeLatin1(bytes.subarray(0, Math.min(bytes.length, 64 * 1024)));
  const lines = text.replace(/^(\r?\n)+/, '').split(/\r?\n/);
  const startLine = lines[0] ?? '';
  const match = /^([A-Za-z][A-Za-z0-9.!%*_+`'~-]*) (\S+) SIP\/2\.0$/i.exec(startLine.trim());
  if (match === null) {
    return undefined;
  }
  const method = match[1] ?? '';
  const requestUri = match[2] ?? '';
  if (method.toUpperCase() === 'ACK') {
    return undefined;
  }
  const headers: SipHeader[] = [];
  for (const line of lines.slice(1, MAX_SALVAGE_HEADER_LINES)) {
    if (line === '') {
      break;
    }
    const last = headers.at(-1);
    if (/^[ \t]/.test(line) && last !== undefined) {
      // Header folding (RFC 3261 §7.3.1).
      headers[headers.length - 1] = { name: last.name, value: `${last.value} ${line.trim()}` };
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      continue;
    }
    const name = canonicalHeaderName(line.slice(0, colon));
    if ((COPIED as readonly string[]).includes(name)) {
      headers.push({ name, value: line.slice(colon + 1).trim() });
    }
  }
  for (const name of NEEDED) {
    if (!headers.some((h) => h.name === name && h.value !== '')) {
      return undefined;
    }
  }
  return { type: 'request', method, requestUri, headers, body: new Uint8Array(0) };
}
