import { createHash } from 'node:crypto';
import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { getHeader, type SipRequest } from '../../../src/protocol/sip/message.js';
import { parseDigestChallenge, digestResponse } from '../../../src/protocol/sip/digest.js';
import { buildResponse, serializeSipMessage } from '../../../src/protocol/sip/serialize.js';
import { decodeUtf8 } from '../../../src/protocol/text.js';
import type {
  OutboundCall,
  OutboundCallOutcome,
  OutboundCallRequest,
  OutboundProxy,
} from '../../../src/sip/outbound-types.js';
import { T1_MS } from '../../../src/sip/timers.js';
import type { DialogDelegate, SipPeer } from '../../../src/sip/types.js';
import { SipUasCore } from '../../../src/sip/uas-core.js';
import { expectOk } from '../../support/result-asserts.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeTransport } from './support/fake-transport.js';
import { ANSWER_SDP, OFFER_SDP } from './support/sip-messages.js';

const PROXY: OutboundProxy = { protocol: 'udp', host: '10.0.0.5', port: 5060 };
const PROXY_PEER: SipPeer = { protocol: 'udp', address: '10.0.0.5', port: 5060 };
const DEVICE_CONTACT = '<sip:1000@10.0.0.77:5062>';
const CHALLENGE = 'Digest realm="cucm", nonce="8a3f0e", qop="auth", opaque="op1", algorithm=MD5';

interface Harness {
  readonly clock: FakeClock;
  readonly udp: FakeTransport;
  readonly tcp: FakeTransport;
  readonly core: SipUasCore;
  readonly byes: SipRequest[];
  call(overrides?: Partial<OutboundCallRequest>): OutboundCall;
  /** The device (through the proxy) answers the last INVITE sent. */
  answer(
    status: number,
    reason: string,
    extra?: { toTag?: string; headers?: { name: string; value: string }[]; sdp?: string },
  ): void;
  lastInvite(): SipRequest;
}

function createHarness(): Harness {
  const clock = new FakeClock();
  const udp = new FakeTransport('udp', () => clock.now());
  const tcp = new FakeTransport('tcp', () => clock.now());
  const byes: SipRequest[] = [];
  const core = new SipUasCore({
    advertise: '10.0.0.9',
    isTrusted: () => true,
    delegate: { onInvite: () => undefined },
    logger: pino({ level: 'silent' }),
    clock,
    userAgent: 'Verbatim/test',
  });
  core.attach(udp);
  core.attach(tcp);
  const delegate: DialogDelegate = {
    onBye: (bye) => {
      byes.push(bye);
    },
  };
  const h: Harness = {
    clock,
    udp,
    tcp,
    core,
    byes,
    call: (overrides = {}) =>
      core.call({
        proxy: PROXY,
        requestUri: 'sip:1000@10.0.0.5',
        offer: { contentType: 'application/sdp', content: OFFER_SDP },
        answerTimeoutMs: 30_000,
        delegate,
        ...overrides,
      }),
    lastInvite: () => {
      const invites = udp.requests('INVITE');
      const last = invites[invites.length - 1];
      assert.ok(last !== undefined, 'an INVITE was sent');
      return last;
    },
    answer: (status, reason, extra = {}) => {
      const invite = h.lastInvite();
      const response = buildResponse(invite, status, reason, {
        ...(status > 100 ? { toTag: extra.toTag ?? 'dev1' } : {}),
        headers: [
          ...(status >= 200 && status < 300 ? [{ name: 'Contact', value: DEVICE_CONTACT }] : []),
          ...(extra.headers ?? []),
        ],
        ...(extra.sdp === undefined ? {} : { body: { contentType: 'application/sdp', content: extra.sdp } }),
      });
      core.receive(serializeSipMessage(response), PROXY_PEER);
    },
  };
  return h;
}

async function settled(call: OutboundCall): Promise<OutboundCallOutcome> {
  return call.outcome;
}

function failure(outcome: OutboundCallOutcome): Extract<OutboundCallOutcome, { kind: 'failed' }> {
  assert.ok(outcome.kind === 'failed', `expected a failure, got ${outcome.kind}`);
  return outcome;
}

const md5 = (algorithm: 'MD5' | 'SHA-256', text: string): string =>
  createHash(algorithm === 'MD5' ? 'md5' : 'sha256')
    .update(text)
    .digest('hex');

