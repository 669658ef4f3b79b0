import { err, ok, type Result } from '../result.js';

/**
 * SDP Security Descriptions for media streams, RFC 4568 (https://www.rfc-editor.org/rfc/rfc4568):
 * the `a=crypto` attribute that carries SRTP master keys in the clear SDP of a TLS-protected SIP
 * dialog (SIPREC SBCs, CUBE). Grammar, RFC 4568 §9.1:
 *
 *     a=crypto:<tag> <crypto-suite> <key-params> [<session-param> ...]
 *     key-params    = key-param *(";" key-param)
 *     key-param     = "inline:" key-salt ["|" lifetime] ["|" mki-value ":" mki-length]
 *     key-salt      = base64 of master key || master salt
 *     lifetime      = ["2^"] 1*DIGIT
 *
 * The functions here take and return the attribute VALUE, the text after `a=crypto:`.
 */

/** The SRTP crypto suites Verbatim can decrypt (RFC 4568 §6.2.1, §6.2.2). */
export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32';

export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'];

/** Both supported suites use a 128-bit master key and a 112-bit master salt (RFC 4568 §6.2). */
export const SRTP_MASTER_KEY_BYTES = 16;
export const SRTP_MASTER_SALT_BYTES = 14;

export interface SdesCrypto {
  /** The tag the answer must repeat (RFC 4568 §5.1: 1 to 9 digits). */
  readonly tag: number;
  readonly suite: SrtpSuite;
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  /** Master key lifetime in packets, when given (RFC 4568 §6.1, `2^n` or a decimal number). */
  readonly lifetimePackets?: number;
  /**
   * The master key identifier every SRTP packet carries (RFC 3711 §3.1), as its `mki-length`
   * bytes, big-endian; absent when the key has no MKI.
   */
  readonly mki?: Uint8Array;
}

export const SDES_ERR_SYNTAX = 'VERBATIM_ERR_SDES_SYNTAX';
export const SDES_ERR_UNSUPPORTED_SUITE = 'VERBATIM_ERR_SDES_UNSUPPORTED_SUITE';
export const SDES_ERR_KEY_METHOD = 'VERBATIM_ERR_SDES_KEY_METHOD';
export const SDES_ERR_KEY = 'VERBATIM_ERR_SDES_KEY';
export const SDES_ERR_LIFETIME = 'VERBATIM_ERR_SDES_LIFETIME';
export const SDES_ERR_MKI = 'VERBATIM_ERR_SDES_MKI';
export const SDES_ERR_MULTIPLE_KEYS = 'VERBATIM_ERR_SDES_MULTIPLE_KEYS';
export const SDES_ERR_SESSION_PARAM = 'VERBATIM_ERR_SDES_SESSION_PARAM';
export const SDES_ERR_NONE_USABLE = 'VERBATIM_ERR_SDES_NONE_USABLE';

/** An SDP attribute line is short; anything longer is not a crypto attribute worth reading. */
const MAX_ATTRIBUTE_CHARS = 4096;
/** RFC 3711 §3.2.1: an SRTP master key may protect at most 2^48 RTP packets. */
const MAX_LIFETIME_EXPONENT = 48;
/** RFC 4568 §9.1: mki-length is 1 to 128 bytes. */
const MAX_MKI_BYTES = 128;

function isSupportedSuite(suite: string): suite is SrtpSuite {
  return (SRTP_SUITES as readonly string[]).includes(suite);
}

/**
 * Parses one `a=crypto` value. Only what Verbatim can actually use parses: a supported suite,
 * one inline key of the right length, a key derivation rate of 0 and no session parameter that
 * changes the packet format. Anything else is a typed error, so `chooseCrypto` moves on to the
 * next offered attribute.
 */
