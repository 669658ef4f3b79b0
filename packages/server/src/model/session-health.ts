import type { Session, Track, TrackContent, TrackStats } from './session.js';

/**
 * Whether a session was recorded well, from the counters the media engine stored with each track
 * when it ended (docs/api.md "health", docs/media.md "Gaps and silence"). Pure: the API computes
 * it when it renders a session (and so the ENDED event, whose body is the session), and the
 * repository computes it when it closes one, to store the problem kinds the node summary counts.
 */

/**
 * A track that lost more than this share of its packets is a problem. 1 % is where voice quality
 * is commonly held to suffer (Cisco's voice QoS guidance asks for loss under 1 %); below it, a
 * recording has short gaps, counted in the track's stats but not flagged.
 */
export const PACKET_LOSS_THRESHOLD_PERCENT = 1;

/**
 * A stretch without packets longer than this, while the line was open, is a gap (issue 13: "gaps
 * longer than a second"). Shorter ones are loss or jitter, which `packet-loss` covers.
 */
export const GAP_THRESHOLD_MS = 1000;

/** Every problem kind, in the order a session's problems and the summaries list them. */
export const HEALTH_PROBLEM_KINDS = [
  'packet-loss',
  'gap',
  'no-packets',
  'silent-track',
  'one-sided',
] as const;

export type HealthProblemKind = (typeof HEALTH_PROBLEM_KINDS)[number];

export interface TrackLoss {
  /** Packets sent to the track and not stored. */
  readonly lost: number;
  /** Packets the track should have: stored (without duplicates) and lost. */
  readonly expected: number;
  /** `lost` as a percentage of `expected`, to two decimals; 0 when nothing was expected. */
  readonly percent: number;
}

/** More than PACKET_LOSS_THRESHOLD_PERCENT of the track's packets were lost. */
export interface PacketLossProblem extends TrackLoss {
  readonly trackNumber: number;
  readonly kind: 'packet-loss';
}

/** The track's media stopped for more than GAP_THRESHOLD_MS at least once while the line was open. */
export interface GapProblem {
  readonly trackNumber: number;
  readonly kind: 'gap';
  readonly gaps: number;
  readonly gapMs: number;
  readonly longestGapMs: number;
}

/** An audio track of a closed session that stored no packet (and heard none while paused). */
export interface NoPacketsProblem {
  readonly trackNumber: number;
  readonly kind: 'no-packets';
}

/** An audio track whose G.711 packets carried only silence. */
export interface SilentTrackProblem {
  readonly trackNumber: number;
  readonly kind: 'silent-track';
}

/** Some party was heard and another never was: `trackNumbers` are the tracks of the unheard. */
export interface OneSidedProblem {
  readonly kind: 'one-sided';
  readonly trackNumbers: readonly number[];
}

export type HealthProblem =
  PacketLossProblem | GapProblem | NoPacketsProblem | SilentTrackProblem | OneSidedProblem;

/** The figures of one track, problem or not. */
export interface TrackHealth {
  readonly trackNumber: number;
  /** Packets the track should have (TrackLoss.expected). */
  readonly expected: number;
  /** Packets stored, without duplicates. */
  readonly received: number;
  readonly lost: number;
  readonly lossPercent: number;
  readonly gaps: number;
  readonly gapMs: number;
  readonly longestGapMs: number;
  /** TrackStats.content, `not-checked` where it is absent (not G.711, or recorded before). */
  readonly content: TrackContent | 'not-checked';
}

export interface SessionHealth {
  readonly status: 'ok' | 'degraded';
  readonly problems: readonly HealthProblem[];
  readonly tracks: readonly TrackHealth[];
}

/**
 * What a track lost: sequence gaps (`lost`) or kernel drops, whichever is larger, plus what was
 * left unread at close and what was received but not stored (`unstored`). A packet the kernel
 * dropped in the middle of a stream is also a sequence gap, so the two are not added; one dropped
 * at the end (the tail) is only in `kernelDropped`. An unstored packet was received, so it is in
 * no gap (and not in `packets`): it is added.
 */
export function trackLoss(stats: TrackStats): TrackLoss {
  const lost = Math.max(stats.lost, stats.kernelDropped) + stats.unreadAtClose + stats.unstored;
  const expected = Math.max(0, stats.packets - stats.duplicated) + lost;
  const percent = expected === 0 ? 0 : Math.round((lost / expected) * 10_000) / 100;
  return { lost, expected, percent };
}

function trackHealth(track: Track): TrackHealth {
  const { stats } = track;
  const loss = trackLoss(stats);
  return {
    trackNumber: track.trackNumber,
    expected: loss.expected,
    received: Math.max(0, stats.packets - stats.duplicated),
    lost: loss.lost,
    lossPercent: loss.percent,
    gaps: stats.gaps ?? 0,
    gapMs: stats.gapMs ?? 0,
    longestGapMs: stats.longestGapMs ?? 0,
    content: stats.content ?? 'not-checked',
  };
}

/** An audio track that stored nothing, though it heard nothing while paused either. */
function gotNoPackets(track: Track): boolean {
  return track.trackMediaType === 'AUDIO' && track.stats.packets === 0 && (track.stats.paused ?? 0) === 0;
}

/**
 * `degraded` when some track lost more than `thresholdPercent` of its packets, or, once the
 * session is closed, when a track had gaps, stored no packet or only silence, or one party was
 * never heard. An ACTIVE session's tracks keep their statistics in the media worker until they
 * end, so only loss is judged while it records (its stored figures are zero until then).
 */
