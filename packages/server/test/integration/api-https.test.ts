import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { ensureCertificate, type CertificatePair } from '../../src/transport/tls-certificate.js';
import { FakeRepository, sampleSession } from '../support/fake-repository.js';
import { addApiUser, buildTestHttpApi } from '../support/http-api-harness.js';

interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One HTTPS request that trusts only the test certificate. */
function httpsRequest(
  url: string,
  ca: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
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
});
