/**
 * The RTSP request headers the server acts on: Transport (RFC 2326 §12.39), Range with npt times
 * (§3.6, §12.29), Session (§12.37) and Authorization (Basic, RFC 7617; Digest, RFC 2617 §3.2.2 and
 * RFC 7616 §3.4). Each reader returns a typed error, never throws.
 */
import { err, ok, type Result } from '../result.js';
import { readAuthParams } from '../sip/syntax.js';
import { RtspErrorCode } from './errors.js';

/** One transport a client offers in SETUP. */
export interface TransportSpec {
  /** `RTP/AVP` (the only profile served); others are read so they can be skipped. */
  readonly profile: string;
  /** `UDP` unless the spec says `/TCP`. */
  readonly lowerTransport: 'UDP' | 'TCP';
  readonly unicast: boolean;
  /** `interleaved=a-b`: the channels for RTP and RTCP on the RTSP connection. */
  readonly interleaved?: readonly [number, number];
  /** `client_port=a-b`: where the client receives RTP and RTCP. */
  readonly clientPort?: readonly [number, number];
  /** `mode=`, lower-cased and unquoted ("play" when absent, RFC 2326 §12.39). */
  readonly mode: string;
}

const MAX_TRANSPORT_CHARS = 1024;
const MAX_TRANSPORT_SPECS = 8;

/** Reads the comma-separated list of transports, in the client's order of preference. */
export function parseTransport(value: string): Result<TransportSpec[]> {
  if (value.length > MAX_TRANSPORT_CHARS) {
    return err(RtspErrorCode.Transport, `Transport longer than ${MAX_TRANSPORT_CHARS} characters`);
  }
  const specs: TransportSpec[] = [];
  for (const item of value.split(',')) {
    const text = item.trim();
    if (text === '') {
      continue;
    }
    if (specs.length === MAX_TRANSPORT_SPECS) {
      return err(RtspErrorCode.Transport, `more than ${MAX_TRANSPORT_SPECS} transports offered`);
    }
    const [protocol = '', ...params] = text.split(';').map((p) => p.trim());
    const protocolMatch = /^([A-Za-z0-9]+\/[A-Za-z0-9]+)(?:\/([A-Za-z]+))?$/.exec(protocol);
    if (protocolMatch === null) {
      return err(RtspErrorCode.Transport, 'a transport must start with a protocol/profile such as RTP/AVP');
    }
    const lower = (protocolMatch[2] ?? 'UDP').toUpperCase();
    if (lower !== 'UDP' && lower !== 'TCP') {
      return err(RtspErrorCode.Transport, `lower transport ${lower.slice(0, 16)} is neither UDP nor TCP`);
    }
    let unicast = true;
    let interleaved: [number, number] | undefined;
    let clientPort: [number, number] | undefined;
    let mode = 'play';
    for (const param of params) {
      if (param === '') {
        continue;
      }
      const eq = param.indexOf('=');
      const name = (eq < 0 ? param : param.slice(0, eq)).trim().toLowerCase();
      const raw = eq < 0 ? undefined : param.slice(eq + 1).trim();
      switch (name) {
        case 'unicast':
          unicast = true;
          break;
        case 'multicast':
          unicast = false;
          break;
        case 'interleaved': {
          const range = readRange(raw, 255);
          if (range === undefined) {
            return err(RtspErrorCode.Transport, 'interleaved must be a channel or a channel range (0-255)');
          }
          interleaved = range;
          break;
        }
        case 'client_port': {
          const range = readRange(raw, 65535);
          if (range === undefined || range[0] === 0) {
            return err(RtspErrorCode.Transport, 'client_port must be a port or a port range (1-65535)');
          }
          clientPort = range;
          break;
        }
        case 'mode':
          mode = (raw ?? '').replace(/^"|"$/g, '').toLowerCase();
          break;
        default:
          // ttl, layers, ssrc, destination, source, append…: not used by a unicast player.
          break;
      }
    }
    specs.push({
      profile: (protocolMatch[1] ?? '').toUpperCase(),
      lowerTransport: lower,
      unicast,
      mode,
      ...(interleaved === undefined ? {} : { interleaved }),
      ...(clientPort === undefined ? {} : { clientPort }),
    });
  }
  if (specs.length === 0) {
    return err(RtspErrorCode.Transport, 'no transport offered');
  }
  return ok(specs);
}

