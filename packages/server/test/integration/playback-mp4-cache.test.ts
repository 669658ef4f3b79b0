import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { VerbatimEvent } from '../../src/model/events.js';
import type { Session } from '../../src/model/session.js';
import { Mp4Cache } from '../../src/playback/mp4-cache.js';
import type { Mp4ExportOptions } from '../../src/playback/mp4-export.js';
import { convertRoutes } from '../../src/api/convert-routes.js';
import { removeSessionMedia } from '../../src/storage/session-media.js';
import { buildPcapFile, sineG711Packets } from '../support/audio.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { useTempDir } from '../support/temp-dir.js';
import { waitFor } from '../support/wait.js';

/**
 * The MP4 cache (playback/mp4-cache.ts) and its two doors, `mp4Url` and convertSession: one
 * conversion for concurrent first requests, a new one when the session changed, a bound on
 * conversions at once, a conversion stopped when nobody waits, failures leaving nothing behind.
 */

const T0 = 1_700_000_000_000;
const silent = pino({ level: 'silent' });

/** A fake conversion: counts runs, waits for `release()`, writes `MP4:<sessionId>` unless told to fail. */
class GatedConversion {
  runs: Mp4ExportOptions[] = [];
  aborted = 0;
  fail = false;
  #releases: (() => void)[] = [];

  readonly convert = async (options: Mp4ExportOptions): Promise<void> => {
    this.runs.push(options);
    await new Promise<void>((resolve, reject) => {
      this.#releases.push(resolve);
      options.signal?.addEventListener('abort', () => {
        this.aborted++;
        reject(new Error('aborted'));
      });
    });
    if (this.fail) {
      throw new Error('ffmpeg exploded');
    }
    await writeFile(options.outPath, `MP4:${options.session.sessionId}:${options.session.sessionDuration}`);
  };

  release(): void {
    for (const release of this.#releases.splice(0)) {
      release();
    }
  }
}

async function sessionWithFiles(mediaDir: string, sessionId: string, durationMs = 1000): Promise<Session> {
  const session = sampleSession({ sessionId, sessionStartDate: T0, sessionDuration: durationMs });
  await mkdir(join(mediaDir, sessionId), { recursive: true });
  for (const n of [0, 1]) {
    await writeFile(join(mediaDir, sessionId, `track-${n}.pcap`), new Uint8Array(24 + n));
  }
  return session;
}

