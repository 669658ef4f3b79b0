import type { SessionJson } from '../../api/search.ts';

/** How Search and Play writes a session's parts: the same in the results and the live list. */

/** One party of a call: its device ref and, when an agent was signed in there, who. */
export interface Party {
  readonly deviceRef: string;
  readonly agent?: string;
}

/** The distinct parties of a session, in track order. */
export function partiesOf(session: SessionJson): Party[] {
  const parties = new Map<string, Party>();
  for (const track of session.tracks) {
    for (const p of track.participants) {
      if (parties.has(p.deviceRef)) {
        continue;
      }
      const fullName = [p.agentFirstName, p.agentLastName].filter((n) => n !== undefined).join(' ');
      const agent = fullName !== '' ? fullName : p.loginName;
      parties.set(
        p.deviceRef,
        agent === undefined ? { deviceRef: p.deviceRef } : { deviceRef: p.deviceRef, agent },
      );
    }
  }
  return [...parties.values()];
}

export function partiesText(session: SessionJson): string {
  const parties = partiesOf(session);
  return parties.length === 0
    ? 'no participant'
    : parties.map((p) => (p.agent === undefined ? p.deviceRef : `${p.deviceRef} (${p.agent})`)).join(', ');
}

const DATE_TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function dateTimeText(epochMs: number): string {
  return DATE_TIME.format(new Date(epochMs));
}

/** `h:mm:ss` or `m:ss`. */
export function durationText(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

export const STATE_LABELS: Readonly<Record<string, string>> = {
  ACTIVE: 'Active',
  CLOSED_NORMAL: 'Closed',
  CLOSED_ERROR: 'Closed with error',
  DELETED: 'Deleted',
};

export const HEALTH_LABELS: Readonly<Record<string, string>> = {
  any: 'Any problem',
  ok: 'No problem',
  'packet-loss': 'Packet loss',
  gap: 'Gap in the media',
  'no-packets': 'No packets',
  'silent-track': 'Silent track',
  'one-sided': 'One-sided',
};

/** The session's distinct problem kinds, in the server's order. */
export function problemKinds(session: SessionJson): string[] {
  return [...new Set(session.health.problems.map((p) => p.kind))];
}

/**
 * The user's tag names of the session and its tracks, once each: the system's own (TrackActive,
 * Pause, …) say how the call went, which the session page shows, not what it was about.
 */
export function tagNames(session: SessionJson): string[] {
  const tags = [...session.tags, ...session.tracks.flatMap((t) => t.tags)];
  return [...new Set(tags.filter((t) => t.tagType === 'USER_DEFINED').map((t) => t.tagName))];
}
