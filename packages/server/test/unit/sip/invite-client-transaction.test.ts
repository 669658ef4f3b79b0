import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { getHeader, type SipRequest, type SipResponse } from '../../../src/protocol/sip/message.js';
import { buildRequest, buildResponse } from '../../../src/protocol/sip/serialize.js';
import { InviteClientTransaction } from '../../../src/sip/invite-client-transaction.js';
import { T1_MS, TIMER_D_MS, TIMER_M_MS } from '../../../src/sip/timers.js';
import { FakeClock } from './support/fake-clock.js';

const INVITE: SipRequest = buildRequest({
  method: 'INVITE',
  requestUri: 'sip:1000@10.0.0.5',
  via: 'SIP/2.0/UDP 10.0.0.9:5060;branch=z9hG4bKabc;rport',
  from: '<sip:verbatim@10.0.0.9>;tag=f1',
  to: '<sip:1000@10.0.0.5>',
  callId: 'c1@10.0.0.9',
  cseq: 7,
  routes: ['<sip:10.0.0.5;lr>'],
  body: { contentType: 'application/sdp', content: 'v=0\r\n' },
});

function response(status: number, reason = 'X'): SipResponse {
  return buildResponse(INVITE, status, reason, status > 100 ? { toTag: 't1' } : {});
}

interface Run {
  readonly clock: FakeClock;
  readonly sent: { request: SipRequest; atMs: number }[];
  readonly events: string[];
  readonly tx: InviteClientTransaction;
}

function run(reliable: boolean): Run {
  const clock = new FakeClock();
  const sent: Run['sent'] = [];
  const events: string[] = [];
  const tx = new InviteClientTransaction(INVITE, {
    clock,
    reliable,
    send: (request) => sent.push({ request, atMs: clock.now() }),
    onProvisional: (r) => events.push(`provisional ${r.status}`),
    onSuccess: (r) => events.push(`success ${r.status}`),
    onFailure: (r) => events.push(`failure ${r.status}`),
    onTimeout: () => events.push('timeout'),
    onAbsorbed: () => events.push('absorbed'),
    onTerminated: () => events.push('terminated'),
  });
  tx.start();
  return { clock, sent, events, tx };
}

const methods = (r: Run): string[] => r.sent.map((s) => s.request.method);

void describe('INVITE client transaction (RFC 3261 §17.1.1, RFC 6026)', () => {
  let r: Run;
  beforeEach(() => {
    r = run(false);
  });

  void it('retransmits the INVITE at T1, 2T1, 4T1… without a T2 cap (Timer A), and times out at 64*T1 (Timer B)', () => {
    r.clock.advance(64 * T1_MS);
    // Sent at 0, then 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s: the interval doubles past T2 (4 s).
    assert.deepEqual(
      r.sent.map((s) => s.atMs),
      [0, 500, 1500, 3500, 7500, 15500, 31500],
    );
    assert.deepEqual(r.events, ['timeout', 'terminated']);
    assert.equal(r.tx.state, 'terminated');
    assert.equal(r.clock.pendingTimers, 0);
  });

  void it('stops retransmitting on a provisional response and has no timeout in Proceeding', () => {
    r.clock.advance(T1_MS);
    r.tx.receiveResponse(response(100, 'Trying'));
    r.tx.receiveResponse(response(180, 'Ringing'));
    r.clock.advance(120_000);
    assert.equal(r.sent.length, 2);
    assert.deepEqual(r.events, ['provisional 100', 'provisional 180']);
    assert.equal(r.tx.state, 'proceeding');
    r.tx.close();
  });

  void it('ACKs a non-2xx inside the transaction, once per retransmission, and ends after Timer D', () => {
    r.tx.receiveResponse(response(180, 'Ringing'));
    r.tx.receiveResponse(response(486, 'Busy Here'));
    assert.deepEqual(methods(r), ['INVITE', 'ACK']);
    const ack = r.sent[1]?.request as SipRequest;
    assert.equal(ack.requestUri, INVITE.requestUri);
    assert.equal(getHeader(ack, 'Via'), getHeader(INVITE, 'Via'), 'same branch as the INVITE');
    assert.equal(getHeader(ack, 'To'), '<sip:1000@10.0.0.5>;tag=t1', 'To of the response');
    assert.equal(getHeader(ack, 'CSeq'), '7 ACK');
    assert.equal(getHeader(ack, 'Route'), '<sip:10.0.0.5;lr>');
    assert.equal(getHeader(ack, 'From'), getHeader(INVITE, 'From'));
    r.tx.receiveResponse(response(486, 'Busy Here'));
    assert.deepEqual(methods(r), ['INVITE', 'ACK', 'ACK']);
    assert.deepEqual(r.events, ['provisional 180', 'failure 486', 'absorbed']);
    r.clock.advance(TIMER_D_MS - 1);
    assert.equal(r.tx.state, 'completed');
    r.clock.advance(1);
    assert.equal(r.tx.state, 'terminated');
  });

  void it('ends at once after a non-2xx on a reliable transport (Timer D = 0, no retransmission)', () => {
    const reliable = run(true);
    reliable.clock.advance(10_000);
    assert.equal(reliable.sent.length, 1, 'no Timer A over TCP');
    reliable.tx.receiveResponse(response(404, 'Not Found'));
    assert.deepEqual(methods(reliable), ['INVITE', 'ACK']);
    assert.deepEqual(reliable.events, ['failure 404', 'terminated']);
    assert.equal(reliable.clock.pendingTimers, 0);
  });

  void it('passes a 2xx and its retransmissions to the TU and sends no ACK itself (Accepted, Timer M)', () => {
    r.tx.receiveResponse(response(200, 'OK'));
    r.tx.receiveResponse(response(200, 'OK'));
    r.tx.receiveResponse(response(486, 'Busy Here'));
    assert.deepEqual(methods(r), ['INVITE'], 'the ACK of a 2xx belongs to the core (§13.2.2.4)');
    assert.deepEqual(r.events, ['success 200', 'success 200', 'absorbed']);
    r.clock.advance(TIMER_M_MS);
    assert.equal(r.tx.state, 'terminated');
  });

  void it('abandon() ends the transaction and its timers without a message', () => {
    r.tx.abandon();
    r.clock.advance(64 * T1_MS);
    assert.deepEqual(methods(r), ['INVITE']);
    assert.deepEqual(r.events, ['terminated']);
  });
});