export function parseCryptoAttribute(value: string): Result<SdesCrypto> {
  if (value.length > MAX_ATTRIBUTE_CHARS) {
    return err(SDES_ERR_SYNTAX, `crypto attribute of ${value.length} characters is too long`, 0);
  }
  const fields = value.trim().split(/[ \t]+/);
  const [tagText, suite, keyParams, ...sessionParams] = fields;
  if (tagText === undefined || suite === undefined || keyParams === undefined) {
    return err(SDES_ERR_SYNTAX, 'crypto attribute needs a tag, a crypto suite and key parameters', 0);
  }
  if (!/^[0-9]{1,9}$/.test(tagText)) {
    return err(SDES_ERR_SYNTAX, `crypto tag "${tagText}" is not 1 to 9 digits`, 0);
  }
  if (!isSupportedSuite(suite)) {
    return err(SDES_ERR_UNSUPPORTED_SUITE, `crypto suite "${suite}" is not supported`);
  }
  const keys = keyParams.split(';');
  if (keys.length > 1) {
    // Several keys distinguished by MKI (RFC 4568 §6.1) would need a key lookup per packet; no
    // recorded source sends them, so such an attribute is declined rather than half supported.
    return err(SDES_ERR_MULTIPLE_KEYS, `${keys.length} keys in one crypto attribute are not supported`);
  }
  const key = parseKeyParam(keyParams);
  if (!key.ok) {
    return key;
  }
  for (const param of sessionParams) {
    const checked = checkSessionParam(param);
    if (!checked.ok) {
      return checked;
    }
  }
  return ok({ tag: Number(tagText), suite, ...key.value });
}

/**
 * The first attribute of `values` (the `a=crypto` values of one m-line, in offer order) that
 * parses; RFC 4568 §7.1.2 lets the answerer pick any, and the offerer lists its preference first.
 */
export function chooseCrypto(values: readonly string[]): Result<SdesCrypto> {
  const problems: string[] = [];
  for (const value of values) {
    const parsed = parseCryptoAttribute(value);
    if (parsed.ok) {
      return parsed;
    }
    problems.push(`${parsed.error.code}: ${parsed.error.message}`);
  }
  return err(
    SDES_ERR_NONE_USABLE,
    values.length === 0
      ? 'no crypto attribute offered'
      : `none of ${values.length} crypto attributes is usable (${problems.join('; ')})`,
  );
}

/**
 * Formats the value of our answer's `a=crypto` attribute (RFC 4568 §7.1.2: the offer's tag and
 * suite, our own key), e.g. `1 AES_CM_128_HMAC_SHA1_80 inline:<base64>`. `keyAndSalt` is the
 * 16-byte master key followed by the 14-byte master salt. Throws RangeError on a programming
 * error (a bad tag or key length): no input from the wire reaches it.
 */
export function buildCryptoAttribute(tag: number, suite: SrtpSuite, keyAndSalt: Uint8Array): string {
  if (!Number.isInteger(tag) || tag < 0 || tag > 999_999_999) {
    throw new RangeError(`crypto tag ${tag} is not 1 to 9 digits`);
  }
  if (keyAndSalt.length !== SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) {
    throw new RangeError(`${suite} needs 30 bytes of key and salt, not ${keyAndSalt.length}`);
  }
  return `${tag} ${suite} inline:${encodeBase64(keyAndSalt)}`;
}

interface KeyParam {
  readonly masterKey: Uint8Array;
  readonly masterSalt: Uint8Array;
  readonly lifetimePackets?: number;
  readonly mki?: Uint8Array;
}

function parseKeyParam(text: string): Result<KeyParam> {
  const colon = text.indexOf(':');
  if (colon < 0 || text.slice(0, colon) !== 'inline') {
    return err(SDES_ERR_KEY_METHOD, `key method of "${text.slice(0, 20)}" is not inline`);
  }
  const [keySalt = '', ...extras] = text.slice(colon + 1).split('|');
  const bytes = decodeBase64(keySalt);
  if (bytes === undefined) {
    return err(SDES_ERR_KEY, 'the inline key is not valid base64');
  }
  if (bytes.length !== SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) {
    return err(SDES_ERR_KEY, `the inline key holds ${bytes.length} bytes, not 30 (key and salt)`);
  }
  if (extras.length > 2) {
    return err(SDES_ERR_SYNTAX, 'an inline key has at most a lifetime and an MKI');
  }
  let lifetimePackets: number | undefined;
  let mki: Uint8Array | undefined;
  for (const [index, extra] of extras.entries()) {
    // The MKI is the field with a colon; a lifetime may only precede it (RFC 4568 §9.1).
    if (extra.includes(':')) {
      const parsed = parseMki(extra);
      if (!parsed.ok) {
        return parsed;
      }
      mki = parsed.value;
    } else if (index === 0) {
      const parsed = parseLifetime(extra);
      if (!parsed.ok) {
        return parsed;
      }
      lifetimePackets = parsed.value;
    } else {
      return err(SDES_ERR_MKI, `"${extra}" after the lifetime is not an MKI of the form value:length`);
    }
  }
  return ok({
    masterKey: bytes.slice(0, SRTP_MASTER_KEY_BYTES),
    masterSalt: bytes.slice(SRTP_MASTER_KEY_BYTES),
    ...(lifetimePackets === undefined ? {} : { lifetimePackets }),
    ...(mki === undefined ? {} : { mki }),
  });
}

