/**
 * Error codes of the RTSP message layer (RFC 2326, RFC 7826). Every parser in protocol/rtsp returns
 * one of these in a ParseError; the RTSP server counts each by code and answers with the status
 * that RFC 2326 §7.1.1 gives the fault (400, 413, 461, 457, 505) before closing when it must.
 */
export const RtspErrorCode = {
  /** A request's header section or body is over the cap, or an interleaved frame is too long. */
  TooLarge: 'VERBATIM_ERR_RTSP_TOO_LARGE',
  /** The Request-Line is not `Method SP Request-URI SP RTSP-Version` (RFC 2326 §6.1). */
  RequestLine: 'VERBATIM_ERR_RTSP_REQUEST_LINE',
  /** An RTSP-Version other than RTSP/1.0 (RFC 2326 §7.1.1 answers 505). */
  Version: 'VERBATIM_ERR_RTSP_VERSION',
  /** A header line without a colon, a bad header name, or a bare CR or LF inside the headers. */
  HeaderSyntax: 'VERBATIM_ERR_RTSP_HEADER_SYNTAX',
  /** CSeq missing, repeated or not a number (RFC 2326 §12.17: every request carries one). */
  CSeq: 'VERBATIM_ERR_RTSP_CSEQ',
  /** Content-Length non-numeric or repeated. */
  ContentLength: 'VERBATIM_ERR_RTSP_CONTENT_LENGTH',
  /** A Transport header that does not follow RFC 2326 §12.39. */
  Transport: 'VERBATIM_ERR_RTSP_TRANSPORT',
  /** A Range header that is not an `npt=` range of RFC 2326 §3.6 (or uses another time format). */
  Range: 'VERBATIM_ERR_RTSP_RANGE',
  /** A Session header without a valid session id (RFC 2326 §12.37). */
  Session: 'VERBATIM_ERR_RTSP_SESSION',
  /** An Authorization header that is neither Basic (RFC 7617) nor Digest (RFC 2617 §3.2.2). */
  Authorization: 'VERBATIM_ERR_RTSP_AUTHORIZATION',
} as const;

export type RtspErrorCode = (typeof RtspErrorCode)[keyof typeof RtspErrorCode];

/**
 * 8 KiB for a request's header section: real RTSP requests are a few hundred bytes (a Digest
 * Authorization the longest part). Bounds the memory one connection can hold.
 */
export const MAX_RTSP_HEADER_BYTES = 8 * 1024;
/** Bodies are rare in requests a player sends (GET_PARAMETER, SET_PARAMETER): 8 KiB is plenty. */
export const MAX_RTSP_BODY_BYTES = 8 * 1024;
