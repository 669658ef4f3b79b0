/**
 * SIP and SIPS URIs (RFC 3261 §19.1, grammar in §25.1), plus the tel URI (RFC 3966) and an
 * opaque form for any other scheme, so that headers with unknown schemes (RFC 4475 §3.3.4
 * unksm2) still parse; and name-addr (RFC 3261 §20.10), the URI with its display name and
 * header parameters as in From, To and Contact. Everything is kept as written: escapes are not decoded and hosts keep
 * their case and, for IPv6 references, their brackets.
 */
import { err, ok, type Result } from '../result.js';
import { SipErrorCode } from './errors.js';
import {
  isToken,
  isWhitespace,
  parseGenericParams,
  quoteString,
  readQuotedString,
  serializeParams,
  skipWhitespace,
  trimWhitespace,
} from './syntax.js';

export interface SipUri {
  /** Lowercase scheme: "sip", "sips", "tel", or any other. */
  readonly scheme: string;
  readonly user?: string;
  readonly password?: string;
  /** Host as written; IPv6 references keep their brackets ("[::1]"). Empty for tel and opaque URIs. */
  readonly host: string;
  readonly port?: number;
  /** URI parameters: names lowercased, values as written, null for a flag such as ";lr". */
  readonly params: ReadonlyMap<string, string | null>;
  /** Escaped headers after "?" (RFC 3261 §19.1.1), names and values as written. */
  readonly headers: ReadonlyMap<string, string>;
  /** For schemes other than sip, sips and tel: everything after "scheme:", as written. */
  readonly opaque?: string;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/;
const ESCAPED_OR_UNRESERVED = "A-Za-z0-9\\-_.!~*'()";
/** RFC 3261 §25.1 user = 1*( unreserved / escaped / user-unreserved ), user-unreserved = & = + $ , ; ? / */
const USER = new RegExp(`^(?:[${ESCAPED_OR_UNRESERVED}&=+$,;?/]|%[0-9A-Fa-f]{2})+$`);
/** password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," ) */
const PASSWORD = new RegExp(`^(?:[${ESCAPED_OR_UNRESERVED}&=+$,]|%[0-9A-Fa-f]{2})*$`);
/** paramchar = param-unreserved / unreserved / escaped; param-unreserved = [ ] / : & + $ */
const PARAM = new RegExp(`^(?:[${ESCAPED_OR_UNRESERVED}\\[\\]/:&+$]|%[0-9A-Fa-f]{2})+$`);
/** hname / hvalue = *( hnv-unreserved / unreserved / escaped ); hnv-unreserved = [ ] / ? : + $ */
const HEADER_CHARS = new RegExp(`^(?:[${ESCAPED_OR_UNRESERVED}\\[\\]/?:+$]|%[0-9A-Fa-f]{2})*$`);
/** hostname / IPv4address; "_" is tolerated because real deployments use it in host names. */
const HOSTNAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/;
const IPV6_REFERENCE = /^\[[0-9A-Fa-f:.]+\]$/;
/** RFC 3966 telephone-subscriber, loosely: digits, visual separators and DTMF letters. */
const TEL_NUMBER = /^\+?[0-9A-Fa-f*#().\-pwPW]+$/;
/** Characters an opaque absoluteURI part can never contain (it ends at whitespace or <>"). */
const OPAQUE_FORBIDDEN = /[\s<>"]/;

export function isValidHost(host: string): boolean {
  return HOSTNAME.test(host) || IPV6_REFERENCE.test(host);
}

/** Parses a port as 1–5 digits up to 65535. */
export function parsePort(text: string): number | undefined {
  if (!/^[0-9]{1,5}$/.test(text)) {
    return undefined;
  }
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/**
 * Splits `host[:port]` where host may be an IPv6 reference. Returns undefined when malformed.
 */
export function splitHostPort(text: string): { host: string; port?: number } | undefined {
  let host: string;
  let rest: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) {
      return undefined;
    }
    host = text.slice(0, close + 1);
    rest = text.slice(close + 1);
  } else {
    const colon = text.indexOf(':');
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? '' : text.slice(colon);
  }
  if (!isValidHost(host)) {
    return undefined;
  }
  if (rest.length === 0) {
    return { host };
  }
  if (!rest.startsWith(':')) {
    return undefined;
  }
  const port = parsePort(rest.slice(1));
  return port === undefined ? undefined : { host, port };
}

/**
 * Parses `;name[=value]` URI parameters. Whitespace after ";" is tolerated because Cisco's
 * recording documentation prints CUCM From URIs that way ("…=deviceB; x-farendrefci=…"); the
 * Request-URI never reaches here with spaces, since the start line is split on SP first.
 */
function parseUriParams(text: string): Result<Map<string, string | null>> {
  const params = new Map<string, string | null>();
  if (text.length === 0) {
    return ok(params);
  }
  const parts = text.split(';');
  // The text starts with ";", so the first part is empty.
  for (const part of parts.slice(1)) {
    let start = 0;
    while (isWhitespace(part[start])) {
      start += 1;
    }
    let end = part.length;
    while (end > start && isWhitespace(part[end - 1])) {
      end -= 1;
    }
    const param = part.slice(start, end);
    const equals = param.indexOf('=');
    const name = equals < 0 ? param : param.slice(0, equals);
    const value = equals < 0 ? null : param.slice(equals + 1);
    if (!PARAM.test(name)) {
      return err(SipErrorCode.Uri, `bad URI parameter name "${name}"`);
    }
    if (value !== null && !PARAM.test(value)) {
      return err(SipErrorCode.Uri, `bad value for URI parameter "${name}"`);
    }
    const key = name.toLowerCase();
    if (!params.has(key)) {
      params.set(key, value);
    }
  }
  return ok(params);
}

function parseUriHeaders(text: string): Result<Map<string, string>> {
  const headers = new Map<string, string>();
  for (const part of text.split('&')) {
    const equals = part.indexOf('=');
    const name = equals < 0 ? part : part.slice(0, equals);
    const value = equals < 0 ? '' : part.slice(equals + 1);
    if (name.length === 0 || !HEADER_CHARS.test(name) || !HEADER_CHARS.test(value)) {
      return err(SipErrorCode.Uri, `bad URI header "${part}"`);
    }
    if (!headers.has(name)) {
      headers.set(name, value);
    }
  }
  return ok(headers);
}

function parseSipOrSips(scheme: string, rest: string): Result<SipUri> {
  // The user part may itself contain ";", "?" and "/" (RFC 4475 §3.1.1.2 intmeth, §3.1.1.9
  // semiuri) but never "@", and neither may parameters or headers: the last "@" ends userinfo.
  const at = rest.lastIndexOf('@');
  let user: string | undefined;
  let password: string | undefined;
  let afterUser = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    afterUser = rest.slice(at + 1);
    const colon = userinfo.indexOf(':');
    user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    password = colon < 0 ? undefined : userinfo.slice(colon + 1);
    if (!USER.test(user)) {
      return err(SipErrorCode.Uri, `bad user part in ${scheme} URI`);
    }
    if (password !== undefined && !PASSWORD.test(password)) {
      return err(SipErrorCode.Uri, `bad password in ${scheme} URI`);
    }
  }
  const question = afterUser.indexOf('?');
  const beforeHeaders = question < 0 ? afterUser : afterUser.slice(0, question);
  const semicolon = beforeHeaders.indexOf(';');
  const hostPortText = semicolon < 0 ? beforeHeaders : beforeHeaders.slice(0, semicolon);
  const hostPort = splitHostPort(hostPortText);
  if (hostPort === undefined) {
    return err(SipErrorCode.Uri, `bad host or port "${hostPortText}" in ${scheme} URI`);
  }
  const params = parseUriParams(semicolon < 0 ? '' : beforeHeaders.slice(semicolon));
  if (!params.ok) {
    return params;
  }
  const headers =
    question < 0 ? ok(new Map<string, string>()) : parseUriHeaders(afterUser.slice(question + 1));
  if (!headers.ok) {
    return headers;
  }
  return ok({
    scheme,
    ...(user === undefined ? {} : { user }),
    ...(password === undefined ? {} : { password }),
    host: hostPort.host,
    ...(hostPort.port === undefined ? {} : { port: hostPort.port }),
    params: params.value,
    headers: headers.value,
  });
}

function parseTel(rest: string): Result<SipUri> {
  const semicolon = rest.indexOf(';');
  const number = semicolon < 0 ? rest : rest.slice(0, semicolon);
  if (!TEL_NUMBER.test(number)) {
    return err(SipErrorCode.Uri, 'bad tel URI number');
  }
  const params = parseUriParams(semicolon < 0 ? '' : rest.slice(semicolon));
  if (!params.ok) {
    return params;
  }
  return ok({ scheme: 'tel', user: number, host: '', params: params.value, headers: new Map() });
}

/** Parses a URI as written in a Request-URI or between < and > (RFC 3261 §19.1, §25.1). */
export function parseSipUri(text: string): Result<SipUri> {
  const colon = text.indexOf(':');
  const schemeText = colon < 0 ? '' : text.slice(0, colon);
  if (!SCHEME.test(schemeText)) {
    return err(SipErrorCode.Uri, 'URI has no scheme', 0);
  }
  const scheme = schemeText.toLowerCase();
  const rest = text.slice(colon + 1);
  if (scheme === 'sip' || scheme === 'sips') {
    return parseSipOrSips(scheme, rest);
  }
  if (scheme === 'tel') {
    return parseTel(rest);
  }
  if (rest.length === 0 || OPAQUE_FORBIDDEN.test(rest)) {
    return err(SipErrorCode.Uri, `bad ${scheme} URI`, colon + 1);
  }
  return ok({ scheme, host: '', params: new Map(), headers: new Map(), opaque: rest });
}

/** Writes a URI back in the form parseSipUri reads. */
export function serializeSipUri(uri: SipUri): string {
  if (uri.opaque !== undefined) {
    return `${uri.scheme}:${uri.opaque}`;
  }
  let out = `${uri.scheme}:`;
  if (uri.scheme === 'tel') {
    out += uri.user ?? '';
  } else {
    if (uri.user !== undefined) {
      out += uri.password === undefined ? `${uri.user}@` : `${uri.user}:${uri.password}@`;
    }
    out += uri.host;
    if (uri.port !== undefined) {
      out += `:${uri.port}`;
    }
  }
  for (const [name, value] of uri.params) {
    out += value === null ? `;${name}` : `;${name}=${value}`;
  }
  let separator = '?';
  for (const [name, value] of uri.headers) {
    out += `${separator}${name}=${value}`;
    separator = '&';
  }
  return out;
}

export interface NameAddr {
  /** The display name without quotes and with quoted-pairs resolved; absent when none was written. */
  readonly displayName?: string;
  readonly uri: SipUri;
  /** The URI exactly as written (between < and >, or the addr-spec). */
  readonly uriText: string;
  /** Header parameters (tag, expires, q, …): names lowercased, values as written. */
  readonly params: ReadonlyMap<string, string | null>;
}

function uriError(message: string): Result<never> {
  return err(SipErrorCode.NameAddr, message);
}

/**
 * Parses `[display-name] <uri> *(;param)` or `addr-spec *(;param)` (RFC 3261 §20.10). In the
 * addr-spec form the URI ends at the first ";" and everything after belongs to the header; a
 * URI with "?" or "," must be in angle brackets there. No whitespace is allowed just inside the
 * angle brackets (LAQUOT/RAQUOT, RFC 4475 §3.1.2.14 badaspec).
 */
export function parseNameAddr(text: string): Result<NameAddr> {
  const start = skipWhitespace(text, 0);
  let index = start;
  let displayName: string | undefined;
  let angle = -1;
  if (text[index] === '"') {
    const quoted = readQuotedString(text, index);
    if (!quoted.ok) {
      return err(SipErrorCode.NameAddr, 'unterminated quoted display name', index);
    }
    displayName = quoted.value.value;
    index = skipWhitespace(text, quoted.value.end);
    if (text[index] !== '<') {
      return err(SipErrorCode.NameAddr, 'a quoted display name must be followed by <uri>', index);
    }
    angle = index;
  } else {
    const open = text.indexOf('<', index);
    if (open >= 0) {
      // display-name = *(token LWS): tokens only (RFC 4475 §3.1.2.15 baddn has a comma).
      const words = text
        .slice(index, open)
        .split(/[ \t]+/)
        .filter((word) => word.length > 0);
      if (!words.every(isToken)) {
        return err(SipErrorCode.NameAddr, 'display name is neither a quoted string nor tokens', index);
      }
      if (words.length > 0) {
        displayName = trimWhitespace(text.slice(index, open));
      }
      angle = open;
    }
  }
  let uriText: string;
  let paramsText: string;
  if (angle >= 0) {
    const close = text.indexOf('>', angle + 1);
    if (close < 0) {
      return err(SipErrorCode.NameAddr, 'missing ">"', angle);
    }
    uriText = text.slice(angle + 1, close);
    paramsText = text.slice(close + 1);
  } else {
    const semicolon = text.indexOf(';', index);
    uriText = trimWhitespace(semicolon < 0 ? text.slice(index) : text.slice(index, semicolon));
    paramsText = semicolon < 0 ? '' : text.slice(semicolon);
    if (/[?,]/.test(uriText)) {
      return uriError('a URI with "?" or "," must be enclosed in <> (RFC 3261 §20.10)');
    }
    if (/[ \t]/.test(uriText)) {
      return uriError('whitespace inside an addr-spec');
    }
  }
  if (uriText.length === 0 || isWhitespace(uriText[0]) || isWhitespace(uriText[uriText.length - 1])) {
    return uriError('empty URI, or whitespace just inside < >');
  }
  const uri = parseSipUri(uriText);
  if (!uri.ok) {
    return err(SipErrorCode.NameAddr, `bad URI: ${uri.error.message}`);
  }
  const params = parseGenericParams(paramsText, SipErrorCode.NameAddr);
  if (!params.ok) {
    return params;
  }
  return ok({
    ...(displayName === undefined ? {} : { displayName }),
    uri: uri.value,
    uriText,
    params: params.value,
  });
}

/** Writes a name-addr, always in angle brackets, quoting a display name when there is one. */
export function serializeNameAddr(nameAddr: NameAddr): string {
  const display = nameAddr.displayName === undefined ? '' : `${quoteString(nameAddr.displayName)} `;
  return `${display}<${serializeSipUri(nameAddr.uri)}>${serializeParams(nameAddr.params)}`;
}
