import assert from 'node:assert/strict';
import { mkdir, mkdtemp, open, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { Session } from '../../src/model/session.js';
import { digestTrackFile } from '../../src/recording/track-digest.js';
import { runCli } from '../support/cli-process.js';
import { seedToneSession } from '../support/export-checks.js';

// `verbatim verify` as cron runs it: a child process on a data directory seeded with closed
// sessions of real pcap track files, digested as the recorder digests them, then damaged by
// hand: one file deleted, one truncated, one with a byte changed, one stray file. The findings
// must be exactly those, with exit 1; a clean store exits 0.

const DAY = '2026-12-01';
const T0 = Date.parse(`${DAY}T10:00:00Z`);
const ESC = '\u001b';

/** Stores a two-track tone session and the digests of its files, as a finished recording has. */
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

/** `kind path` of each finding line, sorted. */
function findingsOf(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('verify:'))
    .map((line) => line.split(/\s+/).slice(0, 2).join(' '))
    .sort();
}

void describe('verbatim verify', () => {
  let dir = '';
  const dataDir = (name: string): string => join(dir, name);
  const cli = (name: string, args: readonly string[] = []): ReturnType<typeof runCli> =>
    runCli(['verify', ...args, '--data-dir', dataDir(name)], dir);
  const sessions: Record<string, Session> = {};

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-verify-'));
    // A damaged store.
    let repository = await openRepository({ kind: 'sqlite', path: join(dataDir('damaged'), 'verbatim.db') });
    let mediaDir = join(dataDir('damaged'), 'media');
    try {
      await repository.migrate();
      const seed = async (id: string, startMs: number, options?: Parameters<typeof seedDigested>[4]) => {
        sessions[id] = await seedDigested(repository, mediaDir, id, startMs, options);
      };
      const path = (id: string, track: number): string =>
        join(mediaDir, sessions[id]!.tracks[track]!.mediaPath);
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
    } finally {
      await repository.close();
    }
    // A clean store.
    repository = await openRepository({ kind: 'sqlite', path: join(dataDir('clean'), 'verbatim.db') });
    mediaDir = join(dataDir('clean'), 'media');
    try {
      await repository.migrate();
      await seedDigested(repository, mediaDir, 'cleanone000001', T0);
      await seedDigested(repository, mediaDir, 'cleantwo000002', T0 + 86_400_000);
      await writeFile(
        join(mediaDir, DAY, 'cleanone000001', 'cleanone000001.fedcba9876543210.mp4'),
        'cached export',
      );
    } finally {
      await repository.close();
    }
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('reports exactly the missing, truncated, altered and orphaned files, with exit 1', async () => {
    const run = await cli('damaged', ['--since', DAY, '--until', DAY]);
    assert.equal(run.code, 1, run.stderr);
    const p = (id: string, track: number): string => sessions[id]!.tracks[track]!.mediaPath;
    assert.deepEqual(
      findingsOf(run.stdout),
      [
        `altered ${p('verifyflip0004', 1)}`,
        `missing ${p('verifygone0002', 1)}`,
        `not-digested ${p('verifyolder005', 0)}`,
        `not-digested ${p('verifyolder005', 1)}`,
        `not-digested ${p('verifyoldcut06', 1)}`,
        `orphaned ${DAY}/nosuchsession1/track0.pcap`,
        `orphaned ${DAY}/verifygood0001/track7.pcap`,
        `truncated ${p('verifyoldcut06', 0)}`,
        `truncated ${p('verifyshort003', 0)}`,
      ].sort(),
    );
    assert.match(run.stdout, /truncated\s+\S+\s+session verifyshort003 track 0\s+5000 of \d+ bytes/);
    assert.match(
      run.stdout,
      /verify: PROBLEMS FOUND: 12 track\(s\) of 6 session\(s\) checked, 5 intact; 1 missing, 2 truncated, 1 altered, 0 unreadable, 2 orphaned, 3 not-digested; 2 session\(s\) skipped/,
    );
    // Not a terminal: plain progress lines, no escape sequences.
    assert.ok(!run.stderr.includes(ESC), run.stderr);
    assert.match(run.stderr, /^verify: 100%/m);
  });

  void it('checks every day when no window is given', async () => {
    const run = await cli('damaged');
    assert.equal(run.code, 1, run.stderr);
    const findings = findingsOf(run.stdout);
    assert.ok(findings.includes(`altered ${sessions.verifyearly009!.tracks[0]!.mediaPath}`), run.stdout);
    assert.equal(findings.length, 10, run.stdout);
  });

  void it('exits 0 on a clean store, the MP4 cache not taken for an orphan', async () => {
    const run = await cli('clean', ['--quiet']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^verify: all intact: 4 track\(s\) of 2 session\(s\) checked, 4 intact;/m);
    assert.equal(run.stderr, '');
  });

  void it('exits 2 on a date it cannot read', async () => {
    const run = await cli('clean', ['--since', 'yesterday']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--since 'yesterday' is not a date/);
  });
});
