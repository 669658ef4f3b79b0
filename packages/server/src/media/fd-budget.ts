/**
 * How many concurrent calls a file-descriptor limit allows (issue 13 point 3). Counted from the
 * media code: every received stream holds its RTP socket and its RTCP socket (rtp-stream.ts binds
 * port and port + 1) and its open track file (track-writer.ts keeps the descriptor until the
 * stream ends), so three descriptors. An audio call records two streams (near and far end); a
 * video call four. The rest of the process (database and its WAL, listeners, worker threads, log
 * files, API clients, ffmpeg pipes) is covered by a fixed reserve.
 */

/** RTP socket, RTCP socket, track file. */
export const FDS_PER_STREAM = 3;
/** Two parties, one audio stream each. */
export const STREAMS_PER_AUDIO_CALL = 2;
export const FDS_PER_AUDIO_CALL = FDS_PER_STREAM * STREAMS_PER_AUDIO_CALL;
/** Descriptors kept for everything that is not a call's stream. */
export const FD_RESERVE = 256;

/** Concurrent audio calls `limit` descriptors allow (0 when the reserve does not fit). */
export function callsAllowedBy(limit: number): number {
  if (!Number.isFinite(limit)) {
    return Number.POSITIVE_INFINITY;
  }
  return Math.max(0, Math.floor((limit - FD_RESERVE) / FDS_PER_AUDIO_CALL));
}

export interface OpenFilesLimit {
  /** The limit the process runs under (`ulimit -Sn`); Infinity when unlimited. */
  readonly soft: number;
  /** How far the process may raise it (`ulimit -Hn`). */
  readonly hard: number;
}

/**
 * The "Max open files" line of /proc/<pid>/limits (Linux), or undefined when the text has none.
 * Node has no getrlimit, and this file is what the kernel enforces.
 */
export function parseOpenFilesLimit(limitsText: string): OpenFilesLimit | undefined {
  const line = limitsText.split('\n').find((l) => l.startsWith('Max open files'));
  const match = line === undefined ? null : /^Max open files\s+(\S+)\s+(\S+)/.exec(line);
  if (match === null) {
    return undefined;
  }
  const value = (text: string): number | undefined =>
    text === 'unlimited' ? Number.POSITIVE_INFINITY : /^\d+$/.test(text) ? Number(text) : undefined;
  const soft = value(match[1] ?? '');
  const hard = value(match[2] ?? '');
  return soft === undefined || hard === undefined ? undefined : { soft, hard };
}
