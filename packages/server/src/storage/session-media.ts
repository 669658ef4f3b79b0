import { rm, unlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import type { Session } from '../model/session.js';

/**
 * Removing a session's media from the local media store: each track's pcap file, then the
 * session's own folder (`<day>/<sessionId>/`, where its track files live and where any export
 * computed from them is cached), whole. Removal is idempotent: a file already gone counts as
 * removed, so a deletion interrupted by a crash finishes on its second run.
 */

export interface MediaRemoval {
  /** Files and folders removed now. */
  readonly removed: number;
  /** Track files that were already gone (ENOENT): removed by an earlier, interrupted run. */
  readonly alreadyGone: number;
  /** What could not be removed, with the system's error code (EACCES, EPERM, EISDIR, EIO, …). */
  readonly failures: readonly { readonly path: string; readonly code: string }[];
}

/**
 * Removes what `session` holds under `mediaDir`. A track path that would leave the media directory
 * (the database is the only source of these paths, and an operator may edit it) is not touched
 * and counts as a failure: the session must not be reported deleted while media may remain. The
 * session folder is removed only when every track file went, and only a folder named after the
 * session.
 */
export async function removeSessionMedia(mediaDir: string, session: Session): Promise<MediaRemoval> {
  let removed = 0;
  let alreadyGone = 0;
  const failures: { path: string; code: string }[] = [];
  const folders = new Set<string>();
  for (const track of session.tracks) {
    if (track.mediaPath === '') {
      continue;
    }
    const path = resolveMediaPath(mediaDir, track.mediaPath);
    if (path === undefined) {
      failures.push({ path: track.mediaPath, code: 'OUTSIDE_MEDIA_DIR' });
      continue;
    }
    try {
      await unlink(path);
      removed++;
    } catch (error) {
      const code = errorCode(error);
      if (code === 'ENOENT') {
        alreadyGone++;
      } else {
        failures.push({ path, code });
      }
    }
    const folder = dirname(path);
    if (basename(folder) === session.sessionId && folder !== mediaDir) {
      folders.add(folder);
    }
  }
  if (failures.length === 0) {
    for (const folder of folders) {
      try {
        // force: a folder already gone is no error.
        await rm(folder, { recursive: true, force: true });
        removed++;
      } catch (error) {
        failures.push({ path: folder, code: errorCode(error) });
      }
    }
  }
  return { removed, alreadyGone, failures };
}

/**
 * The absolute path of a track file, refusing a stored path that would leave the media directory
 * (defence in depth: paths come from the database, which an operator may have edited). Every
 * reader and remover of track files resolves them here.
 */
export function resolveMediaPath(mediaDir: string, mediaPath: string): string | undefined {
  if (mediaPath === '' || isAbsolute(mediaPath)) {
    return undefined;
  }
  const full = join(mediaDir, mediaPath);
  const rel = relative(mediaDir, full);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? undefined : full;
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'UNKNOWN';
}
