/**
 * Error codes of the SIP message layer (RFC 3261 §7, §20, §25). Every parser in protocol/sip
 * returns one of these in a ParseError; the transport boundary counts each drop by code and
 * answers 400 (or 505 for VERSION) where RFC 3261 §8.2 and §16.3 ask for it.
 */
export const SipErrorCode = {
  /** The message (or a stream header section or body) is over the 64 KiB cap. */
  TooLarge: 'VERBATIM_ERR_SIP_TOO_LARGE',
  /** Nothing but CRLFs, or no bytes at all. */
  Empty: 'VERBATIM_ERR_SIP_EMPTY',
  /** The Request-Line or Status-Line does not follow RFC 3261 §7.1 / §7.2. */
  StartLine: 'VERBATIM_ERR_SIP_START_LINE',
  /** A SIP-Version other than SIP/2.0 (RFC 3261 §8.2.2 answers 505). */
  Version: 'VERBATIM_ERR_SIP_VERSION',
  /** The Request-URI is malformed, or carries escaped headers (RFC 3261 §19.1.1 table). */
  RequestUri: 'VERBATIM_ERR_SIP_REQUEST_URI',
  /** A header line without a colon, a bad header name, a stray continuation line or a bare CR. */
  HeaderSyntax: 'VERBATIM_ERR_SIP_HEADER_SYNTAX',
  /** A header that RFC 3261 §8.1.1 makes mandatory is missing; the message names it. */
  MissingHeader: 'VERBATIM_ERR_SIP_MISSING_HEADER',
  /** A single-valued header (From, To, Call-ID, CSeq, Max-Forwards, Content-Length) occurs twice. */
  DuplicateHeader: 'VERBATIM_ERR_SIP_DUPLICATE_HEADER',
  /** A bad CSeq, or a CSeq method that differs from the request method (RFC 3261 §8.1.1.5). */
  CSeq: 'VERBATIM_ERR_SIP_CSEQ',
  /** A Via value that does not follow RFC 3261 §20.42. */
  Via: 'VERBATIM_ERR_SIP_VIA',
  /** A From/To/Contact value that is neither a name-addr nor an addr-spec (RFC 3261 §20.10). */
  NameAddr: 'VERBATIM_ERR_SIP_NAME_ADDR',
  /** A URI that does not follow RFC 3261 §19.1 / §25.1. */
  Uri: 'VERBATIM_ERR_SIP_URI',
  /** An empty Call-ID or one with whitespace. */
  CallId: 'VERBATIM_ERR_SIP_CALL_ID',
  /** Max-Forwards is not an integer from 0 to 255 (RFC 3261 §20.22). */
  MaxForwards: 'VERBATIM_ERR_SIP_MAX_FORWARDS',
  /** Content-Length non-numeric, larger than the bytes available, or missing on a stream. */
  ContentLength: 'VERBATIM_ERR_SIP_CONTENT_LENGTH',
} as const;

export type SipErrorCode = (typeof SipErrorCode)[keyof typeof SipErrorCode];

/** RFC 3261 leaves message size open; 64 KiB bounds memory per message and per stream buffer. */
export const MAX_SIP_MESSAGE_BYTES = 64 * 1024;
