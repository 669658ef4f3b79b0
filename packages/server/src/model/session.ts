/**
 * The recording domain as the MediaSense API exposes it (see docs/api.md). Every time is epoch
 * milliseconds (UTC) and every duration milliseconds. These are plain values shared by every
 * layer: the recording domain builds them, the repository stores them, the API serialises them.
 */

import type { AgentIdentity } from './agent.js';

export type SessionState = 'ACTIVE' | 'CLOSED_NORMAL' | 'CLOSED_ERROR' | 'DELETED';

export const SESSION_STATES: readonly SessionState[] = ['ACTIVE', 'CLOSED_NORMAL', 'CLOSED_ERROR', 'DELETED'];

export type CallControllerType = 'Cisco-CUCM' | 'Cisco-SIPGateway' | 'SIPREC' | 'SIP';

export type TrackMediaType = 'AUDIO' | 'VIDEO';

export type TagType = 'USER_DEFINED' | 'SYSTEM_DEFINED';

export interface Tag {
  readonly tagName: string;
  readonly tagType: TagType;
  readonly tagCreateDate: number;
  /** Milliseconds from the start of the session (session tags) or of the track (track tags). */
  readonly tagOffset?: number;
  /** Present on track-level tags only. */
  readonly trackNumber?: number;
}

export interface Participant {
  /** Extension or number (CUCM: x-nearendaddr / x-farendaddr). */
  readonly deviceRef: string;
  /** Device name (CUCM: x-nearenddevice / x-farenddevice: SEP…, a trunk name, an address). */
  readonly deviceId?: string;
  /** CUCM call-leg reference (x-refci for the near end, x-farendrefci for the far end). */
  readonly xRefCi?: string;
  /** Display name, when the source gives one (SIPREC `<name>`); a Verbatim extension. */
  readonly name?: string;
  readonly isConference: boolean;
  readonly participantStartDate: number;
  readonly participantDuration?: number;
  /**
   * The agent signed in at this deviceRef while the participant was in the call (AgentInfo
   * gadget, model/agent.ts); set when the session is read, never stored with the participant.
   */
  readonly agent?: AgentIdentity;
}

/** What a track's audio carried, as far as it was checked (TrackStats.content). */
export type TrackContent = 'audio' | 'silence';

/** Reception statistics of one track, kept by the media worker and stored with the track. */
export interface TrackStats {
  readonly packets: number;
  readonly bytes: number;
  /** Packets never received (gaps in the extended sequence number space). */
  readonly lost: number;
  readonly duplicated: number;
  /** Packets that arrived after a later sequence number. */
  readonly reordered: number;
  /** RFC 3550 §6.4.1 interarrival jitter, in milliseconds. */
  readonly jitterMs: number;
  /**
   * Datagrams dropped: not RTP, from an address that is not this stream's source, or (SRTP) sent
   * before the key was known, replayed or too old for the replay window.
   */
  readonly dropped: number;
  /** SRTP packets that failed authentication (wrong key, tampered, unknown MKI); never stored. */
  readonly srtpAuthFailures: number;
  /**
   * Datagrams the kernel dropped on the track's RTP socket, mostly because its receive buffer was
   * full (the socket's `drops` in /proc/net/udp; 0 where the host does not say). A dropped RTP
   * packet followed by a later one is also a sequence gap, so it is usually in `lost` too.
   */
  readonly kernelDropped: number;
  /**
   * Datagrams still queued on the RTP socket when the stream closed, after it had read what it
   * could for up to 500 ms (estimated from the socket's queued bytes; docs/media.md "Counters").
   */
  readonly unreadAtClose: number;
  /**
   * Datagrams accepted for the track but not written to its file: the worker's write backlog was
   * over its cap (the disk fell behind), or the track file failed (records still queued at the
   * failure, and packets after it). Not in `packets`, and no sequence gap in `lost`.
   */
  readonly unstored: number;
  /**
   * RTP packets received while the recording was paused (pauseRecording) and never stored: not
   * in `packets`, and no gap in `lost`. Absent when no packet came during a pause.
   */
  readonly paused?: number;
  /**
   * Gaps in the stored media longer than a second of arrival time (docs/media.md "Gaps and
   * silence"): how many, their total and the longest, in ms. Absent when there was none (and for
   * tracks recorded before they were counted).
   */
  readonly gaps?: number;
  readonly gapMs?: number;
  readonly longestGapMs?: number;
  /**
   * What the track's G.711 packets carried: `audio` once one frame was louder than the silence
   * threshold, `silence` when none was. Absent when it was not checked: no G.711 (PCMU, PCMA)
   * packet was stored, or the track was recorded before it was checked.
   */
  readonly content?: TrackContent;
  /** Wall-clock time of the first and the last stored packet (epoch ms); absent before any. */
  readonly firstPacketAt?: number;
  readonly lastPacketAt?: number;
}

