import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { downloadFileName } from '../../src/api/download-names.js';
import { openRepository } from '../../src/db/index.js';
import type { Session } from '../../src/model/session.js';
import { cliFinished, runCli, startCli } from '../support/cli-process.js';
import { assertTone, FAR_HZ, NEAR_HZ } from '../support/cucm-calls.js';
import { probeMedia, readWavFile, seedToneSession, tonePower } from '../support/export-checks.js';
import { spawnTracked, stopAll, waitExit } from '../support/processes.js';
import { waitFor } from '../support/wait.js';

// `verbatim export` as an operator runs it, a child process on a data directory seeded with
// closed two-party sessions (real pcap track files of two tones), plus one still recording, one
// pruned, one with a damaged track file and one outside the window. The files are checked with
// ffprobe and by their audio: the near tone on the left (track 0), the far tone on the right.

const DAY = '2026-12-01';
const T0 = Date.parse(`${DAY}T10:00:00Z`);
const MAIN = resolve(import.meta.dirname, '../../src/main.ts');
const TSX = import.meta.resolve('tsx');
const ESC = '\u001b';
const MANY = 200;

void describe('verbatim export', () => {
  let dir = '';
  const dataDir = (): string => join(dir, 'data');
  const sessions: Record<string, Session> = {};
  const cli = (args: readonly string[]): ReturnType<typeof runCli> =>
    runCli(['export', ...args, '--data-dir', dataDir()], dir);

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-export-'));
    const repository = await openRepository({ kind: 'sqlite', path: join(dataDir(), 'verbatim.db') });
    const mediaDir = join(dataDir(), 'media');
    try {
      await repository.migrate();
      const seed = async (id: string, startMs: number, state?: Session['sessionState']): Promise<void> => {
        sessions[id] = await seedToneSession(repository, mediaDir, id, {
          startMs,
          ...(state === undefined ? {} : { state }),
        });
      };
      await seed('exportaaaa0001', T0);
      await seed('exportbbbb0002', T0 + 3_600_000);
      await seed('exportactive03', T0 + 7_200_000, 'ACTIVE');
      await seed('exportpruned04', T0 + 7_300_000);
      await repository.markSessionPruned('exportpruned04', T0 + 8_000_000);
      await seed('exportbroken05', T0 + 7_400_000);
      // A track file that is no pcap: this session fails, the others are still exported.
      await writeFile(
        join(mediaDir, sessions.exportbroken05!.tracks[0]!.mediaPath),
        'this is not a pcap capture, only some text',
      );
      await seed('exportlater006', T0 + 86_400_000);
      // Its far end's track file is gone (removed by hand, a disk error): that channel is silent.
      await seed('exportnofile08', T0 - 3 * 86_400_000);
      await rm(join(mediaDir, sessions.exportnofile08!.tracks[1]!.mediaPath));
      // Five minutes: an MP4 conversion long enough to be interrupted.
      sessions.exportlong0007 = await seedToneSession(repository, mediaDir, 'exportlong0007', {
        startMs: T0 - 2 * 86_400_000,
        seconds: 300,
      });
      // The day before: many short sessions, so a window export runs long enough to be interrupted.
      for (let i = 0; i < MANY; i++) {
        await seed(`exportmany${String(i).padStart(4, '0')}`, T0 - 86_400_000 + i * 60_000);
      }
    } finally {
      await repository.close();
    }
  });

  after(async () => {
    await stopAll();
    await rm(dir, { recursive: true, force: true });
  });

  void it('is described by verbatim --help and verbatim export --help', async () => {
    const top = await runCli(['--help'], dir);
    assert.equal(top.code, 0, top.stderr);
    assert.match(top.stdout, /^ {2}export \[options\] \[sessionId\] +write recordings to files, offline/m);
    const help = await runCli(['export', '--help'], dir);
    assert.equal(help.code, 0, help.stderr);
    for (const option of [
      '--format <FORMAT>',
      '--track <N>',
      '--mix',
      '-o, --output <FILE>',
      '--since <DATE>',
      '--until <DATE>',
      '--dir <DIR>',
      '--force',
      '--quiet',
      '--data-dir <DIR>',
    ]) {
      assert.ok(help.stdout.includes(`  ${option}`), `${option} in:\n${help.stdout}`);
    }
    assert.match(help.stdout, /Exit codes: 0 done, 1 a session could not be exported/);
  });

  void it('writes one session as a stereo WAV: near tone left, far tone right, with progress lines', async () => {
    const out = join(dir, 'one.wav');
    const run = await cli(['exportaaaa0001', '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^wrote ${out}: 96.0 kB, 0:03 of stereo WAV, in [\\d.]+ s\\n$`));
    const probe = await probeMedia(out);
    assert.equal(probe.formatName, 'wav');
    assert.deepEqual(probe.streams, [
      { codecType: 'audio', codecName: 'pcm_s16le', channels: 2, sampleRateHz: 8000 },
    ]);
    assert.ok(Math.abs(probe.durationSeconds - 3) < 0.01, `duration ${probe.durationSeconds} s`);
    const wav = await readWavFile(out);
    assertTone(wav.channelSamples[0]!, NEAR_HZ, 3, 'left (track 0)');
    assertTone(wav.channelSamples[1]!, FAR_HZ, 3, 'right (track 1)');
    // Not a terminal: plain lines, ending with 100 %; no bar, no escape sequence.
    const lines = run.stderr.trimEnd().split('\n');
    assert.ok(
      lines.every((line) => /^export: +\d+% {2}0:0\d \/ 0:03/.test(line)),
      run.stderr,
    );
    assert.match(lines.at(-1) ?? '', /^export: 100% {2}0:03 \/ 0:03 .* in [\d.]+ s {2}96\.0 kB$/);
    assert.ok(!run.stderr.includes('\r') && !run.stderr.includes(ESC), run.stderr);
    // Nothing but the file: the temporary one was renamed.
    assert.deepEqual((await readdir(dir)).sort(), ['data', 'one.wav']);
  });

  void it('writes one track in mono (--track 1: the far tone) and the mix of both (--mix)', async () => {
    const far = join(dir, 'far.wav');
    const run = await cli(['exportaaaa0001', '--track', '1', '-o', far, '--quiet']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, '', '--quiet prints no progress');
    assert.match(run.stdout, /0:03 of track 1 mono WAV/);
    const farWav = await readWavFile(far);
    assert.equal(farWav.channels, 1);
    assertTone(farWav.channelSamples[0]!, FAR_HZ, 3, 'track 1');

    const mixed = join(dir, 'mix.wav');
    const mixRun = await cli(['exportaaaa0001', '--mix', '-o', mixed, '--quiet']);
    assert.equal(mixRun.code, 0, mixRun.stderr);
    const mix = await readWavFile(mixed);
    assert.equal(mix.channels, 1);
    const samples = mix.channelSamples[0]!;
    const near = tonePower(samples, 8000, NEAR_HZ);
    const farPower = tonePower(samples, 8000, FAR_HZ);
    const neither = tonePower(samples, 8000, 900);
    assert.ok(near > 100 * neither && farPower > 100 * neither, `mix: ${near}, ${farPower}, ${neither}`);
    assert.ok(near / farPower > 0.5 && near / farPower < 2, `both tones alike: ${near} vs ${farPower}`);
  });

  void it('warns of a missing track file and exports its channel silent', async () => {
    const out = join(dir, 'nofile.wav');
    const run = await cli(['exportnofile08', '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(
      run.stderr,
      /^warning: exportnofile08: the track has no media file: its channel is silent track=1$/m,
    );
    const wav = await readWavFile(out);
    assertTone(wav.channelSamples[0]!, NEAR_HZ, 3, 'left (track 0)');
    assert.ok(
      wav.channelSamples[1]!.every((sample) => sample === 0),
      'the right channel is silent',
    );
  });

  void it('refuses an existing file unless --force, a missing session, a bad track and an ACTIVE one', async () => {
    const out = join(dir, 'taken.wav');
    await writeFile(out, 'keep me');
    const taken = await cli(['exportaaaa0001', '-o', out]);
    assert.equal(taken.code, 2);
    assert.equal(taken.stderr, `error: ${out} exists (add --force to overwrite it)\n`);
    assert.equal((await stat(out)).size, 7);
    const forced = await cli(['exportaaaa0001', '-o', out, '--force', '--quiet']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((await stat(out)).size, 96_044);

    const missing = await cli(['nosuchsession', '-o', join(dir, 'x.wav')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: no session 'nosuchsession' in sqlite:.*verbatim\.db\n$/);
    const badTrack = await cli(['exportaaaa0001', '--track', 'left', '-o', join(dir, 'x.wav')]);
    assert.equal(badTrack.code, 2);
    assert.equal(badTrack.stderr, "error: --track must be a track number (0, 1, …), got 'left'\n");
    const noTrack = await cli(['exportaaaa0001', '--track', '7', '-o', join(dir, 'x.wav')]);
    assert.equal(noTrack.code, 2);
    assert.equal(noTrack.stderr, 'error: session exportaaaa0001 has no track 7 (tracks: 0, 1)\n');
    const active = await cli(['exportactive03', '-o', join(dir, 'x.wav')]);
    assert.equal(active.code, 1);
    assert.equal(
      active.stderr,
      'error: session exportactive03 cannot be exported: still recording (ACTIVE)\n',
    );
    const noDir = await cli(['--since', DAY]);
    assert.equal(noDir.code, 2);
    assert.equal(noDir.stderr, 'error: say where to write the window: --dir DIR\n');
    const badDate = await cli(['--since', '2026-02-31', '--dir', join(dir, 'w')]);
    assert.equal(badDate.code, 2);
    assert.match(badDate.stderr, /^error: --since '2026-02-31' is not a date/);
    const mp4Track = await cli([
      'exportaaaa0001',
      '--format',
      'mp4',
      '--track',
      '1',
      '-o',
      join(dir, 'x.mp4'),
    ]);
    assert.equal(mp4Track.code, 2);
    assert.equal(mp4Track.stderr, 'error: --track and --mix apply to WAV only, not mp4\n');
    const intoMedia = await cli(['--since', DAY, '--dir', join(dataDir(), 'media', 'exports')]);
    assert.equal(intoMedia.code, 2);
    assert.match(
      intoMedia.stderr,
      /^error: .*media\/exports is inside the media directory .*: export somewhere else\n$/,
    );
    const nothing = await cli([]);
    assert.equal(nothing.code, 2);
    assert.match(nothing.stderr, /name a session/);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.startsWith('x.')),
      [],
    );
  });

  void it('exports a window: one file per closed session, skips the rest with a note, fails one, resumes', async () => {
    const out = join(dir, 'window');
    // What an export killed outright leaves: a temporary file of a process that no longer runs.
    await mkdir(out);
    const deadPid = spawnSync('true').pid;
    await writeFile(
      join(out, `.2026-12-01_10-00-00Z_1000_2000_exportaaaa0001.partial-${deadPid}.wav`),
      'RIFF',
    );
    const run = await cli(['--since', DAY, '--until', DAY, '--dir', out]);
    assert.equal(run.code, 1, 'a failed session makes exit 1');
    const expected = ['exportaaaa0001', 'exportbbbb0002'].map((id) =>
      downloadFileName(sessions[id]!, '.wav'),
    );
    assert.deepEqual((await readdir(out)).sort(), expected.sort());
    assert.equal(expected[0], '2026-12-01_10-00-00Z_1000_2000_exportaaaa0001.wav');
    for (const name of expected) {
      const wav = await readWavFile(join(out, name));
      assertTone(wav.channelSamples[0]!, NEAR_HZ, 3, `${name} left`);
      assertTone(wav.channelSamples[1]!, FAR_HZ, 3, `${name} right`);
    }
    const summary = run.stdout.split('\n');
    assert.match(
      summary[0] ?? '',
      new RegExp(`^exported 2 of 5 sessions to ${out}: 192.1 kB, 0:06 of audio, in [\\d.]+ s$`),
    );
    assert.equal(summary[1], 'skipped 2: 1 still recording (ACTIVE), 1 media pruned');
    assert.equal(summary[2], 'failed 1:');
    assert.match(summary[3] ?? '', /^ {2}exportbroken05: .*pcap/);
    assert.match(run.stderr, /^removed 1 partial file\(s\) left in .* by an export that was killed$/m);
    assert.match(run.stderr, /^skipped exportactive03: still recording \(ACTIVE\)$/m);
    assert.match(run.stderr, /^skipped exportpruned04: media pruned$/m);
    assert.match(run.stderr, /^failed exportbroken05: /m);
    const progress = run.stderr.split('\n').filter((line) => line.startsWith('export:'));
    assert.ok(progress.length >= 2, run.stderr);
    assert.match(progress.at(-1) ?? '', /^export: 100% {2}0:06 \/ 0:06 .*192\.1 kB$/);

    const before = await Promise.all(expected.map(async (name) => (await stat(join(out, name))).mtimeMs));
    const again = await cli(['--since', DAY, '--until', `${DAY}T23:59:59`, '--dir', out]);
    assert.equal(again.code, 1);
    assert.match(again.stdout, /^exported 0 of 5 sessions/);
    assert.match(
      again.stdout,
      /^skipped 4: 2 already exported, 1 still recording \(ACTIVE\), 1 media pruned$/m,
    );
    const afterRerun = await Promise.all(expected.map(async (name) => (await stat(join(out, name))).mtimeMs));
    assert.deepEqual(afterRerun, before, 'the files already exported are kept as they are');
    assert.deepEqual((await readdir(out)).sort(), expected.sort(), 'no temporary file is left');
  });

  void it('exports a window of single tracks named as the downloads name them, by epoch ms', async () => {
    const out = join(dir, 'tracks');
    await mkdir(out);
    const run = await cli([
      '--since',
      String(T0),
      '--until',
      String(T0 + 1),
      '--dir',
      out,
      '--track',
      '0',
      '--quiet',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(await readdir(out), ['2026-12-01_10-00-00Z_1000_2000_exportaaaa0001-TRACK0.wav']);
    assertTone(
      (await readWavFile(join(out, (await readdir(out))[0]!))).channelSamples[0]!,
      NEAR_HZ,
      3,
      'track 0',
    );
  });

  void it('draws one bar redrawn in place on a terminal', async () => {
    const out = join(dir, 'tty.wav');
    // script(1) runs the command on a pseudo-terminal, as an operator's shell would.
    const command = [
      process.execPath,
      '--import',
      TSX,
      MAIN,
      'export',
      'exportaaaa0001',
      '-o',
      out,
      '--data-dir',
      dataDir(),
    ]
      .map((arg) => `'${arg}'`)
      .join(' ');
    const script = spawnTracked('script', 'script', ['-qefc', command, '/dev/null'], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', COLUMNS: '100' },
    });
    const output: string[] = [];
    script.child.stdout?.on('data', (d: Buffer) => output.push(d.toString()));
    assert.equal(await waitExit(script, 30_000), 0, script.output());
    const text = output.join('');
    // Each drawing starts with a carriage return and ends by erasing the rest of the line.
    const drawings =
      text
        .split('\n')[0]
        ?.split('\r')
        .filter((part) => part !== '') ?? [];
    assert.ok(drawings.length >= 2, JSON.stringify(text));
    for (const drawing of drawings) {
      assert.ok(drawing.endsWith(`${ESC}[K`), JSON.stringify(drawing));
    }
    assert.match(drawings.at(-1) ?? '', /^export \[#+\] 100% {2}0:03 \/ 0:03 .*96\.0 kB/);
    assert.doesNotMatch(text, /^export: /m, 'no plain lines on a terminal');
    assert.match(text, /wrote .*tty\.wav: 96.0 kB/);
  });

  void it('stops on Ctrl-C: exit 130, every file left is complete, no partial file', async () => {
    const out = join(dir, 'interrupted');
    const child = startCli(
      [
        'export',
        '--since',
        '2026-11-30',
        '--until',
        '2026-11-30',
        '--dir',
        out,
        '--track',
        '0',
        '--data-dir',
        dataDir(),
      ],
      dir,
    );
    const finished = cliFinished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => /^export: +\d+%/m.test(stderr) || child.exitCode !== null, {
      what: 'the first progress line',
      timeoutMs: 30_000,
    });
    child.kill('SIGINT');
    const run = await finished;
    assert.equal(run.code, 130, run.stderr);
    const interrupted =
      /^interrupted: (\d+) of 200 sessions exported; the file being written was removed \(run again to resume\)$/m.exec(
        run.stderr,
      );
    assert.ok(interrupted !== null, run.stderr);
    const exported = Number(interrupted[1]);
    // The 10 % line comes while the 20th session is being written: 19 at least are complete.
    assert.ok(exported >= MANY / 10 - 1 && exported < MANY, `${exported} exported before the interruption`);
    const files = await readdir(out);
    assert.equal(
      files.length,
      exported,
      `files: ${files.filter((f) => !f.endsWith('-TRACK0.wav')).join(', ')}`,
    );
    for (const file of files) {
      assert.match(file, /^2026-11-30_.*_exportmany\d{4}-TRACK0\.wav$/);
      assert.equal((await stat(join(out, file))).size, 48_044, `${file} is complete`);
    }
  });

  void it('stops an MP4 conversion on Ctrl-C: exit 130, no file, no temporary file', async () => {
    const out = join(dir, 'mp4-interrupted');
    await mkdir(out);
    const child = startCli(
      ['export', 'exportlong0007', '-o', join(out, 'long.mp4'), '--data-dir', dataDir()],
      dir,
    );
    const finished = cliFinished(child);
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => /^export: +\d+%/m.test(stderr) || child.exitCode !== null, {
      what: 'the first progress line',
      timeoutMs: 30_000,
    });
    child.kill('SIGINT');
    const run = await finished;
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /^interrupted: .*long\.mp4 was not written$/m);
    assert.deepEqual(await readdir(out), []);
  });

  void it('writes one session as MP4: AAC stereo with the duration of the session', async () => {
    const out = join(dir, 'one.mp4');
    const run = await cli(['exportaaaa0001', '-o', out]);
    assert.equal(run.code, 0, run.stderr);
    const probe = await probeMedia(out);
    assert.match(probe.formatName, /mp4/);
    assert.deepEqual(
      probe.streams.map((s) => [s.codecType, s.codecName, s.channels]),
      [['audio', 'aac', 2]],
    );
    assert.ok(Math.abs(probe.durationSeconds - 3) < 0.1, `duration ${probe.durationSeconds} s`);
    assert.deepEqual(
      (await readdir(dir)).filter((name) => name.includes('.partial')),
      [],
    );
  });
});
