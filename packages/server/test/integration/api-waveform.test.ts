import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { WaveformCache, type Waveform } from '../../src/playback/waveform.js';
import { buildPcapFile, sineG711Packets } from '../support/audio.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { useTempDir } from '../support/temp-dir.js';

/**
 * The waveform route (api/waveform-routes.ts, playback/waveform.ts) over HTTP with real track
 * files: peaks of a known tone on the left and silence then a tone on the right, bucket edges as
 * the WAV's frames, the kept file served again, and clear envelope errors.
 */

const T0 = 1_700_000_000_000;
const AMPLITUDE = 8000;

/** `seconds` of a µ-law tone arriving in real time from `startMs` after T0. */
function toneTrack(frequencyHz: number, seconds: number, ssrc: number, startMs = 0): Uint8Array {
  const packets = sineG711Packets({
    codec: 'PCMU',
    frequencyHz,
    count: seconds * 50,
    ssrc,
    amplitude: AMPLITUDE,
  });
  return buildPcapFile(
    packets.map((p, i) => ({ timestampUs: (T0 + startMs + i * 20) * 1000, datagram: p.datagram })),
  );
}

interface Answer {
  readonly statusCode: number;
  readonly envelope: { responseCode: number; detail?: string; responseBody?: Waveform };
}