void describe('outbound calls (RFC 3261 UAC over a fake transport and clock)', () => {
  let h: Harness;
  beforeEach(() => {
    h = createHarness();
  });
  afterEach(() => {
    h.core.close();
    assert.equal(h.clock.pendingTimers, 0, 'close() leaves no timer behind');
  });

  void it('sends the INVITE to the proxy with our offer, ACKs the 2xx at the Contact and again for its retransmission', async () => {
    const call = h.call();
    const invite = h.lastInvite();
    assert.equal(invite.requestUri, 'sip:1000@10.0.0.5');
    assert.deepEqual(h.udp.sent[0]?.to, { address: '10.0.0.5', port: 5060 });
    assert.equal(getHeader(invite, 'To'), '<sip:1000@10.0.0.5>');
    assert.match(getHeader(invite, 'From') ?? '', /^<sip:verbatim@10\.0\.0\.9>;tag=\w+$/);
    assert.match(getHeader(invite, 'Contact') ?? '', /^<sip:verbatim@10\.0\.0\.9:5060;transport=udp>$/);
    assert.equal(getHeader(invite, 'Call-ID'), call.callId);
    assert.equal(decodeUtf8(invite.body), OFFER_SDP);
    h.answer(180, 'Ringing');
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    const outcome = await settled(call);
    assert.equal(outcome.kind, 'answered');
    const acks = h.udp.requests('ACK');
    assert.equal(acks.length, 1);
    const ack = acks[0] as SipRequest;
    assert.equal(ack.requestUri, 'sip:1000@10.0.0.77:5062', 'the remote target (Contact)');
    assert.deepEqual(h.udp.sent.at(-1)?.to, { address: '10.0.0.77', port: 5062 });
    const inviteSeq = (getHeader(invite, 'CSeq') ?? '').split(' ')[0];
    assert.equal(getHeader(ack, 'CSeq'), `${inviteSeq} ACK`);
    assert.notEqual(getHeader(ack, 'Via'), getHeader(invite, 'Via'), 'the ACK of a 2xx is a new transaction');
    assert.equal(getHeader(ack, 'To'), '<sip:1000@10.0.0.5>;tag=dev1');
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    assert.equal(h.udp.requests('ACK').length, 2, 'a retransmitted 2xx gets the ACK again');
    h.clock.advance(64 * T1_MS);
    assert.equal(h.udp.requests('INVITE').length, 1, 'no INVITE retransmission after the 1xx');
  });

  void it('ends the dialog on our BYE and hands the far side BYE to the delegate', async () => {
    const call = h.call();
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    const outcome = await settled(call);
    assert.ok(outcome.kind === 'answered');
    // The device hangs up: its BYE names our From tag as To tag.
    const invite = h.lastInvite();
    const fromTag = /tag=(\w+)/.exec(getHeader(invite, 'From') ?? '')?.[1] ?? '';
    const bye = [
      'BYE sip:verbatim@10.0.0.9:5060 SIP/2.0',
      'Via: SIP/2.0/UDP 10.0.0.77:5062;branch=z9hG4bKdevbye',
      `From: <sip:1000@10.0.0.5>;tag=dev1`,
      `To: <sip:verbatim@10.0.0.9>;tag=${fromTag}`,
      `Call-ID: ${call.callId}`,
      'CSeq: 1 BYE',
      'Max-Forwards: 70',
      'Content-Length: 0',
      '',
      '',
    ].join('\r\n');
    h.core.receive(Buffer.from(bye), { protocol: 'udp', address: '10.0.0.77', port: 5062 });
    assert.equal(h.byes.length, 1);
    assert.equal(h.udp.responses(200).length, 1, 'the BYE is answered 200');
    assert.equal(outcome.dialog.terminated, true);
  });

  void it('our BYE goes to the remote target with our tags and the next CSeq', async () => {
    const call = h.call();
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    const outcome = await settled(call);
    assert.ok(outcome.kind === 'answered');
    outcome.dialog.bye();
    const bye = h.udp.requests('BYE')[0] as SipRequest;
    assert.equal(bye.requestUri, 'sip:1000@10.0.0.77:5062');
    assert.equal(getHeader(bye, 'From'), getHeader(h.lastInvite(), 'From'));
    assert.equal(getHeader(bye, 'To'), '<sip:1000@10.0.0.5>;tag=dev1');
    const inviteSeq = Number((getHeader(h.lastInvite(), 'CSeq') ?? '').split(' ')[0]);
    assert.equal(getHeader(bye, 'CSeq'), `${inviteSeq + 1} BYE`);
  });

  void it('answers a 407 with Proxy-Authorization (digest MD5, qop=auth) in a new INVITE', async () => {
    const call = h.call({ credentials: { username: 'verbatim', password: 's3cret' } });
    const first = h.lastInvite();
    h.answer(407, 'Proxy Authentication Required', {
      headers: [{ name: 'Proxy-Authenticate', value: CHALLENGE }],
    });
    assert.equal(h.udp.requests('ACK').length, 1, 'the 407 is ACKed inside its transaction');
    const second = h.lastInvite();
    assert.notEqual(second, first);
    assert.equal(getHeader(second, 'Call-ID'), getHeader(first, 'Call-ID'));
    assert.equal(getHeader(second, 'From'), getHeader(first, 'From'));
    const seq = (r: SipRequest): number => Number((getHeader(r, 'CSeq') ?? '').split(' ')[0]);
    assert.equal(seq(second), seq(first) + 1);
    assert.notEqual(getHeader(second, 'Via'), getHeader(first, 'Via'));
    const authorization = getHeader(second, 'Proxy-Authorization') ?? '';
    const param = (name: string): string => new RegExp(`${name}="?([^",]+)"?`).exec(authorization)?.[1] ?? '';
    assert.equal(param('username'), 'verbatim');
    assert.equal(param('uri'), 'sip:1000@10.0.0.5');
    assert.equal(param('nc'), '00000001');
    assert.equal(param('opaque'), 'op1');
    const expected = digestResponse(
      expectOk(parseDigestChallenge(CHALLENGE)),
      { username: 'verbatim', password: 's3cret' },
      { method: 'INVITE', uri: 'sip:1000@10.0.0.5' },
      { cnonce: param('cnonce'), nonceCount: 1 },
      md5,
    );
    assert.equal(param('response'), expected);
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    assert.equal((await settled(call)).kind, 'answered');
    const ack = h.udp.requests('ACK').at(-1) as SipRequest;
    assert.equal(getHeader(ack, 'Proxy-Authorization'), authorization, 'the ACK carries the credentials');
  });

  void it('reports refused credentials (a second challenge that is not stale) as auth-failed', async () => {
    const call = h.call({ credentials: { username: 'verbatim', password: 'wrong' } });
    h.answer(401, 'Unauthorized', { headers: [{ name: 'WWW-Authenticate', value: CHALLENGE }] });
    assert.ok(getHeader(h.lastInvite(), 'Authorization')?.startsWith('Digest '));
    h.answer(401, 'Unauthorized', { headers: [{ name: 'WWW-Authenticate', value: CHALLENGE }] });
    const f = failure(await settled(call));
    assert.equal(f.reason, 'auth-failed');
    assert.equal(f.sipStatus, 401);
    assert.equal(h.udp.requests('INVITE').length, 2);
  });

  void it('reports a challenge without configured credentials as auth-failed', async () => {
    const call = h.call();
    h.answer(407, 'Proxy Authentication Required', {
      headers: [{ name: 'Proxy-Authenticate', value: CHALLENGE }],
    });
    const f = failure(await settled(call));
    assert.equal(f.reason, 'auth-failed');
    assert.match(f.detail, /--outbound-username/);
  });

  void it('maps final responses: 486 and 600 busy, 480 no-answer, 404 and 603 rejected', async () => {
    for (const [status, reason] of [
      [486, 'busy'],
      [600, 'busy'],
      [480, 'no-answer'],
      [404, 'rejected'],
      [603, 'rejected'],
    ] as const) {
      const call = h.call();
      h.answer(status, 'X');
      const f = failure(await settled(call));
      assert.equal(f.reason, reason, `status ${status}`);
      assert.equal(f.sipStatus, status);
    }
  });

  void it('CANCELs a ringing call at the answer timeout and ACKs the 487', async () => {
    const call = h.call({ answerTimeoutMs: 5000 });
    h.answer(180, 'Ringing');
    h.clock.advance(5000);
    const f = failure(await settled(call));
    assert.equal(f.reason, 'no-answer');
    const cancel = h.udp.requests('CANCEL')[0] as SipRequest;
    const invite = h.lastInvite();
    assert.equal(cancel.requestUri, invite.requestUri);
    assert.equal(getHeader(cancel, 'Via'), getHeader(invite, 'Via'), 'same branch as the INVITE (§9.1)');
    assert.equal(getHeader(cancel, 'CSeq'), `${(getHeader(invite, 'CSeq') ?? '').split(' ')[0]} CANCEL`);
    assert.equal(getHeader(cancel, 'To'), getHeader(invite, 'To'));
    h.answer(487, 'Request Terminated');
    assert.equal(h.udp.requests('ACK').length, 1);
    h.clock.advance(64 * T1_MS);
    assert.equal(h.core.counters().clientTransactions, 0, 'the INVITE and CANCEL transactions ended');
    assert.equal(h.clock.pendingTimers, 0, 'no CANCEL guard left once the 487 arrived');
  });

  void it('ACKs and BYEs a 200 that crosses our CANCEL', async () => {
    const call = h.call();
    h.answer(180, 'Ringing');
    call.cancel();
    assert.equal(failure(await settled(call)).reason, 'cancelled');
    h.answer(200, 'OK', { sdp: ANSWER_SDP });
    assert.equal(h.udp.requests('ACK').length, 1);
    assert.equal(h.udp.requests('BYE').length, 1);
  });

  void it('reports unreachable without a CANCEL when the controller never responded', async () => {
    const call = h.call({ answerTimeoutMs: 3000 });
    h.clock.advance(3000);
    const f = failure(await settled(call));
    assert.equal(f.reason, 'unreachable');
    assert.equal(h.udp.requests('CANCEL').length, 0);
    const sentBefore = h.udp.sent.length;
    h.clock.advance(60_000);
    assert.equal(h.udp.sent.length, sentBefore, 'the INVITE is no longer retransmitted');
  });

  void it('reports a transport error at once (a refused TCP connection)', async () => {
    const failing = new FakeTransport('tcp', () => h.clock.now());
    failing.failWith = 'ERR_SOCKET_CLOSED_BEFORE_CONNECTION';
    h.core.attach(failing);
    const call = h.call({ proxy: { protocol: 'tcp', host: '10.0.0.5', port: 5060 } });
    const f = failure(await settled(call));
    assert.equal(f.reason, 'unreachable');
    assert.match(f.detail, /TCP \(ERR_SOCKET_CLOSED_BEFORE_CONNECTION\)/);
  });
});