void describe('Mp4Cache', () => {
  const dir = useTempDir('verbatim-mp4-cache-');

  void it('starts one conversion for concurrent first requests, then serves the file', async () => {
    const gate = new GatedConversion();
    const events: VerbatimEvent[] = [];
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: join(dir.path, 'cache'),
      logger: silent,
      convert: gate.convert,
      events: { publish: (event) => events.push(event) },
    });
    const session = await sessionWithFiles(dir.path, 's1');
    const waiting = Array.from({ length: 5 }, () => cache.get(session));
    await waitFor(() => gate.runs.length === 1);
    gate.release();
    const files = await Promise.all(waiting);
    assert.equal(gate.runs.length, 1);
    assert.equal(cache.counters.conversions, 1);
    for (const file of files) {
      assert.equal((await file.file.readFile()).toString(), 'MP4:s1:1000');
      await file.file.close();
    }
    const again = await cache.get(session);
    await again.file.close();
    assert.equal(cache.counters.conversions, 1, 'a cached file is not converted again');
    assert.equal(cache.counters.hits, 1);
    // Cached beside the track files, where deleting the session removes it.
    assert.ok((await readdir(join(dir.path, 's1'))).some((name) => /^s1\.[0-9a-f]{16}\.mp4$/.test(name)));
    assert.deepEqual(
      events.map((e) => [e.eventType, e.eventAction, 'sessionId' in e ? e.sessionId : '']),
      [['SESSION_EVENT', 'UPDATED', 's1']],
    );
  });

  void it('converts again when the session changed, and removes the stale file', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const session = await sessionWithFiles(dir.path, 's2');
    const first = cache.get(session);
    await waitFor(() => gate.runs.length === 1);
    gate.release();
    await (await first).file.close();
    // A track file grew (late recovery) and the duration was corrected.
    await writeFile(join(dir.path, 's2', 'track-1.pcap'), new Uint8Array(100));
    const changed = { ...session, sessionDuration: 2000 };
    assert.equal(await cache.cached(changed), undefined, 'the old file is not the changed session’s MP4');
    const second = cache.get(changed);
    await waitFor(() => gate.runs.length === 2);
    gate.release();
    const file = await second;
    assert.equal((await file.file.readFile()).toString(), 'MP4:s2:2000');
    await file.file.close();
    const mp4s = (await readdir(join(dir.path, 's2'))).filter((name) => name.endsWith('.mp4'));
    assert.equal(mp4s.length, 1, `stale files left: ${mp4s.join(', ')}`);
    await cache.discard(changed);
    assert.deepEqual(
      (await readdir(join(dir.path, 's2'))).filter((name) => name.endsWith('.mp4')),
      [],
    );
  });

  void it('runs at most maxConcurrent conversions; the others wait their turn', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
      maxConcurrent: 2,
    });
    const sessions = await Promise.all(['c1', 'c2', 'c3'].map((id) => sessionWithFiles(dir.path, id)));
    const all = sessions.map((s) => cache.get(s));
    await waitFor(() => gate.runs.length === 2);
    assert.deepEqual([cache.counters.running, cache.counters.queued], [2, 1]);
    gate.release();
    await waitFor(() => gate.runs.length === 3);
    gate.release();
    for (const file of await Promise.all(all)) {
      await file.file.close();
    }
    assert.deepEqual([cache.counters.running, cache.counters.queued, cache.counters.conversions], [0, 0, 3]);
  });

  void it('stops the conversion when every waiting request went away, but not while one waits', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const session = await sessionWithFiles(dir.path, 'a1');
    const a = new AbortController();
    const b = new AbortController();
    const first = cache.get(session, { signal: a.signal });
    const second = cache.get(session, { signal: b.signal });
    await waitFor(() => gate.runs.length === 1);
    a.abort(new Error('client a left'));
    await assert.rejects(first, /client a left/);
    assert.equal(gate.aborted, 0, 'b still waits');
    b.abort(new Error('client b left'));
    await assert.rejects(second, /client b left/);
    await waitFor(() => cache.counters.aborted === 1);
    assert.equal(gate.aborted, 1);
    assert.deepEqual(
      (await readdir(join(dir.path, 'a1'))).filter((name) => name.endsWith('.mp4')),
      [],
    );
    // A kept waiter (convertSession) keeps it going even if a request leaves.
    const c = new AbortController();
    const kept = cache.get(session, { keep: true });
    const leaving = cache.get(session, { signal: c.signal });
    await waitFor(() => gate.runs.length === 2);
    c.abort(new Error('left'));
    await assert.rejects(leaving, /left/);
    gate.release();
    await (await kept).file.close();
    assert.equal(gate.aborted, 1);
  });

  void it('stops every conversion when the node shuts down', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const session = await sessionWithFiles(dir.path, 'z1');
    const kept = cache.get(session, { keep: true });
    await waitFor(() => gate.runs.length === 1);
    await cache.close();
    await assert.rejects(kept, /shutting down|aborted/);
    assert.deepEqual([gate.aborted, cache.counters.aborted, cache.counters.running], [1, 1, 0]);
  });

  void it('keeps the MP4 in the session folder, so deleting the session removes it', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const session = await sessionWithFiles(dir.path, 'd1');
    const made = cache.get(session);
    await waitFor(() => gate.runs.length === 1);
    gate.release();
    await (await made).file.close();
    assert.equal(dirname(gate.runs[0]?.outPath ?? ''), join(dir.path, 'd1'));
    const removal = await removeSessionMedia(dir.path, session);
    assert.deepEqual(removal.failures, []);
    await assert.rejects(readdir(join(dir.path, 'd1')), { code: 'ENOENT' });
    assert.equal(await cache.cached(session), undefined);
  });

  void it('reports a failed conversion to every waiter and tries again on the next request', async () => {
    const gate = new GatedConversion();
    const cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const session = await sessionWithFiles(dir.path, 'f1');
    gate.fail = true;
    const waiting = [cache.get(session), cache.get(session)];
    await waitFor(() => gate.runs.length === 1);
    gate.release();
    for (const w of waiting) {
      await assert.rejects(w, /ffmpeg exploded/);
    }
    assert.equal(cache.counters.failures, 1);
    gate.fail = false;
    const retry = cache.get(session);
    await waitFor(() => gate.runs.length === 2);
    gate.release();
    await (await retry).file.close();
  });
});

/** A track file of `seconds` of a µ-law tone arriving in real time from T0. */
function toneTrack(frequencyHz: number, seconds: number, ssrc: number): Uint8Array {
  const packets = sineG711Packets({ codec: 'PCMU', frequencyHz, count: seconds * 50, ssrc });
  return buildPcapFile(packets.map((p, i) => ({ timestampUs: (T0 + i * 20) * 1000, datagram: p.datagram })));
}

