import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import type { MediaEngine, MediaLoad } from '../../src/media/media-engine.js';
import type { VerbatimEvent } from '../../src/model/events.js';
import { getHeader, type SipResponse } from '../../src/protocol/sip/message.js';
import { LagProbe } from '../../src/media/lag-probe.js';
import { RecordingService } from '../../src/recording/recording-service.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import { loopbackMediaEngine } from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';
import { loopbackSipServer, toTagOf } from '../unit/sip/support/loopback-sip-server.js';
import { UdpClient } from '../unit/sip/support/raw-clients.js';
import { randomId } from '../unit/sip/support/sip-messages.js';

/**
 * Admission control end to end inside one process (issue 8 point 2): INVITEs over UDP to the real
 * SIP server, RecordingService, media engine and SQLite repository; only the media engine's load
 * is set by the test. While the workers lag, new calls get 503 with Retry-After, a REJECTED event
 * and a count by reason; when the lag is gone they are recorded again.
 */

const SAMPLE_MS = 20;
const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  'c=IN IP4 127.0.0.1',
  't=0 0',
  'm=audio 24580 RTP/AVP 0',
  'a=rtpmap:0 PCMU/8000',
  'a=sendonly',
  '',
].join('\r\n');

interface Dialog {
  readonly callId: string;
  readonly branch: string;
  readonly fromTag: string;
}

/** A request of a generic early-offer call as a SIP trunk sends it (one session per call). */
function request(
  method: 'INVITE' | 'ACK',
  dialog: Dialog,
  ports: { via: number; sip: number },
  toTag?: string,
): string {
  const body = method === 'INVITE' ? OFFER : '';
  return [
    `${method} sip:rec@127.0.0.1:${ports.sip} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${ports.via};branch=${dialog.branch}`,
    `From: <sip:caller@127.0.0.1>;tag=${dialog.fromTag}`,
    `To: <sip:rec@127.0.0.1>${toTag === undefined ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${dialog.callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:caller@127.0.0.1:${ports.via}>`,
    'Max-Forwards: 70',
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${Buffer.byteLength(body)}`,
    '',
    body,
  ].join('\r\n');
}

void describe('admission control over UDP with a real recording service', () => {
  let dir: string;
  let repository: Repository;
  let engine: RtpMediaEngine;
  let recording: RecordingService;
  let sip: SipServer;
  let sipPort: number;
  let client: UdpClient;
  const events: VerbatimEvent[] = [];
  const load: { -readonly [K in keyof MediaLoad]: MediaLoad[K] } = {
    workerLagMs: 0,
    workerMaxWaitMs: 0,
    kernelReceiveDrops: 0,
    pendingWriteBytes: 0,
    streams: 0,
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-admission-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    engine = (await loopbackMediaEngine()).engine;
    // The real engine, but for the load it reports.
    const media = new Proxy(engine, {
      get(target, property, receiver) {
        if (property === 'load') {
          return (): MediaLoad => ({ ...load });
        }
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    }) as MediaEngine;
    let id = 0;
    recording = new RecordingService({
      repository,
      media,
      mediaDir: join(dir, 'media'),
      advertise: '127.0.0.1',
      nodeId: 'node-a',
      logger: pino({ level: 'silent' }),
      newSessionId: () => `adm${String(++id).padStart(13, '0')}`,
      events: { publish: (event) => events.push(event) },
      admission: { enabled: true, maxLagMs: 200, sampleIntervalMs: SAMPLE_MS, mainThread: new LagProbe() },
    });
    sip = loopbackSipServer(recording);
    sipPort = (await sip.start()).udpPort;
    client = await UdpClient.open();
  });

  after(async () => {
    await recording.close();
    await sip.close();
    await engine.close();
    await repository.close();
    await client.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends an INVITE and returns its final response (ACKed when it is a failure, RFC 3261 §17.1.1.3). */
  async function call(): Promise<SipResponse> {
    const dialog: Dialog = {
      callId: `${randomId()}@127.0.0.1`,
      branch: `z9hG4bK${randomId()}`,
      fromTag: randomId(),
    };
    const ports = { via: client.port, sip: sipPort };
    await client.send(request('INVITE', dialog, ports), sipPort);
    const final = await waitFor(
      () =>
        client.received
          .map((r) => r.message)
          .find(
            (m): m is SipResponse =>
              m.type === 'response' && m.status >= 200 && getHeader(m, 'Call-ID') === dialog.callId,
          ),
      { timeoutMs: 5000, what: `final response to ${dialog.callId}` },
    );
    if (final.status >= 300) {
      await client.send(request('ACK', dialog, ports, toTagOf(final)), sipPort);
    }
    return final;
  }

  const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

  void it('records a call while the node has headroom', async () => {
    const response = await call();
    assert.equal(response.status, 200);
    assert.equal(recording.admission().level, 'open');
  });

  void it('answers 503 with Retry-After while the media workers lag, counts and publishes the refusal', async () => {
    load.workerLagMs = 450;
    await pause(SAMPLE_MS * 2);
    const response = await call();
    assert.equal(response.status, 503);
    assert.equal(getHeader(response, 'Retry-After'), '10');
    const snapshot = recording.admission();
    assert.equal(snapshot.level, 'refusing');
    assert.equal(snapshot.refusals['media-lag'], 1);
    assert.equal(snapshot.sample?.workerLagMs, 450);
    const rejected = events.filter((e) => e.eventType === 'RECORDING_EVENT' && e.eventAction === 'REJECTED');
    assert.equal(rejected.length, 1);
    assert.ok(rejected[0] !== undefined);
    assert.equal(rejected[0].sipStatus, 503);
    assert.equal(rejected[0].reason, 'no headroom: media workers lagging (media-lag)');
    assert.equal(recording.activeSessionCount, 1, 'the call in progress goes on');
  });

  void it('takes calls again once the lag is gone', async () => {
    load.workerLagMs = 3;
    await pause(SAMPLE_MS * 2);
    const response = await call();
    assert.equal(response.status, 200);
    // Back to open after the calm samples.
    await waitFor(
      async () => {
        await pause(SAMPLE_MS);
        return recording.admission().level === 'open' ? true : undefined;
      },
      { timeoutMs: 5000, what: 'admission open again' },
    );
    assert.equal(recording.activeSessionCount, 2);
    await recording.settled();
    assert.ok(await repository.getSession('adm0000000000001'));
    assert.ok(await repository.getSession('adm0000000000002'));
    assert.equal(await repository.getSession('adm0000000000003'), undefined, 'the refused call has none');
  });
});
