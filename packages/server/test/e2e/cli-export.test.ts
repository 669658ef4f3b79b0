import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import {
  FAR_HZ,
  NEAR_HZ,
  assertChannelTones,
  assertTone,
  capture,
  findSessionByRefCi,
  runCucmCall,
} from '../support/cucm-calls.js';
import { probeMedia, readWavFile } from '../support/export-checks.js';
import { sessionsWhere, type SessionJson } from '../support/session-api.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * `verbatim export` on the data directory of a node that keeps running: SIPp plays two CUCM
 * recorded calls (the near end's tone on one leg, the far end's on the other); the first is
 * exported while the second is being recorded, from the node's own SQLite file and track files.
 * The exported WAV is the node's own WAV download byte for byte, and the call recorded meanwhile
 * is whole: the export read without disturbing the recorder.
 */

let server: RunningServer;
let work: string;

describe('verbatim export beside a recording node', () => {
  serverForSuite('cli-export', {}, (suite) => {
    server = suite.server;
    work = suite.work;
  });

  it('exports a recorded call while the next is being recorded; the window export names files as the downloads', async () => {
    const near = capture(work, 'near', 'PCMU', NEAR_HZ, 3);
    const far = capture(work, 'far', 'PCMU', FAR_HZ, 3);
    const call = { near: { pcapPath: near }, far: { pcapPath: far } };
    const firstRefCi = await runCucmCall(server, work, call);
    const first = await findSessionByRefCi(server, firstRefCi, (s) => s.sessionState === 'CLOSED_NORMAL');
    const out = join(work, 'first.wav');
    const trackOut = join(work, 'first-far.wav');
    // The second call lasts 6 s, long enough for both exports to run inside it.
    const secondRefCi = await runCucmCall(server, work, {
      near: { pcapPath: capture(work, 'near-long', 'PCMU', NEAR_HZ, 6), holdMs: 6300 },
      far: { pcapPath: capture(work, 'far-long', 'PCMU', FAR_HZ, 6), holdMs: 6300 },
      duringCall: async (refCi) => {
        await findSessionByRefCi(server, refCi, (s) => s.sessionState === 'ACTIVE');
        const run = await runCli(['export', first.sessionId, '-o', out, '--data-dir', server.dataDir], work);
        assert.equal(run.code, 0, run.stderr);
        const track = await runCli(
          [
            'export',
            first.sessionId,
            '--track',
            '1',
            '-o',
            trackOut,
            '--data-dir',
            server.dataDir,
            '--quiet',
          ],
          work,
        );
        assert.equal(track.code, 0, track.stderr);
        const during = await sessionsWhere(server, 'xRefCi', refCi);
        assert.ok(
          during.some((s) => s.sessionState === 'ACTIVE'),
          'the exports ran while the second call was being recorded',
        );
      },
    });

    const probe = await probeMedia(out);
    assert.deepEqual(probe.streams, [
      { codecType: 'audio', codecName: 'pcm_s16le', channels: 2, sampleRateHz: 8000 },
    ]);
    assert.ok(
      Math.abs(probe.durationSeconds * 1000 - (first.sessionDuration ?? 0)) <= 1,
      `the file lasts ${probe.durationSeconds} s, the session ${first.sessionDuration} ms`,
    );
    const wav = await readWavFile(out);
    assertTone(wav.channelSamples[0]!, NEAR_HZ, 3, 'exported left (near end)');
    assertTone(wav.channelSamples[1]!, FAR_HZ, 3, 'exported right (far end)');
    const downloaded = await fetch(first.urls.wavUrl, {
      headers: { cookie: `JSESSIONID=${server.jsessionId}` },
    });
    assert.equal(downloaded.status, 200);
    assert.ok(
      Buffer.from(await downloaded.arrayBuffer()).equals(await readFile(out)),
      'the export is the WAV download, byte for byte',
    );
    const farOnly = await readWavFile(trackOut);
    assert.equal(farOnly.channels, 1);
    assertTone(farOnly.channelSamples[0]!, FAR_HZ, 3, 'exported track 1');

    // The call recorded during the exports is whole.
    const second = await findSessionByRefCi(server, secondRefCi, (s) => s.sessionState === 'CLOSED_NORMAL');
    await assertChannelTones(server, second, [
      { hz: NEAR_HZ, seconds: 6, label: 'recorded during the export, left' },
      { hz: FAR_HZ, seconds: 6, label: 'recorded during the export, right' },
    ]);

    // Both calls as a window, each named as its download's Content-Disposition names it.
    const dir = join(work, 'window');
    const window = await runCli(
      [
        'export',
        '--since',
        String(first.sessionStartDate),
        '--until',
        String(second.sessionStartDate + 1),
        '--dir',
        dir,
        '--data-dir',
        server.dataDir,
      ],
      work,
    );
    assert.equal(window.code, 0, window.stderr);
    assert.match(window.stdout, new RegExp(`^exported 2 of 2 sessions to ${dir}: `));
    const names = await Promise.all([first, second].map((s) => attachmentName(s)));
    assert.deepEqual((await readdir(dir)).sort(), names.sort());
  });
});

async function attachmentName(session: SessionJson): Promise<string> {
  const response = await fetch(session.urls.wavUrl, {
    method: 'HEAD',
    headers: { cookie: `JSESSIONID=${server.jsessionId}` },
  });
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1];
  assert.ok(name !== undefined, `Content-Disposition: ${disposition}`);
  return name;
}
