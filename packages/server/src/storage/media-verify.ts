import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type {
  Finding,
  FindingKind,
  VerifyReport,
  VerifyStore,
  VerifyWindow,
} from '../model/media-integrity.js';
import type { Session, Track, TrackDigest } from '../model/session.js';
import { PcapReader } from '../protocol/container/pcap.js';

/**
 * Integrity of the media store (issue 13, `verbatim verify`): every track file of the sessions
 * in a window is read whole and compared with what the database says of it (the SHA-256 and
 * length taken when the file became final, migration 0015), and the media directory is walked
 * for files that no track row names. Read-only: nothing is written, neither to the database nor
 * to the files, so it runs beside a node that is recording.
 */

/** What reading one track file found. */
export type Observed =
  | { readonly kind: 'absent' }
  | { readonly kind: 'unreadable'; readonly code: string }
  | {
      readonly kind: 'read';
      readonly bytes: number;
      readonly sha256: string;
      /** Bytes after the last whole pcap record (a record cut short); 0 for other files. */
      readonly tornBytes: number;
      /** The pcap reader refused the file (bad header, impossible record length). */
      readonly malformed?: string;
    };

/**
 * How a track file compares with its row. With a digest: the same length and SHA-256 is intact,
 * a shorter file is truncated, anything else altered. Without one (recorded before digests, or
 * never finished) only what the file shows of itself can be judged: a last pcap record cut short
 * is truncated, a file that is not a pcap at all altered, and the rest is "not digested".
 */
export function classifyTrack(
  digest: TrackDigest | undefined,
  observed: Observed,
): { readonly kind: FindingKind | 'ok'; readonly detail: string } {
  if (observed.kind === 'absent') {
    return { kind: 'missing', detail: 'no file on disk' };
  }
  if (observed.kind === 'unreadable') {
    return { kind: 'unreadable', detail: `cannot be read (${observed.code})` };
  }
  if (digest !== undefined) {
    if (observed.bytes === digest.bytes && observed.sha256 === digest.sha256) {
      return { kind: 'ok', detail: '' };
    }
    if (observed.bytes < digest.bytes) {
      return { kind: 'truncated', detail: `${observed.bytes} of ${digest.bytes} bytes` };
    }
    return {
      kind: 'altered',
      detail:
        observed.bytes === digest.bytes
          ? `SHA-256 ${observed.sha256}, stored ${digest.sha256}`
          : `${observed.bytes} bytes, stored ${digest.bytes}`,
    };
  }
  if (observed.malformed !== undefined) {
    return { kind: 'altered', detail: `not a readable pcap: ${observed.malformed}` };
  }
  if (observed.tornBytes > 0) {
    return { kind: 'truncated', detail: `last pcap record cut short (${observed.tornBytes} bytes)` };
  }
  return { kind: 'not-digested', detail: 'recorded before digests were kept' };
}

/** A directory entry of the media store that is not a recording: the MP4 cache, temporary files. */
export function isCacheOrTemporary(name: string): boolean {
  // `.<name>.<random>.partial` (mp4-export.ts) and any other hidden file: work in progress.
  if (name.startsWith('.')) {
    return true;
  }
  // The MP4 cache (mp4-cache.ts): `<sessionId>.<16 hex fingerprint>.mp4` in the session's folder.
  return /\.[0-9a-f]{16}\.mp4$/.test(name);
}

export interface VerifyOptions extends VerifyWindow {
  readonly repository: VerifyStore;
  readonly mediaDir: string;
  /** Called before the sessions are read (the media duration to check) and after each track. */
  readonly onPlan?: (plan: { readonly tracks: number; readonly mediaMs: number }) => void;
  readonly onProgress?: (done: {
    readonly mediaMs: number;
    readonly bytes: number;
    readonly detail: string;
  }) => void;
  readonly onFinding?: (finding: Finding) => void;
  readonly signal?: AbortSignal;
}

