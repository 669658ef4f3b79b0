import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { FastifyInstance } from 'fastify';
import { WebSocket } from 'ws';
import { MediaTokens } from '../../src/api/media-tokens.js';
import { decodeLiveFrame, type LiveAudioFrame } from '../../src/playback/live-frame.js';
import type { LiveFeed, LiveFeedListener, LivePacket } from '../../src/playback/live-feed.js';
import { encodeMulaw, MULAW_TO_LINEAR } from '../../src/protocol/codec/g711.js';
import { serializeRtpPacket } from '../../src/protocol/rtp/rtp-packet.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { waitFor } from '../support/wait.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ensureCertificate } from '../../src/transport/tls-certificate.js';

/**
 * The live-listening routes over a real socket with a real WebSocket client (ws), a fake live
 * feed the test drives: who is refused and why (before any upgrade), what a listener receives
 * (start, PCM frames per channel with the arrival time, end, a normal close), the audit record,
 * and the subscription stopped when the client goes.
 */

class FakeLiveFeed implements LiveFeed {
  readonly listeners = new Map<string, LiveFeedListener>();
  readonly closed: string[] = [];
  live = new Set<string>(['live01']);

  subscribe(sessionId: string, listener: LiveFeedListener): { close(): void } | undefined {
    if (!this.live.has(sessionId)) {
      return undefined;
    }
    this.listeners.set(sessionId, listener);
    return {
      close: () => {
        this.closed.push(sessionId);
      },
    };
  }
}

const SAMPLE_LEFT = 1000;
const SAMPLE_RIGHT = -2000;

function pcmuPackets(seq: number, count: number, sample: number, arrivalMs: number): LivePacket[] {
  return Array.from({ length: count }, (_, i) => ({
    arrivalMs: arrivalMs + 20 * i,
    rtp: serializeRtpPacket(
      { marker: false, payloadType: 0, sequenceNumber: seq + i, timestamp: (seq + i) * 160, ssrc: 7 },
      encodeMulaw(new Array<number>(160).fill(sample)),
    ),
  }));
}

interface Received {
  readonly texts: Record<string, unknown>[];
  readonly frames: LiveAudioFrame[];
  close?: { code: number; reason: string };
}

function connect(
  url: string,
  headers: Record<string, string> = {},
  ca?: string,
): Promise<{ socket: WebSocket; got: Received }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers, ...(ca === undefined ? {} : { ca }) });
    const got: Received = { texts: [], frames: [] };
    socket.on('message', (data, isBinary) => {
      const bytes = Buffer.isBuffer(data) ? data : Buffer.concat(data as Buffer[]);
      if (isBinary) {
        const frame = decodeLiveFrame(new Uint8Array(bytes));
        assert.ok(frame !== undefined, 'a well-formed frame');
        got.frames.push(frame);
      } else {
        got.texts.push(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
      }
    });
    socket.on('close', (code, reason) => {
      got.close = { code, reason: reason.toString('utf8') };
    });
    socket.once('open', () => resolve({ socket, got }));
    socket.once('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      response.on('end', () =>
        reject(Object.assign(new Error('refused'), { status: response.statusCode, body })),
      );
    });
    socket.once('error', reject);
  });
}

async function refusal(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  try {
    await connect(url, headers);
  } catch (error) {
    const { status, body } = error as { status?: number; body?: string };
    assert.ok(status !== undefined, `refused with an HTTP status: ${String(error)}`);
    return { status, body: body ?? '' };
  }
  assert.fail('the upgrade was accepted');
}

