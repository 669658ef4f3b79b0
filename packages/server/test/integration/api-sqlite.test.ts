import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ensureAdminUser } from '../../src/api/admin-bootstrap.js';
import { sessionJson } from '../../src/api/session-json.js';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { Session } from '../../src/model/session.js';
import { encodeMulaw } from '../../src/protocol/codec/g711.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { buildPcapFile } from '../support/audio.js';
import { sampleSession } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * The HTTP API over a real socket against the real SQLite repository: sign-in with the bootstrap
 * admin, getSessions rows as SQLite returns them, and a ranged WAV download of a real pcap track.
 */

const T0 = 1_750_000_000_000;
const MINUTE_MS = 60_000;
const URLS = { advertise: '127.0.0.1', httpPort: 8440, rtspPort: 8554, tls: false };

function pcapOfTone(packets: number): Uint8Array {
  const payload = encodeMulaw(new Array<number>(160).fill(-2000));
  return buildPcapFile(
    Array.from({ length: packets }, (_, i) => ({
      timestampUs: (T0 + 20 * i) * 1000,
      datagram: serializeRtpPacket(
        { marker: false, payloadType: 0, sequenceNumber: i, timestamp: 160 * i, ssrc: 7 },
        payload,
      ),
    })),
  );
}

void describe('HTTP API over SQLite (integration)', () => {
  let dir: string;
  let repository: Repository;
  let app: FastifyInstance;
  let base: string;
  let cookie: string;
  const stored: Session[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-sqlite-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    assert.deepEqual(await ensureAdminUser(repository, 'admin-pw'), { created: true });
    const sessions = [
      sampleSession({ sessionId: 's1', sessionStartDate: T0, sessionDuration: 1000, ccid: 'c-1' }),
      sampleSession({
        sessionId: 's2',
        sessionStartDate: T0 + MINUTE_MS,
        ccid: 'c-2',
        sessionState: 'CLOSED_ERROR',
      }),
      sampleSession({
        sessionId: 's3',
        sessionStartDate: T0 + 2 * MINUTE_MS,
        ccid: 'c-3',
        tags: [{ tagName: 'Keep', tagType: 'USER_DEFINED', tagCreateDate: T0, tagOffset: 5 }],
      }),
    ];
    for (const session of sessions) {
      await repository.createSession(session);
      stored.push(session);
    }
    await mkdir(join(dir, 'media', 's1'), { recursive: true });
    await writeFile(join(dir, 'media', 's1', 'track-0.pcap'), pcapOfTone(50));
    app = await buildTestHttpApi({ repository, mediaDir: join(dir, 'media') });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    const response = await fetch(`${base}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestParameters: { username: 'admin', password: 'admin-pw' } }),
    });
    assert.equal(((await response.json()) as { responseCode: number }).responseCode, 2000);
    cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    assert.match(cookie, /^JSESSIONID=[0-9a-f]{32}$/);
  });

  after(async () => {
    await app.close();
    await repository.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function post(
    path: string,
    body: unknown,
  ): Promise<{ responseCode: number; responseBody?: { sessions: { sessionId: string }[] } }> {
    const response = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', cookie },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as {
      responseCode: number;
      responseBody?: { sessions: { sessionId: string }[] };
    };
  }

  const window = {
    fieldName: 'sessionStartDate',
    fieldConditions: [{ fieldOperator: 'between', fieldValues: [T0, T0 + 10 * MINUTE_MS] }],
  };
  const getSessions = '/ora/queryService/query/getSessions';

  void it('returns the stored session unchanged through getSessionBySessionId', async () => {
    const response = await fetch(`${base}/ora/queryService/query/getSessionBySessionId?value=s3`, {
      headers: { cookie },
    });
    const body = (await response.json()) as { responseCode: number; responseBody: { sessions: unknown[] } };
    assert.equal(body.responseCode, 2000);
    // The media token (signed with the node's own key) is the one part the test cannot predict.
    const [answered] = body.responseBody.sessions as { urls: { rtspUrl: string } }[];
    const expected = sessionJson(stored[2]!, URLS);
    assert.match(String(answered?.urls.rtspUrl), /^rtsp:\/\/127\.0\.0\.1:8554\/archive\/s3\?token=[\w.-]+$/);
    assert.deepEqual(body.responseBody.sessions, [
      { ...expected, urls: { ...expected.urls, rtspUrl: answered?.urls.rtspUrl } },
    ]);
  });

  void it('applies S1 precedence in SQL: ccid=c-1 OR (sessionState=CLOSED_ERROR AND the window)', async () => {
    // s1 lies outside this window: left-to-right evaluation would drop it, S1 keeps it.
    const lateWindow = {
      fieldName: 'sessionStartDate',
      fieldConditions: [{ fieldOperator: 'between', fieldValues: [T0 + 30_000, T0 + 10 * MINUTE_MS] }],
    };
    const body = await post(getSessions, {
      requestParameters: [
        {
          fieldName: 'ccid',
          fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['c-1'] }],
          paramConnector: 'OR',
        },
        {
          fieldName: 'sessionState',
          fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['CLOSED_ERROR'] }],
          paramConnector: 'AND',
        },
        lateWindow,
      ],
    });
    assert.deepEqual(
      body.responseBody?.sessions.map((s) => s.sessionId),
      ['s2', 's1'],
    );
  });

  void it('matches tag names case-insensitively and pages until 2001', async () => {
    const tagged = await post(getSessions, {
      requestParameters: [
        window,
        { fieldName: 'tagName', fieldConditions: [{ fieldOperator: 'equals', fieldValues: ['keep'] }] },
      ],
    });
    assert.deepEqual(
      tagged.responseBody?.sessions.map((s) => s.sessionId),
      ['s3'],
    );
    const seen: string[] = [];
    for (let offset = 0; ; offset += 2) {
      const page = await post(getSessions, {
        requestParameters: [window],
        pageParameters: { offset, limit: 2 },
      });
      if (page.responseCode === 2001) {
        break;
      }
      assert.equal(page.responseCode, 2000);
      seen.push(...(page.responseBody?.sessions.map((s) => s.sessionId) ?? []));
    }
    assert.deepEqual(seen, ['s3', 's2', 's1']);
  });

  void it('downloads a byte range of the WAV with HTTP Basic over a real socket', async () => {
    const authorization = `Basic ${Buffer.from('admin:admin-pw').toString('base64')}`;
    const full = await fetch(`${base}/recordedMedia/oramedia/wav/s1.wav`, { headers: { authorization } });
    assert.equal(full.status, 200);
    const bytes = Buffer.from(await full.arrayBuffer());
    assert.equal(bytes.length, 44 + 8000 * 4);
    assert.notEqual(bytes.readInt16LE(44 + 400), 0);
    const partial = await fetch(`${base}/recordedMedia/oramedia/wav/s1.wav`, {
      headers: { authorization, range: 'bytes=40-99' },
    });
    assert.equal(partial.status, 206);
    assert.equal(partial.headers.get('content-range'), `bytes 40-99/${bytes.length}`);
    assert.deepEqual(Buffer.from(await partial.arrayBuffer()), bytes.subarray(40, 100));
    const refused = await fetch(`${base}/recordedMedia/oramedia/wav/s1.wav`);
    assert.equal(refused.status, 401);
    await refused.arrayBuffer();
  });
});
