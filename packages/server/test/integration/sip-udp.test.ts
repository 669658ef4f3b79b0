import { describe, it, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { getHeader, type SipRequest } from '../../src/protocol/sip/message.js';
import { decodeUtf8 } from '../../src/protocol/text.js';
import type { SipServer } from '../../src/sip/sip-server.js';
import type { IncomingInvite } from '../../src/sip/types.js';
import { acceptWithOffer, loopbackSipServer, toTagOf } from '../unit/sip/support/loopback-sip-server.js';
import { UdpClient } from '../unit/sip/support/raw-clients.js';
import { waitFor } from '../support/wait.js';
import {
  ANSWER_SDP,
  CallScript,
  OFFER_SDP,
  freshOptions,
  randomId,
  sipRequest,
} from '../unit/sip/support/sip-messages.js';

describe('SIP server over real UDP sockets', () => {
  let server: SipServer;
  let port = 0;
  let trusted = true;
  let client: UdpClient;
  const invites: IncomingInvite[] = [];
  const acks: SipRequest[] = [];
  const byes: SipRequest[] = [];
  /** Call-IDs whose INVITE the test answers itself. */
  const heldCalls = new Set<string>();

  before(async () => {
    server = loopbackSipServer(
      {
        onInvite: (invite) => {
          invites.push(invite);
          if (heldCalls.has(invite.callId)) {
            return;
          }
          acceptWithOffer(invite, { onAck: (ack) => acks.push(ack), onBye: (bye) => byes.push(bye) });
        },
      },
      { isTrusted: () => trusted, userAgent: 'Verbatim/test' },
    );
    const ports = await server.start();
    port = ports.udpPort;
    assert.equal(ports.tcpPort, ports.udpPort, 'UDP and TCP share the port number');
  });

  after(async () => {
    await server.close();
  });

  afterEach(async () => {
    trusted = true;
    await client.close();
  });

  it('answers a delayed-offer INVITE with 100 and a 200 retransmitted at growing intervals until the ACK, whose body reaches onAck', async () => {
    client = await UdpClient.open();
    const call = new CallScript(client.port);
    await client.send(call.invite(), port);
    await client.waitForResponse(100, 'INVITE');
    const ok = await client.waitForResponse(200, 'INVITE');
    assert.equal(getHeader(ok, 'Content-Type'), 'application/sdp');
    assert.equal(decodeUtf8(ok.body), OFFER_SDP);
    assert.equal(getHeader(ok, 'Contact'), `<sip:verbatim@127.0.0.1:${port};transport=udp>`);
    await client.waitForResponse(200, 'INVITE', 3, 4000);
    const times = client.received
      .filter((r) => r.message.type === 'response' && r.message.status === 200)
      .map((r) => r.atMs);
    const [t0 = 0, t1 = 0, t2 = 0] = times;
    assert.ok(t1 - t0 >= 400, `first retransmission after about T1 (${t1 - t0} ms)`);
    assert.ok(t2 - t1 >= 1.5 * (t1 - t0), `the interval grows (${t1 - t0} ms then ${t2 - t1} ms)`);
    await client.send(call.ackFor2xx(toTagOf(ok), ANSWER_SDP), port);
    const ack = await waitFor(() => acks.find((a) => getHeader(a, 'Call-ID') === call.callId), {
      timeoutMs: 2000,
      what: 'onAck',
    });
    assert.equal(decodeUtf8(ack.body), ANSWER_SDP);
  });

  it('absorbs a retransmitted INVITE: the delegate sees it once', async () => {
    client = await UdpClient.open();
    const call = new CallScript(client.port);
    heldCalls.add(call.callId);
    await client.send(call.invite(), port);
    await client.waitForResponse(100, 'INVITE');
    await client.send(call.invite(), port);
    await client.waitForResponse(100, 'INVITE', 2);
    assert.equal(invites.filter((i) => i.callId === call.callId).length, 1);
    invites.find((i) => i.callId === call.callId)?.reject(480, 'Temporarily Unavailable');
    const rejected = await client.waitForResponse(480, 'INVITE');
    await client.send(call.ackForFailure(toTagOf(rejected)), port);
  });

  it('answers CANCEL before the answer with 200 and the INVITE with 487', async () => {
    client = await UdpClient.open();
    const call = new CallScript(client.port);
    heldCalls.add(call.callId);
    let cancelled = false;
    await client.send(call.invite(), port);
    await client.waitForResponse(100, 'INVITE');
    const invite = invites.find((i) => i.callId === call.callId);
    assert.ok(invite, 'delegate got the INVITE');
    invite.oncancel = () => {
      cancelled = true;
    };
    await client.send(call.cancel(), port);
    await client.waitForResponse(200, 'CANCEL');
    const terminated = await client.waitForResponse(487, 'INVITE');
    assert.equal(cancelled, true);
    await client.send(call.ackForFailure(toTagOf(terminated)), port);
  });

  it('answers BYE in a dialog with 200 and calls onBye; a BYE for an unknown dialog gets 481', async () => {
    client = await UdpClient.open();
    const call = new CallScript(client.port);
    await client.send(call.invite(), port);
    const ok = await client.waitForResponse(200, 'INVITE');
    await client.send(call.ackFor2xx(toTagOf(ok), ANSWER_SDP), port);
    await client.send(call.inDialog('BYE', toTagOf(ok), 102), port);
    await client.waitForResponse(200, 'BYE');
    await waitFor(() => byes.some((b) => getHeader(b, 'Call-ID') === call.callId), {
      timeoutMs: 2000,
      what: 'onBye',
    });
    const stranger = new CallScript(client.port);
    await client.send(stranger.inDialog('BYE', 'unknown', 2), port);
    await client.waitForResponse(481, 'BYE');
  });

  it('answers OPTIONS 200, REGISTER 405 and an unknown method 501', async () => {
    client = await UdpClient.open();
    const base = { callId: randomId(), fromTag: randomId(), cseq: 1, viaPort: client.port };
    await client.send(sipRequest({ ...base, method: 'OPTIONS', branch: `z9hG4bK${randomId()}` }), port);
    const options = await client.waitForResponse(200, 'OPTIONS');
    assert.equal(getHeader(options, 'Accept'), 'application/sdp');
    assert.equal(getHeader(options, 'Server'), 'Verbatim/test');
    await client.send(sipRequest({ ...base, method: 'REGISTER', branch: `z9hG4bK${randomId()}` }), port);
    const register = await client.waitForResponse(405, 'REGISTER');
    assert.ok(getHeader(register, 'Allow') !== undefined, 'a 405 carries Allow');
    await client.send(sipRequest({ ...base, method: 'FOO', branch: `z9hG4bK${randomId()}` }), port);
    await client.waitForResponse(501, 'FOO');
  });

  it('counts garbage and truncated datagrams without crashing and still answers afterwards', async () => {
    client = await UdpClient.open();
    const before = server.counters();
    await client.send(Uint8Array.from([0, 1, 2, 3, 255, 254]), port);
    const full = new CallScript(client.port).invite({ body: OFFER_SDP });
    await client.send(full.slice(0, 60), port);
    await client.send(full.slice(0, full.length - 40), port);
    await waitFor(() => (server.counters().malformed ?? 0) >= (before.malformed ?? 0) + 3, {
      timeoutMs: 2000,
      what: 'malformed counted',
    });
    const truncated = await client.waitForResponse(400, 'INVITE');
    assert.match(getHeader(truncated, 'Warning') ?? '', /^399 /);
    await client.send(freshOptions(client.port), port);
    await client.waitForResponse(200, 'OPTIONS');
    assert.ok(
      (server.counters().dropped ?? 0) >= (before.dropped ?? 0) + 2,
      'garbage and the cut start line are dropped',
    );
  });

  it('answers 403 to an INVITE from an untrusted address without calling the delegate', async () => {
    client = await UdpClient.open();
    trusted = false;
    const call = new CallScript(client.port);
    await client.send(call.invite(), port);
    const forbidden = await client.waitForResponse(403, 'INVITE');
    assert.equal(
      invites.some((i) => i.callId === call.callId),
      false,
    );
    await client.send(call.ackForFailure(toTagOf(forbidden)), port);
  });
});
