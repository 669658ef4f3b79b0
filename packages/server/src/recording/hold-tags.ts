import type { Tag } from '../model/session.js';
import type { Leg, LiveSession } from './live-session.js';

/**
 * The tags of hold and resume, from the legs' line states before and after an offer. SIPREC marks
 * a pause of the whole recording (every open stream without media) with Pause / Resume; CUBE and
 * other sources mark each track with TrackInactive / TrackActive. Offsets count from the session
 * start for the session's Pause / Resume and from the track start for a track's tags. The track
 * tags name their track, which puts them in that track's `tags` (reference §5.2), not the
 * session's. Updates `session.paused`; otherwise pure.
 */
export function holdTransitions(
  session: LiveSession,
  legs: readonly Leg[],
  now: number,
  before: readonly boolean[] = legs.map(() => false),
): Tag[] {
  const tag = (tagName: string, leg?: Leg): Tag => ({
    tagName,
    tagType: 'SYSTEM_DEFINED',
    tagCreateDate: now,
    tagOffset: Math.max(0, now - (leg?.startMs ?? session.startMs)),
    ...(leg === undefined ? {} : { trackNumber: leg.trackNumber }),
  });
  if (session.controllerType === 'SIPREC') {
    const open = legs.filter((leg) => !leg.ended);
    const paused = open.length > 0 && open.every((leg) => leg.inactive);
    if (paused === session.paused) {
      return [];
    }
    session.paused = paused;
    // A recording paused through the API is already marked by its Pause tag, and resumes only
    // with resumeRecording (recording-control.ts): a hold or its end inside it is no tag.
    return session.pausedByApi ? [] : [tag(paused ? 'Pause' : 'Resume')];
  }
  const tags: Tag[] = [];
  for (const [i, leg] of legs.entries()) {
    if (!leg.ended && leg.inactive !== before[i]) {
      tags.push(tag(leg.inactive ? 'TrackInactive' : 'TrackActive', leg));
    }
  }
  return tags;
}
