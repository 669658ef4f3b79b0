import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { TrackDigest } from '../model/session.js';

/**
 * Read size of the digest stream: large enough that a long track takes few reads, small enough
 * that each hash step is short (a 1 MiB SHA-256 update takes about a millisecond), so a long
 * file never holds the event loop for long between its packets and timers.
 */
const CHUNK_BYTES = 1 << 20;

/** SHA-256 and length of a file's bytes, read as a stream (never whole into memory). */
async function digestFile(path: string): Promise<{ readonly sha256: string; readonly bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/** The digest of a finished track file, stamped with when it was taken. */
export async function digestTrackFile(path: string, now: number): Promise<TrackDigest> {
  const { sha256, bytes } = await digestFile(path);
  return { sha256, bytes, digestedAt: now };
}
