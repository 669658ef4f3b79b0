import type { CallControllerType, Participant } from '../model/session.js';
import type { ParseError } from '../protocol/result.js';
import {
  chooseAudioCodec,
  type MediaCodec,
  type SdpMedia,
  type SessionDescription,
} from '../protocol/sdp/sdp.js';
import type { RecordingMetadata } from '../protocol/siprec/rs-metadata.js';
import { getHeader, type SipHeader, type SipRequest } from '../protocol/sip/message.js';
import { parseNameAddr } from '../protocol/sip/uri.js';
import { isCubeForkingInvite, readCubeIntake, type CubeIntake } from './cube-intake.js';
import { cucmSessionKey, readCucmLeg, type CucmLeg } from './cucm-leg.js';
import { cubeParticipants, cucmParticipants, genericParticipants } from './participants.js';
import { readInviteBody, type InviteBodyProblem } from './request-body.js';
import { isRecordableLine, isWithoutMedia } from './sdp-lines.js';
import { siprecCcid, siprecParticipants } from './siprec-intake.js';

/**
 * The intake decision, pure: an INVITE in, a plan of what to record out (or the refusal to send).
 * No I/O, no media engine, no repository: what the plan asks for (a session, ports, an answer)
 * is done by RecordingService. Capacity and storage refusals depend on the node's state and are
 * decided there too.
 */

/**
 * m= lines one SDP offer may carry, initial or re-offer. A recorded call has a handful of
 * streams: CUCM one per dialog, CUBE two voices and, with video, two video forks, SIPREC one to
 * four voices (mixed or one per participant) and perhaps video. Each recordable line costs an
 * RTP/RTCP port pair, a worker stream and a track file: an offer of 1,000 lines held 1,000 of the
 * range's pairs, and two such INVITEs left other calls without a port. 16 is four times the
 * largest offer seen and keeps one dialog to 16 pairs (the default range holds 14,116). RFC 3264
 * §8 keeps every m= line in later offers, so the limit on each offer bounds the dialog's tracks.
 */
export const MAX_MEDIA_LINES_PER_OFFER = 16;

/**
 * The 488 Warning text for an offer over MAX_MEDIA_LINES_PER_OFFER, or undefined when it is
 * within it (RFC 3261 §21.4.26: 488 when the session description is not acceptable here).
 */
export function tooManyMediaLines(offer: SessionDescription): string | undefined {
  return offer.media.length > MAX_MEDIA_LINES_PER_OFFER
    ? `Too many media lines: ${offer.media.length} m= lines, at most ${MAX_MEDIA_LINES_PER_OFFER}`
    : undefined;
}

/** Which call controller sent the INVITE, recognised from the INVITE alone. */
type Flavour = 'CUCM' | 'CUBE' | 'SIPREC' | 'generic';

interface PlannedLine {
  /** The m= line this leg answers (early offer), or 0 for our own offer (delayed offer). */
  readonly mediaIndex: number;
  /** The offered line; undefined for a delayed offer, whose codec comes with the ACK. */
  readonly media?: SdpMedia;
  /** The codec the track will record, when the offer says (early offer). */
  readonly codec?: MediaCodec;
  /** The line starts without media (CUBE SIPREC sends a=inactive while the call is held). */
  readonly onHold: boolean;
  /** Who is on the track, starting at the plan's `now`. */
  readonly participants: readonly Participant[];
}

export interface InvitePlan {
  readonly flavour: Flavour;
  readonly controllerType: CallControllerType;
  readonly controllerIp: string;
  /** Groups the sessions of one call (MediaSense ccid). */
  readonly ccid: string;
  /** The SDP offer; undefined for a delayed offer (Verbatim offers, the ACK answers). */
  readonly offer?: SessionDescription;
  /** The lines to record, audio first (tracks 0 and 1 are the two voices), then video. */
  readonly lines: readonly PlannedLine[];
  /** Legs the session waits for before it closes normally (CUCM: 2 dialogs of one line each). */
  readonly expectedLegs: number;
  /** CUCM: the leg, the key pairing its two INVITEs, and the track it prefers (near 0, far 1). */
  readonly cucm?: { readonly leg: CucmLeg; readonly key: string; readonly preferredTrack: 0 | 1 };
  /** The RFC 7989 Session-ID header (not for CUCM, whose two dialogs form one session). */
  readonly sipSessionId?: string;
  /** The controller's identifiers of the call (Session.correlation). */
  readonly correlation?: Readonly<Record<string, string>>;
  /** SIPREC: the recording metadata of the INVITE. */
  readonly siprecMetadata?: RecordingMetadata;
  /** CUBE: malformed X-Cisco-Recording-Participant values that were left out. */
  readonly cubeParticipantsDropped: readonly ParseError[];
}

export interface InviteRefusal {
  readonly status: number;
  readonly reasonPhrase: string;
  /** Why, for the RECORDING_EVENT REJECTED. */
  readonly why: string;
  readonly headers: readonly SipHeader[];
  /** The log line that explains it. */
  readonly log: { readonly message: string; readonly fields: Readonly<Record<string, unknown>> };
  /** A SIPREC body that could not be read (counted apart). */
  readonly siprecBodyError: boolean;
}

