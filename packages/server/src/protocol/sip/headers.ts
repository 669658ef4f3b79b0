/**
 * Parsers for the structured header values the SIP core relies on: Via (RFC 3261 §20.42) and
 * CSeq (§20.16), plus name-addr (From, To, Contact, Route; §20.10) re-exported from uri.ts.
 * Each returns a Result and never throws.
 */
import { err, ok, type Result } from '../result.js';
import { SipErrorCode } from './errors.js';
import {
  isToken,
  isTokenChar,
  isWhitespace,
  parseBoundedInteger,
  parseGenericParams,
  serializeParams,
  skipWhitespace,
  trimWhitespace,
} from './syntax.js';
import { isValidHost, parsePort } from './uri.js';

export { splitTopLevelCommas as splitHeaderList } from './syntax.js';
// name-addr lives with the URI code (uri.ts); it is re-exported here for header-oriented callers.
export { parseNameAddr, serializeNameAddr } from './uri.js';

export interface Via {
  /** Transport, uppercased: 'UDP', 'TCP', 'TLS', 'SCTP', 'WS', … */
  readonly protocol: string;
  /** Host as written; IPv6 references keep their brackets. */
  readonly host: string;
  readonly port?: number;
  readonly params: ReadonlyMap<string, string | null>;
  readonly branch?: string;
}

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be less than 2**31. */
const MAX_CSEQ = 2 ** 31 - 1;

function readToken(text: string, position: number): { token: string; end: number } {
  let index = position;
  while (index < text.length && isTokenChar(text[index] ?? '')) {
    index += 1;
  }
  return { token: text.slice(position, index), end: index };
}

function viaError(message: string, offset?: number): Result<never> {
  return err(SipErrorCode.Via, message, offset);
}

/**
 * Parses one Via value: `SIP / 2.0 / transport LWS sent-by *(;via-params)` (RFC 3261 §20.42,
 * SLASH = SWS "/" SWS and COLON = SWS ":" SWS per §25.1).
 */
export function parseVia(text: string): Result<Via> {
  let index = skipWhitespace(text, 0);
  const parts: string[] = [];
  for (let part = 0; part < 3; part += 1) {
    if (part > 0) {
      index = skipWhitespace(text, index);
      if (text[index] !== '/') {
        return viaError('sent-protocol must be name/version/transport', index);
      }
      index = skipWhitespace(text, index + 1);
    }
    const read = readToken(text, index);
    if (read.token.length === 0) {
      return viaError('empty sent-protocol element', index);
    }
    parts.push(read.token);
    index = read.end;
  }
  const [name, version, transport] = parts;
  if (name?.toUpperCase() !== 'SIP' || version !== '2.0' || transport === undefined) {
    return viaError(`unsupported sent-protocol ${parts.join('/')}`);
  }
  if (!isWhitespace(text[index])) {
    return viaError('missing whitespace before sent-by', index);
  }
  index = skipWhitespace(text, index);
  const hostStart = index;
  if (text[index] === '[') {
    const close = text.indexOf(']', index);
    if (close < 0) {
      return viaError('unterminated IPv6 reference', index);
    }
    index = close + 1;
  } else {
    while (index < text.length && /[A-Za-z0-9_.-]/.test(text[index] ?? '')) {
      index += 1;
    }
  }
  const host = text.slice(hostStart, index);
  if (!isValidHost(host)) {
    return viaError('bad sent-by host', hostStart);
  }
  let port: number | undefined;
  const afterHost = skipWhitespace(text, index);
  if (text[afterHost] === ':') {
    const portStart = skipWhitespace(text, afterHost + 1);
    let portEnd = portStart;
    while (portEnd < text.length && /[0-9]/.test(text[portEnd] ?? '')) {
      portEnd += 1;
    }
    port = parsePort(text.slice(portStart, portEnd));
    if (port === undefined) {
      return viaError('bad sent-by port', portStart);
    }
    index = portEnd;
  }
  const params = parseGenericParams(text.slice(index), SipErrorCode.Via);
  if (!params.ok) {
    return params;
  }
  const branch = params.value.get('branch');
  return ok({
    protocol: transport.toUpperCase(),
    host,
    ...(port === undefined ? {} : { port }),
    params: params.value,
    ...(typeof branch === 'string' ? { branch } : {}),
  });
}

/** Writes a Via value as `SIP/2.0/<protocol> host[:port];params`. */
export function serializeVia(via: Via): string {
  const port = via.port === undefined ? '' : `:${via.port}`;
  return `SIP/2.0/${via.protocol} ${via.host}${port}${serializeParams(via.params)}`;
}

/** Parses `1*DIGIT LWS Method` (RFC 3261 §20.16); the number must be below 2**31 (§8.1.1.5). */
export function parseCSeq(text: string): Result<CSeq> {
  const trimmed = trimWhitespace(text);
  const match = /^([0-9]+)[ \t]+(\S+)$/.exec(trimmed);
  const digits = match?.[1];
  const method = match?.[2];
  if (digits === undefined || method === undefined) {
    return err(SipErrorCode.CSeq, 'CSeq must be "number method"');
  }
  const seq = parseBoundedInteger(digits, MAX_CSEQ);
  if (seq === undefined) {
    return err(SipErrorCode.CSeq, 'CSeq number is not below 2**31');
  }
  if (!isToken(method)) {
    return err(SipErrorCode.CSeq, 'CSeq method is not a token');
  }
  return ok({ seq, method });
}
