import { parseSdp, type SessionDescription } from '../protocol/sdp/sdp.js';
import type { ParseError } from '../protocol/result.js';
import type { RecordingMetadata } from '../protocol/siprec/rs-metadata.js';
import { readSiprecBody } from '../protocol/siprec/siprec-body.js';
import { getHeader, type SipRequest } from '../protocol/sip/message.js';
import { decodeUtf8 } from '../protocol/text.js';

/**
 * What the recorder reads from a request body: an SDP offer, SIPREC recording metadata, or both
 * (a SIPREC multipart). SIPREC is recognised by the body itself, since `Require: siprec` and
 * `+sip.src` are often missing (intake-samples §6 quirk 11). Pure: bytes in, values out.
 */

/** An INVITE body: no offer (delayed offer), an SDP offer, and SIPREC metadata when it is SIPREC. */
interface InviteBody {
  readonly offer?: SessionDescription;
  readonly siprec?: RecordingMetadata;
}

/** Why an INVITE body cannot be recorded, and how the INVITE is answered. */
export type InviteBodyProblem =
  | { readonly kind: 'siprec-unreadable'; readonly error: ParseError }
  | { readonly kind: 'siprec-without-sdp' }
  | { readonly kind: 'not-sdp'; readonly contentType: string }
  | { readonly kind: 'sdp-malformed'; readonly error: ParseError };

/** Metadata of a SIPREC body that has none (a multipart with SDP alone is still SIPREC-shaped). */
const EMPTY_METADATA: RecordingMetadata = {
  sipSessionIds: [],
  participants: [],
  streams: [],
  correlation: {},
  streamMapping: 'document-order',
};

export function readInviteBody(
  request: SipRequest,
): { ok: true; value: InviteBody } | { ok: false; problem: InviteBodyProblem } {
  const body = request.body;
  if (body.length === 0) {
    return { ok: true, value: {} };
  }
  const contentType = getHeader(request, 'Content-Type') ?? '';
  const siprec = readSiprecBody(contentType, body);
  if (!siprec.ok) {
    return { ok: false, problem: { kind: 'siprec-unreadable', error: siprec.error } };
  }
  let sdpText: string;
  if (siprec.value !== undefined) {
    if (siprec.value.sdp === undefined) {
      return { ok: false, problem: { kind: 'siprec-without-sdp' } };
    }
    sdpText = siprec.value.sdp;
  } else {
    if (mediaTypeOf(contentType) !== 'application/sdp') {
      return { ok: false, problem: { kind: 'not-sdp', contentType } };
    }
    sdpText = decodeUtf8(body);
  }
  const parsed = parseSdp(sdpText);
  if (!parsed.ok) {
    return { ok: false, problem: { kind: 'sdp-malformed', error: parsed.error } };
  }
  return {
    ok: true,
    value:
      siprec.value === undefined
        ? { offer: parsed.value }
        : { offer: parsed.value, siprec: siprec.value.metadata ?? EMPTY_METADATA },
  };
}

/** The body of a re-INVITE, UPDATE or BYE: an SDP offer and/or SIPREC metadata. */
export interface InDialogBody {
  readonly offer?: SessionDescription;
  readonly metadata?: RecordingMetadata;
  /** The SDP part did not parse (answered 488; metadata next to it is still applied). */
  readonly sdpError?: string;
}

/**
 * Other bodies (INFO payloads, …) carry nothing for the recorder and read as empty; an error is a
 * multipart or metadata body that is malformed.
 */
export function readInDialogBody(
  request: SipRequest,
): { ok: true; value: InDialogBody } | { ok: false; error: ParseError } {
  if (request.body.length === 0) {
    return { ok: true, value: {} };
  }
  const contentType = getHeader(request, 'Content-Type') ?? '';
  const siprec = readSiprecBody(contentType, request.body);
  if (!siprec.ok) {
    return siprec;
  }
  let sdpText: string | undefined;
  if (siprec.value === undefined) {
    sdpText = mediaTypeOf(contentType) === 'application/sdp' ? decodeUtf8(request.body) : undefined;
  } else {
    sdpText = siprec.value.sdp;
  }
  const metadata = siprec.value?.metadata;
  const withMetadata = metadata === undefined ? {} : { metadata };
  if (sdpText === undefined) {
    return { ok: true, value: withMetadata };
  }
  const offer = parseSdp(sdpText);
  if (!offer.ok) {
    return { ok: true, value: { ...withMetadata, sdpError: offer.error.message } };
  }
  return { ok: true, value: { offer: offer.value, ...withMetadata } };
}

function mediaTypeOf(contentType: string): string | undefined {
  return contentType.split(';')[0]?.trim().toLowerCase();
}