type InvitePlanning =
  { readonly ok: true; readonly plan: InvitePlan } | { readonly ok: false; readonly refusal: InviteRefusal };

export interface InviteToPlan {
  readonly request: SipRequest;
  readonly callId: string;
  readonly source: { readonly address: string };
}

interface PlanContext {
  /** Our address, named in Warning headers. */
  readonly advertise: string;
  /** When the recording starts: the participants' start date. */
  readonly now: number;
}

export function planInvite(invite: InviteToPlan, context: PlanContext): InvitePlanning {
  const body = readInviteBody(invite.request);
  if (!body.ok) {
    return { ok: false, refusal: bodyRefusal(body.problem, context.advertise) };
  }
  const { offer, siprec } = body.value;
  const overLimit = offer === undefined ? undefined : tooManyMediaLines(offer);
  if (overLimit !== undefined) {
    // Refused before any line is looked at: nothing is planned, so nothing is allocated.
    return {
      ok: false,
      refusal: notAcceptable(overLimit, context.advertise, {
        message: 'INVITE offers too many media lines',
        fields: { mediaLines: offer?.media.length, max: MAX_MEDIA_LINES_PER_OFFER },
      }),
    };
  }
  const from = readFromParams(invite.request);
  const cucm = from === undefined || siprec !== undefined ? undefined : readCucmLeg(from.params);

  // Which m= lines become legs: our own single offer, or the recordable lines of theirs. Audio
  // comes first so that tracks 0 and 1 are the two voices (the WAV's left and right); video
  // lines (CUBE video forks) follow as VIDEO tracks. A call needs audio to be recorded.
  let lines: Omit<PlannedLine, 'participants'>[];
  if (offer === undefined) {
    lines = [{ mediaIndex: 0, onHold: false }];
  } else {
    const audio = offer.media.filter((m) => m.type === 'audio' && isRecordableLine(m));
    const video = offer.media.filter((m) => m.type === 'video' && isRecordableLine(m));
    if (audio.length === 0) {
      return { ok: false, refusal: unrecordableRefusal(offer, context.advertise) };
    }
    lines = (cucm === undefined ? [...audio, ...video] : audio.slice(0, 1)).map((m) => {
      const codec = chooseAudioCodec(m);
      return {
        mediaIndex: m.index,
        media: m,
        ...(codec === undefined ? {} : { codec }),
        onHold: isWithoutMedia(m),
      };
    });
  }
  const base = { controllerIp: invite.source.address, ...(offer === undefined ? {} : { offer }) };

  if (cucm !== undefined) {
    const near = cucm.stream === 'near';
    const participants = cucmParticipants(cucm, near, from?.user, context.now);
    return planned({
      ...base,
      flavour: 'CUCM',
      controllerType: 'Cisco-CUCM',
      ccid: cucmCcid(cucm, invite.callId),
      lines: lines.map((line) => ({ ...line, participants })),
      expectedLegs: 2,
      cucm: { leg: cucm, key: cucmSessionKey(invite.source.address, cucm), preferredTrack: near ? 0 : 1 },
      cubeParticipantsDropped: [],
    });
  }

  // CUBE dial-peer forking: one INVITE, a track per recordable m= line, participants named per
  // m= line by X-Cisco-Recording-Participant (intake-samples §2.1).
  const cube: CubeIntake | undefined =
    siprec === undefined &&
    offer !== undefined &&
    isCubeForkingInvite(invite.request, offer.media.filter((m) => m.type === 'audio').length)
      ? readCubeIntake(invite.request)
      : undefined;
  const sipSessionId = cube?.sipSessionId ?? getHeader(invite.request, 'Session-ID');
  const correlation = callCorrelation(sipSessionId, siprec);
  const shared = {
    ...base,
    expectedLegs: lines.length,
    ...(sipSessionId === undefined ? {} : { sipSessionId }),
    ...(correlation === undefined ? {} : { correlation }),
  };
  if (siprec !== undefined) {
    return planned({
      ...shared,
      flavour: 'SIPREC',
      controllerType: 'SIPREC',
      ccid: siprecCcid(siprec, invite.callId),
      lines: lines.map((line, i) => ({
        ...line,
        participants: siprecParticipants(siprec, line.media?.label, i, lines.length, context.now),
      })),
      siprecMetadata: siprec,
      cubeParticipantsDropped: [],
    });
  }
  if (cube !== undefined) {
    const ccid = cube.ciscoGuid ?? getHeader(invite.request, 'Cisco-Guid') ?? invite.callId;
    return planned({
      ...shared,
      flavour: 'CUBE',
      controllerType: 'Cisco-SIPGateway',
      ccid,
      lines: lines.map((line) => ({
        ...line,
        participants: cubeParticipants(cube, ccid, line.mediaIndex, context.now),
      })),
      cubeParticipantsDropped: cube.dropped,
    });
  }
  return planned({
    ...shared,
    flavour: 'generic',
    controllerType: 'SIP',
    ccid: getHeader(invite.request, 'Cisco-Guid') ?? invite.callId,
    lines: lines.map((line, i) => ({
      ...line,
      participants: genericParticipants(invite.request, i, lines.length, context.now),
    })),
    cubeParticipantsDropped: [],
  });
}

