/**
 * CUBE dial-peer media forking, also called network-based recording (DESIGN.md §1.2,
 * intake-samples §2.1 and §2.2): CUBE sends one INVITE with two sendonly `m=audio` lines (four
 * with video), and names the participant of each line in `X-Cisco-Recording-Participant` headers:
 *
 *   X-Cisco-Recording-Participant: sip:708090@10.42.30.5;media-index="0"
 *   X-Cisco-Recording-Participant: sip:10000@10.42.30.32;media-index="1"
 *
 * `media-index` is a space-separated list of m= line positions (0-based, counting every m= line
 * of the offer, so `"0 2"` is the first audio line and the first video line). The header value is
 * copied from the leg's RPID or PAI, so the URI user part is the participant's number.
 *
 * Everything here is pure: a request in, typed values out, never an exception.
 */
import { err, ok, type ParseError, type Result } from '../protocol/result.js';
import { getHeader, getHeaders, type SipRequest } from '../protocol/sip/message.js';
import { parseNameAddr, type NameAddr } from '../protocol/sip/uri.js';

export const CubeErrorCode = {
  /** An X-Cisco-Recording-Participant value that is not a URI, or whose URI has no user part. */
  Participant: 'VERBATIM_ERR_CUBE_PARTICIPANT',
  /** An X-Cisco-Recording-Participant value without a usable media-index parameter. */
  MediaIndex: 'VERBATIM_ERR_CUBE_MEDIA_INDEX',
} as const;

export const CUBE_PARTICIPANT_HEADER = 'X-Cisco-Recording-Participant';

export interface CubeParticipant {
  /** The m= line positions this participant's media is sent on (media-index). */
  readonly mediaIndexes: readonly number[];
  /** The URI user part: the participant's number (MediaSense deviceRef). */
  readonly deviceRef: string;
  /** The URI as written. */
  readonly uri: string;
}

export interface CubeIntake {
  /** The Cisco-Guid header as sent (the MediaSense ccid of CUBE sessions), when present. */
  readonly ciscoGuid?: string;
  /** The RFC 7989 Session-ID header as sent, when present. */
  readonly sipSessionId?: string;
  /** Every well-formed X-Cisco-Recording-Participant value, in header order. */
  readonly participants: readonly CubeParticipant[];
  /** Values that were dropped, one error each (counted and logged by the caller). */
  readonly dropped: readonly ParseError[];
}

/**
 * Whether an INVITE is a CUBE dial-peer forking INVITE: it names its recording participants, or it
 * carries a Cisco-Guid, comes from a Cisco user agent and offers two or more audio lines (a CUBE
 * whose forked legs carry no RPID/PAI sends no participant header). CUCM recording legs also carry
 * a Cisco-Guid but offer no SDP or one line, and are recognised by their From parameters first.
 */
export function isCubeForkingInvite(request: SipRequest, audioLineCount: number): boolean {
  if (getHeaders(request, CUBE_PARTICIPANT_HEADER).length > 0) {
    return true;
  }
  const userAgent = getHeader(request, 'User-Agent') ?? '';
  return getHeader(request, 'Cisco-Guid') !== undefined && audioLineCount >= 2 && /cisco/i.test(userAgent);
}

/** Reads the CUBE metadata of an INVITE (or of a re-INVITE on its dialog). */
export function readCubeIntake(request: SipRequest): CubeIntake {
  const participants: CubeParticipant[] = [];
  const dropped: ParseError[] = [];
  for (const headerValue of getHeaders(request, CUBE_PARTICIPANT_HEADER)) {
    for (const value of splitList(headerValue)) {
      const parsed = parseRecordingParticipant(value);
      if (parsed.ok) {
        participants.push(parsed.value);
      } else {
        dropped.push(parsed.error);
      }
    }
  }
  const ciscoGuid = nonEmpty(getHeader(request, 'Cisco-Guid'));
  const sipSessionId = nonEmpty(getHeader(request, 'Session-ID'));
  return {
    ...(ciscoGuid === undefined ? {} : { ciscoGuid }),
    ...(sipSessionId === undefined ? {} : { sipSessionId }),
    participants,
    dropped,
  };
}