export function sessionHealth(
  session: Pick<Session, 'tracks'> & Partial<Pick<Session, 'sessionState'>>,
  thresholdPercent = PACKET_LOSS_THRESHOLD_PERCENT,
): SessionHealth {
  const closed = session.sessionState !== undefined && session.sessionState !== 'ACTIVE';
  const tracks = [...session.tracks].sort((a, b) => a.trackNumber - b.trackNumber);
  const problems: HealthProblem[] = [];
  for (const track of tracks) {
    const loss = trackLoss(track.stats);
    if (loss.expected > 0 && (loss.lost / loss.expected) * 100 > thresholdPercent) {
      problems.push({ trackNumber: track.trackNumber, kind: 'packet-loss', ...loss });
    }
    if (!closed) {
      continue;
    }
    const gaps = track.stats.gaps ?? 0;
    if (gaps > 0) {
      problems.push({
        trackNumber: track.trackNumber,
        kind: 'gap',
        gaps,
        gapMs: track.stats.gapMs ?? 0,
        longestGapMs: track.stats.longestGapMs ?? 0,
      });
    }
    if (gotNoPackets(track)) {
      problems.push({ trackNumber: track.trackNumber, kind: 'no-packets' });
    } else if (track.trackMediaType === 'AUDIO' && track.stats.content === 'silence') {
      problems.push({ trackNumber: track.trackNumber, kind: 'silent-track' });
    }
  }
  if (closed) {
    const unheard = unheardTracks(tracks);
    if (unheard !== undefined) {
      problems.push({ kind: 'one-sided', trackNumbers: unheard });
    }
  }
  return {
    status: problems.length === 0 ? 'ok' : 'degraded',
    problems,
    tracks: tracks.map(trackHealth),
  };
}

/**
 * The tracks of the parties never heard while another party was, or undefined when the call is
 * not one-sided. A party is the device of a track's first participant (a party's tracks share
 * it), else the track alone. It was heard when one of its audio tracks stored packets that were
 * not found silent: a codec that is not checked for silence counts as heard once it sent packets,
 * since nothing says otherwise. It was never heard when each of its audio tracks stored nothing
 * or only silence; a track that heard packets only while the recording was paused says neither.
 */
function unheardTracks(tracks: readonly Track[]): number[] | undefined {
  const parties = new Map<string, Track[]>();
  for (const track of tracks) {
    if (track.trackMediaType !== 'AUDIO') {
      continue;
    }
    const device = track.participants[0]?.deviceRef;
    const key = device === undefined || device === '' ? `track:${track.trackNumber}` : `device:${device}`;
    const list = parties.get(key) ?? [];
    list.push(track);
    parties.set(key, list);
  }
  let someoneHeard = false;
  const unheard: number[] = [];
  for (const partyTracks of parties.values()) {
    if (partyTracks.some((t) => t.stats.packets > 0 && t.stats.content !== 'silence')) {
      someoneHeard = true;
    } else if (
      partyTracks.every((t) => gotNoPackets(t) || (t.stats.packets > 0 && t.stats.content === 'silence'))
    ) {
      unheard.push(...partyTracks.map((t) => t.trackNumber));
    }
  }
  return someoneHeard && unheard.length > 0 ? unheard.sort((a, b) => a - b) : undefined;
}

/**
 * The distinct problem kinds of a health, in HEALTH_PROBLEM_KINDS order, joined by commas: what
 * the repository stores with a closed session for the node summary ('' when it is ok).
 */
export function healthKinds(health: Pick<SessionHealth, 'problems'>): string {
  const present = new Set(health.problems.map((p) => p.kind));
  return HEALTH_PROBLEM_KINDS.filter((kind) => present.has(kind)).join(',');
}

/** Sessions that ended with problems in a window, counted by kind (a session counts once per kind). */
export interface HealthWindowSummary {
  /** Sessions that ended in the window (health computed when they closed). */
  readonly sessionsEnded: number;
  /** Of those, the ones with at least one problem. */
  readonly sessionsDegraded: number;
  readonly byKind: Readonly<Record<HealthProblemKind, number>>;
}

/** The node summary (GET /ora/healthService/summary, /metrics): the last hour and the last day. */
export interface HealthSummary {
  /** When it was computed (epoch ms). */
  readonly at: number;
  readonly lastHour: HealthWindowSummary;
  readonly lastDay: HealthWindowSummary;
}

/**
 * Folds the stored kinds (healthKinds) of sessions, with how many sessions had each, into a
 * window summary. Unknown kinds (a newer node's, on a shared database) are ignored.
 */
export function summarizeKinds(
  rows: readonly { readonly kinds: string; readonly sessions: number }[],
): HealthWindowSummary {
  const byKind = Object.fromEntries(HEALTH_PROBLEM_KINDS.map((k) => [k, 0])) as Record<
    HealthProblemKind,
    number
  >;
  let ended = 0;
  let degraded = 0;
  for (const row of rows) {
    ended += row.sessions;
    if (row.kinds === '') {
      continue;
    }
    degraded += row.sessions;
    for (const kind of row.kinds.split(',')) {
      if (Object.hasOwn(byKind, kind)) {
        byKind[kind as HealthProblemKind] += row.sessions;
      }
    }
  }
  return { sessionsEnded: ended, sessionsDegraded: degraded, byKind };
}