void describe('mp4Url and convertSession over HTTP (real ffmpeg)', () => {
  const dir = useTempDir('verbatim-mp4-routes-');
  const repository = new FakeRepository();
  const events: VerbatimEvent[] = [];
  let app: FastifyInstance;
  let cache: Mp4Cache;
  let cookie: string;

  before(async () => {
    for (const id of ['m1', 'm2', 'err1']) {
      await mkdir(join(dir.path, id));
      await writeFile(join(dir.path, id, 'track-0.pcap'), toneTrack(440, 3, 1));
      await writeFile(join(dir.path, id, 'track-1.pcap'), toneTrack(1000, 3, 2));
      await repository.createSession(
        sampleSession({
          sessionId: id,
          sessionStartDate: T0,
          sessionDuration: 3000,
          ...(id === 'err1' ? { sessionState: 'CLOSED_ERROR' as const } : {}),
        }),
      );
    }
    await repository.createSession(sampleSession({ sessionId: 'live1', sessionState: 'ACTIVE' }));
    await repository.createSession(sampleSession({ sessionId: 'gone1', sessionState: 'DELETED' }));
    await addApiUser(repository, 'alice', 'pw-alice');
    cache = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: join(dir.path, 'cache'),
      logger: silent,
      events: { publish: (event) => events.push(event) },
    });
    app = await buildTestHttpApi({
      repository,
      mediaDir: dir.path,
      mp4: cache,
      extraRoutes: [(deps) => convertRoutes({ ...deps, mp4: cache })],
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
  });

  void it('answers 401 without credentials', async () => {
    const answer = await app.inject({ method: 'GET', url: '/recordedMedia/oramedia/mp4/m1.mp4' });
    assert.equal(answer.statusCode, 401);
    assert.equal(cache.counters.conversions, 0);
  });

  void it('converts once for concurrent first requests and serves byte ranges of the cached file', async () => {
    const url = '/recordedMedia/oramedia/mp4/m1.mp4';
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => app.inject({ method: 'GET', url, headers: { cookie } })),
    );
    assert.equal(cache.counters.conversions, 1);
    const full = answers[0]!.rawPayload;
    for (const answer of answers) {
      assert.equal(answer.statusCode, 200);
      assert.equal(answer.headers['content-type'], 'video/mp4');
      assert.equal(answer.headers['accept-ranges'], 'bytes');
      assert.match(
        String(answer.headers['content-disposition']),
        /^attachment; filename="2023-11-14_22-13-20Z_1000_2000_m1\.mp4"$/,
      );
      assert.deepEqual(answer.rawPayload, full);
    }
    assert.equal(full.subarray(4, 8).toString('latin1'), 'ftyp');
    const range = await app.inject({ method: 'GET', url, headers: { cookie, range: 'bytes=100-1099' } });
    assert.equal(range.statusCode, 206);
    assert.equal(range.headers['content-range'], `bytes 100-1099/${full.length}`);
    assert.deepEqual(range.rawPayload, full.subarray(100, 1100));
    const head = await app.inject({ method: 'HEAD', url, headers: { cookie } });
    assert.equal(head.headers['content-length'], String(full.length));
    assert.equal(cache.counters.conversions, 1);
  });

  void it('never serves the MP4 of a pruned session, and removes it', async () => {
    const session = sampleSession({ sessionId: 'm1', sessionStartDate: T0, sessionDuration: 3000 });
    assert.ok(
      (await readdir(join(dir.path, 'm1'))).some((name) => name.endsWith('.mp4')),
      'm1 was converted',
    );
    await repository.createSession({ ...session, prunedAt: T0 + 10_000 });
    try {
      const answer = await app.inject({
        method: 'GET',
        url: '/recordedMedia/oramedia/mp4/m1.mp4',
        headers: { cookie },
      });
      assert.equal(answer.statusCode, 404);
      assert.deepEqual(
        (await readdir(join(dir.path, 'm1'))).filter((name) => name.endsWith('.mp4')),
        [],
      );
    } finally {
      await repository.createSession(session);
    }
  });

  void it('refuses an ACTIVE session with 409 and a DELETED one with 404, converting nothing', async () => {
    const live = await app.inject({
      method: 'GET',
      url: '/recordedMedia/oramedia/mp4/live1.mp4',
      headers: { cookie },
    });
    assert.equal(live.statusCode, 409);
    assert.equal(live.json<{ responseCode: number }>().responseCode, 4042);
    const gone = await app.inject({
      method: 'GET',
      url: '/recordedMedia/oramedia/mp4/gone1.mp4',
      headers: { cookie },
    });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json<{ responseCode: number }>().responseCode, 4040);
    assert.equal(cache.counters.conversions, 1);
  });

  void it('convertSession answers the link, once converted again without converting, and announces it', async () => {
    events.length = 0;
    const convert = (requestParameters: unknown) =>
      app.inject({
        method: 'POST',
        url: '/ora/managementService/manage/convertSession',
        headers: { cookie },
        payload: { requestParameters },
      });
    const first = await convert({ sessionId: 'm2', conversionFormat: 'MP4' });
    assert.deepEqual(first.json(), {
      responseCode: 2000,
      responseMessage: 'Success: Your request was successfully completed.',
      responseBody: { convertedLink: 'http://127.0.0.1:8440/recordedMedia/oramedia/mp4/m2.mp4' },
    });
    assert.equal(cache.counters.conversions, 2);
    assert.deepEqual(
      events.map((e) => [e.eventType, e.eventAction, 'sessionId' in e ? e.sessionId : '']),
      [['SESSION_EVENT', 'UPDATED', 'm2']],
    );
    const again = await convert({ sessionId: 'm2' });
    assert.deepEqual(
      again.json<{ responseBody: unknown }>().responseBody,
      first.json<{ responseBody: unknown }>().responseBody,
    );
    assert.equal(cache.counters.conversions, 2, 'no second conversion');
    assert.equal(events.length, 1);
    // The file the link names is the one converted: served without converting.
    const download = await app.inject({
      method: 'GET',
      url: '/recordedMedia/oramedia/mp4/m2.mp4',
      headers: { cookie },
    });
    assert.equal(download.statusCode, 200);
    assert.equal(cache.counters.conversions, 2);
    const wav = await convert({ sessionId: 'm2', conversionFormat: 'wav' });
    assert.equal(
      wav.json<{ responseBody: { convertedLink: string } }>().responseBody.convertedLink,
      'http://127.0.0.1:8440/recordedMedia/oramedia/wav/m2.wav',
    );
    for (const [params, code] of [
      [{ sessionId: 'live1' }, 4042],
      [{ sessionId: 'err1' }, 4042],
      [{ sessionId: 'gone1' }, 4042],
      [{ sessionId: 'nope' }, 4041],
      [{ sessionId: 'm2', conversionFormat: 'avi' }, 4001],
      [{}, 4002],
    ] as const) {
      const answer = await convert(params);
      assert.equal(answer.json<{ responseCode: number }>().responseCode, code, JSON.stringify(params));
    }
    assert.equal(cache.counters.conversions, 2);
  });

  void it('stops the conversion when the client that asked for it hangs up', async () => {
    const gate = new GatedConversion();
    const gated = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      convert: gate.convert,
    });
    const server = await buildTestHttpApi({ repository, mediaDir: dir.path, mp4: gated });
    try {
      await server.listen({ host: '127.0.0.1', port: 0 });
      const address = server.server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const client = httpRequest({
        host: '127.0.0.1',
        port,
        path: '/recordedMedia/oramedia/mp4/err1.mp4',
        // Basic: the cookie belongs to the other instance's sign-in.
        headers: { authorization: `Basic ${Buffer.from('alice:pw-alice').toString('base64')}` },
      });
      client.on('error', () => undefined);
      client.end();
      await waitFor(() => gate.runs.length === 1, { what: 'the conversion started' });
      assert.equal(gated.counters.running, 1);
      client.destroy();
      await waitFor(() => gated.counters.aborted === 1, { what: 'the conversion stopped' });
      assert.equal(gate.aborted, 1);
      assert.equal(gated.counters.running, 0);
    } finally {
      await server.close();
    }
  });

  void it('answers 500 with a clear error and caches nothing when the conversion fails', async () => {
    const failing = new Mp4Cache({
      mediaDir: dir.path,
      fallbackDir: dir.path,
      logger: silent,
      ffmpegPath: '/bin/false',
    });
    const broken = await buildTestHttpApi({ repository, mediaDir: dir.path, mp4: failing });
    try {
      const answer = await broken.inject({
        method: 'GET',
        url: '/recordedMedia/oramedia/mp4/err1.mp4',
        headers: { authorization: `Basic ${Buffer.from('alice:pw-alice').toString('base64')}` },
      });
      assert.equal(answer.statusCode, 500);
      const body = answer.json<{ responseCode: number; detail: string }>();
      assert.equal(body.responseCode, 5000);
      assert.match(body.detail, /MP4 conversion of err1 failed \(VERBATIM_ERR_PLAYBACK_FFMPEG_FAILED\)/);
      const names = await readdir(join(dir.path, 'err1'));
      assert.deepEqual(
        names.filter((n) => n.includes('mp4') || n.endsWith('.partial')),
        [],
      );
      assert.equal(failing.counters.failures, 1);
    } finally {
      await broken.close();
    }
  });
});