const PAGE_SIZE = 1000;
const CHUNK_BYTES = 1 << 20;
const DAY_FOLDER = /^\d{4}-\d{2}-\d{2}$/;

/** Runs the check: every track of the window's sessions, then the orphan walk. */
export async function verifyMedia(options: VerifyOptions): Promise<VerifyReport> {
  const { repository, mediaDir } = options;
  const findings: Finding[] = [];
  const counts: Record<FindingKind, number> = {
    missing: 0,
    truncated: 0,
    altered: 0,
    unreadable: 0,
    'not-digested': 0,
    orphaned: 0,
  };
  const report = (finding: Finding): void => {
    counts[finding.kind]++;
    findings.push(finding);
    options.onFinding?.(finding);
  };
  // First pass: the plan (what is to be read), kept small: ids and media durations only.
  const checked: { sessionId: string; tracks: number; mediaMs: number }[] = [];
  let skippedSessions = 0;
  let plannedTracks = 0;
  let plannedMs = 0;
  for await (const page of sessionPages(repository, options.sinceMs, options.untilMs)) {
    for (const session of page) {
      if (skipped(session)) {
        skippedSessions++;
        continue;
      }
      const tracks = session.tracks.filter((t) => t.mediaPath !== '');
      const mediaMs = tracks.reduce((sum, t) => sum + trackMs(t), 0);
      checked.push({ sessionId: session.sessionId, tracks: tracks.length, mediaMs });
      plannedTracks += tracks.length;
      plannedMs += mediaMs;
    }
  }
  options.onPlan?.({ tracks: plannedTracks, mediaMs: plannedMs });
  let doneMs = 0;
  let bytesRead = 0;
  let tracks = 0;
  let intact = 0;
  for (const entry of checked) {
    options.signal?.throwIfAborted();
    const session = await repository.getSession(entry.sessionId);
    if (session === undefined || skipped(session)) {
      skippedSessions++;
      doneMs += entry.mediaMs;
      continue;
    }
    for (const track of session.tracks) {
      if (track.mediaPath === '') {
        continue;
      }
      options.signal?.throwIfAborted();
      const observed = await observe(join(mediaDir, track.mediaPath), track.mediaPath.endsWith('.pcap'));
      if (observed.kind === 'read') {
        bytesRead += observed.bytes;
      }
      const verdict = classifyTrack(track.mediaDigest, observed);
      tracks++;
      if (verdict.kind === 'ok') {
        intact++;
      } else if (verdict.kind === 'missing' && (await goneSince(repository, session.sessionId))) {
        // Deleted or pruned while the check ran: its files went on purpose.
      } else {
        report({
          kind: verdict.kind,
          path: track.mediaPath,
          sessionId: session.sessionId,
          trackNumber: track.trackNumber,
          detail: verdict.detail,
        });
      }
      doneMs += trackMs(track);
      options.onProgress?.({ mediaMs: doneMs, bytes: bytesRead, detail: session.sessionId });
    }
  }
  for (const path of await orphans(options)) {
    report({ kind: 'orphaned', path, detail: 'no track names this file' });
  }
  return { sessions: checked.length, tracks, intact, skippedSessions, bytesRead, counts, findings };
}

/** Sessions whose files are not judged: still recording, deleted, or pruned. */
function skipped(session: Session): boolean {
  return (
    session.sessionState === 'ACTIVE' || session.sessionState === 'DELETED' || session.prunedAt !== undefined
  );
}

async function goneSince(repository: VerifyStore, sessionId: string): Promise<boolean> {
  const now = await repository.getSession(sessionId);
  return now === undefined || skipped(now);
}

/** A track's share of the progress: its duration, at least 1 ms so an empty track still counts. */
function trackMs(track: Track): number {
  return Math.max(1, track.trackDuration ?? 0);
}

