/**
 * HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617 §3, RFC 7616 §3.4): reading
 * a `WWW-Authenticate` / `Proxy-Authenticate` challenge and computing the `Authorization` /
 * `Proxy-Authorization` value that answers it. Pure: the hash function is handed in (MD5 or
 * SHA-256 from node:crypto in sip/, the same in the tests), so this file needs no Node module.
 */
import { err, ok, type Result } from '../result.js';
import { quoteString, readAuthParams } from './syntax.js';

/** Error codes of the digest challenge reader (listed in docs/errors.md). */
export const DigestErrorCode = {
  /** The challenge is not `Digest` followed by comma-separated `name=value` parameters. */
  Syntax: 'VERBATIM_ERR_SIP_DIGEST_SYNTAX',
  /** The challenge lacks `realm` or `nonce` (RFC 2617 §3.2.1: both are required). */
  Missing: 'VERBATIM_ERR_SIP_DIGEST_MISSING',
  /** The algorithm is not MD5 or SHA-256 (the `-sess` variants included), or no qop we do is offered. */
  Unsupported: 'VERBATIM_ERR_SIP_DIGEST_UNSUPPORTED',
} as const;

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

/** The hash the algorithm names: lower-case hex of the UTF-8 text. */
export type DigestHash = (algorithm: 'MD5' | 'SHA-256', text: string) => string;

export interface DigestChallenge {
  readonly realm: string;
  readonly nonce: string;
  readonly opaque?: string;
  readonly algorithm: DigestAlgorithm;
  /** `auth` when the challenge offers it; absent for an RFC 2069 challenge without qop. */
  readonly qop?: 'auth';
  /** RFC 2617 §3.2.1: the nonce was stale, the credentials were right; retry without asking the user. */
  readonly stale: boolean;
}

/** Longest challenge read: real ones are a few hundred characters. */
const MAX_CHALLENGE_CHARS = 4096;
const ALGORITHMS: readonly DigestAlgorithm[] = ['MD5', 'MD5-sess', 'SHA-256', 'SHA-256-sess'];

/**
 * Reads a challenge (`Digest realm="…", nonce="…", qop="auth,auth-int", …`). Parameter names are
 * case-insensitive, values quoted or tokens; an unknown parameter is ignored (RFC 2617 §3.2.1).
 */
export function parseDigestChallenge(text: string): Result<DigestChallenge> {
  if (text.length > MAX_CHALLENGE_CHARS) {
    return err(DigestErrorCode.Syntax, `challenge longer than ${MAX_CHALLENGE_CHARS} characters`);
  }
  const scheme = /^\s*Digest(?:\s+|$)/i.exec(text);
  if (scheme === null) {
    return err(DigestErrorCode.Syntax, 'not a Digest challenge');
  }
  const params = readAuthParams(text, scheme[0].length, DigestErrorCode.Syntax, 'token');
  if (!params.ok) {
    return params;
  }
  const get = (name: string): string | undefined => params.value.get(name);
  const realm = get('realm');
  const nonce = get('nonce');
  if (realm === undefined || nonce === undefined) {
    return err(DigestErrorCode.Missing, `challenge without ${realm === undefined ? 'realm' : 'nonce'}`);
  }
  const algorithmText = get('algorithm') ?? 'MD5';
  const algorithm = ALGORITHMS.find((a) => a.toLowerCase() === algorithmText.toLowerCase());
  if (algorithm === undefined) {
    return err(DigestErrorCode.Unsupported, `algorithm ${algorithmText.slice(0, 40)} not supported`);
  }
  const qopText = get('qop');
  const qops = qopText?.split(',').map((q) => q.trim().toLowerCase());
  if (qops !== undefined && !qops.includes('auth')) {
    // auth-int would need the body's hash; no controller offers it alone.
    return err(DigestErrorCode.Unsupported, `qop ${qopText?.slice(0, 40) ?? ''} offers no "auth"`);
  }
  const opaque = get('opaque');
  return ok({
    realm,
    nonce,
    algorithm,
    stale: get('stale')?.toLowerCase() === 'true',
    ...(opaque === undefined ? {} : { opaque }),
    ...(qops === undefined ? {} : { qop: 'auth' as const }),
  });
}

export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
}

export interface DigestRequest {
  readonly method: string;
  /** The Request-URI of the request being authorised: the `uri` parameter (RFC 3261 §22.4). */
  readonly uri: string;
}

/** The client nonce and the count of requests made with this server nonce (qop only). */
export interface DigestNonceUse {
  readonly cnonce: string;
  readonly nonceCount: number;
}

/** The `response` value of RFC 2617 §3.2.2.1 (and RFC 7616 §3.4.1 for SHA-256). */
export function digestResponse(
  challenge: DigestChallenge,
  credentials: DigestCredentials,
  request: DigestRequest,
  use: DigestNonceUse,
  hash: DigestHash,
): string {
  const h = (text: string): string =>
    hash(challenge.algorithm.startsWith('SHA-256') ? 'SHA-256' : 'MD5', text);
  let ha1 = h(`${credentials.username}:${challenge.realm}:${credentials.password}`);
  if (challenge.algorithm.endsWith('-sess')) {
    ha1 = h(`${ha1}:${challenge.nonce}:${use.cnonce}`);
  }
  const ha2 = h(`${request.method}:${request.uri}`);
  return challenge.qop === undefined
    ? h(`${ha1}:${challenge.nonce}:${ha2}`)
    : h(`${ha1}:${challenge.nonce}:${nc(use.nonceCount)}:${use.cnonce}:${challenge.qop}:${ha2}`);
}

/** The whole `Authorization` / `Proxy-Authorization` value answering `challenge`. */
export function digestAuthorization(
  challenge: DigestChallenge,
  credentials: DigestCredentials,
  request: DigestRequest,
  use: DigestNonceUse,
  hash: DigestHash,
): string {
  const response = digestResponse(challenge, credentials, request, use, hash);
  const parts = [
    `username=${quoteString(credentials.username)}`,
    `realm=${quoteString(challenge.realm)}`,
    `nonce=${quoteString(challenge.nonce)}`,
    `uri=${quoteString(request.uri)}`,
    `response="${response}"`,
    `algorithm=${challenge.algorithm}`,
  ];
  if (challenge.qop !== undefined) {
    parts.push(`cnonce=${quoteString(use.cnonce)}`, `qop=${challenge.qop}`, `nc=${nc(use.nonceCount)}`);
  }
  if (challenge.opaque !== undefined) {
    parts.push(`opaque=${quoteString(challenge.opaque)}`);
  }
  return `Digest ${parts.join(', ')}`;
}

/** nc: eight hex digits (RFC 2617 §3.2.2). */
function nc(count: number): string {
  return count.toString(16).padStart(8, '0');
}
