import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { analyseChannel, assertTone, capture } from '../support/cucm-calls.js';
import {
  OUTBOUND_NONCE,
  OUTBOUND_OPAQUE,
  OUTBOUND_PASSWORD,
  OUTBOUND_REALM,
  OUTBOUND_USERNAME,
  outboundDeviceScenario,
  outboundNoAnswerScenario,
  outboundRefusalScenario,
  spawnSippUas,
} from '../support/outbound-calls.js';
import { freeUdpTcpPort } from '../support/ports.js';
import { waitExit } from '../support/processes.js';
import { downloadWav, type SessionJson } from '../support/session-api.js';
import { unlessSippExits, waitForLogged, type SippRun } from '../support/sipp-process.js';
import { serverForSuite, type RunningServer } from '../support/verbatim-server.js';
import { waitFor } from '../support/wait.js';

/**
 * Direct outbound recording as a client uses it: startRecording makes Verbatim call a device
 * through the call controller (`--outbound-proxy`); SIPp plays the controller and the device (a
 * UAS that answers with its audio and replays a tone). The session is recorded as one track whose
 * participant is the device, and ends with stopRecording (Verbatim's BYE) or the device's BYE.
 */

const CONTROL = '/ora/controlService/control';
const TONE_HZ = 700;
const TONE_SECONDS = 3;

let server: RunningServer;
let work: string;
let proxyPort: number;
/** How SIPp listens: the transport of the suite's --outbound-proxy. */
let sippTransport: 'u1' | 't1' = 'u1';
let deviceCounter = 0;

function nextDevice(): string {
  deviceCounter++;
  return `7${String(Date.now() % 100_000).padStart(5, '0')}${deviceCounter}`;
}

/** Resolves once something (SIPp) holds the port: binding it (UDP or TCP, as SIPp listens) fails. */
async function waitForListener(port: number, transport: 'u1' | 't1'): Promise<void> {
  const taken = (): Promise<boolean | undefined> =>
    new Promise((resolve) => {
      if (transport === 't1') {
        const probe = createServer();
        probe.once('error', () => {
          resolve(true);
        });
        probe.listen(port, '127.0.0.1', () => {
          probe.close(() => {
            resolve(undefined);
          });
        });
        return;
      }
      const socket = createSocket('udp4');
      socket.once('error', () => {
        resolve(true);
      });
      socket.bind(port, '127.0.0.1', () => {
        socket.close(() => {
          resolve(undefined);
        });
      });
    });
  await waitFor(taken, { timeoutMs: 10_000, what: `SIPp listening on ${transport} ${port}` });
}

async function device(name: string, scenario: string): Promise<SippRun> {
  const run = await spawnSippUas(name, work, proxyPort, scenario, sippTransport);
  await unlessSippExits(run, waitForListener(proxyPort, sippTransport));
  return run;
}

async function sessionById(sessionId: string, done: (s: SessionJson) => boolean): Promise<SessionJson> {
  return waitFor(
    async () => {
      const answer = await server.api(`/ora/queryService/query/getSessionBySessionId?value=${sessionId}`);
      const session = (answer.responseBody?.sessions as SessionJson[] | undefined)?.[0];
      return session !== undefined && done(session) ? session : undefined;
    },
    { timeoutMs: 15_000, what: `session ${sessionId}` },
  );
}

async function assertRecordedTone(session: SessionJson, deviceRef: string): Promise<void> {
  assert.equal(session.callControllerType, 'Cisco-CUCM');
  assert.equal(session.callControllerIP, '127.0.0.1');
  assert.deepEqual(
    session.tracks.map((t) => [t.trackNumber, t.codec, t.participants.map((p) => p.deviceRef)]),
    [[0, 'PCMU', [deviceRef]]],
    'one track, the device its participant',
  );
  assert.deepEqual(
    session.tracks.map((t) => [t.stats.packets, t.stats.lost]),
    [[(TONE_SECONDS * 1000) / 20, 0]],
  );
  const { wav } = await downloadWav(server, session);
  assertTone(wav.channelSamples[0]!, TONE_HZ, TONE_SECONDS, 'left (the device)');
  assert.equal(analyseChannel(wav.channelSamples[1]!).firstMs, -100, 'the right channel is silent');
}

