import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { dominantFrequencyHz, goertzelPower, sineG711Packets, type WavSamples } from '../support/audio.js';
import {
  FAR_HZ,
  NEAR_HZ,
  assertPartyTones,
  assertTone,
  capture,
  findSessionByRefCi,
  runCucmCall,
} from '../support/cucm-calls.js';
import { failWithOutputs } from '../support/processes.js';
import {
  RawRtspClient,
  pullPcmuWithGstreamer,
  pullWithFfmpeg,
  rawRtsp,
  responseHeaders,
} from '../support/rtsp-client.js';
import type { SessionJson } from '../support/session-api.js';
import { writeSippRtpPcap } from '../support/sipp-pcap.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * RTSP playback end to end: a CUCM call recorded from SIPp (the near end changes tone half way,
 * so a seek can be heard), then pulled from `verbatim serve`'s RTSP port by ffmpeg over TCP and
 * over UDP and by GStreamer's rtspsrc, each track decoded and checked against its party's tone.
 */

/** The near end's tone after 1.5 s: a seek past it hears only this one. */
const NEAR_LATER_HZ = 800;

let server: RunningServer;
let work: string;
let recorded: SessionJson;

serverForSuite('rtsp', {}, (suite) => {
  ({ server, work } = suite);
});

/** A capture of 1.5 s of NEAR_HZ then 1.5 s of NEAR_LATER_HZ, phase-continuous, for SIPp to replay. */
function changingToneCapture(): string {
  const path = join(work, 'near-changing.pcap');
  const first = sineG711Packets({ codec: 'PCMU', frequencyHz: NEAR_HZ, count: 75 });
  const second = sineG711Packets({
    codec: 'PCMU',
    frequencyHz: NEAR_LATER_HZ,
    count: 75,
    firstSampleIndex: 75 * 160,
  });
  writeSippRtpPcap(path, {
    payloadType: 0,
    ssrc: 0x1500,
    frames: [...first, ...second].map((p) => p.payload),
  });
  return path;
}

function url(path: string, password = ADMIN_PASSWORD): string {
  return `rtsp://admin:${password}@127.0.0.1:${server.rtspPort}${path}`;
}

function samplesOf(wav: WavSamples | undefined): Int16Array {
  return wav?.channelSamples[0] ?? new Int16Array(0);
}

function toneAt(samples: Int16Array, fromS: number, seconds: number): number {
  return (
    Math.round(
      dominantFrequencyHz(samples, 8000, Math.round(fromS * 8000), Math.round(seconds * 8000)) / 10,
    ) * 10
  );
}

