import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Session, Track } from '../../../src/model/session.js';
import {
  describedTracks,
  loadPresentation,
  parseRtspTarget,
} from '../../../src/playback/rtsp/presentation.js';
import { sampleSession } from '../../support/fake-repository.js';

void describe('RTSP URLs', () => {
  void it('reads archive and live URLs, track control URLs, mix and token', () => {
    assert.deepEqual(parseRtspTarget('rtsp://10.0.0.1:8554/archive/a1b2c3'), {
      kind: 'archive',
      sessionId: 'a1b2c3',
      mix: false,
      base: 'rtsp://10.0.0.1:8554/archive/a1b2c3',
      query: '',
    });
    assert.deepEqual(parseRtspTarget('rtsp://node/live/a1b2c3/trackID=1?token=x.y.z&mix=1'), {
      kind: 'live',
      sessionId: 'a1b2c3',
      streamId: 1,
      mix: true,
      token: 'x.y.z',
      base: 'rtsp://node/live/a1b2c3',
      query: '?token=x.y.z&mix=1',
    });
    assert.equal(parseRtspTarget('rtsp://[::1]:8554/archive/s1/')?.base, 'rtsp://[::1]:8554/archive/s1');
  });

  void it('refuses anything else', () => {
    for (const uri of [
      '*',
      'http://node/archive/s1',
      'rtsp://node/recordings/s1',
      'rtsp://node/archive/',
      'rtsp://node/archive/s1/track1',
      'rtsp://node/archive/s1/trackID=1/more',
      'rtsp://node/archive/s%2F1',
      'rtsp://node/archive/..%2F..%2Fetc',
      'not a url',
    ]) {
      assert.equal(parseRtspTarget(uri), undefined, uri);
    }
  });
});

void describe('RTSP presentations from Track rows', () => {
  async function withMedia(
    session: Session,
    target: string,
    files: readonly string[],
  ): Promise<Awaited<ReturnType<typeof loadPresentation>>> {
    const dir = await mkdtemp(join(tmpdir(), 'verbatim-presentation-'));
    try {
      for (const file of files) {
        await mkdir(join(dir, file, '..'), { recursive: true });
        await writeFile(join(dir, file), new Uint8Array(24));
      }
      const parsed = parseRtspTarget(target);
      assert.ok(parsed !== undefined);
      return await loadPresentation({ getSession: () => Promise.resolve(session) }, dir, parsed);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  const track = (base: Track, patch: Partial<Track>): Track => ({ ...base, ...patch });

  void it('describes each track with a file in its original codec, in track order', async () => {
    const session = sampleSession({ sessionId: 's1', sessionDuration: 12_345 });
    const [t0, t1] = session.tracks;
    assert.ok(t0 !== undefined && t1 !== undefined);
    const tracks = [
      track(t1, { codec: 'G722', payloadType: 9, clockRateHz: 16000, mediaPath: 's1/t1.pcap' }),
      track(t0, { codec: 'opus', payloadType: 111, clockRateHz: 48000, mediaPath: 's1/t0.pcap' }),
      track(t0, {
        trackNumber: 2,
        trackMediaType: 'VIDEO',
        codec: 'H264',
        payloadType: 97,
        clockRateHz: 90000,
        mediaPath: 's1/t2.pcap',
      }),
      track(t0, { trackNumber: 3, codec: '', payloadType: -1, mediaPath: 's1/t3.pcap' }),
      track(t0, { trackNumber: 4, mediaPath: '../escape.pcap' }),
      track(t0, { trackNumber: 5, mediaPath: 's1/missing.pcap' }),
    ];
    const loaded = await withMedia({ ...session, tracks }, 'rtsp://n/archive/s1?token=t', [
      's1/t0.pcap',
      's1/t1.pcap',
      's1/t2.pcap',
      's1/t3.pcap',
    ]);
    assert.ok(loaded.ok);
    assert.equal(loaded.presentation.durationS, 12.345);
    assert.deepEqual(describedTracks(loaded.presentation), [
      {
        media: 'audio',
        payloadType: 111,
        encoding: 'opus',
        clockRateHz: 48000,
        channels: 2,
        control: 'rtsp://n/archive/s1/trackID=0?token=t',
      },
      {
        media: 'audio',
        payloadType: 9,
        encoding: 'G722',
        clockRateHz: 8000,
        control: 'rtsp://n/archive/s1/trackID=1?token=t',
      },
      {
        media: 'video',
        payloadType: 97,
        encoding: 'H264',
        clockRateHz: 90000,
        fmtp: 'packetization-mode=1',
        control: 'rtsp://n/archive/s1/trackID=2?token=t',
      },
    ]);
  });

  void it('serves the mix as one PCMU track of tracks 0 and 1', async () => {
    const loaded = await withMedia(sampleSession({ sessionId: 's1' }), 'rtsp://n/archive/s1?mix=1', [
      's1/track-0.pcap',
      's1/track-1.pcap',
    ]);
    assert.ok(loaded.ok);
    assert.deepEqual(
      describedTracks(loaded.presentation).map((t) => `${t.encoding}/${t.clockRateHz} ${t.payloadType}`),
      ['PCMU/8000 0'],
    );
    assert.equal(loaded.presentation.mixSources?.length, 2);
  });

  void it('answers 404 for an ACTIVE archive, an ended live session, a deleted or pruned one, or no media', async () => {
    const active = sampleSession({ sessionId: 's1', sessionState: 'ACTIVE' });
    const closed = sampleSession({ sessionId: 's1' });
    const cases: [Session, string, readonly string[]][] = [
      [active, 'rtsp://n/archive/s1', ['s1/track-0.pcap']],
      [closed, 'rtsp://n/live/s1', ['s1/track-0.pcap']],
      [{ ...closed, sessionState: 'DELETED' }, 'rtsp://n/archive/s1', ['s1/track-0.pcap']],
      [{ ...closed, prunedAt: 5 }, 'rtsp://n/archive/s1', ['s1/track-0.pcap']],
      [closed, 'rtsp://n/archive/s1', []],
    ];
    for (const [session, url, files] of cases) {
      const loaded = await withMedia(session, url, files);
      assert.ok(!loaded.ok, `${session.sessionState} ${url}`);
      assert.equal(loaded.status, 404);
    }
    const live = await withMedia(active, 'rtsp://n/live/s1', []);
    assert.ok(live.ok, 'a live track is served before its file exists');
    assert.equal(live.presentation.durationS, undefined);
    const liveMix = await withMedia(active, 'rtsp://n/live/s1?mix=1', []);
    assert.ok(liveMix.ok, 'the live mix is served before the track files exist');
    assert.deepEqual(
      describedTracks(liveMix.presentation).map((t) => `${t.encoding}/${t.clockRateHz} ${t.payloadType}`),
      ['PCMU/8000 0'],
    );
  });
});
