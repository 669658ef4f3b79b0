import type { Participant, Session, Tag, Track, TrackStats } from '../model/session.js';
import { sessionHealth, type SessionHealth } from '../model/session-health.js';
import { isUndecodableCodec } from '../protocol/codec/codec-support.js';

/**
 * The MediaSense JSON form of a session (reference §5.1–5.4, DESIGN.md §1.3). Optional fields are
 * omitted rather than sent as null, as MediaSense omits sessionDuration while a session is ACTIVE.
 */

export interface MediaUrlOptions {
  /** Address written into media URLs (`--advertise`). */
  readonly advertise: string;
  readonly httpPort: number;
  readonly rtspPort: number;
  /** False under --no-tls: the URLs then use http://, the scheme actually served. */
  readonly tls: boolean;
  /**
   * A short-lived media token for this user and session (api/media-tokens.ts). With it, a session
   * answered to a signed-in user carries `?token=` in `rtspUrl` and, while ACTIVE, a `listenUrl`,
   * so that players which cannot send the cookie can open them.
   */
  readonly mediaToken?: (sessionId: string, username: string) => string;
}

/** Who a session object is written for: their media token goes into its URLs. */
export interface SessionViewer {
  readonly username: string;
}

export interface TagJson {
  tagName: string;
  tagType: string;
  tagCreateDate: number;
  tagOffset?: number;
  trackNumber?: number;
}

export interface ParticipantJson {
  deviceRef: string;
  deviceId?: string;
  xRefCi?: string;
  /** Verbatim extension: the display name (SIPREC `<name>`). */
  name?: string;
  isConference: boolean;
  participantStartDate: number;
  participantDuration?: number;
  /**
   * The agent signed in at this deviceRef during the call (Finesse AgentInfo gadget): the names
   * the signIn hints' agentDataDisplayConfig points at (addendum §7); the first and last name are
   * Verbatim extensions. Absent when no agent was signed in there.
   */
  loginId?: string;
  loginName?: string;
  agentFirstName?: string;
  agentLastName?: string;
}

export interface TrackJson {
  trackNumber: number;
  trackStartDate: number;
  trackDuration?: number;
  trackMediaType: string;
  codec: string;
  downloadUrl?: string;
  participants: ParticipantJson[];
  tags: TagJson[];
  /** Verbatim extension: reception statistics of the track. */
  stats: TrackStats;
}

export interface SessionUrlsJson {
  rtspUrl: string;
  wavUrl: string;
  mp4Url: string;
  httpUrl: string;
  /**
   * Verbatim extension, while ACTIVE and only for a signed-in user: a web page that plays the call
   * live in a browser (docs/api.md "Live listening"). Carries a media token.
   */
  listenUrl?: string;
}

export interface SessionJson {
  sessionId: string;
  sessionState: string;
  sessionStartDate: number;
  sessionDuration?: number;
  callControllerIP: string;
  callControllerType: string;
  ccid: string;
  /**
   * Verbatim extension: present (true) when a track's codec is stored raw because no export can
   * decode it; its channel is silent in the WAV and MP4 (docs/api.md "Codecs").
   */
  undecodable?: true;
  /** Verbatim extension: the controller's identifiers of the call (docs/api.md). */
  correlation?: Readonly<Record<string, string>>;
  /** Present (true) when the session's media was pruned; its state stays CLOSED_* (docs/api.md). */
  pruned?: true;
  /**
   * Verbatim extension: why a CLOSED_ERROR session ended (`disk-full`, `write-failed: EIO`, a
   * media timeout, a shutdown; docs/api.md).
   */
  closeReason?: string;
  /** Verbatim extension: `degraded` when a track lost more than 1 % of its packets (docs/api.md). */
  health: SessionHealth;
  tags: TagJson[];
  tracks: TrackJson[];
  urls: SessionUrlsJson;
}

