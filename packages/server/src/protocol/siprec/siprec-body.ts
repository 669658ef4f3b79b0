/**
 * Recognises a SIPREC body (RFC 7866 §9: SDP plus RFC 7865 metadata in multipart/mixed) and
 * takes it apart. SIPREC is recognised by the body, never by `Require: siprec` or `+sip.src`,
 * which many SRCs omit or misplace (intake-samples §6 quirk 11). The metadata part is found by
 * its type (`application/rs-metadata+xml`, or the short `application/rs-metadata` of the RFC 7866
 * example) or by `Content-Disposition: recording-session`, which also catches a mangled type such
 * as `application/ +xml` (quirk 9). Bodies of metadata-only UPDATEs and of BYEs are the metadata
 * document itself (quirk 23).
 */
import { parseContentType, splitMultipart, boundaryOf, type MultipartPart } from '../multipart/multipart.js';
import { err, ok, type Result } from '../result.js';
import { decodeUtf8 } from '../text.js';
import {
  MAX_METADATA_BYTES,
  parseRecordingMetadata,
  SiprecErrorCode,
  type RecordingMetadata,
} from './rs-metadata.js';

export interface SiprecBody {
  /** The SDP part, when the body has one (a metadata-only UPDATE or BYE has none). */
  readonly sdp?: string;
  /** The metadata document as received (keep it for audit). */
  readonly metadataXml?: string;
  readonly metadata?: RecordingMetadata;
  /** Parts that are neither the first SDP nor the first metadata part (CUBE's application/gtd). */
  readonly otherParts: number;
}

/** The SRS's request for a snapshot (RFC 7866 §7.1.1.3) is not metadata. */
const METADATA_REQUEST_TYPE = 'application/rs-metadata-request';

function isMetadataType(mediaType: string | undefined): boolean {
  return (
    mediaType !== undefined &&
    mediaType.startsWith('application/rs-metadata') &&
    !mediaType.startsWith(METADATA_REQUEST_TYPE)
  );
}

function isMetadataPart(part: MultipartPart): boolean {
  return part.disposition === 'recording-session' || isMetadataType(part.contentType?.mediaType);
}

/** An SDP part by its type, or a part without headers whose content is SDP (`v=0` first). */
function isSdpPart(part: MultipartPart): boolean {
  if (part.contentType !== undefined) {
    return part.contentType.mediaType === 'application/sdp';
  }
  if (part.headers.some((header) => header.name.toLowerCase() === 'content-type')) {
    return false;
  }
  return /^\s*v=0/.test(decodeUtf8(part.body.subarray(0, 16)));
}

function readMetadata(bytes: Uint8Array): Result<{ xml: string; metadata: RecordingMetadata }> {
  if (bytes.length > MAX_METADATA_BYTES) {
    return err(
      SiprecErrorCode.MetadataTooLarge,
      `metadata part of ${bytes.length} bytes is over ${MAX_METADATA_BYTES}`,
    );
  }
  const xml = decodeUtf8(bytes);
  const metadata = parseRecordingMetadata(xml);
  return metadata.ok ? ok({ xml, metadata: metadata.value }) : metadata;
}

/**
 * Reads a request body given its Content-Type header value. Gives `ok(undefined)` when the body
 * is not SIPREC (plain SDP, no body, a multipart without metadata), a SiprecBody when it is, and
 * an error when it declares multipart but cannot be split, or when its metadata is invalid (the
 * caller answers 400).
 */
export function readSiprecBody(contentType: string, body: Uint8Array): Result<SiprecBody | undefined> {
  const type = parseContentType(contentType);
  if (!type.ok) {
    return ok(undefined);
  }
  if (isMetadataType(type.value.mediaType)) {
    const metadata = readMetadata(body);
    if (!metadata.ok) {
      return metadata;
    }
    return ok({ metadataXml: metadata.value.xml, metadata: metadata.value.metadata, otherParts: 0 });
  }
  if (type.value.type !== 'multipart') {
    return ok(undefined);
  }
  const boundary = boundaryOf(type.value);
  if (!boundary.ok) {
    return boundary;
  }
  const parts = splitMultipart(body, boundary.value);
  if (!parts.ok) {
    return parts;
  }
  const metadataPart = parts.value.find(isMetadataPart);
  if (metadataPart === undefined) {
    return ok(undefined);
  }
  const sdpPart = parts.value.find((part) => part !== metadataPart && isSdpPart(part));
  const metadata = readMetadata(metadataPart.body);
  if (!metadata.ok) {
    return metadata;
  }
  return ok({
    ...(sdpPart === undefined ? {} : { sdp: decodeUtf8(sdpPart.body) }),
    metadataXml: metadata.value.xml,
    metadata: metadata.value.metadata,
    otherParts: parts.value.length - 1 - (sdpPart === undefined ? 0 : 1),
  });
}
