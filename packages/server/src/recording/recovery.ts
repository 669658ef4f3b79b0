import { createReadStream } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import { VerbatimError } from '../model/errors.js';
import { EMPTY_TRACK_STATS, type TrackStats } from '../model/session.js';
import { PcapReader } from '../protocol/container/pcap.js';
import { parseRtpHeader } from '../protocol/rtp/rtp-packet.js';
import { digestTrackFile } from './track-digest.js';

/**
 * Sessions still ACTIVE in the database when a node starts were cut off by a crash or a kill -9
 * of the previous run. What reached their track files is kept: each file is scanned, a record
 * torn by the crash is cut off (DESIGN.md §2: "a torn tail after a crash is detected by record
 * length and cut on recovery"), the track gets the statistics and duration of what it holds and the digest of the file as cut, and
 * the session is closed as CLOSED_ERROR, ending at its last stored packet.
 */
export async function recoverInterruptedSessions(
  repository: Repository,
  mediaDir: string,
  logger: Logger,
  now: () => number = Date.now,
): Promise<number> {
  const stale = await repository.listActiveSessions();
  for (const session of stale) {
    let lastPacketMs = session.sessionStartDate;
    for (const track of session.tracks) {
      const path = join(mediaDir, track.mediaPath);
      try {
        const scan = await scanTrack(path);
        if (scan.tornBytes > 0) {
          await truncate(path, scan.wholeBytes);
          logger.warn(
            { sessionId: session.sessionId, track: track.trackNumber, cutBytes: scan.tornBytes },
            'cut a torn record off a track',
          );
        }
        const last = scan.stats.lastPacketAt ?? track.trackStartDate;
        lastPacketMs = Math.max(lastPacketMs, last);
        // Digested after the cut: the digest describes the file as it stays (issue 13). A digest
        // that cannot be taken leaves the track without one (verify reports it), not unrecovered.
        const digest = await digestTrackFile(path, now()).catch((error: unknown) => {
          logger.warn(
            { err: error, sessionId: session.sessionId, track: track.trackNumber },
            'recovered track could not be digested',
          );
          return undefined;
        });
        await repository.updateTrack(session.sessionId, track.trackNumber, {
          stats: scan.stats,
          trackDuration: Math.max(0, last - track.trackStartDate),
          ...(digest === undefined ? {} : { digest }),
        });
      } catch (error) {
        logger.warn(
          { err: error, sessionId: session.sessionId, track: track.trackNumber },
          'track file unreadable',
        );
      }
    }
    const durationMs = Math.max(0, Math.round(lastPacketMs - session.sessionStartDate));
    await repository.closeSession(session.sessionId, 'CLOSED_ERROR', durationMs);
    logger.warn(
      { sessionId: session.sessionId, durationMs },
      'session interrupted by the previous run closed as CLOSED_ERROR',
    );
  }
  return stale.length;
}

interface TrackScan {
  readonly stats: TrackStats;
  /** Length of the file up to the end of its last whole record. */
  readonly wholeBytes: number;
  readonly tornBytes: number;
}

/** Reads a track file once, streaming: statistics of what it holds and where its whole records end. */
async function scanTrack(path: string): Promise<TrackScan> {
  const reader = new PcapReader();
  let packets = 0;
  let bytes = 0;
  let firstUs: number | undefined;
  let lastUs: number | undefined;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (const packet of reader.push(chunk)) {
      const header = parseRtpHeader(packet.payload);
      if (!header.ok) {
        continue;
      }
      packets++;
      bytes += header.value.payloadLength;
      firstUs ??= packet.timestampUs;
      lastUs = packet.timestampUs;
    }
  }
  const { truncatedTailBytes } = reader.end();
  if (reader.error !== undefined) {
    // The pcap reader's code (docs/errors.md, pcap) travels with the error to the log line.
    throw new VerbatimError(reader.error.code, reader.error.message);
  }
  const stats: TrackStats = {
    ...EMPTY_TRACK_STATS,
    packets,
    bytes,
    ...(firstUs === undefined ? {} : { firstPacketAt: Math.floor(firstUs / 1000) }),
    ...(lastUs === undefined ? {} : { lastPacketAt: Math.floor(lastUs / 1000) }),
  };
  return { stats, wholeBytes: reader.consumedBytes, tornBytes: truncatedTailBytes };
}