export const EMPTY_TRACK_STATS: TrackStats = {
  packets: 0,
  bytes: 0,
  lost: 0,
  duplicated: 0,
  reordered: 0,
  jitterMs: 0,
  dropped: 0,
  srtpAuthFailures: 0,
  kernelDropped: 0,
  unreadAtClose: 0,
  unstored: 0,
};

/**
 * What a finished track file was when it became final (issue 13, `verbatim verify`): its SHA-256
 * and its length, so a later check tells a truncated file from an altered one.
 */
export interface TrackDigest {
  /** Lower-case hex. */
  readonly sha256: string;
  readonly bytes: number;
  /** When it was computed (epoch ms). */
  readonly digestedAt: number;
}

export interface Track {
  readonly trackNumber: number;
  readonly trackMediaType: TrackMediaType;
  /** MediaSense codec name: "PCMU", "PCMA", … ; "" until the codec is known (delayed offer before ACK). */
  readonly codec: string;
  /** RTP payload type carrying the audio, or -1 until known. */
  readonly payloadType: number;
  readonly clockRateHz: number;
  readonly trackStartDate: number;
  readonly trackDuration?: number;
  /** Path of the track's pcap file, relative to the media directory of the data dir. */
  readonly mediaPath: string;
  /** The digest of the finished track file (absent while recording, and for older recordings). */
  readonly mediaDigest?: TrackDigest;
  readonly participants: readonly Participant[];
  readonly tags: readonly Tag[];
  readonly stats: TrackStats;
}

export interface Session {
  readonly sessionId: string;
  readonly sessionState: SessionState;
  readonly sessionStartDate: number;
  /** Absent while ACTIVE. */
  readonly sessionDuration?: number;
  readonly callControllerIP: string;
  readonly callControllerType: CallControllerType;
  readonly ccid: string;
  /** Node that recorded the session (cluster id, DESIGN.md --node-id). */
  readonly nodeId: string;
  /**
   * Identifiers the call controller gave for the call, as sent (a Verbatim extension): the RFC
   * 7989 `sipSessionId`, SIPREC's `siprecSessionId`, `siprecGroupId` and `sipSessionID`, and
   * vendor ids from the metadata (`ucid`, `gcid`, `extTrackingID`, …).
   */
  readonly correlation?: Readonly<Record<string, string>>;
  /**
   * When the session's media was pruned (epoch ms); absent while it is kept. A pruned session
   * keeps its CLOSED_* state: pruning is a flag, not a state (getAllPrunedSessions).
   */
  readonly prunedAt?: number;
  /**
   * Why the session ended CLOSED_ERROR (`disk-full`, `write-failed: EIO`, `track 1: media
   * stopped`, …); absent for CLOSED_NORMAL and for sessions closed before it was stored.
   */
  readonly closeReason?: string;
  readonly tags: readonly Tag[];
  readonly tracks: readonly Track[];
}
