/**
 * Reading credentials from request headers. MediaSense clients carry the session either as the
 * `JSESSIONID` cookie (browsers, most clients) or as a bare `JSESSIONID: <id>` request header (the
 * developer guide's examples, SpinSci's connector); downloads may instead use HTTP Basic with the
 * API user's credentials, which MediaSense requires from 9.1 on (addendum §6).
 */

type HeaderValue = string | readonly string[] | undefined;

export interface RequestHeaders {
  readonly [name: string]: HeaderValue;
}

/** Session ids are 32 hex digits; anything much longer is not worth a map lookup. */
const MAX_SESSION_ID_LENGTH = 128;

function headerValues(value: HeaderValue): readonly string[] {
  if (value === undefined) {
    return [];
  }
  return typeof value === 'string' ? [value] : value;
}

/**
 * Every JSESSIONID the request offers, cookie values first, in order. Several are possible (a
 * stale cookie from another path and a fresh header); the caller accepts the first live one.
 */
export function sessionIdCandidates(headers: RequestHeaders): string[] {
  const candidates: string[] = [];
  for (const cookieHeader of headerValues(headers.cookie)) {
    // RFC 6265 §5.4: cookie-pairs separated by "; "; the name is case-sensitive but clients vary.
    for (const pair of cookieHeader.split(';')) {
      const eq = pair.indexOf('=');
      if (eq > 0 && pair.slice(0, eq).trim().toUpperCase() === 'JSESSIONID') {
        candidates.push(unquote(pair.slice(eq + 1).trim()));
      }
    }
  }
  for (const value of headerValues(headers.jsessionid)) {
    candidates.push(unquote(value.trim()));
  }
  return candidates.filter((c) => c.length > 0 && c.length <= MAX_SESSION_ID_LENGTH);
}

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

export interface BasicCredentials {
  readonly username: string;
  readonly password: string;
}

/** RFC 7617 Basic credentials from the Authorization header, or undefined when absent or malformed. */
export function basicCredentials(headers: RequestHeaders): BasicCredentials | undefined {
  const [authorization] = headerValues(headers.authorization);
  if (authorization === undefined) {
    return undefined;
  }
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  const encoded = match?.[1];
  if (encoded === undefined) {
    return undefined;
  }
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  // RFC 7617 §2: the user-id cannot contain a colon, so the first colon separates the two.
  const colon = decoded.indexOf(':');
  if (colon <= 0) {
    return undefined;
  }
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** `JSESSIONID=<id>; Path=/; HttpOnly`, plus `Secure` when the node serves HTTPS. */
export function sessionCookie(id: string, tls: boolean): string {
  return `JSESSIONID=${id}; Path=/; HttpOnly${tls ? '; Secure' : ''}`;
}

/** A cookie that makes the browser forget the session at signOut. */
export function expiredSessionCookie(tls: boolean): string {
  return `JSESSIONID=; Path=/; Max-Age=0; HttpOnly${tls ? '; Secure' : ''}`;
}
