import { mkdir, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Repository } from '../../src/db/repository.js';
import type { Session } from '../../src/model/session.js';
import { digestTrackFile } from '../../src/recording/track-digest.js';
import { seedToneSession } from './export-checks.js';

// A media store damaged on purpose, for `verbatim verify` and the verifyMedia job: closed
// sessions of real pcap track files, digested as the recorder digests them, then one file
// deleted, one truncated, one with a byte changed, stray files, and what is not a stray.

export const VERIFY_DAY = '2026-12-01';
const DAY = VERIFY_DAY;
export const VERIFY_T0 = Date.parse(`${DAY}T10:00:00Z`);
const T0 = VERIFY_T0;

export /** Stores a two-track tone session and the digests of its files, as a finished recording has. */
async function seedDigested(
  repository: Repository,
  mediaDir: string,
  sessionId: string,
  startMs: number,
  options: { readonly digest?: boolean; readonly state?: Session['sessionState'] } = {},
): Promise<Session> {
  const session = await seedToneSession(repository, mediaDir, sessionId, {
    startMs,
    seconds: 2,
    ...(options.state === undefined ? {} : { state: options.state }),
  });
  if (options.digest !== false) {
    for (const track of session.tracks) {
      const digest = await digestTrackFile(join(mediaDir, track.mediaPath), startMs + 3000);
      await repository.updateTrack(sessionId, track.trackNumber, { digest });
    }
  }
  return session;
}

/**
 * Seeds the damaged store; returns its sessions and the findings (`kind path`, sorted) a check of
 * VERIFY_DAY must report, no more and no fewer.
 */
export async function seedDamagedStore(
  repository: Repository,
  mediaDir: string,
): Promise<{ readonly sessions: Record<string, Session>; readonly expected: string[] }> {
  const sessions: Record<string, Session> = {};
  const seed = async (id: string, startMs: number, options?: Parameters<typeof seedDigested>[4]) => {
    sessions[id] = await seedDigested(repository, mediaDir, id, startMs, options);
  };
  const path = (id: string, track: number): string => join(mediaDir, sessions[id]!.tracks[track]!.mediaPath);
  await seed('verifygood0001', T0);
  await seed('verifygone0002', T0 + 60_000);
  await unlink(path('verifygone0002', 1));
  await seed('verifyshort003', T0 + 120_000);
  await truncate(path('verifyshort003', 0), 5000);
  await seed('verifyflip0004', T0 + 180_000);
  const handle = await open(path('verifyflip0004', 1), 'r+');
  try {
    // One byte of audio in the middle of the file, its length unchanged.
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, 3000);
    await handle.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 3000);
  } finally {
    await handle.close();
  }
  // Recorded before digests: intact is "not digested", a cut last record truncated.
  await seed('verifyolder005', T0 + 240_000, { digest: false });
  await seed('verifyoldcut06', T0 + 300_000, { digest: false });
  const torn = path('verifyoldcut06', 0);
  const full = await readFile(torn);
  await writeFile(torn, full.subarray(0, full.length - 7));
  // Still recording, and pruned: not judged.
  await seed('verifyactive07', T0 + 360_000, { state: 'ACTIVE', digest: false });
  await truncate(path('verifyactive07', 0), 100);
  await seed('verifypruned08', T0 + 420_000);
  await repository.markSessionPruned('verifypruned08', T0 + 500_000);
  await rm(dirname(path('verifypruned08', 0)), { recursive: true });
  // Strays, and what is not one: the MP4 cache and a conversion's temporary file.
  await mkdir(join(mediaDir, DAY, 'nosuchsession1'), { recursive: true });
  await writeFile(join(mediaDir, DAY, 'nosuchsession1', 'track0.pcap'), 'stray');
  await writeFile(join(dirname(path('verifygood0001', 0)), 'track7.pcap'), 'stray');
  await writeFile(join(dirname(path('verifygood0001', 0)), 'verifygood0001.0123456789abcdef.mp4'), 'mp4');
  await writeFile(
    join(dirname(path('verifygood0001', 0)), '.verifygood0001.0123456789abcdef.mp4.1a2b3c4d.partial'),
    'part',
  );
  // Another day, altered: outside a window of DAY.
  await seed('verifyearly009', T0 - 10 * 86_400_000);
  // Longer than when it was digested: altered, not truncated.
  await writeFile(path('verifyearly009', 0), Buffer.alloc(30_000, 0x55));
  const p = (id: string, track: number): string => sessions[id]!.tracks[track]!.mediaPath;
  const expected = [
    `altered ${p('verifyflip0004', 1)}`,
    `missing ${p('verifygone0002', 1)}`,
    `not-digested ${p('verifyolder005', 0)}`,
    `not-digested ${p('verifyolder005', 1)}`,
    `not-digested ${p('verifyoldcut06', 1)}`,
    `orphaned ${DAY}/nosuchsession1/track0.pcap`,
    `orphaned ${DAY}/verifygood0001/track7.pcap`,
    `truncated ${p('verifyoldcut06', 0)}`,
    `truncated ${p('verifyshort003', 0)}`,
  ].sort();
  return { sessions, expected };
}