/** The credentials header value SIPp logged from the INVITE that answered its challenge. */
async function loggedCredentials(sipp: SippRun): Promise<string> {
  await unlessSippExits(sipp, waitForLogged(sipp, 'CREDENTIALS:'));
  const log = await readFile(sipp.logFile, 'utf8');
  const line = /CREDENTIALS:(.*)/.exec(log)?.[1];
  assert.ok(line !== undefined, 'sipp logged the credentials');
  return line.trim();
}

/**
 * The digest of RFC 2617 §3.2.2.1 computed here from the logged parameters, independently of
 * protocol/sip/digest.ts: MD5(HA1:nonce:nc:cnonce:qop:HA2) with HA2 over INVITE and the uri.
 */
function assertDigest(credentials: string, deviceRef: string): void {
  const param = (name: string): string => {
    const match = new RegExp(`(?:^|[ ,])${name}="?([^",]*)"?`).exec(credentials);
    assert.ok(match?.[1] !== undefined, `${name} in ${credentials}`);
    return match[1];
  };
  const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
  assert.equal(param('username'), OUTBOUND_USERNAME);
  assert.equal(param('realm'), OUTBOUND_REALM);
  assert.equal(param('nonce'), OUTBOUND_NONCE);
  assert.equal(param('opaque'), OUTBOUND_OPAQUE);
  assert.equal(param('qop'), 'auth');
  assert.equal(param('uri'), `sip:${deviceRef}@127.0.0.1:${proxyPort}`);
  const ha1 = md5(`${OUTBOUND_USERNAME}:${OUTBOUND_REALM}:${OUTBOUND_PASSWORD}`);
  const ha2 = md5(`INVITE:${param('uri')}`);
  assert.equal(
    param('response'),
    md5(`${ha1}:${OUTBOUND_NONCE}:${param('nc')}:${param('cnonce')}:auth:${ha2}`),
    `the digest of ${credentials}`,
  );
}

