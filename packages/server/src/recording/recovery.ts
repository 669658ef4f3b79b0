import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Repository } from '../db/repository.js';

/**
 * Sessions still ACTIVE in the database when a node starts were cut off by a crash or a kill -9
 * of the previous run. What was written to their track files is kept; the sessions are closed as
 * CLOSED_ERROR with a duration that ends at the last write to any of their tracks.
 */
export async function recoverInterruptedSessions(
  repository: Repository,
  mediaDir: string,
  logger: Logger,
): Promise<number> {
  const stale = await repository.listActiveSessions();
  for (const session of stale) {
    let lastWriteMs = session.sessionStartDate;
    for (const track of session.tracks) {
      try {
        const info = await stat(join(mediaDir, track.mediaPath));
        lastWriteMs = Math.max(lastWriteMs, info.mtimeMs);
      } catch (error) {
        logger.warn(
          { err: error, sessionId: session.sessionId, track: track.trackNumber },
          'track file missing',
        );
      }
    }
    const durationMs = Math.round(lastWriteMs - session.sessionStartDate);
    await repository.closeSession(session.sessionId, 'CLOSED_ERROR', durationMs);
    logger.warn(
      { sessionId: session.sessionId, durationMs },
      'session interrupted by the previous run closed as CLOSED_ERROR',
    );
  }
  return stale.length;
}
