import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { parseRecordingName } from '../../../src/api/media-routes.js';
import { resolveMediaPath } from '../../../src/storage/session-media.js';
import { trackDownloadUrl } from '../../../src/api/session-json.js';
import { MULAW_TO_LINEAR, encodeMulaw } from '../../../src/protocol/codec/g711.js';
import { serializeRtpPacket } from '../../../src/protocol/rtp/rtp-packet.js';
import { buildPcapFile } from '../../support/audio.js';
import { FakeRepository, sampleSession } from '../../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../../support/http-api-harness.js';

const T0 = 1_700_000_000_000;
const URLS = { advertise: '127.0.0.1', httpPort: 8440, rtspPort: 8554, tls: false };
const SAMPLE = 1000;
const PACKETS = 50; // 1 s of 20 ms G.711 packets.
const WAV_TOTAL_BYTES = 44 + 8000 * 4; // One second of 8 kHz 16-bit stereo.
const MANY_TRACK_NUMBERS = [0, 999, 1000, 1001, 65_536, 123_456_789];

/** A pcap track file of `PACKETS` µ-law packets of a constant sample, arriving every 20 ms from T0. */
function trackPcap(): Uint8Array {
  const payload = encodeMulaw(new Array<number>(160).fill(SAMPLE));
  return buildPcapFile(
    Array.from({ length: PACKETS }, (_, i) => ({
      timestampUs: (T0 + 20 * i) * 1000,
      datagram: serializeRtpPacket(
        { marker: i === 0, payloadType: 0, sequenceNumber: 100 + i, timestamp: 5000 + 160 * i, ssrc: 0x1234 },
        payload,
      ),
    })),
  );
}