function planned(plan: InvitePlan): InvitePlanning {
  return { ok: true, plan };
}

/**
 * The From URI: its parameters (CUCM names the call in them) and its user part. Exported for
 * in-dialog UPDATEs, which carry a CUCM remote transfer the same way.
 */
export function readFromParams(
  request: SipRequest,
): { params: ReadonlyMap<string, string | null>; user?: string } | undefined {
  const from = getHeader(request, 'From');
  if (from === undefined) {
    return undefined;
  }
  const parsed = parseNameAddr(from);
  if (!parsed.ok) {
    return undefined;
  }
  const user = parsed.value.uri.user;
  return user === undefined ? { params: parsed.value.uri.params } : { params: parsed.value.uri.params, user };
}

/**
 * ccid groups the sessions of one call (MediaSense: "used to identify recording sessions that are
 * part of the same call"). For CUCM the near-end call-leg id is stable across hold/resume, which
 * restarts recording with the same x-refci values, so it serves.
 */
function cucmCcid(leg: CucmLeg, callId: string): string {
  return leg.nearEnd.refCi ?? leg.farEnd.refCi ?? callId;
}

/** Vendor ids taken from SIPREC metadata at most (the parser caps them too; a row stays small). */
const MAX_CORRELATION_IDS = 16;

/**
 * The controller's identifiers of a call, as sent: the RFC 7989 Session-ID header, and for
 * SIPREC the recording session and group ids, the recorded call's Session-ID and the vendor ids
 * of the metadata (Avaya UCID, Ribbon GCID, BroadWorks extTrackingID, …).
 */
function callCorrelation(
  sipSessionId: string | undefined,
  metadata: RecordingMetadata | undefined,
): Record<string, string> | undefined {
  const ids: Record<string, string> = {};
  if (sipSessionId !== undefined) {
    ids.sipSessionId = sipSessionId;
  }
  if (metadata !== undefined) {
    if (metadata.sessionId !== undefined) {
      ids.siprecSessionId = metadata.sessionId;
    }
    if (metadata.groupId !== undefined) {
      ids.siprecGroupId = metadata.groupId;
    }
    const [recordedCall] = metadata.sipSessionIds;
    if (recordedCall !== undefined) {
      ids.sipSessionID = recordedCall;
    }
    let vendorIds = 0;
    for (const [name, value] of Object.entries(metadata.correlation)) {
      if (vendorIds >= MAX_CORRELATION_IDS) {
        break;
      }
      if (!(name in ids)) {
        ids[name] = value;
        vendorIds++;
      }
    }
  }
  return Object.keys(ids).length === 0 ? undefined : ids;
}

function bodyRefusal(problem: InviteBodyProblem, host: string): InviteRefusal {
  switch (problem.kind) {
    case 'siprec-unreadable':
      return {
        status: 400,
        reasonPhrase: 'Bad Request',
        why: problem.error.message,
        headers: [warning(host, problem.error.message)],
        log: { message: 'SIPREC INVITE body unreadable', fields: { error: problem.error } },
        siprecBodyError: true,
      };
    case 'siprec-without-sdp': {
      const why = 'SIPREC body has no application/sdp part';
      return notAcceptable(why, host, { message: 'SIPREC INVITE without an SDP part', fields: {} });
    }
    case 'not-sdp':
      return {
        status: 415,
        reasonPhrase: 'Unsupported Media Type',
        why: `body of type ${problem.contentType}`,
        headers: [{ name: 'Accept', value: 'application/sdp, multipart/mixed' }],
        log: {
          message: 'INVITE body is neither SDP nor SIPREC',
          fields: { contentType: problem.contentType },
        },
        siprecBodyError: false,
      };
    case 'sdp-malformed':
      return notAcceptable(`Malformed SDP: ${problem.error.message}`, host, {
        message: 'INVITE SDP is malformed',
        fields: { error: problem.error },
      });
  }
}

function unrecordableRefusal(offer: SessionDescription, host: string): InviteRefusal {
  const offered = offer.media
    .map((m) => `${m.type}:${m.codecs.map((c) => c.encodingName).join('/') || 'none'}`)
    .join(', ');
  return notAcceptable(`No recordable audio codec offered (${offered})`, host, {
    message: 'INVITE offers nothing Verbatim can record',
    fields: { offered },
  });
}

function notAcceptable(why: string, host: string, log: InviteRefusal['log']): InviteRefusal {
  return {
    status: 488,
    reasonPhrase: 'Not Acceptable Here',
    why,
    headers: [warning(host, why)],
    log,
    siprecBodyError: false,
  };
}

/** A Warning header (exported for the in-dialog 488 to a re-offer over the media line limit). */
export function warning(host: string, text: string): SipHeader {
  // RFC 3261 §20.43: warn-code 399 is "miscellaneous warning"; the text is a quoted string.
  return { name: 'Warning', value: `399 ${host} "${text.replace(/["\\]/g, "'")}"` };
}
