import { readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { PcapReader } from '../../packages/server/src/protocol/container/pcap.js';
import { isLikelyRtcp } from '../../packages/server/src/protocol/rtp/rtp-packet.js';
import type { StreamReport } from '../protocol.js';
import { waitFor } from '../../packages/server/test/support/wait.js';

/**
 * Loss as the recorder's user would see it: the RTP packets actually present in the stored track
 * files (read back with the server's own PcapReader), per stream, against what the load generator
 * says it sent on that stream. Streams are matched by SSRC inside the session(s) whose ccid is the
 * call's key, so a track number mix-up would not hide loss. A packet stored twice counts once.
 * The track statistics the recorder wrote to its database are reported beside, not used.
 */

export interface StreamLoss {
  readonly callKey: string;
  readonly stream: number;
  readonly sent: number;
  readonly stored: number;
}

export interface LossCount {
  readonly streams: number;
  readonly calls: number;
  readonly sessionsFound: number;
  /** Calls with no session row at all under their ccid. */
  readonly callsWithoutSession: number;
  readonly sentPackets: number;
  /** Distinct RTP packets of the generator's streams found in the track files. */
  readonly storedPackets: number;
  /** Σ max(0, sent − stored) over streams. */
  readonly missingPackets: number;
  /**
   * Of those, the ones inside a stream (gaps between its first and last stored packet); the rest
   * are missing at the start or the end of a stream (a port not yet open, or closed too early).
   */
  readonly missingInside: number;
  /**
   * Missing at the edges of streams whose first packet (the generator marks it, RFC 3551 §4.1) is
   * stored: these were lost at the end of the call, around the hang-up.
   */
  readonly missingAtEnd: number;
  /** Missing at the edges of streams whose first packet is not stored: lost at the start. */
  readonly missingAtStart: number;
  /** Σ max(0, stored − sent): should be 0; non-zero means the generator under-reported. */
  readonly extraPackets: number;
  readonly lossRatio: number;
  readonly streamsWithLoss: number;
  /** Up to five streams with the most packets missing. */
  readonly worstStreams: readonly StreamLoss[];
  /** What the recorder itself recorded in tracks.stat_packets / stat_lost / stat_dropped. */
  readonly recorderStats: { readonly packets: number; readonly lost: number; readonly dropped: number };
  readonly countedFrom: 'pcap track files';
}

interface TrackRow {
  session_id: string;
  ccid: string;
  state: string;
  media_path: string;
  stat_packets: number;
  stat_lost: number;
  stat_dropped: number;
}

function openReadOnly(dbPath: string): BetterSqlite3.Database {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  // The recorder writes concurrently (WAL); wait for its short write transactions.
  db.pragma('busy_timeout = 5000');
  return db;
}

/** Sessions of the given ccids as (ccid, state) rows. */
function sessionStates(dbPath: string, callKeys: readonly string[]): { ccid: string; state: string }[] {
  const db = openReadOnly(dbPath);
  try {
    return db
      .prepare('select ccid, state from sessions where ccid in (select value from json_each(?))')
      .all(JSON.stringify(callKeys)) as { ccid: string; state: string }[];
  } finally {
    db.close();
  }
}

/** How many sessions are ACTIVE among all sessions started at or after `sinceMs`. */
export function countActiveSince(dbPath: string, sinceMs: number): number {
  const db = openReadOnly(dbPath);
  try {
    const row = db
      .prepare("select count(*) as n from sessions where state = 'ACTIVE' and start_ms >= ?")
      .get(sinceMs) as { n: number };
    return row.n;
  } finally {
    db.close();
  }
}

/**
 * Waits until every session of the given calls has left ACTIVE (the recorder has closed and
 * flushed its tracks). Returns how many were still ACTIVE when `timeoutMs` ran out (0 normally).
 */
export function waitSessionsClosed(
  dbPath: string,
  callKeys: readonly string[],
  timeoutMs: number,
): Promise<number> {
  return activeLeftAfterWaiting(
    () => sessionStates(dbPath, callKeys).filter((r) => r.state === 'ACTIVE').length,
    timeoutMs,
  );
}

/** Waits until no session started at or after `sinceMs` is ACTIVE; returns how many still are. */
export function waitAllClosedSince(dbPath: string, sinceMs: number, timeoutMs: number): Promise<number> {
  return activeLeftAfterWaiting(() => countActiveSince(dbPath, sinceMs), timeoutMs);
}

/** Polls `countActive` until it is 0; returns its last count when `timeoutMs` runs out (0 normally). */
async function activeLeftAfterWaiting(countActive: () => number, timeoutMs: number): Promise<number> {
  let active = 0;
  try {
    await waitFor(
      () => {
        active = countActive();
        return active === 0;
      },
      { timeoutMs, intervalMs: 250, what: 'the sessions to close' },
    );
  } catch {
    // Reported to the caller as a count: a session that never closes is a finding, not a crash.
    return active;
  }
  return 0;
}

/**
 * Per-SSRC set of distinct extended sequence numbers (RFC 3550 §A.1: 16-bit numbers extended by
 * counting wrap-arounds, so a call longer than 65,536 packets is not folded onto itself).
 */
class SsrcCounter {
  readonly #bySsrc = new Map<
    number,
    { last: number; cycles: number; seen: Set<number>; min: number; max: number; marker: number }
  >();

  add(payload: Uint8Array): void {
    if (payload.length < 12 || (payload[0] ?? 0) >>> 6 !== 2 || isLikelyRtcp(payload)) {
      return;
    }
    const seq = ((payload[2] ?? 0) << 8) | (payload[3] ?? 0);
    const ssrc =
      (((payload[8] ?? 0) << 24) |
        ((payload[9] ?? 0) << 16) |
        ((payload[10] ?? 0) << 8) |
        (payload[11] ?? 0)) >>>
      0;
    let state = this.#bySsrc.get(ssrc);
    if (state === undefined) {
      state = { last: seq, cycles: 0, seen: new Set(), min: seq, max: seq, marker: -1 };
      this.#bySsrc.set(ssrc, state);
    }
    let cycles = state.cycles;
    if (seq < state.last && state.last - seq > 32768) {
      cycles++;
      state.cycles = cycles;
      state.last = seq;
    } else if (seq > state.last && seq - state.last > 32768) {
      // A late packet from before the last wrap-around.
      cycles = Math.max(0, cycles - 1);
    } else if (seq > state.last) {
      state.last = seq;
    }
    const extended = cycles * 65536 + seq;
    state.seen.add(extended);
    state.min = Math.min(state.min, extended);
    state.max = Math.max(state.max, extended);
    if (((payload[1] ?? 0) & 0x80) !== 0 && state.marker < 0) {
      state.marker = extended;
    }
  }

  /** Whether the first packet of the stream (the lowest sequence number, marked) is stored. */
  firstStored(ssrc: number): boolean {
    const state = this.#bySsrc.get(ssrc);
    return state !== undefined && state.marker >= 0 && state.marker === state.min;
  }

  count(ssrc: number): number {
    return this.#bySsrc.get(ssrc)?.seen.size ?? 0;
  }

  /** Packets missing between the first and the last stored packet of the SSRC. */
  gaps(ssrc: number): number {
    const state = this.#bySsrc.get(ssrc);
    return state === undefined ? 0 : state.max - state.min + 1 - state.seen.size;
  }
}

async function countFile(path: string, counter: SsrcCounter): Promise<void> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      // A track that never received a packet may have no file; its stream counts as all missing.
      return;
    }
    throw error;
  }
  const reader = new PcapReader();
  for (const packet of reader.push(bytes)) {
    counter.add(packet.payload);
  }
  reader.end();
  if (reader.error !== undefined) {
    throw new Error(`${path}: ${reader.error.code} ${reader.error.message}`);
  }
}