/** `a-b` or `a` (then b = a + 1), both within [0, max]. */
function readRange(raw: string | undefined, max: number): [number, number] | undefined {
  const match = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(raw ?? '');
  if (match === null) {
    return undefined;
  }
  const first = Number(match[1]);
  const second = match[2] === undefined ? first + 1 : Number(match[2]);
  return first <= max && second <= max ? [first, second] : undefined;
}

/** A `Range: npt=` value: times in seconds from the start of the presentation. */
export interface NptRange {
  /** Undefined for `npt=-T` (from the start) and `now` (live: the only place there is). */
  readonly startS?: number;
  readonly endS?: number;
  /** `npt=now-`. */
  readonly now: boolean;
}

/** 8 hours, MediaSense's longest call (addendum §6), with room: beyond is not a time in a call. */
const MAX_NPT_S = 100 * 3600;

/**
 * Reads `npt=<start>-[<end>]` (RFC 2326 §3.6): a time is `now`, seconds with a fraction
 * (`12.5`), or `h:mm:ss[.fraction]`. `clock=` and `smpte=` ranges are refused (not served).
 */
export function parseRange(value: string): Result<NptRange> {
  // A `;time=` parameter may follow (§12.29): when the range takes effect; played at once here.
  const [spec = ''] = value.split(';');
  const match = /^\s*npt\s*=\s*([^-\s]*)\s*-\s*([^-\s]*)\s*$/i.exec(spec);
  if (match === null) {
    return err(RtspErrorCode.Range, 'only npt=start-[end] ranges are served');
  }
  const [, startText = '', endText = ''] = match;
  if (startText.toLowerCase() === 'now') {
    return endText === '' ? ok({ now: true }) : err(RtspErrorCode.Range, 'npt=now- takes no end');
  }
  const startS = startText === '' ? undefined : nptSeconds(startText);
  const endS = endText === '' ? undefined : nptSeconds(endText);
  if ((startText !== '' && startS === undefined) || (endText !== '' && endS === undefined)) {
    return err(RtspErrorCode.Range, 'an npt time is seconds (12.5) or h:mm:ss(.f)');
  }
  if (startS === undefined && endS === undefined) {
    return err(RtspErrorCode.Range, 'an npt range needs a start or an end');
  }
  if (startS !== undefined && endS !== undefined && endS < startS) {
    return err(RtspErrorCode.Range, 'the npt range ends before it starts');
  }
  return ok({
    now: false,
    ...(startS === undefined ? {} : { startS }),
    ...(endS === undefined ? {} : { endS }),
  });
}

function nptSeconds(text: string): number | undefined {
  const seconds = /^(\d{1,9})(\.\d{0,9})?$/.exec(text);
  if (seconds !== null) {
    const value = Number(text);
    return value <= MAX_NPT_S ? value : undefined;
  }
  const hms = /^(\d{1,3}):([0-5]\d):([0-5]\d)(\.\d{0,9})?$/.exec(text);
  if (hms === null) {
    return undefined;
  }
  const value = Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3]) + Number(`0${hms[4] ?? ''}`);
  return value <= MAX_NPT_S ? value : undefined;
}

/** Writes `npt=<start>-[<end>]` with millisecond precision, as the PLAY response's Range. */
export function formatNptRange(startS: number, endS?: number): string {
  const f = (s: number): string => (Math.round(s * 1000) / 1000).toFixed(3);
  return `npt=${f(startS)}-${endS === undefined ? '' : f(endS)}`;
}

/** RFC 2326 §3.4: session-id = 1*( ALPHA | DIGIT | safe ); at least 8 characters in practice. */
const SESSION_ID = /^[A-Za-z0-9$\-_.+]{1,64}$/;

/** The session id of a request's Session header, without its parameters (`;timeout=`). */
export function parseSessionHeader(value: string): Result<string> {
  const [id = ''] = value.split(';');
  const trimmed = id.trim();
  return SESSION_ID.test(trimmed) ? ok(trimmed) : err(RtspErrorCode.Session, 'bad session id');
}

