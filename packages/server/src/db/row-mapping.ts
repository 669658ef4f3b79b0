import type { Participant, Session, Tag, Track, TrackDigest, TrackStats } from '../model/session.js';
import { healthKinds, sessionHealth } from '../model/session-health.js';
import type { ParticipantsTable, SessionsTable, TagsTable, TracksTable } from './schema.js';

/**
 * Conversions between domain values and table rows. Optional domain fields become NULL columns
 * and come back omitted (never `undefined`), so a value read equals the value written under
 * `assert.deepStrictEqual`.
 */

export function sessionRow(session: Session): SessionsTable {
  const durationMs = session.sessionDuration ?? null;
  return {
    session_id: session.sessionId,
    state: session.sessionState,
    start_ms: session.sessionStartDate,
    duration_ms: durationMs,
    end_ms: durationMs === null ? null : session.sessionStartDate + durationMs,
    controller_ip: session.callControllerIP,
    controller_type: session.callControllerType,
    ccid: session.ccid,
    node_id: session.nodeId,
    correlation: session.correlation === undefined ? null : JSON.stringify(session.correlation),
    pruned_ms: session.prunedAt ?? null,
    close_reason: session.closeReason ?? null,
    // A session written closed (imports, seeded data) is counted like one closed here.
    health_kinds: session.sessionState === 'ACTIVE' ? null : healthKinds(sessionHealth(session)),
  };
}

export function trackRow(sessionId: string, track: Track): TracksTable {
  return {
    session_id: sessionId,
    track_number: track.trackNumber,
    media_type: track.trackMediaType,
    codec: track.codec,
    payload_type: track.payloadType,
    clock_rate_hz: track.clockRateHz,
    start_ms: track.trackStartDate,
    duration_ms: track.trackDuration ?? null,
    media_path: track.mediaPath,
    ...statsColumns(track.stats),
    ...digestColumns(track.mediaDigest),
  };
}

type StatsColumns = Pick<
  TracksTable,
  | 'stat_packets'
  | 'stat_bytes'
  | 'stat_lost'
  | 'stat_duplicated'
  | 'stat_reordered'
  | 'stat_jitter_ms'
  | 'stat_dropped'
  | 'stat_srtp_auth_failures'
  | 'stat_kernel_dropped'
  | 'stat_unread_at_close'
  | 'stat_unstored'
  | 'stat_paused'
  | 'stat_first_packet_ms'
  | 'stat_last_packet_ms'
  | 'stat_gaps'
  | 'stat_gap_ms'
  | 'stat_longest_gap_ms'
  | 'stat_content'
>;

export function statsColumns(stats: TrackStats): StatsColumns {
  return {
    stat_packets: stats.packets,
    stat_bytes: stats.bytes,
    stat_lost: stats.lost,
    stat_duplicated: stats.duplicated,
    stat_reordered: stats.reordered,
    stat_jitter_ms: stats.jitterMs,
    stat_dropped: stats.dropped,
    stat_srtp_auth_failures: stats.srtpAuthFailures,
    stat_kernel_dropped: stats.kernelDropped,
    stat_unread_at_close: stats.unreadAtClose,
    stat_unstored: stats.unstored,
    stat_paused: stats.paused ?? 0,
    stat_first_packet_ms: stats.firstPacketAt ?? null,
    stat_last_packet_ms: stats.lastPacketAt ?? null,
    stat_gaps: stats.gaps ?? 0,
    stat_gap_ms: stats.gapMs ?? 0,
    stat_longest_gap_ms: stats.longestGapMs ?? 0,
    stat_content: stats.content ?? null,
  };
}

/** The digest columns of a track (migration 0015): all NULL while it has none. */
export function digestColumns(
  digest: TrackDigest | undefined,
): Pick<TracksTable, 'media_sha256' | 'media_bytes' | 'media_digested_ms'> {
  return {
    media_sha256: digest?.sha256 ?? null,
    media_bytes: digest?.bytes ?? null,
    media_digested_ms: digest?.digestedAt ?? null,
  };
}

export function participantRows(
  sessionId: string,
  trackNumber: number,
  participants: readonly Participant[],
): ParticipantsTable[] {
  return participants.map((participant, position) => ({
    session_id: sessionId,
    track_number: trackNumber,
    position,
    device_ref: participant.deviceRef,
    device_id: participant.deviceId ?? null,
    xref_ci: participant.xRefCi ?? null,
    name: participant.name ?? null,
    is_conference: participant.isConference ? 1 : 0,
    start_ms: participant.participantStartDate,
    duration_ms: participant.participantDuration ?? null,
  }));
}

