import type { TrackStats } from '../model/session.js';
import { parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { announcesSilence } from './audio-content.js';
import { StreamStatistics } from './stream-stats.js';

/** Counts the records of a track file again (recording/recovery.ts, after a crash). */
export interface RecordCounter {
  /** One stored RTP packet and the time its record says it arrived (epoch µs). */
  onRecord(rtp: Uint8Array, arrivalUs: number): void;
  /**
   * The line went on hold (`held`) or the recording was paused (`paused`), or either ended, at
   * `atUs`, as the session's tags tell: its silence is no gap, as in the worker.
   */
  onQuiet(kind: 'held' | 'paused', on: boolean, atUs: number): void;
  snapshot(): TrackStats;
}

/**
 * A counter over the same StreamStatistics and silence check the media worker uses, so that a
 * track recovered from its file is judged like one closed normally: packets, sequence gaps,
 * reordering, jitter, gaps longer than a second and (G.711) silence. Records that are not RTP are
 * skipped, as the worker never stores any.
 */
export function createRecordCounter(clockRateHz: number): RecordCounter {
  const stats = new StreamStatistics(clockRateHz);
  return {
    onRecord(rtp: Uint8Array, arrivalUs: number): void {
      const parsed = parseRtpHeader(rtp);
      if (!parsed.ok) {
        return;
      }
      const header = parsed.value;
      stats.onPacket(header.ssrc, header.sequenceNumber, header.timestamp, header.payloadLength, arrivalUs);
      if (announcesSilence(header.payloadType, header.payloadLength)) {
        stats.onSilenceAnnounced();
      }
      if (!stats.audio.heardAudio) {
        stats.audio.onPayload(header.payloadType, rtp, header.payloadOffset, header.payloadLength);
      }
    },
    onQuiet(kind: 'held' | 'paused', on: boolean, atUs: number): void {
      if (kind === 'held') {
        stats.setGapsHeld(on, atUs);
      } else {
        stats.setGapsPaused(on, atUs);
      }
    },
    snapshot: () => stats.snapshot(),
  };
}
