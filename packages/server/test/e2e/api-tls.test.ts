import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { certificatePaths } from '../../src/transport/tls-certificate.js';
import { readWavSamples } from '../support/audio.js';
import { assertTone, capture } from '../support/cucm-calls.js';
import { genericSipScenario, runGenericCall } from '../support/generic-calls.js';
import { findSessionBy } from '../support/session-api.js';
import { ADMIN_PASSWORD, serverForSuite, type RunningServer } from '../support/verbatim-server.js';

/**
 * The API port as a node runs by default: HTTPS with the certificate it generated on first start,
 * and plain HTTP on the same port for getAPIVersion alone (MediaSense: "the one API that accepts
 * HTTP or HTTPS"). curl is the client; it verifies the node's certificate, as a client that was
 * given it would.
 */

const run = promisify(execFile);
const TONE_HZ = 700;
const TONE_SECONDS = 2;

let server: RunningServer;
let work: string;

interface CurlAnswer {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

/** One curl request; `-D` writes the response headers to a file read back beside the body. */
async function curl(url: string, args: readonly string[] = []): Promise<CurlAnswer> {
  const headersFile = join(work, `headers-${Math.random().toString(16).slice(2)}.txt`);
  const caArgs = url.startsWith('https:') ? ['--cacert', certificatePaths(server.dataDir).certPath] : [];
  const { stdout } = await run(
    'curl',
    ['--silent', '--show-error', '--max-time', '20', '-D', headersFile, ...caArgs, ...args, url],
    { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 },
  );
  const headers = await readFile(headersFile, 'latin1');
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(headers)?.[1]);
  return { status, headers, body: stdout };
}

function envelopeOf(answer: CurlAnswer): { responseCode: number; responseBody?: Record<string, unknown> } {
  return JSON.parse(answer.body) as { responseCode: number; responseBody?: Record<string, unknown> };
}

describe(
  'the API port under TLS, HTTPS and plain HTTP on one port (curl, verbatim serve)',
  { timeout: 120_000 },
  () => {
    serverForSuite('api-tls', { tls: true }, (suite) => {
      ({ server, work } = suite);
    });

    const plainUrl = (path: string): string => `http://127.0.0.1:${server.httpPort}${path}`;
    const secureUrl = (path: string): string => `https://127.0.0.1:${server.httpPort}${path}`;
    const VERSION = '/ora/infoService/info/getAPIVersion';
    const SIGN_IN = '/ora/authenticationService/authentication/signIn';

    it('answers getAPIVersion over plain HTTP and over HTTPS alike', async () => {
      const secure = await curl(secureUrl(VERSION));
      const plain = await curl(plainUrl(VERSION));
      assert.equal(plain.status, 200);
      assert.equal(envelopeOf(plain).responseCode, 2000);
      assert.equal(envelopeOf(plain).responseBody?.['apiVersion'], '1.4');
      assert.deepEqual(envelopeOf(plain), envelopeOf(secure));
    });

    it('refuses a sign-in sent in the clear, and signs in over HTTPS with a Secure cookie', async () => {
      const body = JSON.stringify({ requestParameters: { username: 'admin', password: ADMIN_PASSWORD } });
      const post = ['-X', 'POST', '-H', 'content-type: application/json', '--data', body];
      const plain = await curl(plainUrl(SIGN_IN), post);
      assert.equal(envelopeOf(plain).responseCode, 4023);
      assert.doesNotMatch(plain.headers, /set-cookie/i, 'no session is opened in the clear');
      const secure = await curl(secureUrl(SIGN_IN), post);
      assert.equal(envelopeOf(secure).responseCode, 2000);
      assert.match(secure.headers, /set-cookie: JSESSIONID=[^;\r\n]+;.*Secure/i);
    });

    it('records a call whose WAV downloads over HTTPS; its plain HTTP address leads there', async () => {
      const { callId } = await runGenericCall(server, work, {
        name: 'api-tls',
        scenario: genericSipScenario({
          fromUser: '2001',
          toUser: '3001',
          audioLines: 1,
          pcapPath: capture(work, 'api-tls', 'PCMU', TONE_HZ, TONE_SECONDS),
          holdMs: TONE_SECONDS * 1000 + 300,
        }),
        holdMs: TONE_SECONDS * 1000 + 300,
      });
      const session = await findSessionBy(server, 'ccid', callId, (s) => s.sessionState !== 'ACTIVE');
      const wavUrl = session.urls.wavUrl;
      assert.equal(wavUrl, secureUrl(`/recordedMedia/oramedia/wav/${session.sessionId}.wav`));

      const wav = await curl(wavUrl, ['-b', `JSESSIONID=${server.jsessionId}`]);
      assert.equal(wav.status, 200);
      const samples = readWavSamples(Buffer.from(wav.body, 'latin1'));
      assertTone(samples.channelSamples[0]!, TONE_HZ, TONE_SECONDS, 'track 0 over HTTPS');

      const redirected = await curl(wavUrl.replace(/^https:/, 'http:'));
      assert.equal(redirected.status, 308);
      assert.match(
        redirected.headers,
        new RegExp(`location: ${wavUrl.replace(/[.?]/g, '\\$&')}\\r?\\n`, 'i'),
      );
    });

    it('counts the plain requests it refused in /metrics', async () => {
      const metrics = await curl(secureUrl('/metrics'), ['-b', `JSESSIONID=${server.jsessionId}`]);
      assert.equal(metrics.status, 200);
      const count = Number(
        /verbatim_api_requests_refused_total\{reason="https-required"\} (\d+)/.exec(metrics.body)?.[1],
      );
      assert.ok(count >= 2, `https-required refusals counted (${count})`);
    });
  },
);
