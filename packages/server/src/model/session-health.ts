import type { Session, TrackStats } from './session.js';

/**
 * Whether a session's tracks lost more of their packets than an operator should accept, from the
 * counters the media engine stored with each track (docs/api.md "health"). Pure: the API computes
 * it when it renders a session.
 */

/**
 * A track that lost more than this share of its packets is a problem. 1 % is where voice quality
 * is commonly held to suffer (Cisco's voice QoS guidance asks for loss under 1 %); below it, a
 * recording has short gaps, counted in the track's stats but not flagged.
 */
export const PACKET_LOSS_THRESHOLD_PERCENT = 1;

export interface TrackLoss {
  /** Packets sent to the track and not stored. */
  readonly lost: number;
  /** Packets the track should have: stored (without duplicates) and lost. */
  readonly expected: number;
  /** `lost` as a percentage of `expected`, to two decimals; 0 when nothing was expected. */
  readonly percent: number;
}

export interface HealthProblem extends TrackLoss {
  readonly trackNumber: number;
  readonly kind: 'packet-loss';
}

export interface SessionHealth {
  readonly status: 'ok' | 'degraded';
  readonly problems: readonly HealthProblem[];
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

/** `degraded` when some track lost more than `thresholdPercent` of its packets. */
export function sessionHealth(
  session: Pick<Session, 'tracks'>,
  thresholdPercent = PACKET_LOSS_THRESHOLD_PERCENT,
): SessionHealth {
  const problems: HealthProblem[] = [];
  for (const track of [...session.tracks].sort((a, b) => a.trackNumber - b.trackNumber)) {
    const loss = trackLoss(track.stats);
    if (loss.expected > 0 && (loss.lost / loss.expected) * 100 > thresholdPercent) {
      problems.push({ trackNumber: track.trackNumber, kind: 'packet-loss', ...loss });
    }
  }
  return { status: problems.length === 0 ? 'ok' : 'degraded', problems };
}