void describe('RTSP playback of a recorded call (ffmpeg and GStreamer as clients)', () => {
  void it('records a CUCM call whose near end changes tone', async () => {
    const refCi = await runCucmCall(server, work, {
      near: { pcapPath: changingToneCapture() },
      far: { pcapPath: capture(work, 'far', 'PCMU', FAR_HZ, 3) },
    });
    recorded = await findSessionByRefCi(
      server,
      refCi,
      (s) => s.sessionState !== 'ACTIVE' && s.tracks.length === 2,
    );
    assert.match(recorded.urls.rtspUrl, new RegExp(`/archive/${recorded.sessionId}`));
  });

  void it('serves three clients at once: ffmpeg over TCP and over UDP, and GStreamer rtspsrc on the mix', async () => {
    const archive = `/archive/${recorded.sessionId}`;
    const tcp = pullWithFfmpeg(url(archive), { transport: 'tcp', audioStreams: [0, 1], work, name: 'tcp' });
    const udp = pullWithFfmpeg(url(archive), { transport: 'udp', audioStreams: [0, 1], work, name: 'udp' });
    const gst = pullPcmuWithGstreamer(`rtsp://127.0.0.1:${server.rtspPort}${archive}?mix=1`, {
      work,
      name: 'gst-mix',
      user: 'admin',
      password: ADMIN_PASSWORD,
    });
    const [overTcp, overUdp, gstreamer] = await failWithOutputs(
      () => [server.process],
      () => Promise.all([tcp, udp, gst]),
    );
    for (const [label, pull] of [
      ['TCP', overTcp],
      ['UDP', overUdp],
    ] as const) {
      assert.equal(pull.code, 0, `ffmpeg over ${label}: ${pull.process.output()}`);
      const near = samplesOf(pull.wavs[0]);
      const far = samplesOf(pull.wavs[1]);
      assert.equal(toneAt(near, 0.3, 1), NEAR_HZ, `${label} track 0 (near end), first half`);
      assert.equal(toneAt(near, 1.8, 1), NEAR_LATER_HZ, `${label} track 0 (near end), second half`);
      assertTone(far, FAR_HZ, 3, `${label} track 1 (far end)`);
    }
    assert.equal(
      gstreamer.code,
      0,
      `gst-launch: ${gstreamer.process.output()}\nthe node:\n${server.process.output().slice(-6000)}`,
    );
    const mix = gstreamer.wav?.channelSamples[0] ?? new Int16Array(0);
    const rate = gstreamer.wav?.sampleRateHz ?? 8000;
    assert.ok(mix.length > rate * 2, `GStreamer got ${mix.length / rate} s`);
    const noise = goertzelPower(mix, rate, 1000, rate / 2, rate);
    assert.ok(goertzelPower(mix, rate, NEAR_HZ, rate / 2, rate) > 100 * noise, 'the near end is in the mix');
    assert.ok(goertzelPower(mix, rate, FAR_HZ, rate / 2, rate) > 100 * noise, 'the far end is in the mix');
  });

  void it('seeks: ffmpeg -ss 2 hears the near end second tone only, for the remaining second', async () => {
    const pull = await pullWithFfmpeg(url(`/archive/${recorded.sessionId}`), {
      transport: 'tcp',
      audioStreams: [0],
      seekS: 2,
      work,
      name: 'seek',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const near = samplesOf(pull.wavs[0]);
    const seconds = near.length / 8000;
    const remaining = (recorded.sessionDuration ?? 0) / 1000 - 2;
    assert.ok(Math.abs(seconds - remaining) < 0.6, `after -ss 2 got ${seconds} s of ${remaining} s left`);
    assert.equal(toneAt(near, 0, Math.min(seconds, 0.8)), NEAR_LATER_HZ);
  });

  void it('plays ?mix=1 with ffmpeg: one track carrying both parties', async () => {
    const pull = await pullWithFfmpeg(url(`/archive/${recorded.sessionId}?mix=1`), {
      transport: 'tcp',
      audioStreams: [0],
      work,
      name: 'mix',
    });
    assert.equal(pull.code, 0, pull.process.output());
    const mix = samplesOf(pull.wavs[0]);
    const noise = goertzelPower(mix, 8000, 1000, 4000, 8000);
    assert.ok(goertzelPower(mix, 8000, NEAR_HZ, 4000, 8000) > 100 * noise, 'the near end is in the mix');
    assert.ok(goertzelPower(mix, 8000, FAR_HZ, 4000, 8000) > 100 * noise, 'the far end is in the mix');
  });

  void it('opens the token URL getSessionBySessionId hands out, without a password', async () => {
    const answer = await server.api(
      `/ora/queryService/query/getSessionBySessionId?value=${recorded.sessionId}`,
    );
    const session = (answer.responseBody as { sessions: SessionJson[] }).sessions[0];
    const rtspUrl = session?.urls.rtspUrl ?? '';
    assert.match(rtspUrl, /\?token=/);
    const pull = await pullWithFfmpeg(rtspUrl, {
      transport: 'tcp',
      audioStreams: [1],
      seekS: 2,
      work,
      name: 'token',
    });
    assert.equal(pull.code, 0, pull.process.output());
    assert.equal(toneAt(samplesOf(pull.wavs[0]), 0, 0.5), FAR_HZ);
  });

  void it('refuses a wrong password: 401 with Basic and Digest challenges, and ffmpeg fails', async () => {
    const { text } = await rawRtsp(
      server.rtspPort,
      `DESCRIBE rtsp://127.0.0.1:${server.rtspPort}/archive/${recorded.sessionId} RTSP/1.0\r\nCSeq: 1\r\n` +
        `Authorization: Basic ${Buffer.from('admin:wrong-password').toString('base64')}\r\n\r\n`,
    );
    assert.match(text, /^RTSP\/1\.0 401 Unauthorized\r\n/);
    const schemes = responseHeaders(text, 'WWW-Authenticate').map((c) => c.split(' ')[0]);
    assert.deepEqual(schemes, ['Basic', 'Digest']);
    const pull = await pullWithFfmpeg(url(`/archive/${recorded.sessionId}`, 'wrong-password'), {
      transport: 'tcp',
      audioStreams: [0],
      work,
      name: 'wrong',
    });
    assert.notEqual(pull.code, 0);
    assert.match(pull.process.output(), /401 Unauthorized/);
  });

  void it('hostile and vanishing RTSP clients during a call leave its recording intact', async () => {
    const port = server.rtspPort;
    const archiveUrl = `rtsp://127.0.0.1:${port}/archive/${recorded.sessionId}`;
    const basic = `Basic ${Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64')}`;
    const refCi = await runCucmCall(server, work, {
      near: { pcapPath: capture(work, 'near-hostile', 'PCMU', NEAR_HZ, 3) },
      far: { pcapPath: capture(work, 'far-hostile', 'PCMU', FAR_HZ, 3) },
      duringCall: async () => {
        const garbage = Array.from({ length: 20 }, () =>
          rawRtsp(
            port,
            Buffer.from(Array.from({ length: 600 }, (_, i) => (i * 37) % 256)),
            () => false,
            3000,
          ).catch(() => undefined),
        );
        const flood = rawRtsp(port, 'OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n'.repeat(200), () => false, 3000);
        const oversized = rawRtsp(
          port,
          `OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(20_000)}\r\n\r\n`,
          () => false,
          3000,
        );
        // A player that starts a replay and disappears without TEARDOWN.
        const vanishing = await RawRtspClient.open(port);
        const setup = await vanishing.request('SETUP', `${archiveUrl}/trackID=0`, {
          Authorization: basic,
          Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1',
        });
        const session = (setup.headers.get('session')?.[0] ?? '').split(';')[0] ?? '';
        await vanishing.request('PLAY', archiveUrl, { Session: session });
        vanishing.destroy();
        const [flooded, refused] = await Promise.all([flood, oversized, ...garbage]);
        assert.equal(flooded.closed, true, 'the flood is cut off');
        assert.match(refused.text, /^RTSP\/1\.0 413 /);
      },
    });
    const session = await findSessionByRefCi(
      server,
      refCi,
      (s) => s.sessionState !== 'ACTIVE' && s.tracks.length === 2,
    );
    await assertPartyTones(server, session, {
      nearHz: NEAR_HZ,
      farHz: FAR_HZ,
      label: 'recorded under RTSP abuse: ',
    });
    const options = await rawRtsp(port, 'OPTIONS * RTSP/1.0\r\nCSeq: 9\r\n\r\n');
    assert.match(options.text, /^RTSP\/1\.0 200 OK\r\nCSeq: 9\r\n/);
    const metrics = await (
      await fetch(`${server.baseUrl}/metrics`, { headers: { authorization: basic } })
    ).text();
    assert.match(metrics, /verbatim_rtsp_events_total\{event="floodClosed"\} [1-9]/);
    assert.match(metrics, /verbatim_rtsp_events_total\{event="plays"\} [1-9]/);
    assert.match(metrics, /verbatim_rtsp_events_total\{event="malformed"\} [1-9]/);
  });

  void it('forwards a call in progress at /live/ and ends when the call ends (also mixed, ?mix=1)', async () => {
    // Set by the callback during the call.
    const outcome: {
      pulled?: Awaited<ReturnType<typeof pullWithFfmpeg>>;
      mixed?: Awaited<ReturnType<typeof pullWithFfmpeg>>;
    } = {};
    await runCucmCall(server, work, {
      near: { pcapPath: capture(work, 'near-live', 'PCMU', NEAR_HZ, 6), holdMs: 6300 },
      far: { pcapPath: capture(work, 'far-live', 'PCMU', FAR_HZ, 6), holdMs: 6300 },
      duringCall: async (refCi) => {
        const active = await findSessionByRefCi(
          server,
          refCi,
          (s) =>
            s.sessionState === 'ACTIVE' && s.tracks.length === 2 && s.tracks.every((k) => k.codec !== ''),
        );
        const live = `/live/${active.sessionId}`;
        // Two players at once: each track as it comes, and both parties in one PCMU track.
        [outcome.pulled, outcome.mixed] = await Promise.all([
          pullWithFfmpeg(url(live), { transport: 'tcp', audioStreams: [0, 1], work, name: 'live' }),
          pullWithFfmpeg(url(`${live}?mix=1`), {
            transport: 'tcp',
            audioStreams: [0],
            work,
            name: 'live-mix',
          }),
        ]);
      },
    });
    const { pulled, mixed } = outcome;
    assert.ok(pulled !== undefined);
    assert.equal(pulled.code, 0, `ffmpeg ends by itself when the call ends: ${pulled.process.output()}`);
    const near = samplesOf(pulled.wavs[0]);
    const far = samplesOf(pulled.wavs[1]);
    assert.ok(near.length > 8000 * 2, `heard ${near.length / 8000} s of the near end`);
    assert.equal(toneAt(near, 0.5, 1), NEAR_HZ, 'track 0 carries the near end live');
    assert.equal(toneAt(far, 0.5, 1), FAR_HZ, 'track 1 carries the far end live');
    assert.ok(mixed !== undefined);
    assert.equal(
      mixed.code,
      0,
      `ffmpeg ends the mix by itself when the call ends: ${mixed.process.output()}`,
    );
    const mix = samplesOf(mixed.wavs[0]);
    assert.ok(mix.length > 8000 * 2, `heard ${mix.length / 8000} s of the live mix`);
    const noise = goertzelPower(mix, 8000, 1000, 4000, 8000);
    assert.ok(goertzelPower(mix, 8000, NEAR_HZ, 4000, 8000) > 100 * noise, 'the near end is in the live mix');
    assert.ok(goertzelPower(mix, 8000, FAR_HZ, 4000, 8000) > 100 * noise, 'the far end is in the live mix');
  });
});
