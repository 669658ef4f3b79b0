import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Session } from '../model/session.js';
import { resolveMediaPath } from '../storage/session-media.js';

/**
 * Files made from a session's recording and kept for the next request (its MP4, its waveform
 * peaks): where they live and how a changed session is noticed. They go in the session's own
 * media folder, so deleting the session's media removes them too, named
 * `<sessionId>.<fingerprint>.<kind>`. The fingerprint hashes what the file is made from: the
 * session's state, start and duration and each track's media type, codec and file size (a track
 * still growing, or a session that changed, gets a new name; the stale file is swept).
 */

export interface DerivedFileKey {
  /** 16 hex digits. */
  readonly fingerprint: string;
  /** The session's own media folder, when its tracks are in one named after it. */
  readonly folder: string | undefined;
}

/** `formatVersion`: bumped by the maker when what it writes changes, so old files are made again. */
export async function derivedFileKey(
  session: Session,
  mediaDir: string,
  formatVersion: number,
): Promise<DerivedFileKey> {
  const hash = createHash('sha256');
  hash.update(
    JSON.stringify([
      formatVersion,
      session.sessionId,
      session.sessionState,
      session.sessionStartDate,
      session.sessionDuration ?? null,
    ]),
  );
  let folder: string | undefined;
  for (const track of [...session.tracks].sort((a, b) => a.trackNumber - b.trackNumber)) {
    const file = resolveMediaPath(mediaDir, track.mediaPath);
    const size = file === undefined ? -1 : await sizeOf(file);
    hash.update(
      JSON.stringify([track.trackNumber, track.trackMediaType, track.codec, track.payloadType, size]),
    );
    if (folder === undefined && file !== undefined && basename(dirname(file)) === session.sessionId) {
      folder = dirname(file);
    }
  }
  return { fingerprint: hash.digest('hex').slice(0, 16), folder };
}

/** The session id as a file-name part: anything but letters, digits, `_` and `-` becomes `_`. */
export function safeName(sessionId: string): string {
  return sessionId.replace(/[^\w-]/g, '_');
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}