/** `host:port` for a URL, bracketing an IPv6 literal (RFC 3986 §3.2.2). */
function authority(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

export function httpBaseUrl(options: MediaUrlOptions): string {
  return `${options.tls ? 'https' : 'http'}://${authority(options.advertise, options.httpPort)}`;
}

export function sessionUrls(
  session: Session,
  options: MediaUrlOptions,
  viewer?: SessionViewer,
): SessionUrlsJson {
  const id = encodeURIComponent(session.sessionId);
  const base = httpBaseUrl(options);
  const active = session.sessionState === 'ACTIVE';
  const mp4Url = `${base}/recordedMedia/oramedia/mp4/${id}.mp4`;
  const token =
    viewer === undefined || options.mediaToken === undefined
      ? undefined
      : encodeURIComponent(options.mediaToken(session.sessionId, viewer.username));
  const query = token === undefined ? '' : `?token=${token}`;
  return {
    rtspUrl: `rtsp://${authority(options.advertise, options.rtspPort)}/${active ? 'live' : 'archive'}/${id}${query}`,
    wavUrl: `${base}/recordedMedia/oramedia/wav/${id}.wav`,
    mp4Url,
    httpUrl: mp4Url,
    ...(active && token !== undefined ? { listenUrl: `${base}/listen/${id}${query}` } : {}),
  };
}

export function trackDownloadUrl(sessionId: string, trackNumber: number, options: MediaUrlOptions): string {
  return `${httpBaseUrl(options)}/mma/ExportRaw?recording=${encodeURIComponent(`${sessionId}-TRACK${trackNumber}`)}`;
}

function tagJson(tag: Tag): TagJson {
  const json: TagJson = { tagName: tag.tagName, tagType: tag.tagType, tagCreateDate: tag.tagCreateDate };
  if (tag.tagOffset !== undefined) {
    json.tagOffset = tag.tagOffset;
  }
  if (tag.trackNumber !== undefined) {
    json.trackNumber = tag.trackNumber;
  }
  return json;
}

function participantJson(p: Participant): ParticipantJson {
  const json: ParticipantJson = {
    deviceRef: p.deviceRef,
    isConference: p.isConference,
    participantStartDate: p.participantStartDate,
  };
  if (p.deviceId !== undefined) {
    json.deviceId = p.deviceId;
  }
  if (p.xRefCi !== undefined) {
    json.xRefCi = p.xRefCi;
  }
  if (p.name !== undefined) {
    json.name = p.name;
  }
  if (p.participantDuration !== undefined) {
    json.participantDuration = p.participantDuration;
  }
  if (p.agent !== undefined) {
    json.loginId = p.agent.loginId;
    json.loginName = p.agent.loginName;
    if (p.agent.firstName !== undefined) {
      json.agentFirstName = p.agent.firstName;
    }
    if (p.agent.lastName !== undefined) {
      json.agentLastName = p.agent.lastName;
    }
  }
  return json;
}

function trackJson(session: Session, track: Track, options: MediaUrlOptions): TrackJson {
  const json: TrackJson = {
    trackNumber: track.trackNumber,
    trackStartDate: track.trackStartDate,
    trackMediaType: track.trackMediaType,
    codec: track.codec,
    participants: track.participants.map(participantJson),
    tags: track.tags.map(tagJson),
    stats: track.stats,
  };
  if (track.trackDuration !== undefined) {
    json.trackDuration = track.trackDuration;
  }
  // downloadUrl is given for AUDIO tracks of CLOSED_NORMAL sessions only (reference §5.2, IG851 p.11).
  if (session.sessionState === 'CLOSED_NORMAL' && track.trackMediaType === 'AUDIO') {
    json.downloadUrl = trackDownloadUrl(session.sessionId, track.trackNumber, options);
  }
  return json;
}

export function sessionJson(session: Session, options: MediaUrlOptions, viewer?: SessionViewer): SessionJson {
  const json: SessionJson = {
    sessionId: session.sessionId,
    sessionState: session.sessionState,
    sessionStartDate: session.sessionStartDate,
    // MediaSense omits the duration while a session is ACTIVE (reference §4.1).
    ...(session.sessionState !== 'ACTIVE' && session.sessionDuration !== undefined
      ? { sessionDuration: session.sessionDuration }
      : {}),
    callControllerIP: session.callControllerIP,
    callControllerType: session.callControllerType,
    ccid: session.ccid,
    ...(session.tracks.some((t) => t.trackMediaType === 'AUDIO' && isUndecodableCodec(t.codec, t.clockRateHz))
      ? { undecodable: true as const }
      : {}),
    ...(session.correlation === undefined ? {} : { correlation: session.correlation }),
    ...(session.prunedAt === undefined ? {} : { pruned: true as const }),
    ...(session.sessionState === 'CLOSED_ERROR' && session.closeReason !== undefined
      ? { closeReason: session.closeReason }
      : {}),
    health: sessionHealth(session),
    tags: session.tags.map(tagJson),
    tracks: [...session.tracks]
      .sort((a, b) => a.trackNumber - b.trackNumber)
      .map((t) => trackJson(session, t, options)),
    urls: sessionUrls(session, options, viewer),
  };
  return json;
}
