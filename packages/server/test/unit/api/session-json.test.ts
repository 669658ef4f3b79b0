import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sessionJson } from '../../../src/api/session-json.js';
import { sampleSession } from '../../support/fake-repository.js';

const urls = { advertise: '192.0.2.10', httpPort: 8440, rtspPort: 8554, tls: true };

void describe('sessionJson (MediaSense data model §5.1–5.4)', () => {
  void it('renders a CLOSED_NORMAL session with archive URLs and track download URLs', () => {
    const json = sessionJson(sampleSession({ sessionId: 'f52619bf6fe66d81' }), urls);
    assert.deepEqual(json.urls, {
      rtspUrl: 'rtsp://192.0.2.10:8554/archive/f52619bf6fe66d81',
      wavUrl: 'https://192.0.2.10:8440/recordedMedia/oramedia/wav/f52619bf6fe66d81.wav',
      mp4Url: 'https://192.0.2.10:8440/recordedMedia/oramedia/mp4/f52619bf6fe66d81.mp4',
      httpUrl: 'https://192.0.2.10:8440/recordedMedia/oramedia/mp4/f52619bf6fe66d81.mp4',
    });
    assert.equal(json.sessionDuration, 60_000);
    assert.equal(
      json.tracks[1]?.downloadUrl,
      'https://192.0.2.10:8440/mma/ExportRaw?recording=f52619bf6fe66d81-TRACK1',
    );
    assert.deepEqual(json.tracks[0]?.participants, [
      {
        deviceRef: '1000',
        deviceId: 'SEP000000000000',
        xRefCi: '16000000',
        isConference: false,
        participantStartDate: 1_700_000_000_000,
        participantDuration: 60_000,
      },
    ]);
    // The storage path and node id are internal and never leave the server.
    assert.equal(JSON.stringify(json).includes('mediaPath'), false);
    assert.equal(JSON.stringify(json).includes('nodeId'), false);
  });

  void it('omits sessionDuration, trackDuration and downloadUrl while ACTIVE and gives the live RTSP URL', () => {
    // A duration left on an ACTIVE row (by a bug elsewhere) must still not be shown.
    const active = sampleSession({ sessionState: 'ACTIVE', sessionDuration: 5 });
    const json = sessionJson(active, { ...urls, tls: false });
    assert.equal('sessionDuration' in json, false);
    assert.equal(json.urls.rtspUrl, 'rtsp://192.0.2.10:8554/live/a1b2c3d4e5f60718');
    assert.equal(json.urls.wavUrl, 'http://192.0.2.10:8440/recordedMedia/oramedia/wav/a1b2c3d4e5f60718.wav');
    for (const track of json.tracks) {
      assert.equal('downloadUrl' in track, false);
      assert.equal('trackDuration' in track, false);
    }
  });

  void it("puts the viewer's media token into rtspUrl and, while ACTIVE, a listenUrl; none without a viewer", () => {
    const withTokens = { ...urls, tls: false, mediaToken: (id: string, user: string) => `t.${user}.${id}` };
    const active = sessionJson(sampleSession({ sessionState: 'ACTIVE' }), withTokens, { username: 'ann' });
    assert.equal(
      active.urls.rtspUrl,
      'rtsp://192.0.2.10:8554/live/a1b2c3d4e5f60718?token=t.ann.a1b2c3d4e5f60718',
    );
    assert.equal(
      active.urls.listenUrl,
      'http://192.0.2.10:8440/listen/a1b2c3d4e5f60718?token=t.ann.a1b2c3d4e5f60718',
    );
    const closed = sessionJson(sampleSession({ sessionState: 'CLOSED_NORMAL' }), withTokens, {
      username: 'ann',
    });
    assert.equal(
      closed.urls.rtspUrl,
      'rtsp://192.0.2.10:8554/archive/a1b2c3d4e5f60718?token=t.ann.a1b2c3d4e5f60718',
    );
    assert.equal('listenUrl' in closed.urls, false, 'nothing to listen to live once closed');
    const anonymous = sessionJson(sampleSession({ sessionState: 'ACTIVE' }), withTokens);
    assert.equal(
      anonymous.urls.rtspUrl,
      'rtsp://192.0.2.10:8554/live/a1b2c3d4e5f60718',
      'events carry no token',
    );
    assert.equal('listenUrl' in anonymous.urls, false);
  });

  void it('gives no downloadUrl on CLOSED_ERROR sessions or VIDEO tracks', () => {
    const base = sampleSession();
    assert.equal(
      sessionJson(sampleSession({ sessionState: 'CLOSED_ERROR' }), urls).tracks[0]?.downloadUrl,
      undefined,
    );
    const video = sampleSession({ tracks: [{ ...base.tracks[0]!, trackMediaType: 'VIDEO', codec: 'H264' }] });
    assert.equal(sessionJson(video, urls).tracks[0]?.downloadUrl, undefined);
  });

  void it('sorts tracks by number and brackets an IPv6 advertise address', () => {
    const base = sampleSession();
    const json = sessionJson(sampleSession({ tracks: [...base.tracks].reverse() }), {
      ...urls,
      advertise: '2001:db8::1',
    });
    assert.deepEqual(
      json.tracks.map((t) => t.trackNumber),
      [0, 1],
    );
    assert.equal(json.urls.rtspUrl, 'rtsp://[2001:db8::1]:8554/archive/a1b2c3d4e5f60718');
  });

  void it('renders tags with their optional offset and track number', () => {
    const json = sessionJson(
      sampleSession({
        tags: [
          { tagName: 'CCX:keep', tagType: 'USER_DEFINED', tagCreateDate: 5, tagOffset: 1200 },
          { tagName: 'Pause', tagType: 'SYSTEM_DEFINED', tagCreateDate: 6 },
        ],
      }),
      urls,
    );
    assert.deepEqual(json.tags, [
      { tagName: 'CCX:keep', tagType: 'USER_DEFINED', tagCreateDate: 5, tagOffset: 1200 },
      { tagName: 'Pause', tagType: 'SYSTEM_DEFINED', tagCreateDate: 6 },
    ]);
  });

  void it('gives the session health from the statistics of its tracks (a Verbatim extension)', () => {
    const base = sampleSession();
    const heard = sampleSession({
      tracks: base.tracks.map((track) => ({
        ...track,
        stats: { ...track.stats, packets: 100, content: 'audio' as const },
      })),
    });
    assert.deepEqual(sessionJson(heard, urls).health, {
      status: 'ok',
      problems: [],
      tracks: [0, 1].map((trackNumber) => ({
        trackNumber,
        expected: 100,
        received: 100,
        lost: 0,
        lossPercent: 0,
        gaps: 0,
        gapMs: 0,
        longestGapMs: 0,
        content: 'audio',
      })),
    });
    const lossy = sampleSession({
      tracks: base.tracks.map((track) => ({ ...track, stats: { ...track.stats, packets: 95, lost: 5 } })),
    });
    assert.deepEqual(sessionJson(lossy, urls).health.problems, [
      { trackNumber: 0, kind: 'packet-loss', lost: 5, expected: 100, percent: 5 },
      { trackNumber: 1, kind: 'packet-loss', lost: 5, expected: 100, percent: 5 },
    ]);
    assert.equal(sessionJson(lossy, urls).health.status, 'degraded');
  });
});
