import { createReadStream } from 'node:fs';
import { truncate } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';
import { VerbatimError } from '../model/errors.js';
import type { RecordCounter } from '../media/record-counter.js';
import type { Session, Tag, Track, TrackStats } from '../model/session.js';
import { PcapReader } from '../protocol/container/pcap.js';
import { digestTrackFile } from './track-digest.js';

/** The closeReason of a session found ACTIVE at start: the node stopped without closing it. */
export const RECOVERED_CLOSE_REASON = 'recovered: the node stopped while recording';
export interface RecoveryOptions {
  readonly repository: Repository;
  readonly mediaDir: string;
  readonly logger: Logger;
  readonly countRecords: (clockRateHz: number) => RecordCounter;
  /**
   * Set when the database is shared by several nodes (PostgreSQL): only the sessions this node
   * recorded are its to recover, another node's are left to it. Unset for a database only this
   * node opens (SQLite), where every ACTIVE session is this node's, whatever node id it was
   * recorded under (a container's host name, the default id, changes when it is recreated).
   */
  readonly onlyNodeId?: string;
  readonly now?: () => number;
}

/**
 * Sessions of this node still ACTIVE in the database when it starts were cut off by a crash or a
 * kill -9 of the previous run. What reached their track files is kept: each file is scanned, a
 * record torn by the crash is cut off (DESIGN.md §2: "a torn tail after a crash is detected by
 * record length and cut on recovery"), the track gets the statistics and duration of what it holds
 * and the digest of the file as cut, and the session is closed as CLOSED_ERROR, ending at its last
 * stored packet. Answers the ids of the sessions closed, for their ENDED events: the caller
 * publishes them once its event outbox is running.
 *
 * In a shared database, ACTIVE sessions of other nodes are recording there now, or are theirs to
 * recover when they start: they are left as they are, and counted in the log.
 */
export async function recoverInterruptedSessions(options: RecoveryOptions): Promise<string[]> {
  const { repository, mediaDir, logger, countRecords, onlyNodeId, now = Date.now } = options;
  const active = await repository.listActiveSessions();
  const stale = onlyNodeId === undefined ? active : active.filter((session) => session.nodeId === onlyNodeId);
  if (stale.length < active.length) {
    logger.info(
      {
        nodeId: onlyNodeId,
        otherNodes: [...new Set(active.map((s) => s.nodeId).filter((id) => id !== onlyNodeId))],
      },
      `${active.length - stale.length} ACTIVE sessions belong to other nodes: left to them`,
    );
  }
  for (const session of stale) {
    let lastPacketMs = session.sessionStartDate;
    for (const track of session.tracks) {
      const path = join(mediaDir, track.mediaPath);
      try {
        const scan = await scanTrack(
          path,
          countRecords(track.clockRateHz > 0 ? track.clockRateHz : DEFAULT_CLOCK_RATE_HZ),
          quietTransitions(session, track),
        );
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
    await repository.closeSession(session.sessionId, 'CLOSED_ERROR', durationMs, RECOVERED_CLOSE_REASON);
    logger.warn(
      { sessionId: session.sessionId, durationMs },
      'session interrupted by the previous run closed as CLOSED_ERROR',
    );
  }
  return stale.map((session) => session.sessionId);
}

interface QuietTransition {
  readonly kind: 'held' | 'paused';
  readonly on: boolean;
  readonly atUs: number;
}

/**
 * When the track's line went on hold and back (its TrackInactive / TrackActive tags) and when the
 * recording was paused and resumed (the session's Pause / Resume tags: pauseRecording, a SIPREC
 * pause), in time order: the silences the worker would not have counted as gaps.
 */
function quietTransitions(session: Session, track: Track): QuietTransition[] {
  const transitions: QuietTransition[] = [];
  const add = (kind: QuietTransition['kind'], on: boolean, tag: Tag): void => {
    transitions.push({ kind, on, atUs: tag.tagCreateDate * 1000 });
  };
  // A hold tag naming the track may sit in the session's list too (db/schema.ts tag_track_number).
  const holdTags = [...track.tags, ...session.tags.filter((t) => t.trackNumber === track.trackNumber)];
  for (const tag of holdTags) {
    if (tag.tagName === 'TrackInactive' || tag.tagName === 'TrackActive') {
      add('held', tag.tagName === 'TrackInactive', tag);
    }
  }
  for (const tag of session.tags) {
    if (tag.tagName === 'Pause' || tag.tagName === 'Resume') {
      add('paused', tag.tagName === 'Pause', tag);
    }
  }
  return transitions.sort((a, b) => a.atUs - b.atUs);
}

/** A track whose codec was never known (delayed offer cut off): G.711's rate, for jitter only. */
const DEFAULT_CLOCK_RATE_HZ = 8000;

interface TrackScan {
  readonly stats: TrackStats;
  /** Length of the file up to the end of its last whole record. */
  readonly wholeBytes: number;
  readonly tornBytes: number;
}

/**
 * Reads a track file once, streaming: statistics of what it holds and where its whole records
 * end. The worker's counters died with it, so the records are counted again through the same
 * StreamStatistics the worker uses (media/record-counter.ts, handed in by app.ts), their capture
 * times standing for arrival times: packets, sequence gaps, reordering, jitter, gaps longer than
 * a second and (G.711) silence (issue 13 point 7). Holds and pauses come from the session's
 * tags, as the worker was told of them. What a file cannot tell stays zero: datagrams dropped
 * before storage, kernel drops.
 */
async function scanTrack(
  path: string,
  counted: RecordCounter,
  quiet: readonly QuietTransition[],
): Promise<TrackScan> {
  const reader = new PcapReader();
  let next = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    for (const packet of reader.push(chunk)) {
      // The holds and pauses up to this record, in time order with the records.
      for (let t = quiet[next]; t !== undefined && t.atUs <= packet.timestampUs; t = quiet[++next]) {
        counted.onQuiet(t.kind, t.on, t.atUs);
      }
      counted.onRecord(packet.payload, packet.timestampUs);
    }
  }
  const { truncatedTailBytes } = reader.end();
  if (reader.error !== undefined) {
    // The pcap reader's code (docs/errors.md, pcap) travels with the error to the log line.
    throw new VerbatimError(reader.error.code, reader.error.message);
  }
  return { stats: counted.snapshot(), wholeBytes: reader.consumedBytes, tornBytes: truncatedTailBytes };
}