describe(
  'direct outbound recording (startRecording / stopRecording, sipp as controller and device)',
  { timeout: 180_000 },
  () => {
    serverForSuite(
      'outbound',
      async () => {
        proxyPort = await freeUdpTcpPort();
        return {
          mediaTimeoutSeconds: 10,
          extraArgs: [
            '--outbound-proxy',
            `sip:127.0.0.1:${proxyPort}`,
            '--outbound-username',
            OUTBOUND_USERNAME,
            '--outbound-answer-timeout',
            '5',
          ],
          env: { VERBATIM_OUTBOUND_PASSWORD: OUTBOUND_PASSWORD },
        };
      },
      (suite) => {
        ({ server, work } = suite);
      },
    );

    it('startRecording calls the device and records its tone; stopRecording ends the call with BYE', async () => {
      const deviceRef = nextDevice();
      const sipp = await device(
        'outbound-answer',
        outboundDeviceScenario({
          device: deviceRef,
          pcapPath: capture(work, 'outbound-answer', 'PCMU', TONE_HZ, TONE_SECONDS),
          playMs: TONE_SECONDS * 1000 + 300,
          ending: 'await-bye',
        }),
      );
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 2000, JSON.stringify(started));
      const sessionId = started.responseBody?.sessionId as string;
      assert.match(sessionId, /^[0-9a-f]{16}$/);
      assert.equal(started.responseBody?.deviceRef, deviceRef);

      const active = await sessionById(sessionId, () => true);
      assert.equal(active.sessionState, 'ACTIVE');
      const again = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(again.responseCode, 4043, 'a second startRecording of the device is refused');
      assert.equal(again.responseBody?.sessionId, sessionId);

      await unlessSippExits(sipp, waitForLogged(sipp, 'MEDIA-SENT:'));
      const stopped = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } });
      assert.equal(stopped.responseCode, 2000, JSON.stringify(stopped));
      assert.equal(stopped.responseBody?.sessionId, sessionId);
      assert.equal(
        await waitExit(sipp.sipp, 10_000),
        0,
        `sipp saw the BYE and answered it:\n${sipp.sipp.output()}`,
      );

      const closed = await sessionById(sessionId, (s) => s.sessionState !== 'ACTIVE');
      assert.equal(closed.sessionState, 'CLOSED_NORMAL');
      await assertRecordedTone(closed, deviceRef);

      const twice = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } });
      assert.equal(twice.responseCode, 4041, 'nothing left to stop');
    });

    it("answers the controller's 407 challenge with Proxy-Authorization (digest MD5, qop=auth)", async () => {
      const deviceRef = nextDevice();
      const sipp = await device(
        'outbound-407',
        outboundDeviceScenario({
          device: deviceRef,
          pcapPath: capture(work, 'outbound-407', 'PCMU', TONE_HZ, TONE_SECONDS),
          playMs: TONE_SECONDS * 1000 + 300,
          challenge: 407,
          ending: 'await-bye',
        }),
      );
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 2000, `${JSON.stringify(started)}\n${sipp.sipp.output()}`);
      // SIPp 3.6's verifyauth reads only Authorization: the test checks the digest it logged.
      assertDigest(await loggedCredentials(sipp), deviceRef);
      await unlessSippExits(sipp, waitForLogged(sipp, 'MEDIA-SENT:'));
      const sessionId = started.responseBody?.sessionId as string;
      const stopped = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { sessionId } });
      assert.equal(stopped.responseCode, 2000, JSON.stringify(stopped));
      assert.equal(stopped.responseBody?.deviceRef, deviceRef);
      assert.equal(await waitExit(sipp.sipp, 10_000), 0, sipp.sipp.output());
      const closed = await sessionById(sessionId, (s) => s.sessionState !== 'ACTIVE');
      assert.equal(closed.sessionState, 'CLOSED_NORMAL');
      await assertRecordedTone(closed, deviceRef);
    });

    it('answers a 401 challenge with Authorization, which sipp verifies (verifyauth)', async () => {
      const deviceRef = nextDevice();
      const sipp = await device(
        'outbound-401',
        outboundDeviceScenario({
          device: deviceRef,
          pcapPath: capture(work, 'outbound-401', 'PCMU', TONE_HZ, TONE_SECONDS),
          playMs: TONE_SECONDS * 1000 + 300,
          challenge: 401,
          ending: 'hang-up',
        }),
      );
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 2000, `${JSON.stringify(started)}\n${sipp.sipp.output()}`);
      assertDigest(await loggedCredentials(sipp), deviceRef);
      assert.equal(await waitExit(sipp.sipp, 20_000), 0, sipp.sipp.output());
      const closed = await sessionById(
        started.responseBody?.sessionId as string,
        (s) => s.sessionState !== 'ACTIVE',
      );
      assert.equal(closed.sessionState, 'CLOSED_NORMAL');
    });

    it('reports a busy device (486) in the response, with the SIP status', async () => {
      const deviceRef = nextDevice();
      const sipp = await device('outbound-busy', outboundRefusalScenario(486, 'Busy Here'));
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 4072, `${JSON.stringify(started)}\n${sipp.sipp.output()}`);
      assert.equal(started.responseMessage, 'Failure: The device is busy.');
      assert.equal(started.responseBody?.sipStatus, 486);
      assert.match(started.detail ?? '', /486 Busy Here/);
      assert.equal(
        await waitExit(sipp.sipp, 10_000),
        0,
        `sipp got the ACK of its 486:\n${sipp.sipp.output()}`,
      );
      const stop = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } });
      assert.equal(stop.responseCode, 4041);
    });

    it('the device hangs up first: the session closes CLOSED_NORMAL with the tone', async () => {
      const deviceRef = nextDevice();
      const sipp = await device(
        'outbound-hang-up',
        outboundDeviceScenario({
          device: deviceRef,
          pcapPath: capture(work, 'outbound-hang-up', 'PCMU', TONE_HZ, TONE_SECONDS),
          playMs: TONE_SECONDS * 1000 + 300,
          ending: 'hang-up',
        }),
      );
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 2000, JSON.stringify(started));
      assert.equal(
        await waitExit(sipp.sipp, 20_000),
        0,
        `Verbatim answered the device's BYE:\n${sipp.sipp.output()}`,
      );
      const sessionId = started.responseBody?.sessionId as string;
      const closed = await sessionById(sessionId, (s) => s.sessionState !== 'ACTIVE');
      assert.equal(closed.sessionState, 'CLOSED_NORMAL');
      await assertRecordedTone(closed, deviceRef);
      const stop = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } });
      assert.equal(stop.responseCode, 4041, 'the hang-up freed the device');
    });

    it('CANCELs a device that rings past the answer timeout and reports no answer', async () => {
      const deviceRef = nextDevice();
      const sipp = await device('outbound-no-answer', outboundNoAnswerScenario());
      const startedAt = Date.now();
      const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
      assert.equal(started.responseCode, 4073, `${JSON.stringify(started)}\n${sipp.sipp.output()}`);
      assert.equal(started.responseMessage, 'Failure: The device did not answer.');
      assert.ok(Date.now() - startedAt >= 5000, 'answered at the 5 s answer timeout');
      assert.match(started.detail ?? '', /not answered within 5 s/);
      assert.equal(
        await waitExit(sipp.sipp, 10_000),
        0,
        `sipp got the CANCEL and the ACK of its 487:\n${sipp.sipp.output()}`,
      );
      assert.equal(
        (await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } })).responseCode,
        4041,
      );
    });

    it('refuses bad requests with a clear envelope', async () => {
      const missing = await server.api(`${CONTROL}/startRecording`, { requestParameters: {} });
      assert.equal(missing.responseCode, 4002);
      const bad = await server.api(`${CONTROL}/startRecording`, {
        requestParameters: { deviceRef: '10 00<' },
      });
      assert.equal(bad.responseCode, 4001);
      assert.match(bad.detail ?? '', /deviceRef/);
    });
  },
);