/** A tag row; `ownerTrackNumber` is the track whose list holds it, or null for the session list. */
export function tagRow(sessionId: string, seq: number, ownerTrackNumber: number | null, tag: Tag): TagsTable {
  return {
    session_id: sessionId,
    seq,
    track_number: ownerTrackNumber,
    tag_track_number: tag.trackNumber ?? null,
    name: tag.tagName,
    name_lower: tag.tagName.toLowerCase(),
    type: tag.tagType,
    create_ms: tag.tagCreateDate,
    offset_ms: tag.tagOffset ?? null,
  };
}

export function toSession(row: SessionsTable, tags: readonly Tag[], tracks: readonly Track[]): Session {
  return {
    sessionId: row.session_id,
    sessionState: row.state,
    sessionStartDate: row.start_ms,
    ...(row.duration_ms === null ? {} : { sessionDuration: row.duration_ms }),
    callControllerIP: row.controller_ip,
    callControllerType: row.controller_type,
    ccid: row.ccid,
    nodeId: row.node_id,
    ...correlationOf(row.correlation),
    ...(row.pruned_ms === null ? {} : { prunedAt: row.pruned_ms }),
    ...(row.close_reason === null ? {} : { closeReason: row.close_reason }),
    tags,
    tracks,
  };
}

/** The stored correlation object; a value that is not a JSON object of strings is left out. */
function correlationOf(text: string | null): { correlation?: Readonly<Record<string, string>> } {
  if (text === null) {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return {};
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {};
  }
  const entries = Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string');
  return { correlation: Object.fromEntries(entries) };
}

export function toTrack(row: TracksTable, participants: readonly Participant[], tags: readonly Tag[]): Track {
  return {
    trackNumber: row.track_number,
    trackMediaType: row.media_type,
    codec: row.codec,
    payloadType: row.payload_type,
    clockRateHz: row.clock_rate_hz,
    trackStartDate: row.start_ms,
    ...(row.duration_ms === null ? {} : { trackDuration: row.duration_ms }),
    mediaPath: row.media_path,
    ...(row.media_sha256 === null || row.media_bytes === null
      ? {}
      : {
          mediaDigest: {
            sha256: row.media_sha256,
            bytes: row.media_bytes,
            digestedAt: row.media_digested_ms ?? 0,
          },
        }),
    participants,
    tags,
    stats: {
      packets: row.stat_packets,
      bytes: row.stat_bytes,
      lost: row.stat_lost,
      duplicated: row.stat_duplicated,
      reordered: row.stat_reordered,
      jitterMs: row.stat_jitter_ms,
      dropped: row.stat_dropped,
      srtpAuthFailures: row.stat_srtp_auth_failures,
      kernelDropped: row.stat_kernel_dropped,
      unreadAtClose: row.stat_unread_at_close,
      unstored: row.stat_unstored,
      // Optional in the model: absent for a track that was never paused, as before it was stored.
      ...(row.stat_paused > 0 ? { paused: row.stat_paused } : {}),
      ...(row.stat_first_packet_ms === null ? {} : { firstPacketAt: row.stat_first_packet_ms }),
      ...(row.stat_last_packet_ms === null ? {} : { lastPacketAt: row.stat_last_packet_ms }),
      // Migration 0016: absent when there was no gap, or the content was not checked.
      ...(row.stat_gaps > 0
        ? {
            gaps: row.stat_gaps,
            gapMs: row.stat_gap_ms,
            longestGapMs: row.stat_longest_gap_ms,
          }
        : {}),
      ...(row.stat_content === 'audio' || row.stat_content === 'silence'
        ? { content: row.stat_content }
        : {}),
    },
  };
}

export function toParticipant(row: ParticipantsTable): Participant {
  return {
    deviceRef: row.device_ref,
    ...(row.device_id === null ? {} : { deviceId: row.device_id }),
    ...(row.xref_ci === null ? {} : { xRefCi: row.xref_ci }),
    ...(row.name === null ? {} : { name: row.name }),
    isConference: row.is_conference !== 0,
    participantStartDate: row.start_ms,
    ...(row.duration_ms === null ? {} : { participantDuration: row.duration_ms }),
  };
}

export function toTag(row: TagsTable): Tag {
  return {
    tagName: row.name,
    tagType: row.type,
    tagCreateDate: row.create_ms,
    ...(row.offset_ms === null ? {} : { tagOffset: row.offset_ms }),
    ...(row.tag_track_number === null ? {} : { trackNumber: row.tag_track_number }),
  };
}