void describe('live listening routes', () => {
  const repository = new FakeRepository();
  const feed = new FakeLiveFeed();
  const clock = { nowMs: 1_700_000_000_000 };
  const tokens = new MediaTokens({ repository, now: () => clock.nowMs });
  let app: FastifyInstance;
  let base: string;
  const basic = `Basic ${Buffer.from('alice:pw-alice').toString('base64')}`;

  before(async () => {
    await addApiUser(repository, 'alice', 'pw-alice');
    await repository.createSession(sampleSession({ sessionId: 'live01', sessionState: 'ACTIVE' }));
    await repository.createSession(sampleSession({ sessionId: 'live02', sessionState: 'ACTIVE' }));
    await repository.createSession(sampleSession({ sessionId: 'done01' }));
    app = await buildTestHttpApi({ repository, mediaTokens: tokens, liveFeed: feed, now: () => clock.nowMs });
    await app.listen({ host: '127.0.0.1', port: 0 });
    base = `127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
  });

  void it('refuses without credentials, with a bad or expired token (401), an unknown or closed session (404), with the reason', async () => {
    const none = await refusal(`ws://${base}/listen/live01/ws`);
    assert.equal(none.status, 401);
    assert.match(none.body, /listenUrl/);

    const bad = await refusal(`ws://${base}/listen/live01/ws?token=1.YQ.xyz`);
    assert.equal(bad.status, 401);
    assert.match(bad.body, /invalid or has expired/);

    const otherSession = tokens.issue('live02', 'alice');
    assert.equal((await refusal(`ws://${base}/listen/live01/ws?token=${otherSession}`)).status, 401);

    const expiring = tokens.issue('live01', 'alice');
    clock.nowMs += 3601_000;
    const expired = await refusal(`ws://${base}/listen/live01/ws?token=${expiring}`);
    clock.nowMs -= 3601_000;
    assert.equal(expired.status, 401);

    const unknown = await refusal(`ws://${base}/listen/nosuch/ws?token=${tokens.issue('nosuch', 'alice')}`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.body, /no session nosuch/);
    const closed = await refusal(`ws://${base}/listen/done01/ws`, { authorization: basic });
    assert.equal(closed.status, 404);
    assert.match(closed.body, /CLOSED_NORMAL, not ACTIVE/);

    // The page says the same, as a page (with a Basic challenge for a browser to ask for a password).
    const page = await app.inject({ method: 'GET', url: '/listen/live01' });
    assert.equal(page.statusCode, 401);
    assert.equal(page.headers['www-authenticate'], 'Basic realm="Verbatim"');
    const badTokenPage = await app.inject({ method: 'GET', url: '/listen/live01?token=1.YQ.xyz' });
    assert.equal(badTokenPage.statusCode, 401);
    assert.equal(
      badTokenPage.headers['www-authenticate'],
      undefined,
      'a token holder is told why, not asked',
    );
    assert.match(badTokenPage.body, /invalid or has expired/);
    const closedPage = await app.inject({
      method: 'GET',
      url: '/listen/done01',
      headers: { authorization: basic },
    });
    assert.equal(closedPage.statusCode, 404);
    assert.match(closedPage.body, /not ACTIVE/);
    assert.equal(feed.listeners.size, 0, 'nobody was subscribed');
  });

  void it('documents both routes in a valid OpenAPI document', async () => {
    const answer = await app.inject({ method: 'GET', url: '/ora/openapi.json' });
    const document = JSON.parse(answer.body) as { paths: Record<string, Record<string, unknown>> };
    const result = await new Validator().validate(document);
    assert.equal(result.valid, true, JSON.stringify({ errors: result.errors }).slice(0, 2000));
    assert.ok(document.paths['/listen/{sessionId}']?.get);
    assert.ok(document.paths['/listen/{sessionId}/ws']?.get);
  });

  void it('serves the page to a token holder', async () => {
    const page = await app.inject({
      method: 'GET',
      url: `/listen/live01?token=${tokens.issue('live01', 'alice')}`,
    });
    assert.equal(page.statusCode, 200);
    assert.match(String(page.headers['content-type']), /^text\/html/);
    assert.match(page.body, /new WebSocket\(/);
  });

  void it('streams both parties as PCM frames with their arrival time, then ends and closes when the call ends', async () => {
    const token = tokens.issue('live01', 'alice');
    const { got } = await connect(`ws://${base}/listen/live01/ws?token=${token}`);
    await waitFor(() => got.texts.length > 0 && feed.listeners.has('live01'));
    assert.deepEqual(got.texts[0], {
      type: 'start',
      sessionId: 'live01',
      format: 'pcm-s16le',
      channels: [
        { channel: 0, trackNumber: 0 },
        { channel: 1, trackNumber: 1 },
      ],
    });
    const listener = feed.listeners.get('live01');
    assert.ok(listener);
    listener.packets(0, pcmuPackets(0, 2, SAMPLE_LEFT, 5000));
    listener.packets(1, pcmuPackets(100, 2, SAMPLE_RIGHT, 5010));
    // A lost packet (seq 2) is one packet of silence; a repeated one is dropped.
    listener.packets(0, [...pcmuPackets(3, 1, SAMPLE_LEFT, 5060), ...pcmuPackets(3, 1, SAMPLE_LEFT, 5061)]);
    listener.packets(5, pcmuPackets(0, 2, 0, 5000)); // Track 5 is not heard.
    listener.ended();
    await waitFor(() => got.close !== undefined, { what: 'the close' });
    assert.deepEqual(got.close, { code: 1000, reason: 'the call ended' });
    assert.deepEqual(got.texts.at(-1), { type: 'end', reason: 'the call ended' });

    const left = got.frames.filter((f) => f.channel === 0);
    const right = got.frames.filter((f) => f.channel === 1);
    assert.equal(got.frames.length, 3);
    assert.deepEqual(
      left.map((f) => [f.trackNumber, f.sampleRateHz, f.arrivalMs, f.pcm.length]),
      [
        [0, 8000, 5000, 320],
        [0, 8000, 5060, 320],
      ],
    );
    const expectedLeft = MULAW_TO_LINEAR[encodeMulaw([SAMPLE_LEFT])[0] ?? 0];
    assert.ok(left[0]?.pcm.every((s) => s === expectedLeft));
    assert.ok(
      left[1]?.pcm.subarray(0, 160).every((s) => s === 0),
      'the lost packet is silence',
    );
    assert.ok(left[1]?.pcm.subarray(160).every((s) => s === expectedLeft));
    assert.deepEqual(
      right.map((f) => [f.trackNumber, f.arrivalMs, f.pcm.length]),
      [[1, 5010, 320]],
    );
    assert.ok(right[0]?.pcm.every((s) => s === MULAW_TO_LINEAR[encodeMulaw([SAMPLE_RIGHT])[0] ?? 0]));

    const audit = await repository.queryAudit({ action: 'listen:live', limit: 10 });
    assert.ok(
      audit.some(
        (r) =>
          r.username === 'alice' && r.target === 'live01' && r.outcome === 2000 && r.detail?.via === 'token',
      ),
      JSON.stringify(audit),
    );
  });

  void it('takes Basic credentials or the API session cookie too, and stops the feed when the client leaves', async () => {
    feed.listeners.clear();
    const before = feed.closed.length;
    const { socket } = await connect(`ws://${base}/listen/live01/ws`, { authorization: basic });
    await waitFor(() => feed.listeners.has('live01'));
    socket.close();
    await waitFor(() => feed.closed.length === before + 1, { what: 'the subscription closed' });

    const signIn = await app.inject({
      method: 'POST',
      url: '/ora/authenticationService/authentication/signIn',
      payload: { requestParameters: { username: 'alice', password: 'pw-alice' } },
    });
    const cookie = String(signIn.headers['set-cookie']).split(';')[0] ?? '';
    assert.match(cookie, /^JSESSIONID=/);
    const second = await connect(`ws://${base}/listen/live01/ws`, { cookie });
    second.socket.close();
  });

  void it('says so and closes when the session is not being recorded on this node', async () => {
    feed.live.delete('live02');
    const { got } = await connect(`ws://${base}/listen/live02/ws`, { authorization: basic });
    await waitFor(() => got.close !== undefined);
    assert.equal(got.close?.code, 4404);
    assert.equal(got.texts.at(-1)?.type, 'error');
  });
});

void describe('live listening over TLS (wss)', () => {
  const repository = new FakeRepository();
  const feed = new FakeLiveFeed();
  const tokens = new MediaTokens({ repository, now: Date.now });
  let app: FastifyInstance;
  let dir: string;
  let cert: string;
  let port: number;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-listen-tls-'));
    const certificate = await ensureCertificate(dir, pino({ level: 'silent' }), {
      commonName: 'localhost',
      ipAddresses: ['127.0.0.1'],
    });
    cert = certificate.cert;
    await addApiUser(repository, 'alice', 'pw-alice');
    await repository.createSession(sampleSession({ sessionId: 'live01', sessionState: 'ACTIVE' }));
    app = await buildTestHttpApi({
      repository,
      tls: true,
      https: certificate,
      mediaTokens: tokens,
      liveFeed: feed,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('upgrades over HTTPS on the API port, and ends with the call', async () => {
    const token = tokens.issue('live01', 'alice');
    const { got } = await connect(`wss://127.0.0.1:${port}/listen/live01/ws?token=${token}`, {}, cert);
    await waitFor(() => got.texts.length > 0 && feed.listeners.has('live01'));
    assert.equal(got.texts[0]?.type, 'start');
    feed.listeners.get('live01')?.packets(0, pcmuPackets(0, 2, SAMPLE_LEFT, 1));
    feed.listeners.get('live01')?.ended();
    await waitFor(() => got.close !== undefined);
    assert.equal(got.close?.code, 1000);
    assert.equal(got.frames.length, 1);
  });

  void it('refuses the WebSocket over plain HTTP there', async () => {
    const token = tokens.issue('live01', 'alice');
    const refused = await refusal(`ws://127.0.0.1:${port}/listen/live01/ws?token=${token}`);
    assert.ok(refused.status >= 300, `refused with ${refused.status}`);
  });
});