function parseLifetime(text: string): Result<number> {
  const power = /^2\^([0-9]{1,2})$/.exec(text);
  if (power !== null) {
    const exponent = Number(power[1]);
    if (exponent > MAX_LIFETIME_EXPONENT) {
      return err(SDES_ERR_LIFETIME, `key lifetime 2^${exponent} exceeds the SRTP maximum of 2^48`);
    }
    return ok(2 ** exponent);
  }
  if (/^[0-9]{1,15}$/.test(text) && Number(text) > 0 && Number(text) <= 2 ** MAX_LIFETIME_EXPONENT) {
    return ok(Number(text));
  }
  return err(SDES_ERR_LIFETIME, `key lifetime "${text.slice(0, 20)}" is not 2^n or a packet count`);
}

function parseMki(text: string): Result<Uint8Array> {
  const match = /^([0-9]{1,16}):([0-9]{1,3})$/.exec(text);
  if (match === null) {
    return err(SDES_ERR_MKI, `MKI "${text.slice(0, 30)}" is not of the form value:length`);
  }
  const value = Number(match[1]);
  const length = Number(match[2]);
  if (length < 1 || length > MAX_MKI_BYTES) {
    return err(SDES_ERR_MKI, `MKI length ${length} is not 1 to 128 bytes`);
  }
  if (!Number.isSafeInteger(value) || (length < 7 && value >= 2 ** (8 * length))) {
    return err(SDES_ERR_MKI, `MKI value ${match[1] ?? ''} does not fit in ${length} bytes`);
  }
  const bytes = new Uint8Array(length);
  let rest = value;
  for (let i = length - 1; i >= 0 && rest > 0; i--) {
    bytes[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  return ok(bytes);
}

/**
 * RFC 4568 §6.3 session parameters. Those that only describe what we do anyway are accepted;
 * those that change the packet format or the key schedule (KDR other than 0, unencrypted or
 * unauthenticated SRTP, FEC ordering) are declined, as is any parameter we do not know, since its
 * meaning could be one of those.
 */
function checkSessionParam(param: string): Result<true> {
  // KDR=0 is the default (no re-keying); RFC 3711 §4.3.1.
  if (param === 'KDR=0' || param === 'UNENCRYPTED_SRTCP') {
    return ok(true);
  }
  // WSH (§6.3.7) asks for a replay window of at least this size; ours is 64, the minimum it allows.
  if (/^WSH=[0-9]{1,10}$/.test(param)) {
    return ok(true);
  }
  return err(SDES_ERR_SESSION_PARAM, `session parameter "${param.slice(0, 40)}" is not supported`);
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const BASE64_VALUES: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < BASE64_ALPHABET.length; i++) {
    table[BASE64_ALPHABET.charCodeAt(i)] = i;
  }
  return table;
})();

/**
 * Strict base64 (RFC 4648 §4), padding optional: undefined on any other character, a misplaced
 * "=", or a length no encoder produces.
 */
export function decodeBase64(text: string): Uint8Array | undefined {
  const body = text.replace(/={1,2}$/, '');
  if (body.length % 4 === 1 || (body.length !== text.length && text.length % 4 !== 0)) {
    return undefined;
  }
  const out = new Uint8Array(Math.floor((body.length * 3) / 4));
  let bits = 0;
  let bitCount = 0;
  let offset = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const sextet = code < 128 ? (BASE64_VALUES[code] ?? -1) : -1;
    if (sextet < 0) {
      return undefined;
    }
    bits = ((bits << 6) | sextet) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[offset++] = (bits >>> bitCount) & 0xff;
    }
  }
  return out;
}

export function encodeBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] ?? 0;
    const b = bytes[i + 1] ?? 0;
    const c = bytes[i + 2] ?? 0;
    const triple = (a << 16) | (b << 8) | c;
    out += BASE64_ALPHABET[(triple >>> 18) & 63] ?? '';
    out += BASE64_ALPHABET[(triple >>> 12) & 63] ?? '';
    out += i + 1 < bytes.length ? (BASE64_ALPHABET[(triple >>> 6) & 63] ?? '') : '=';
    out += i + 2 < bytes.length ? (BASE64_ALPHABET[triple & 63] ?? '') : '=';
  }
  return out;
}