/**
 * Parses one X-Cisco-Recording-Participant value, leniently: an addr-spec or a name-addr, with
 * media-index either as a header parameter (after the URI, as CUBE writes it) or as a URI
 * parameter (inside angle brackets), quoted or not. Whitespace around ":" and "@" (the
 * `sip: 22222 @` of intake-samples §2.1, an artefact of debug output) is removed before a second
 * attempt.
 */
export function parseRecordingParticipant(value: string): Result<CubeParticipant> {
  let parsed = parseNameAddr(value);
  if (!parsed.ok) {
    parsed = parseNameAddr(value.replace(/[ \t]*([:@])[ \t]*/g, '$1'));
  }
  if (!parsed.ok) {
    return err(CubeErrorCode.Participant, `unparsable participant "${value}": ${parsed.error.message}`);
  }
  const user = parsed.value.uri.user;
  if (user === undefined || user.length === 0) {
    return err(CubeErrorCode.Participant, `participant URI "${parsed.value.uriText}" has no user part`);
  }
  const mediaIndexes = readMediaIndex(parsed.value);
  if (mediaIndexes === undefined) {
    return err(CubeErrorCode.MediaIndex, `participant "${value}" has no valid media-index`);
  }
  return ok({ mediaIndexes, deviceRef: user, uri: parsed.value.uriText });
}

/** The participants whose media rides on the m= line at `mediaIndex`. */
export function participantsOfLine(
  participants: readonly CubeParticipant[],
  mediaIndex: number,
): CubeParticipant[] {
  return participants.filter((p) => p.mediaIndexes.includes(mediaIndex));
}

/**
 * A stable hex xRefCi for a CUBE participant. MediaSense filled xRefCi with a hex id for CUBE
 * calls (mediasense-api §5.3) whose derivation is not documented; Verbatim uses the 64-bit FNV-1a
 * hash of `Cisco-Guid|media-index|URI`, written as 16 lowercase hex digits. It is the same for
 * the same party on the same side of the same call (so a re-INVITE that repeats the headers
 * changes nothing), and differs after a transfer, as a CUCM call-leg id does.
 */
export function cubeXRefCi(ciscoGuid: string, mediaIndex: number, uri: string): string {
  const FNV_OFFSET = 0xcbf29ce484222325n;
  const FNV_PRIME = 0x100000001b3n;
  const MASK = 0xffffffffffffffffn;
  let hash = FNV_OFFSET;
  for (const char of `${ciscoGuid}|${String(mediaIndex)}|${uri}`) {
    const code = char.codePointAt(0) ?? 0;
    hash ^= BigInt(code);
    hash = (hash * FNV_PRIME) & MASK;
  }
  return hash.toString(16).padStart(16, '0');
}

function readMediaIndex(nameAddr: NameAddr): number[] | undefined {
  const raw = nameAddr.params.get('media-index') ?? nameAddr.uri.params.get('media-index');
  if (raw === undefined || raw === null) {
    return undefined;
  }
  const text = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1) : raw;
  const parts = text.split(/[\s,]+/).filter((part) => part.length > 0);
  if (parts.length === 0 || !parts.every((part) => /^\d{1,3}$/.test(part))) {
    return undefined;
  }
  return parts.map(Number);
}

/** Splits a header value at commas that are outside quotes and angle brackets (RFC 3261 §7.3.1). */
function splitList(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  let angle = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        quoted = false;
      }
    } else if (c === '"') {
      quoted = true;
    } else if (c === '<') {
      angle = true;
    } else if (c === '>') {
      angle = false;
    } else if (c === ',' && !angle) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((part) => part.trim()).filter((part) => part.length > 0);
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed.length === 0 ? undefined : trimmed;
}
