import {
  EMPTY_TRACK_STATS,
  type CallControllerType,
  type Participant,
  type Track,
} from '../model/session.js';
import type { MediaCodec } from '../protocol/sdp/sdp.js';
import type { SdesCrypto } from '../protocol/sdp/sdes.js';
import type { RecordingMetadata } from '../protocol/siprec/rs-metadata.js';
import type { ServerDialog } from '../sip/types.js';

/**
 * The recording domain's in-memory state: one `LiveSession` per ACTIVE session, one `Leg` per
 * recorded stream (a CUCM session has two legs, each its own dialog; a generic call has one
 * dialog with a leg per audio m= line), and the counters every part of the domain adds to.
 */

export interface LegSrtp {
  readonly remote: SdesCrypto;
  /** Our master key and salt, sent in the answer's a=crypto (we send nothing, but RFC 4568 §7.1.2 wants one). */
  readonly local: Uint8Array;
}

export interface Leg {
  readonly trackNumber: number;
  readonly streamId: string;
  readonly startMs: number;
  /** Index of the m= line this leg answers (early offer), or 0 for our own offer. */
  readonly mediaIndex: number;
  readonly port: number;
  dialog?: ServerDialog;
  /** Our SDP as last sent, re-sent on a re-INVITE without offer. */
  localSdp: string;
  codecKnown: boolean;
  /** The codec being recorded (`PCMU/8000`), to recognise a mid-call codec change. */
  codecKey?: string;
  /** SDES-SRTP: the sender's key (what we decrypt with) and our own answer key. */
  srtp?: LegSrtp;
  /** A video line (stored, never in the WAV); audio otherwise. */
  video?: true;
  /** The m= port of the sender's last offer or answer, to notice its media moving. */
  offeredPort?: number;
  /** SIPREC `a=label` of the m= line: the key that names its stream in the metadata. */
  label?: string;
  /** On hold: the last offer left this line without media (inactive, recvonly, c=0.0.0.0, port 0). */
  inactive: boolean;
  ended: boolean;
  /** As stored with the track; their durations are written when the leg ends. */
  participants: readonly Participant[];
}

export interface LiveSession {
  readonly sessionId: string;
  /** Set once, before the session is stored; an outbound call moves it from the INVITE to the answer. */
  startMs: number;
  readonly controllerType: CallControllerType;
  readonly controllerIp: string;
  readonly ccid: string;
  /** CUCM pairing key, when the session came from CUCM. */
  readonly cucmKey?: string;
  /**
   * CUBE dial-peer forking: the RFC 7989 Session-ID header of the INVITE, when CUBE sent one. The
   * MediaSense session has no field for it, so it is kept here and logged with the session.
   */
  sipSessionId?: string;
  /** The controller's identifiers of the call, stored with the session (Session.correlation). */
  correlation?: Readonly<Record<string, string>>;
  /** SIPREC: the recording metadata as last updated (RFC 7865 partial updates merge into it). */
  siprecMetadata?: RecordingMetadata;
  /**
   * SIPREC: every stream is inactive (the SRC paused the recording by hold). A `Pause` tag marks
   * it unless the API had already paused the recording (hold-tags.ts).
   */
  paused: boolean;
  /**
   * pauseRecording: nothing the session's streams receive is stored until resumeRecording (the
   * media engine drops it; streams opened meanwhile open paused). See recording-control.ts.
   */
  pausedByApi: boolean;
  readonly expectedLegs: number;
  readonly legs: Map<number, Leg>;
  /** Tracks reserved by INVITEs still allocating media, so a parallel INVITE picks another number. */
  readonly reservedTracks: Set<number>;
  /** Database writes of this session, in order (a track cannot be added before its session). */
  dbQueue: Promise<void>;
  persisted: boolean;
  errorReason?: string;
  closing: boolean;
}

/** What a recording dialog is bound to; a codec change rebinds it to the new session. */
export interface DialogBinding {
  session: LiveSession;
  legs: readonly Leg[];
}

/** Counters exposed for monitoring and asserted by tests. */
export interface RecordingCounters {
  invites: number;
  rejected: number;
  cancelled: number;
  sessionsStarted: number;
  sessionsClosedNormal: number;
  sessionsClosedError: number;
  databaseErrors: number;
  /** INVITEs refused with 503 because the node was at --max-sessions. */
  overloaded: number;
  /** INVITEs refused with 503 because the media disk was critically full. */
  storageRefused: number;
  /** Malformed X-Cisco-Recording-Participant values ignored (CUBE INVITEs and re-INVITEs). */
  cubeParticipantsDropped: number;
  /** SIPREC requests whose multipart body or metadata could not be read (answered 400). */
  siprecBodyErrors: number;
  /** Sessions ended and restarted because a re-INVITE changed the codec. */
  codecChanges: number;
}

export function zeroCounters(): RecordingCounters {
  return {
    invites: 0,
    rejected: 0,
    cancelled: 0,
    sessionsStarted: 0,
    sessionsClosedNormal: 0,
    sessionsClosedError: 0,
    databaseErrors: 0,
    overloaded: 0,
    storageRefused: 0,
    cubeParticipantsDropped: 0,
    siprecBodyErrors: 0,
    codecChanges: 0,
  };
}

/** The first track number from `preferred` on that no leg holds or reserves (CUCM: 0, 1, then 2…). */
export function freeTrackNumber(session: LiveSession, preferred: number): number {
  let n = preferred;
  while (session.legs.has(n) || session.reservedTracks.has(n)) {
    n = n < 2 ? 2 : n + 1;
  }
  return n;
}

/** A track file's path, relative to the media directory: one folder per day and session. */
export function mediaPath(session: LiveSession, trackNumber: number): string {
  const day = new Date(session.startMs).toISOString().slice(0, 10);
  return `${day}/${session.sessionId}/track${trackNumber}.pcap`;
}

/** The track stored for a leg; a codec not known yet (delayed offer) is filled in from the ACK. */
export function trackOf(session: LiveSession, leg: Leg, codec: MediaCodec | undefined): Track {
  return {
    trackNumber: leg.trackNumber,
    trackMediaType: leg.video === true ? 'VIDEO' : 'AUDIO',
    codec: codec?.encodingName ?? '',
    payloadType: codec?.payloadType ?? -1,
    clockRateHz: codec?.clockRateHz ?? 8000,
    trackStartDate: leg.startMs,
    mediaPath: mediaPath(session, leg.trackNumber),
    participants: leg.participants,
    tags: [],
    stats: EMPTY_TRACK_STATS,
  };
}