/** An Authorization header's credentials, not yet checked. */
export type RtspAuthorization =
  | {
      readonly scheme: 'basic';
      /** The base64 token, not decoded (protocol/ has no base64). */ readonly token: string;
    }
  | { readonly scheme: 'digest'; readonly digest: DigestAuthorization };

/** The parameters of a Digest Authorization (RFC 2617 §3.2.2, RFC 7616 §3.4). */
export interface DigestAuthorization {
  readonly username: string;
  readonly realm: string;
  readonly nonce: string;
  readonly uri: string;
  readonly response: string;
  /** `MD5` when absent. */
  readonly algorithm: string;
  readonly qop?: string;
  readonly nc?: string;
  readonly cnonce?: string;
  readonly opaque?: string;
}

const MAX_AUTHORIZATION_CHARS = 4096;

export function parseAuthorization(value: string): Result<RtspAuthorization> {
  if (value.length > MAX_AUTHORIZATION_CHARS) {
    return err(
      RtspErrorCode.Authorization,
      `Authorization longer than ${MAX_AUTHORIZATION_CHARS} characters`,
    );
  }
  const basic = /^\s*Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(value);
  if (basic !== null) {
    return ok({ scheme: 'basic', token: basic[1] ?? '' });
  }
  const digest = /^\s*Digest\s+/i.exec(value);
  if (digest === null) {
    return err(RtspErrorCode.Authorization, 'only Basic and Digest credentials are accepted');
  }
  const params = readAuthParams(value, digest[0].length, RtspErrorCode.Authorization, 'to-comma');
  if (!params.ok) {
    return params;
  }
  const get = (name: string): string | undefined => params.value.get(name);
  const username = get('username');
  const realm = get('realm');
  const nonce = get('nonce');
  const uri = get('uri');
  const response = get('response');
  if (
    username === undefined ||
    realm === undefined ||
    nonce === undefined ||
    uri === undefined ||
    response === undefined
  ) {
    return err(
      RtspErrorCode.Authorization,
      'Digest credentials need username, realm, nonce, uri and response',
    );
  }
  const optional = (name: 'qop' | 'nc' | 'cnonce' | 'opaque'): Partial<Record<typeof name, string>> => {
    const v = get(name);
    return v === undefined ? {} : { [name]: v };
  };
  return ok({
    scheme: 'digest',
    digest: {
      username,
      realm,
      nonce,
      uri,
      response: response.toLowerCase(),
      algorithm: get('algorithm') ?? 'MD5',
      ...optional('qop'),
      ...optional('nc'),
      ...optional('cnonce'),
      ...optional('opaque'),
    },
  });
}

/** The hash Digest uses: lower-case hex MD5 of the UTF-8 text (handed in: protocol/ has no crypto). */
export type Md5Hex = (text: string) => string;

/**
 * The `response` a client that knows the password computes (RFC 2617 §3.2.2.1), from HA1 =
 * MD5(username:realm:password): with qop=auth, MD5(HA1:nonce:nc:cnonce:qop:HA2), else RFC 2069's
 * MD5(HA1:nonce:HA2); HA2 = MD5(method:uri). MD5-sess replaces HA1 by MD5(HA1:nonce:cnonce).
 */
export function expectedDigestResponse(
  ha1: string,
  method: string,
  credentials: DigestAuthorization,
  md5: Md5Hex,
): string | undefined {
  const algorithm = credentials.algorithm.toUpperCase();
  if (algorithm !== 'MD5' && algorithm !== 'MD5-SESS') {
    return undefined;
  }
  const { nonce, cnonce, nc, qop } = credentials;
  let key = ha1;
  if (algorithm === 'MD5-SESS') {
    if (cnonce === undefined) {
      return undefined;
    }
    key = md5(`${ha1}:${nonce}:${cnonce}`);
  }
  const ha2 = md5(`${method}:${credentials.uri}`);
  if (qop === undefined) {
    return md5(`${key}:${nonce}:${ha2}`);
  }
  if (qop.toLowerCase() !== 'auth' || cnonce === undefined || nc === undefined) {
    return undefined;
  }
  return md5(`${key}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`);
}
