import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository } from '../../src/db/index.js';
import type { Session } from '../../src/model/session.js';
import { runCli } from '../support/cli-process.js';
import { spawnTracked, stopAll, waitExit } from '../support/processes.js';
import { seedDamagedStore, seedDigested, VERIFY_DAY, VERIFY_T0 } from '../support/verify-seed.js';

// `verbatim verify` as cron runs it: a child process on a data directory seeded with closed
// sessions of real pcap track files, digested as the recorder digests them, then damaged by
// hand: one file deleted, one truncated, one with a byte changed, one stray file. The findings
// must be exactly those, with exit 1; a clean store exits 0.

const DAY = VERIFY_DAY;
const T0 = VERIFY_T0;
const ESC = '\u001b';
const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const TSX = import.meta.resolve('tsx');

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
  const expected: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-verify-'));
    // A damaged store.
    let repository = await openRepository({ kind: 'sqlite', path: join(dataDir('damaged'), 'verbatim.db') });
    let mediaDir = join(dataDir('damaged'), 'media');
    try {
      await repository.migrate();
      const seeded = await seedDamagedStore(repository, mediaDir);
      Object.assign(sessions, seeded.sessions);
      expected.push(...seeded.expected);
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
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  void it('reports exactly the missing, truncated, altered and orphaned files, with exit 1', async () => {
    const run = await cli('damaged', ['--since', DAY, '--until', DAY]);
    assert.equal(run.code, 1, run.stderr);
    assert.deepEqual(findingsOf(run.stdout), expected);
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

  void it('draws a bar on a terminal, the findings on lines of their own above it', async () => {
    // script(1) runs the command on a pseudo-terminal, as an operator's shell would.
    const command = [process.execPath, '--import', TSX, MAIN, 'verify', '--since', DAY, '--until', DAY]
      .concat(['--data-dir', dataDir('damaged')])
      .map((arg) => `'${arg}'`)
      .join(' ');
    const script = spawnTracked('script', 'script', ['-qefc', command, '/dev/null'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', COLUMNS: '120' },
    });
    const output: string[] = [];
    script.child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    assert.equal(await waitExit(script, 30_000), 1, script.output());
    const lines = output.join('').split(/\r?\n/);
    // A finding erases the bar first (carriage return, erase to the end of the line), if one is drawn.
    const findings = lines
      .map((line) => (line.split('\r').at(-1) ?? '').replace(`${ESC}[K`, ''))
      .filter((line) => /^(missing|truncated|altered|unreadable|orphaned|not-digested) /.test(line))
      .map((line) => line.split(/\s+/).slice(0, 2).join(' '));
    assert.deepEqual(findings.sort(), expected);
    const bar = lines.find((line) => /verify \[#+\] 100%/.test(line));
    assert.ok(bar !== undefined, JSON.stringify(lines));
    assert.doesNotMatch(output.join(''), /^verify: {1,3}\d+%/m, 'no plain progress lines on a terminal');
  });

  void it('exits 2 on a date it cannot read', async () => {
    const run = await cli('clean', ['--since', 'yesterday']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--since 'yesterday' is not a date/);
  });
});
