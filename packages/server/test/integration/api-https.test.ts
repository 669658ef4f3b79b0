import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ensureCertificate, type CertificatePair } from '../../src/transport/tls-certificate.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';
import { httpsRequest, plainHttpRequest } from '../support/https-request.js';
import { HttpsWithPlainServer, type InnerServerOptions } from '../../src/api/https-with-plain-server.js';
import { connect as tlsConnect } from 'node:tls';
import { waitFor } from '../support/wait.js';

/** Connects, writes `bytes` (if any), and resolves with everything read until the server closes. */
function rawExchange(
  port: number,
  bytes: Buffer | string | undefined,
  endAfterWrite = false,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('connect', () => {
      if (bytes !== undefined) {
        socket.write(bytes);
      }
      if (endAfterWrite) {
        socket.end();
      }
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    socket.on('error', reject);
  });
}

interface Envelope {
  responseCode: number;
  responseMessage: string;
  responseBody?: Record<string, unknown>;
  detail?: string;
}

void describe('HTTP API over HTTPS (integration)', () => {
  let dir: string;
  let certificate: CertificatePair;
  let app: FastifyInstance;
  let base: string;
  const repository = new FakeRepository();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-api-https-'));
    certificate = await ensureCertificate(dir, pino({ level: 'silent' }), {
      commonName: 'localhost',
      ipAddresses: ['127.0.0.1'],
    });
    await addApiUser(repository, 'alice', 'pw');
    await repository.createSession(sampleSession({ sessionId: 'tls01' }));
    app = await buildTestHttpApi({ repository, tls: true, https: certificate, mediaDir: dir });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it('serves TLS, sets a Secure cookie and gives https media URLs', async () => {
    assert.match(base, /^https:\/\//);
    const signIn = await httpsRequest(
      `${base}/ora/authenticationService/authentication/signIn`,
      certificate.cert,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ requestParameters: { username: 'alice', password: 'pw' } }),
      },
    );
    assert.equal(signIn.status, 200);
    assert.equal((JSON.parse(signIn.body) as { responseCode: number }).responseCode, 2000);
    const setCookie = String(signIn.headers['set-cookie']);
    assert.match(setCookie, /; Secure$/);
    const cookie = setCookie.split(';')[0] ?? '';
    const found = await httpsRequest(
      `${base}/ora/queryService/query/getSessionBySessionId?value=tls01`,
      certificate.cert,
      {
        headers: { cookie },
      },
    );
    const body = JSON.parse(found.body) as { responseBody: { sessions: { urls: { wavUrl: string } }[] } };
    assert.equal(
      body.responseBody.sessions[0]?.urls.wavUrl,
      'https://127.0.0.1:8440/recordedMedia/oramedia/wav/tls01.wav',
    );
  });

  void it('answers getAPIVersion over plain HTTP on the same port, as over HTTPS', async () => {
    const url = `${base}/ora/infoService/info/getAPIVersion`;
    const secure = await httpsRequest(url, certificate.cert);
    const plain = await plainHttpRequest(url.replace(/^https:/, 'http:'));
    assert.equal(plain.status, 200);
    const body = JSON.parse(plain.body) as Envelope;
    assert.equal(body.responseCode, 2000);
    assert.equal(body.responseBody?.['apiVersion'], '1.4');
    assert.deepEqual(body, JSON.parse(secure.body));
  });

  void it('refuses every other /ora call over plain HTTP with 4023, before it runs', async () => {
    const plainBase = base.replace(/^https:/, 'http:');
    const signIn = await plainHttpRequest(`${plainBase}/ora/authenticationService/authentication/signIn`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ requestParameters: { username: 'alice', password: 'pw' } }),
    });
    assert.equal(signIn.status, 200);
    const body = JSON.parse(signIn.body) as Envelope;
    assert.equal(body.responseCode, 4023);
    assert.equal(body.responseMessage, 'Failure: This request must be made over HTTPS.');
    assert.match(
      body.detail ?? '',
      /POST \/ora\/authenticationService\/authentication\/signIn is served over HTTPS only/,
    );
    assert.equal(signIn.headers['set-cookie'], undefined, 'no session is opened in the clear');
    for (const path of ['/ora/infoService/info/getSystemTime', '/ora/openapi.json', '/ora/nowhere']) {
      const answer = JSON.parse((await plainHttpRequest(`${plainBase}${path}`)).body) as Envelope;
      assert.equal(answer.responseCode, 4023, path);
    }
  });

  void it('sends a browser on plain HTTP to the same address over HTTPS', async () => {
    const plainBase = base.replace(/^https:/, 'http:');
    const host = new URL(base).host;
    const media = await plainHttpRequest(`${plainBase}/recordedMedia/oramedia/wav/tls01.wav?x=1`);
    assert.equal(media.status, 308);
    assert.equal(media.headers.location, `https://${host}/recordedMedia/oramedia/wav/tls01.wav?x=1`);
    const post = await plainHttpRequest(`${plainBase}/recordedMedia/oramedia/wav/tls01.wav`, {
      method: 'POST',
    });
    assert.equal(post.status, 403);
    assert.equal((JSON.parse(post.body) as Envelope).responseCode, 4023);
    const oddHost = await plainHttpRequest(`${plainBase}/`, { headers: { host: 'evil.example/path' } });
    assert.equal(oddHost.status, 403, 'no redirect built from a Host that is not a host');
    assert.equal(oddHost.headers.location, undefined);
  });

  void it('keeps a plain connection alive across requests', async () => {
    const port = Number(new URL(base).port);
    const request = 'GET /ora/infoService/info/getAPIVersion HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
    const closing =
      'GET /ora/infoService/info/getAPIVersion HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n';
    const transcript = await rawExchange(port, request + request + closing);
    assert.equal(transcript.match(/HTTP\/1\.1 200 OK/g)?.length, 3, transcript);
    assert.equal(transcript.match(/"responseCode":2000/g)?.length, 3);
  });

  void it('survives connections that close at once, send a broken handshake or garbage, and serves on', async () => {
    const port = Number(new URL(base).port);
    assert.equal(await rawExchange(port, undefined, true), '');
    // A TLS record header (handshake, TLS 1.2, length 5) followed by bytes that are no ClientHello.
    const brokenHello = Buffer.from([0x16, 0x03, 0x03, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff]);
    await rawExchange(port, brokenHello, true);
    const garbage = await rawExchange(port, '\x00\x01garbage\r\n\r\n', true);
    assert.match(garbage, /^HTTP\/1\.1 400/);
    const version = await httpsRequest(`${base}/ora/infoService/info/getAPIVersion`, certificate.cert);
    assert.equal((JSON.parse(version.body) as Envelope).responseCode, 2000);
  });
});