void describe('media downloads', () => {
  let app: FastifyInstance;
  let dir: string;
  let pcap: Uint8Array;
  let cookie: string;
  const repository = new FakeRepository();
  const clock = { nowMs: T0 + 500 };
  let flushes = 0;
  const basic = `Basic ${Buffer.from('alice:pw-alice').toString('base64')}`;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-media-'));
    pcap = trackPcap();
    for (const id of ['wav01', 'live01']) {
      await mkdir(join(dir, id));
      await writeFile(join(dir, id, 'track-0.pcap'), pcap);
      await writeFile(join(dir, id, 'track-1.pcap'), pcap);
    }
    await addApiUser(repository, 'alice', 'pw-alice');
    const closed = sampleSession({ sessionId: 'wav01', sessionStartDate: T0, sessionDuration: 1000 });
    // Track 1 is G.729, which the WAV export does not decode: its channel must be silent.
    await repository.createSession({
      ...closed,
      tracks: closed.tracks.map((t) => (t.trackNumber === 1 ? { ...t, codec: 'G729', payloadType: 18 } : t)),
    });
    const live = sampleSession({
      sessionId: 'live01',
      sessionStartDate: T0,
      sessionState: 'ACTIVE',
    });
    await repository.createSession(live);
    await repository.createSession(sampleSession({ sessionId: 'gone01', sessionState: 'DELETED' }));
    // Track numbers are unbounded (a CUCM call that keeps adding legs counts on): file names as
    // the recorder forms them (recording/live-session.ts mediaPath).
    const many = sampleSession({ sessionId: 'many01', sessionStartDate: T0, sessionDuration: 1000 });
    await mkdir(join(dir, 'many01'));
    for (const n of MANY_TRACK_NUMBERS) {
      await writeFile(join(dir, 'many01', `track${n}.pcap`), pcap.subarray(0, 24 + (n % 7)));
    }
    const template = many.tracks[0]!;
    await repository.createSession({
      ...many,
      tracks: MANY_TRACK_NUMBERS.map((n) => ({
        ...template,
        trackNumber: n,
        mediaPath: `many01/track${n}.pcap`,
      })),
    });
    app = await buildTestHttpApi({
      repository,
      mediaDir: dir,
      flushMedia: () => {
        flushes++;
        return Promise.resolve();
      },
      now: () => clock.nowMs,
    });
    const signIn = await app.inject({
      method: 'POST',
      url: '/ora/authenticationService/authentication/signIn',
      payload: { requestParameters: { username: 'alice', password: 'pw-alice' } },
    });
    cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  void describe('GET /recordedMedia/oramedia/wav/<id>.wav', () => {
    const url = '/recordedMedia/oramedia/wav/wav01.wav';
    let full: Buffer;

    void it('answers 401 with a Basic challenge without credentials or with wrong ones', async () => {
      for (const headers of [
        {},
        { authorization: `Basic ${Buffer.from('alice:wrong').toString('base64')}` },
        { cookie: 'JSESSIONID=nope' },
      ]) {
        const response = await app.inject({ method: 'GET', url, headers });
        assert.equal(response.statusCode, 401);
        assert.equal(response.headers['www-authenticate'], 'Basic realm="Verbatim"');
        assert.equal(response.json<{ responseCode: number }>().responseCode, 4021);
      }
    });

    void it('streams the stereo WAV with HTTP Basic: track 0 left, a silent right for an undecodable codec', async () => {
      const response = await app.inject({ method: 'GET', url, headers: { authorization: basic } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'audio/wav');
      assert.equal(response.headers['accept-ranges'], 'bytes');
      assert.equal(response.headers['content-length'], String(WAV_TOTAL_BYTES));
      // Saved under a name a person recognises: start (UTC), the numbers, the session id.
      assert.match(
        String(response.headers['content-disposition']),
        /^attachment; filename="2023-11-14_22-13-20Z_\d+_\d+_wav01\.wav"$/,
      );
      full = response.rawPayload;
      assert.equal(full.length, WAV_TOTAL_BYTES);
      assert.equal(full.subarray(0, 4).toString('latin1'), 'RIFF');
      assert.equal(full.subarray(8, 12).toString('latin1'), 'WAVE');
      const expected = MULAW_TO_LINEAR[encodeMulaw([SAMPLE])[0] ?? 0];
      for (const frame of [0, 100, 7999]) {
        assert.equal(full.readInt16LE(44 + frame * 4), expected, `left sample of frame ${frame}`);
        assert.equal(full.readInt16LE(44 + frame * 4 + 2), 0, `right sample of frame ${frame}`);
      }
    });

    void it('accepts the API session cookie instead of Basic', async () => {
      const response = await app.inject({ method: 'GET', url, headers: { cookie } });
      assert.equal(response.statusCode, 200);
      assert.deepEqual(response.rawPayload, full);
    });

    void it('serves one track as a mono WAV (?track=N), named after it', async () => {
      const expected = MULAW_TO_LINEAR[encodeMulaw([SAMPLE])[0] ?? 0];
      const left = await app.inject({ method: 'GET', url: `${url}?track=0`, headers: { cookie } });
      assert.equal(left.statusCode, 200);
      const mono = left.rawPayload;
      assert.equal(mono.length, 44 + 8000 * 2);
      assert.equal(mono.readUInt16LE(22), 1, 'one channel');
      assert.equal(mono.readUInt32LE(28), 8000 * 2, 'byte rate of 8 kHz 16-bit mono');
      for (const frame of [0, 100, 7999]) {
        assert.equal(mono.readInt16LE(44 + frame * 2), expected, `sample ${frame}`);
      }
      assert.match(String(left.headers['content-disposition']), /_wav01-TRACK0\.wav"$/);
      // Track 1 is G.729, which the export does not decode: a silent mono file of the same length.
      const right = await app.inject({ method: 'GET', url: `${url}?track=1`, headers: { cookie } });
      assert.equal(right.rawPayload.length, 44 + 8000 * 2);
      assert.ok(right.rawPayload.subarray(44).every((byte) => byte === 0));
    });

    void it('mixes both tracks into one channel (?mix=1)', async () => {
      const expected = MULAW_TO_LINEAR[encodeMulaw([SAMPLE])[0] ?? 0] ?? 0;
      // live01 has two PCMU tracks of the same constant: the mix is their sum (0.5 s recorded so far).
      const mixed = await app.inject({
        method: 'GET',
        url: '/recordedMedia/oramedia/wav/live01.wav?mix=1',
        headers: { cookie },
      });
      assert.equal(mixed.statusCode, 200);
      assert.equal(mixed.rawPayload.readUInt16LE(22), 1, 'one channel');
      assert.equal(mixed.rawPayload.length, 44 + 4000 * 2);
      for (const frame of [0, 100, 3999]) {
        assert.equal(mixed.rawPayload.readInt16LE(44 + frame * 2), 2 * expected, `sample ${frame}`);
      }
      assert.match(String(mixed.headers['content-disposition']), /_live01-mix\.wav"$/);
      // wav01's second track is silent (G.729): its mix is track 0 alone.
      const alone = await app.inject({ method: 'GET', url: `${url}?mix=true`, headers: { cookie } });
      const left = await app.inject({ method: 'GET', url: `${url}?track=0`, headers: { cookie } });
      assert.deepEqual(alone.rawPayload, left.rawPayload);
    });

    for (const [query, status, code] of [
      ['track=7', 404, 4040],
      ['track=x', 400, 4001],
      ['track=-1', 400, 4001],
      ['mix=2', 400, 4001],
      ['track=0&mix=1', 400, 4001],
    ] as const) {
      void it(`refuses ?${query} with ${status} / ${code}`, async () => {
        const response = await app.inject({ method: 'GET', url: `${url}?${query}`, headers: { cookie } });
        assert.equal(response.statusCode, status);
        assert.equal(response.json<{ responseCode: number }>().responseCode, code);
      });
    }

    for (const [range, start, end] of [
      ['bytes=0-43', 0, 43],
      ['bytes=1000-', 1000, WAV_TOTAL_BYTES - 1],
      ['bytes=-100', WAV_TOTAL_BYTES - 100, WAV_TOTAL_BYTES - 1],
      ['bytes=30-2000', 30, 2000],
    ] as const) {
      void it(`answers Range ${range} with 206 and exactly those bytes`, async () => {
        const response = await app.inject({ method: 'GET', url, headers: { cookie, range } });
        assert.equal(response.statusCode, 206);
        assert.equal(response.headers['content-range'], `bytes ${start}-${end}/${WAV_TOTAL_BYTES}`);
        assert.equal(response.headers['content-length'], String(end - start + 1));
        assert.deepEqual(response.rawPayload, full.subarray(start, end + 1));
      });
    }

    void it('answers an unsatisfiable Range with 416 and the current length', async () => {
      const response = await app.inject({
        method: 'GET',
        url,
        headers: { cookie, range: `bytes=${WAV_TOTAL_BYTES}-` },
      });
      assert.equal(response.statusCode, 416);
      assert.equal(response.headers['content-range'], `bytes */${WAV_TOTAL_BYTES}`);
      assert.equal(response.rawPayload.length, 0);
    });

    void it('answers HEAD with the length and no body', async () => {
      const response = await app.inject({ method: 'HEAD', url, headers: { cookie } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-length'], String(WAV_TOTAL_BYTES));
      assert.equal(response.rawPayload.length, 0);
    });

    void it('flushes media and exports an ACTIVE session up to now by the injected clock', async () => {
      const before = flushes;
      const response = await app.inject({
        method: 'GET',
        url: '/recordedMedia/oramedia/wav/live01.wav',
        headers: { cookie },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(flushes, before + 1);
      // 500 ms at 8 kHz, 4 bytes per stereo frame; both tracks are PCMU here.
      assert.equal(response.rawPayload.length, 44 + 4000 * 4);
      assert.notEqual(response.rawPayload.readInt16LE(44 + 2), 0);
    });

    for (const path of ['nope.wav', 'gone01.wav', 'wav01.mp3', '.wav']) {
      void it(`answers 404 for ${path}`, async () => {
        const response = await app.inject({
          method: 'GET',
          url: `/recordedMedia/oramedia/wav/${path}`,
          headers: { cookie },
        });
        assert.equal(response.statusCode, 404);
        assert.equal(response.json<{ responseCode: number }>().responseCode, 4040);
      });
    }
  });

  void describe('GET /mma/ExportRaw?recording=<id>-TRACK<n>', () => {
    void it('answers 401 with a Basic challenge without credentials', async () => {
      const response = await app.inject({ method: 'GET', url: '/mma/ExportRaw?recording=wav01-TRACK0' });
      assert.equal(response.statusCode, 401);
      assert.equal(response.headers['www-authenticate'], 'Basic realm="Verbatim"');
    });

    void it('streams the track capture byte for byte', async () => {
      const response = await app.inject({
        method: 'GET',
        url: '/mma/ExportRaw?recording=wav01-TRACK1',
        headers: { authorization: basic },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], 'application/vnd.tcpdump.pcap');
      assert.equal(response.headers['content-length'], String(pcap.length));
      assert.equal(response.headers['accept-ranges'], 'bytes');
      assert.match(
        String(response.headers['content-disposition']),
        /^attachment; filename="2023-11-14_22-13-20Z_\d+_\d+_wav01-TRACK1\.pcap"$/,
      );
      assert.deepEqual(new Uint8Array(response.rawPayload), pcap);
    });

    void it('honours Range, and answers 416 past the end', async () => {
      const partial = await app.inject({
        method: 'GET',
        url: '/mma/ExportRaw?Recording=wav01-TRACK0',
        headers: { cookie, range: 'bytes=24-39' },
      });
      assert.equal(partial.statusCode, 206);
      assert.equal(partial.headers['content-range'], `bytes 24-39/${pcap.length}`);
      assert.deepEqual(new Uint8Array(partial.rawPayload), pcap.subarray(24, 40));
      const past = await app.inject({
        method: 'GET',
        url: '/mma/ExportRaw?recording=wav01-TRACK0',
        headers: { cookie, range: `bytes=${pcap.length}-` },
      });
      assert.equal(past.statusCode, 416);
      assert.equal(past.headers['content-range'], `bytes */${pcap.length}`);
    });

    void it('flushes media before reading an ACTIVE track', async () => {
      const before = flushes;
      const response = await app.inject({
        method: 'GET',
        url: '/mma/ExportRaw?recording=live01-TRACK0',
        headers: { cookie },
      });
      assert.equal(response.statusCode, 200);
      assert.equal(flushes, before + 1);
    });

    void it('addresses any track number, past 999 too, by the download URL the session lists', async () => {
      for (const n of MANY_TRACK_NUMBERS) {
        const url = new URL(trackDownloadUrl('many01', n, URLS));
        const response = await app.inject({
          method: 'GET',
          url: url.pathname + url.search,
          headers: { cookie },
        });
        assert.equal(response.statusCode, 200, `track ${n}`);
        assert.equal(response.rawPayload.length, 24 + (n % 7), `track ${n}`);
        assert.match(
          String(response.headers['content-disposition']),
          new RegExp(`_many01-TRACK${n}\\.pcap"$`),
        );
      }
    });

    void it('reads the session and the track number from recording=<sessionId>-TRACK<n>', () => {
      assert.deepEqual(parseRecordingName('abc-TRACK1000'), { sessionId: 'abc', trackNumber: 1000 });
      assert.deepEqual(parseRecordingName('a-TRACK1-track007'), { sessionId: 'a-TRACK1', trackNumber: 7 });
      assert.deepEqual(parseRecordingName(`s-TRACK${Number.MAX_SAFE_INTEGER}`), {
        sessionId: 's',
        trackNumber: Number.MAX_SAFE_INTEGER,
      });
      for (const bad of [
        'abc',
        '-TRACK1',
        'abc-TRACK',
        'abc-TRACK-1',
        'abc-TRACK1.5',
        'abc-TRACK9007199254740992',
      ]) {
        assert.equal(parseRecordingName(bad), undefined, bad);
      }
    });

    void it('answers 400 for a malformed recording and 404 for an unknown session or track', async () => {
      const bad = await app.inject({
        method: 'GET',
        url: '/mma/ExportRaw?recording=wav01',
        headers: { cookie },
      });
      assert.equal(bad.statusCode, 400);
      for (const recording of ['nope-TRACK0', 'wav01-TRACK7', 'gone01-TRACK0']) {
        const response = await app.inject({
          method: 'GET',
          url: `/mma/ExportRaw?recording=${recording}`,
          headers: { cookie },
        });
        assert.equal(response.statusCode, 404, recording);
      }
    });
  });

  void it('refuses media paths that leave the media directory', () => {
    assert.equal(resolveMediaPath('/data/media', 'abc/track-0.pcap'), '/data/media/abc/track-0.pcap');
    assert.equal(resolveMediaPath('/data/media', '../verbatim.db'), undefined);
    assert.equal(resolveMediaPath('/data/media', '/etc/passwd'), undefined);
    assert.equal(resolveMediaPath('/data/media', ''), undefined);
  });
});
