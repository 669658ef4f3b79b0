import type { SessionJson } from '../../api/player.ts';

/** A position or a length in seconds as m:ss, or h:mm:ss from an hour. */
export function clock(seconds: number): string {
  const whole = Math.max(0, Math.floor(Number.isFinite(seconds) ? seconds : 0));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = String(whole % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** An instant for people: the browser's locale and time zone, to the second. */
export function when(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** A duration in ms, or what it means when there is none yet. */
export function lasting(durationMs: number | undefined): string {
  return durationMs === undefined ? 'still recording' : clock(durationMs / 1000);
}

/** A tag placed on the session's timeline (seconds from the start of the WAV). */
export interface Marker {
  readonly key: string;
  readonly tagName: string;
  readonly tagType: string;
  readonly tagCreateDate: number;
  /** Seconds from the session start; undefined for a whole-session tag. */
  readonly seconds: number | undefined;
  /** The tag's own offset (ms), as deleteSessionTag names it. */
  readonly tagOffset: number | undefined;
  /** The track a track tag belongs to (DTMF, TrackInactive). */
  readonly trackNumber: number | undefined;
  /** Users may remove USER_DEFINED session tags only (docs/api.md deleteSessionTag). */
  readonly removable: boolean;
}

/**
 * Every tag of the session, in time order (whole-session tags first): session tags' offsets are
 * from the session start, track tags' from their track's start (docs/api.md "System tags").
 */
export function markersOf(session: SessionJson): Marker[] {
  const markers: Marker[] = session.tags.map((tag, i) => ({
    key: `s${i}`,
    tagName: tag.tagName,
    tagType: tag.tagType,
    tagCreateDate: tag.tagCreateDate,
    seconds: tag.tagOffset === undefined ? undefined : tag.tagOffset / 1000,
    tagOffset: tag.tagOffset,
    trackNumber: undefined,
    removable: tag.tagType === 'USER_DEFINED',
  }));
  for (const track of session.tracks) {
    track.tags.forEach((tag, i) => {
      const trackOffsetMs = track.trackStartDate - session.sessionStartDate;
      markers.push({
        key: `t${track.trackNumber}-${i}`,
        tagName: tag.tagName,
        tagType: tag.tagType,
        tagCreateDate: tag.tagCreateDate,
        seconds: tag.tagOffset === undefined ? undefined : (trackOffsetMs + tag.tagOffset) / 1000,
        tagOffset: tag.tagOffset,
        trackNumber: track.trackNumber,
        removable: false,
      });
    });
  }
  return markers.sort((a, b) => (a.seconds ?? -1) - (b.seconds ?? -1));
}

/** The people on a track: number, name and signed-in agent where known. */
export function partyOf(session: SessionJson, trackNumber: number): string {
  const track = session.tracks.find((t) => t.trackNumber === trackNumber);
  if (track === undefined) {
    return `track ${trackNumber}`;
  }
  const names = track.participants.map((p) => {
    const agent = [p.agentFirstName, p.agentLastName].filter((x) => x !== undefined).join(' ');
    const who = p.name ?? (agent === '' ? p.loginName : agent);
    return who === undefined || who === '' ? p.deviceRef : `${p.deviceRef} (${who})`;
  });
  return names.length === 0 ? `track ${trackNumber}` : names.join(', ');
}