void describe('HttpsWithPlainServer (integration)', () => {
  let dir: string;
  let certificate: CertificatePair;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-https-plain-'));
    certificate = await ensureCertificate(dir, pino({ level: 'silent' }), { commonName: 'localhost' });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function listening(
    tuning: { firstByteTimeoutMs?: number; http?: InnerServerOptions } = {},
  ): Promise<{ server: HttpsWithPlainServer; port: number }> {
    const server = new HttpsWithPlainServer(
      { key: certificate.key, cert: certificate.cert, ...tuning },
      (request, response) => {
        const encrypted = (request.socket as { encrypted?: boolean }).encrypted === true;
        response.end(
          `${encrypted ? 'tls' : 'plain'} ${request.socket.remoteAddress ?? '?'} ${request.url ?? ''}`,
        );
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');
    return { server, port: address.port };
  }

  void it(
    'gives both protocols the client address, and closes with idle keep-alive connections open',
    { timeout: 20_000 },
    async () => {
      // A keep-alive far longer than the test: only closeIdleConnections can end the connections.
      const { server, port } = await listening({ http: { keepAliveTimeout: 600_000 } });
      const { Agent: HttpsAgent } = await import('node:https');
      const { Agent: HttpAgent } = await import('node:http');
      const secureAgent = new HttpsAgent({ keepAlive: true, ca: certificate.cert });
      const plainAgent = new HttpAgent({ keepAlive: true });
      const get = (scheme: 'http' | 'https'): Promise<string> =>
        new Promise((resolve, reject) => {
          const module = scheme === 'https' ? import('node:https') : import('node:http');
          void module.then((m) => {
            const req = m.get(
              `${scheme}://localhost:${port}/x`,
              {
                agent: scheme === 'https' ? secureAgent : plainAgent,
                ...(scheme === 'https' ? { ca: certificate.cert } : {}),
              },
              (res) => {
                let text = '';
                res.setEncoding('utf8');
                res.on('data', (chunk: string) => (text += chunk));
                res.on('end', () => resolve(text));
              },
            );
            req.on('error', reject);
          });
        });
      assert.equal(await get('https'), 'tls 127.0.0.1 /x');
      assert.equal(await get('http'), 'plain 127.0.0.1 /x');
      // Both connections are idle and kept alive now: close() must still end, as fastify's does.
      server.closeIdleConnections();
      await new Promise<void>((resolve, reject) =>
        server.close((error) => (error ? reject(error) : resolve())),
      );
      secureAgent.destroy();
      plainAgent.destroy();
    },
  );

  void it('drops a connection that sends nothing within the first-byte timeout', async () => {
    const { server, port } = await listening({ firstByteTimeoutMs: 100 });
    try {
      const started = Date.now();
      assert.equal(await rawExchange(port, undefined), '');
      assert.ok(Date.now() - started >= 90, 'dropped by the timeout, not at once');
      await waitFor(
        () => new Promise<boolean>((resolve) => server.getConnections((_e, count) => resolve(count === 0))),
        {
          timeoutMs: 5_000,
          what: 'the silent connection to be gone',
        },
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  void it('answers 408 and closes a connection whose headers do not arrive in time, over both protocols', async () => {
    const { server, port } = await listening({
      http: { headersTimeout: 300, connectionsCheckingInterval: 50 },
    });
    try {
      const partial = 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n';
      assert.match(await rawExchange(port, partial), /^HTTP\/1\.1 408/);
      const secureTranscript = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port, ca: certificate.cert, servername: 'localhost' });
        let text = '';
        socket.on('secureConnect', () => socket.write(partial));
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      assert.match(secureTranscript, /^HTTP\/1\.1 408/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