/**
 * Counts the stored packets of every stream and compares them with what was sent. With
 * `deleteMedia`, the sessions' media directories are removed once counted, which keeps a long
 * run's disk use bounded (the recorder no longer touches a closed session's files).
 */
export async function countStoredLoss(
  dataDir: string,
  streams: readonly StreamReport[],
  options: { readonly deleteMedia: boolean },
): Promise<LossCount> {
  const callKeys = [...new Set(streams.map((s) => s.callKey))];
  const db = openReadOnly(join(dataDir, 'verbatim.db'));
  let rows: TrackRow[];
  try {
    rows = db
      .prepare(
        `select s.session_id, s.ccid, s.state, t.media_path, t.stat_packets, t.stat_lost, t.stat_dropped
         from sessions s join tracks t on t.session_id = s.session_id
         where s.ccid in (select value from json_each(?))`,
      )
      .all(JSON.stringify(callKeys)) as TrackRow[];
  } finally {
    db.close();
  }
  const rowsByKey = new Map<string, TrackRow[]>();
  for (const row of rows) {
    const list = rowsByKey.get(row.ccid) ?? [];
    list.push(row);
    rowsByKey.set(row.ccid, list);
  }
  const streamsByKey = new Map<string, StreamReport[]>();
  for (const stream of streams) {
    const list = streamsByKey.get(stream.callKey) ?? [];
    list.push(stream);
    streamsByKey.set(stream.callKey, list);
  }

  const mediaDir = join(dataDir, 'media');
  const losses: StreamLoss[] = [];
  let sent = 0;
  let stored = 0;
  let missing = 0;
  let missingInside = 0;
  let missingAtEnd = 0;
  let missingAtStart = 0;
  let extra = 0;
  let callsWithoutSession = 0;
  const sessionIds = new Set<string>();
  const recorderStats = { packets: 0, lost: 0, dropped: 0 };
  for (const [callKey, callStreams] of streamsByKey) {
    const tracks = rowsByKey.get(callKey) ?? [];
    if (tracks.length === 0) {
      callsWithoutSession++;
    }
    const counter = new SsrcCounter();
    for (const track of tracks) {
      sessionIds.add(track.session_id);
      recorderStats.packets += track.stat_packets;
      recorderStats.lost += track.stat_lost;
      recorderStats.dropped += track.stat_dropped;
      await countFile(join(mediaDir, track.media_path), counter);
    }
    for (const stream of callStreams) {
      const found = counter.count(stream.ssrc);
      sent += stream.sentPackets;
      stored += Math.min(found, stream.sentPackets);
      missing += Math.max(0, stream.sentPackets - found);
      const streamMissing = Math.max(0, stream.sentPackets - found);
      const inside = Math.min(counter.gaps(stream.ssrc), streamMissing);
      missingInside += inside;
      if (counter.firstStored(stream.ssrc)) {
        missingAtEnd += streamMissing - inside;
      } else {
        missingAtStart += streamMissing - inside;
      }
      extra += Math.max(0, found - stream.sentPackets);
      losses.push({ callKey, stream: stream.stream, sent: stream.sentPackets, stored: found });
    }
    if (options.deleteMedia) {
      for (const track of tracks) {
        await rm(join(mediaDir, dirname(track.media_path)), { recursive: true, force: true });
      }
    }
  }
  const withLoss = losses.filter((l) => l.stored < l.sent);
  return {
    streams: streams.length,
    calls: callKeys.length,
    sessionsFound: sessionIds.size,
    callsWithoutSession,
    sentPackets: sent,
    storedPackets: stored,
    missingPackets: missing,
    missingInside,
    missingAtEnd,
    missingAtStart,
    extraPackets: extra,
    lossRatio: sent > 0 ? missing / sent : 0,
    streamsWithLoss: withLoss.length,
    worstStreams: withLoss.sort((a, b) => b.sent - b.stored - (a.sent - a.stored)).slice(0, 5),
    recorderStats,
    countedFrom: 'pcap track files',
  };
}
