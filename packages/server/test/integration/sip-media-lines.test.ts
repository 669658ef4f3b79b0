import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { openRepository } from '../../src/db/index.js';
import type { Repository } from '../../src/db/repository.js';
import type { RtpMediaEngine } from '../../src/media/create-media-engine.js';
import { getHeader, type SipResponse } from '../../src/protocol/sip/message.js';
import { MAX_MEDIA_LINES_PER_OFFER } from '../../src/recording/invite-planner.js';
import { RecordingService } from '../../src/recording/recording-service.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import { loopbackMediaEngine } from '../support/loopback-media.js';
import { waitFor } from '../support/wait.js';
import { loopbackSipServer, toTagOf } from '../unit/sip/support/loopback-sip-server.js';
import { UdpClient } from '../unit/sip/support/raw-clients.js';
import { CallScript } from '../unit/sip/support/sip-messages.js';

/**
 * The m= line limit end to end (issue 9 point 4): an INVITE over real UDP to the SIP server,
 * RecordingService, media engine and SQLite. An offer of 1,000 m= lines used to open a 1,001-track
 * session holding 1,000 port pairs; now it gets 488 with a Warning and nothing is allocated.
 */

/** A generic SIP trunk's request: CallScript's From parameters make a CUCM leg of one line. */
function generic(message: string): string {
  return message.replace(';x-nearend;x-refci=38960750', '');
}

function offerWith(lines: number): string {
  const media = Array.from({ length: lines }, (_, i) =>
    [`m=audio ${24000 + 2 * i} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendonly'].join('\r\n'),
  );
  return ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', ...media, ''].join('\r\n');
}

void describe('media lines per offer over UDP with a real recording service', () => {
  let dir: string;
  let repository: Repository;
  let engine: RtpMediaEngine;
  let recording: RecordingService;
  let sip: SipServer;
  let sipPort: number;
  let client: UdpClient;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-mlines-'));
    repository = await openRepository({ kind: 'sqlite', path: join(dir, 'verbatim.db') });
    await repository.migrate();
    engine = (await loopbackMediaEngine()).engine;
    let id = 0;
    recording = new RecordingService({
      repository,
      media: engine,
      mediaDir: join(dir, 'media'),
      advertise: '127.0.0.1',
      nodeId: 'node-a',
      logger: pino({ level: 'silent' }),
      newSessionId: () => `mln${String(++id).padStart(13, '0')}`,
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

  async function finalTo(call: CallScript, cseq: number): Promise<SipResponse> {
    return waitFor(
      () =>
        client.received
          .map((r) => r.message)
          .find(
            (m): m is SipResponse =>
              m.type === 'response' &&
              m.status >= 200 &&
              getHeader(m, 'Call-ID') === call.callId &&
              getHeader(m, 'CSeq') === `${cseq} INVITE`,
          ),
      { timeoutMs: 5000, what: `final response to ${call.callId} CSeq ${cseq}` },
    );
  }

  void it('answers an INVITE of 1,000 m= lines 488 with a Warning, counted, with no port, file or row', async () => {
    const call = new CallScript(client.port);
    await client.send(generic(call.invite({ body: offerWith(1000) })), sipPort);
    const response = await finalTo(call, 101);
    await client.send(call.ackForFailure(toTagOf(response)), sipPort);
    assert.equal(response.status, 488);
    assert.equal(response.reason, 'Not Acceptable Here');
    assert.equal(
      getHeader(response, 'Warning'),
      `399 127.0.0.1 "Too many media lines: 1000 m= lines, at most ${MAX_MEDIA_LINES_PER_OFFER}"`,
    );
    assert.equal(recording.counters.rejected, 1);
    assert.equal(recording.admission().refusals['invalid-request'], 1, 'counted as a refusal');
    assert.equal(engine.counters().streamsOpened, 0, 'no port opened');
    assert.equal(recording.activeSessionCount, 0);
    await recording.settled();
    assert.equal(await repository.getSession('mln0000000000001'), undefined, 'no row');
    assert.equal(existsSync(join(dir, 'media')), false, 'no file');
  });

  void it(`records an offer of ${MAX_MEDIA_LINES_PER_OFFER} lines and refuses a re-offer growing past it, keeping the session`, async () => {
    const call = new CallScript(client.port);
    await client.send(generic(call.invite({ body: offerWith(MAX_MEDIA_LINES_PER_OFFER) })), sipPort);
    const ok = await finalTo(call, 101);
    assert.equal(ok.status, 200);
    const toTag = toTagOf(ok);
    await client.send(generic(call.ackFor2xx(toTag)), sipPort);
    assert.equal(engine.counters().streamsOpened, MAX_MEDIA_LINES_PER_OFFER);

    const reoffer = call.inDialog('INVITE', toTag, 102, { body: offerWith(MAX_MEDIA_LINES_PER_OFFER + 1) });
    await client.send(generic(reoffer), sipPort);
    const refused = await finalTo(call, 102);
    assert.equal(refused.status, 488);
    assert.match(
      getHeader(refused, 'Warning') ?? '',
      /^399 127\.0\.0\.1 "Too many media lines: 17 m= lines, at most 16"$/,
    );
    assert.equal(engine.counters().streamsOpened, MAX_MEDIA_LINES_PER_OFFER, 'no stream added');
    assert.equal(recording.activeSessionCount, 1, 'the call goes on');
    // The ACK of a non-2xx re-INVITE: its branch and CSeq number (RFC 3261 §17.1.1.3).
    const branch = /branch=([^;\r]+)/.exec(reoffer)?.[1] ?? '';
    const ack = call.inDialog('ACK', toTag, 102).replace(/branch=[^;\r]+/, `branch=${branch}`);
    await client.send(generic(ack), sipPort);
  });
});