/** Reads a file once: its length, SHA-256 and (a pcap) whether its last record is whole. */
async function observe(path: string, pcap: boolean): Promise<Observed> {
  const hash = createHash('sha256');
  const reader = pcap ? new PcapReader() : undefined;
  let bytes = 0;
  try {
    for await (const chunk of createReadStream(path, {
      highWaterMark: CHUNK_BYTES,
    }) as AsyncIterable<Buffer>) {
      hash.update(chunk);
      bytes += chunk.length;
      // The packets are not needed, only the record framing; a failed reader stops looking.
      if (reader !== undefined && reader.error === undefined) {
        reader.push(chunk);
      }
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    return code === 'ENOENT' ? { kind: 'absent' } : { kind: 'unreadable', code };
  }
  const tail = reader?.end();
  const malformed = reader?.error?.message ?? (pcap && bytes === 0 ? 'empty file' : undefined);
  return {
    kind: 'read',
    bytes,
    sha256: hash.digest('hex'),
    tornBytes: tail?.truncatedTailBytes ?? 0,
    ...(malformed === undefined ? {} : { malformed }),
  };
}

/**
 * Files under the media directory that no track row names. Track files live in
 * `<day>/<sessionId>/`; each such file is looked up in its session's rows (whatever the
 * session's state: a deleted session's rows still name what a failed removal left). With a
 * window only the day folders it spans are walked. A candidate is looked up once more at the
 * end, so a call whose file was created just before its row was written is not reported.
 */
async function orphans(options: VerifyOptions): Promise<string[]> {
  const { mediaDir, repository } = options;
  const candidates: string[] = [];
  // The walk is depth-first in name order, so a session folder's files come together: only the
  // names of the session being looked at are kept, never those of the whole store.
  let named: { readonly sessionId: string; readonly paths: ReadonlySet<string> } | undefined;
  for await (const path of walk(mediaDir, mediaDir, options)) {
    options.signal?.throwIfAborted();
    const parts = path.split(sep);
    const sessionId = parts.length === 3 ? parts[1] : undefined;
    const rel = parts.join('/');
    if (sessionId !== undefined && named?.sessionId !== sessionId) {
      const session = await repository.getSession(sessionId);
      named = { sessionId, paths: new Set(session?.tracks.map((t) => t.mediaPath) ?? []) };
    }
    if (sessionId === undefined || named?.paths.has(rel) !== true) {
      candidates.push(rel);
    }
  }
  const confirmed: string[] = [];
  for (const rel of candidates) {
    const parts = rel.split('/');
    const sessionId = parts.length === 3 ? parts[1] : undefined;
    const session = sessionId === undefined ? undefined : await repository.getSession(sessionId);
    if (session === undefined || !session.tracks.some((t) => t.mediaPath === rel)) {
      confirmed.push(rel);
    }
  }
  return confirmed;
}

/**
 * Every regular file under `dir`, relative to `root`, but the MP4 cache and temporary files,
 * depth-first in name order. With a window, only the day folders it spans are entered, and
 * nothing else at the top (files outside the `<day>/<sessionId>/` layout belong to no window).
 */
async function* walk(root: string, dir: string, options: VerifyOptions): AsyncGenerator<string> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return;
    }
    throw error;
  }
  for (const entry of entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (options.windowed && dir === root && !(entry.isDirectory() && inWindowDay(entry.name, options))) {
      continue;
    }
    const full = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* walk(root, full, options);
    } else if (entry.isFile() && !isCacheOrTemporary(entry.name)) {
      yield relative(root, full);
    }
  }
}

function inWindowDay(name: string, options: VerifyOptions): boolean {
  return DAY_FOLDER.test(name) && name >= dayOf(options.sinceMs) && name <= dayOf(options.untilMs - 1);
}

function dayOf(ms: number): string {
  return new Date(Math.max(0, ms)).toISOString().slice(0, 10);
}

async function* sessionPages(
  repository: VerifyStore,
  sinceMs: number,
  untilMs: number,
): AsyncGenerator<Session[]> {
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await repository.sessionsStartedIn(sinceMs, untilMs, offset, PAGE_SIZE);
    yield page;
    if (page.length < PAGE_SIZE) {
      return;
    }
  }
}