void describe('GET /recordedMedia/oramedia/peaks/<id>.json', () => {
  const dir = useTempDir('verbatim-waveform-');
  const repository = new FakeRepository();
  let app: FastifyInstance;
  let cookie: string;

  async function get(url: string, headers: Record<string, string> = { cookie }): Promise<Answer> {
    const answer = await app.inject({ method: 'GET', url, headers });
    return { statusCode: answer.statusCode, envelope: answer.json() };
  }

  before(async () => {
    // w1: 4 s; left a 440 Hz tone throughout, right silent for 2 s then a 1 kHz tone.
    await mkdir(join(dir.path, 'w1'));
    await writeFile(join(dir.path, 'w1', 'track-0.pcap'), toneTrack(440, 4, 1));
    await writeFile(join(dir.path, 'w1', 'track-1.pcap'), toneTrack(1000, 2, 2, 2000));
    await repository.createSession(
      sampleSession({ sessionId: 'w1', sessionStartDate: T0, sessionDuration: 4000 }),
    );
    await repository.createSession(sampleSession({ sessionId: 'gone1', sessionState: 'DELETED' }));
    await addApiUser(repository, 'alice', 'pw-alice');
    app = await buildTestHttpApi({ repository, mediaDir: dir.path });
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

  void it('answers the min and max of each bucket, per channel, aligned like the WAV', async () => {
    const { statusCode, envelope } = await get('/recordedMedia/oramedia/peaks/w1.json?buckets=8');
    assert.equal(statusCode, 200);
    assert.equal(envelope.responseCode, 2000);
    const waveform = envelope.responseBody!;
    assert.equal(waveform.sampleRateHz, 8000);
    assert.equal(waveform.durationMs, 4000);
    assert.equal(waveform.frames, 32_000);
    assert.equal(waveform.buckets, 8);
    const [left, right] = waveform.channels;
    assert.equal(left?.trackNumber, 0);
    assert.equal(right?.trackNumber, 1);
    // A 440 Hz sine of amplitude 8000 (µ-law keeps it within a few %) fills every half second.
    const full = AMPLITUDE / 32768;
    for (let b = 0; b < 8; b++) {
      assert.ok(
        Math.abs(left.max[b]! - full) < 0.02 * full + 0.005,
        `left max of bucket ${b}: ${left.max[b]}`,
      );
      assert.ok(
        Math.abs(left.min[b]! + full) < 0.02 * full + 0.005,
        `left min of bucket ${b}: ${left.min[b]}`,
      );
    }
    // The right channel is silent for the first four half seconds, then the tone.
    for (let b = 0; b < 4; b++) {
      assert.ok(
        Math.abs(right.max[b]!) < 0.001 && Math.abs(right.min[b]!) < 0.001,
        `right bucket ${b} silent`,
      );
    }
    for (let b = 5; b < 8; b++) {
      assert.ok(right.max[b]! > 0.9 * full && right.min[b]! < -0.9 * full, `right bucket ${b} loud`);
    }
  });

  void it('gives a file shorter than the buckets asked one bucket per frame', async () => {
    await repository.createSession(
      sampleSession({ sessionId: 'tiny', sessionStartDate: T0, sessionDuration: 1, tracks: [] }),
    );
    const { envelope } = await get('/recordedMedia/oramedia/peaks/tiny.json?buckets=100');
    const body = envelope.responseBody;
    assert.ok(body);
    assert.equal(body.frames, 8);
    assert.equal(body.buckets, 8);
    assert.deepEqual(body.channels[0]?.max, [0, 0, 0, 0, 0, 0, 0, 0]);
  });

  void it('keeps a closed session’s peaks beside its media and answers from that file', async () => {
    const first = await get('/recordedMedia/oramedia/peaks/w1.json?buckets=50');
    const kept = (await readdir(join(dir.path, 'w1'))).filter((name) => name.endsWith('.peaks-50.json'));
    assert.equal(kept.length, 1);
    const path = join(dir.path, 'w1', kept[0]!);
    assert.deepEqual(JSON.parse(await readFile(path, 'utf8')), first.envelope.responseBody);
    // Marked, the kept file is what the next answer carries: nothing was computed again.
    const marked = { ...first.envelope.responseBody!, sampleRateHz: 12345 };
    await writeFile(path, JSON.stringify(marked));
    const second = await get('/recordedMedia/oramedia/peaks/w1.json?buckets=50');
    assert.equal(second.envelope.responseBody?.sampleRateHz, 12345);
    // The session changing (a longer duration) makes new peaks and removes the stale file.
    const session = await repository.getSession('w1');
    await repository.createSession({ ...session!, sessionDuration: 3000 });
    const third = await get('/recordedMedia/oramedia/peaks/w1.json?buckets=50');
    const body = third.envelope.responseBody;
    assert.ok(body);
    assert.equal(body.sampleRateHz, 8000);
    assert.equal(body.durationMs, 3000);
    const now = (await readdir(join(dir.path, 'w1'))).filter((name) => name.endsWith('.peaks-50.json'));
    assert.equal(now.length, 1);
    assert.notEqual(now[0], kept[0]);
    await repository.createSession({ ...session! });
  });

  void it('refuses bad bucket counts, unknown and deleted sessions with an envelope', async () => {
    for (const buckets of ['0', '-1', 'abc', '1.5', '20001', '']) {
      const { statusCode, envelope } = await get(`/recordedMedia/oramedia/peaks/w1.json?buckets=${buckets}`);
      assert.equal(statusCode, 400, `buckets=${buckets}`);
      assert.equal(envelope.responseCode, 4001);
      assert.match(envelope.detail ?? '', /buckets must be an integer from 1 to 20000/);
    }
    for (const id of ['nope', 'gone1']) {
      const { statusCode, envelope } = await get(`/recordedMedia/oramedia/peaks/${id}.json`);
      assert.equal(statusCode, 404);
      assert.equal(envelope.responseCode, 4040);
    }
    const wrongName = await get('/recordedMedia/oramedia/peaks/w1.wav');
    assert.equal(wrongName.envelope.responseCode, 4040);
  });

  void it('asks for credentials without the cookie', async () => {
    const answer = await app.inject({ method: 'GET', url: '/recordedMedia/oramedia/peaks/w1.json' });
    assert.equal(answer.statusCode, 401);
    assert.equal(answer.headers['www-authenticate'], 'Basic realm="Verbatim"');
    const basic = `Basic ${Buffer.from('alice:pw-alice').toString('base64')}`;
    const withBasic = await get('/recordedMedia/oramedia/peaks/w1.json', { authorization: basic });
    assert.equal(withBasic.envelope.responseCode, 2000);
    assert.equal(withBasic.envelope.responseBody?.buckets, 1000);
  });
});

void describe('WaveformCache', () => {
  const dir = useTempDir('verbatim-waveform-cache-');
  const silent = pino({ level: 'silent' });

  /** A computation that waits for `release()`, counting how many run at once. */
  function gated(): {
    compute: () => Promise<Waveform>;
    release: () => void;
    running: () => number;
    most: () => number;
  } {
    let running = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    return {
      compute: async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((resolve) => releases.push(resolve));
        running--;
        return { sessionId: 'x', sampleRateHz: 8000, durationMs: 1, frames: 8, buckets: 0, channels: [] };
      },
      release: () => {
        for (const release of releases.splice(0)) {
          release();
        }
      },
      running: () => running,
      most: () => most,
    };
  }

  void it('computes once for concurrent requests of one session, at most two sessions at a time', async () => {
    const cache = new WaveformCache({
      mediaDir: dir.path,
      fallbackDir: join(dir.path, 'cache'),
      logger: silent,
    });
    const gate = gated();
    const sessions = ['c1', 'c2', 'c3'].map((sessionId) => sampleSession({ sessionId, tracks: [] }));
    const answers = [
      ...[1, 2, 3].map(() => cache.get(sessions[0]!, 10, gate.compute)),
      cache.get(sessions[1]!, 10, gate.compute),
      cache.get(sessions[2]!, 10, gate.compute),
    ];
    // Let the requests reach their computations (a file lookup each, then a slot or the queue).
    for (let i = 0; i < 50 && gate.running() < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.equal(gate.running(), 2, 'two computations run, the third waits');
    for (let i = 0; i < 200 && (gate.running() > 0 || cache.counters.computed < 3); i++) {
      gate.release();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await Promise.all(answers);
    assert.equal(gate.most(), 2);
    assert.deepEqual(cache.counters, { computed: 3, hits: 0 });
    // Kept now (in the fallback folder: these sessions have no media folder of their own).
    await cache.get(sessions[0]!, 10, gate.compute);
    assert.deepEqual(cache.counters, { computed: 3, hits: 1 });
    assert.equal((await readdir(join(dir.path, 'cache'))).filter((n) => n.endsWith('.json')).length, 3);
  });

  void it('never keeps an ACTIVE session’s waveform', async () => {
    const cache = new WaveformCache({
      mediaDir: dir.path,
      fallbackDir: join(dir.path, 'active'),
      logger: silent,
    });
    const gate = gated();
    const active = sampleSession({ sessionId: 'live', sessionState: 'ACTIVE', tracks: [] });
    for (let i = 0; i < 2; i++) {
      const answer = cache.get(active, 10, gate.compute);
      for (let wait = 0; wait < 200 && gate.running() === 0; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      gate.release();
      await answer;
    }
    assert.deepEqual(cache.counters, { computed: 2, hits: 0 });
    await assert.rejects(readdir(join(dir.path, 'active')), { code: 'ENOENT' });
  });
});
