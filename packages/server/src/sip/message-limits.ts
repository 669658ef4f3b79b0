import type { ParseError } from '../protocol/result.js';
import { SipErrorCode } from '../protocol/sip/errors.js';
import type { SipMessage } from '../protocol/sip/message.js';
import { SipCoreErrorCode } from './message-fields.js';

/*
 * Limits on one SIP message beyond the parser's 64 KiB cap (protocol/sip/errors.ts). The cap
 * bounds memory; these bound the work a message makes (every header looked at, every Via copied
 * into each response) and refuse shapes no controller sends. They are checked on the parsed
 * message, before any transaction or dialog is looked up.
 */

/**
 * Header fields in one message, each value of a comma-separated list counted (the parser splits
 * them). A CUCM INVITE carries about 25 header lines, 50 values with Allow and Supported split;
 * a CUBE SIPREC INVITE about 35 lines. 256 is five times that, far from what any controller sends.
 */
export const MAX_SIP_HEADER_FIELDS = 256;

/**
 * Via values in one request. Each proxy adds one and Max-Forwards starts at 70 (RFC 3261
 * §8.1.1.6): a request that crossed more proxies would have been stopped with 483 on the way.
 */
export const MAX_SIP_VIAS = 70;

/**
 * Characters in one header field (name, colon and value, folded lines joined). 8 KiB is the
 * field limit HTTP servers apply (Apache's LimitRequestFieldSize 8190, nginx's 8 KiB buffers);
 * the longest SIP fields seen (Route sets, P-Asserted-Identity, Call-Info) are a few hundred.
 */
export const MAX_SIP_HEADER_FIELD_CHARS = 8192;

/** Which limit a message broke; the reason is a counter suffix and a log reason. */
export type SipLimitReason = 'header-fields' | 'vias' | 'header-field-length';

export interface SipLimitViolation {
  readonly reason: SipLimitReason;
  /** The 400's reason phrase (RFC 3261 §21.4.1: it "SHOULD identify the syntax problem"). */
  readonly phrase: string;
  /** The Warning text: which limit, and by how much. */
  readonly detail: string;
}

/** The first limit the message breaks, or undefined. Linear in the number of headers. */
export function checkSipMessageLimits(message: SipMessage): SipLimitViolation | undefined {
  const headers = message.headers;
  if (headers.length > MAX_SIP_HEADER_FIELDS) {
    return {
      reason: 'header-fields',
      phrase: 'Too Many Header Fields',
      detail: `${headers.length} header field values, at most ${MAX_SIP_HEADER_FIELDS}`,
    };
  }
  let vias = 0;
  for (const header of headers) {
    if (header.name.length + 1 + header.value.length > MAX_SIP_HEADER_FIELD_CHARS) {
      return {
        reason: 'header-field-length',
        phrase: 'Header Field Too Long',
        detail: `${header.name.slice(0, 64)} header over ${MAX_SIP_HEADER_FIELD_CHARS} characters`,
      };
    }
    if (header.name === 'Via') {
      vias++;
    }
  }
  if (vias > MAX_SIP_VIAS) {
    return {
      reason: 'vias',
      phrase: 'Too Many Via Header Fields',
      detail: `${vias} Via values, at most ${MAX_SIP_VIAS}`,
    };
  }
  return undefined;
}

/** Header names the parser's "missing mandatory header X" may name (RFC 3261 §8.1.1). */
const MANDATORY = ['Via', 'From', 'To', 'Call-ID', 'CSeq'];

/**
 * The status and reason phrase answering a request the parser refused: 413 for a message over the
 * size cap (§21.4.11), 400 otherwise with a phrase naming the problem (§21.4.1, "Missing Call-ID
 * Header Field"). Phrases are fixed texts chosen by code, never peer input; the details go in
 * the Warning.
 */
export function answerForParseError(error: ParseError): { readonly status: number; readonly phrase: string } {
  switch (error.code) {
    case SipErrorCode.TooLarge:
      return { status: 413, phrase: 'Request Entity Too Large' };
    case SipErrorCode.MissingHeader:
    case SipCoreErrorCode.MissingHeader: {
      const words = error.message.split(' ');
      const name = MANDATORY.find((n) => words.includes(n));
      return {
        status: 400,
        phrase: name === undefined ? 'Missing Header Field' : `Missing ${name} Header Field`,
      };
    }
    case SipErrorCode.DuplicateHeader:
      return { status: 400, phrase: 'Duplicate Header Field' };
    case SipErrorCode.ContentLength:
      return { status: 400, phrase: 'Bad Content-Length' };
    case SipErrorCode.CSeq:
    case SipCoreErrorCode.CSeqMethod:
      return { status: 400, phrase: 'Bad CSeq' };
    case SipErrorCode.Via:
      return { status: 400, phrase: 'Bad Via' };
    case SipErrorCode.CallId:
      return { status: 400, phrase: 'Bad Call-ID' };
    case SipErrorCode.MaxForwards:
      return { status: 400, phrase: 'Bad Max-Forwards' };
    case SipErrorCode.NameAddr:
    case SipErrorCode.Uri:
      return { status: 400, phrase: 'Bad Address' };
    case SipErrorCode.RequestUri:
      return { status: 400, phrase: 'Bad Request-URI' };
    case SipErrorCode.HeaderSyntax:
      return { status: 400, phrase: 'Bad Header Syntax' };
    default:
      return { status: 400, phrase: 'Bad Request' };
  }
}