describe('direct outbound recording on a node without --outbound-proxy', { timeout: 60_000 }, () => {
  let plain: RunningServer;
  serverForSuite('outbound-off', {}, (suite) => {
    plain = suite.server;
  });

  it('answers startRecording with 4070 and a detail naming the option', async () => {
    const answer = await plain.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef: '1000' } });
    assert.equal(answer.responseCode, 4070);
    assert.equal(
      answer.responseMessage,
      'Failure: Direct outbound recording is not configured on this node.',
    );
    assert.match(answer.detail ?? '', /--outbound-proxy/);
  });
});

describe('direct outbound recording over TCP', { timeout: 120_000 }, () => {
  serverForSuite(
    'outbound-tcp',
    async () => {
      proxyPort = await freeUdpTcpPort();
      sippTransport = 't1';
      return {
        mediaTimeoutSeconds: 10,
        extraArgs: [
          '--outbound-proxy',
          `sip:127.0.0.1:${proxyPort};transport=tcp`,
          '--outbound-answer-timeout',
          '5',
        ],
      };
    },
    (suite) => {
      ({ server, work } = suite);
    },
  );

  it('reports a controller that refuses the connection at once (unreachable)', async () => {
    const startedAt = Date.now();
    const answer = await server.api(`${CONTROL}/startRecording`, {
      requestParameters: { deviceRef: nextDevice() },
    });
    assert.equal(answer.responseCode, 4076, JSON.stringify(answer));
    assert.equal(answer.responseMessage, 'Failure: The call controller could not be reached.');
    assert.match(answer.detail ?? '', /over TCP/);
    assert.ok(Date.now() - startedAt < 4000, 'before the answer timeout: the refused connection is reported');
  });

  it('records the device over TCP and ends with stopRecording', async () => {
    const deviceRef = nextDevice();
    const sipp = await device(
      'outbound-tcp',
      outboundDeviceScenario({
        device: deviceRef,
        pcapPath: capture(work, 'outbound-tcp', 'PCMU', TONE_HZ, TONE_SECONDS),
        playMs: TONE_SECONDS * 1000 + 300,
        ending: 'await-bye',
      }),
    );
    const started = await server.api(`${CONTROL}/startRecording`, { requestParameters: { deviceRef } });
    assert.equal(started.responseCode, 2000, `${JSON.stringify(started)}\n${sipp.sipp.output()}`);
    await unlessSippExits(sipp, waitForLogged(sipp, 'MEDIA-SENT:'));
    const stopped = await server.api(`${CONTROL}/stopRecording`, { requestParameters: { deviceRef } });
    assert.equal(stopped.responseCode, 2000, JSON.stringify(stopped));
    assert.equal(await waitExit(sipp.sipp, 10_000), 0, sipp.sipp.output());
    const closed = await sessionById(
      started.responseBody?.sessionId as string,
      (s) => s.sessionState !== 'ACTIVE',
    );
    assert.equal(closed.sessionState, 'CLOSED_NORMAL');
    await assertRecordedTone(closed, deviceRef);
  });
});
