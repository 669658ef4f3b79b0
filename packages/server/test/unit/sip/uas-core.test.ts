import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import {
  getHeader,
  getHeaders,
  type SipRequest,
  type SipResponse,
} from '../../../src/protocol/sip/message.js';
import { decodeUtf8 } from '../../../src/protocol/text.js';
import { SipUasCore } from '../../../src/sip/uas-core.js';
import { T1_MS, T2_MS, T4_MS } from '../../../src/sip/timers.js';
import type { DialogDelegate, IncomingInvite, ServerDialog, SipPeer } from '../../../src/sip/types.js';
import { FakeClock } from './support/fake-clock.js';
import { FakeTransport } from './support/fake-transport.js';
import {
  ANSWER_SDP,
  CallScript,
  OFFER_SDP,
  freshOptions,
  randomId,
  sipRequest,
} from './support/sip-messages.js';

const PEER_PORT = 5062;
const udpPeer: SipPeer = { protocol: 'udp', address: '127.0.0.1', port: PEER_PORT };
const tcpPeer: SipPeer = { protocol: 'tcp', address: '127.0.0.1', port: 40001 };

interface Harness {
  readonly clock: FakeClock;
  readonly udp: FakeTransport;
  readonly tcp: FakeTransport;
  readonly core: SipUasCore;
  readonly invites: IncomingInvite[];
  trusted: boolean;
  onInvite: (invite: IncomingInvite) => void;
  receive(text: string, peer?: SipPeer): void;
}

function createHarness(): Harness {
  const clock = new FakeClock();
  const udp = new FakeTransport('udp', () => clock.now());
  const tcp = new FakeTransport('tcp', () => clock.now());
  const invites: IncomingInvite[] = [];
  const harness: Harness = {
    clock,
    udp,
    tcp,
    invites,
    trusted: true,
    onInvite: () => undefined,
    core: new SipUasCore({
      advertise: '127.0.0.1',
      isTrusted: () => harness.trusted,
      delegate: {
        onInvite: (invite) => {
          invites.push(invite);
          harness.onInvite(invite);
        },
      },
      logger: pino({ level: 'silent' }),
      clock,
      userAgent: 'Verbatim/test',
    }),
    receive(text: string, peer: SipPeer = udpPeer): void {
      harness.core.receive(Buffer.from(text, 'utf8'), peer);
    },
  };
  harness.core.attach(udp);
  harness.core.attach(tcp);
  return harness;
}

function toTagOf(response: SipResponse): string {
  const to = getHeader(response, 'To') ?? '';
  const match = /;tag=([^;]+)/.exec(to);
  assert.ok(match?.[1], `response has a To tag: ${to}`);
  return match[1];
}

function acceptWith(delegate: DialogDelegate, dialogs: ServerDialog[]): (invite: IncomingInvite) => void {
  return (invite) => {
    const dialog = invite.accept({ contentType: 'application/sdp', content: OFFER_SDP }, delegate);
    if (dialog !== undefined) {
      dialogs.push(dialog);
    }
  };
}

describe('SIP UAS core (RFC 3261 over a fake transport and clock)', () => {
  let h: Harness;
  beforeEach(() => {
    h = createHarness();
  });
  afterEach(() => {
    h.core.close();
    assert.equal(h.clock.pendingTimers, 0, 'close() leaves no timer behind');
  });

  describe('INVITE server transaction (§17.2.1)', () => {
    it('sends 100 Trying at once, without a To tag, and hands the INVITE to the delegate', () => {
      const call = new CallScript(PEER_PORT);
      h.receive(call.invite());
      assert.equal(h.udp.sent.length, 1);
      const trying = h.udp.responses(100)[0];
      assert.ok(trying, 'trying');
      assert.doesNotMatch(getHeader(trying, 'To') ?? '', /tag=/);
      assert.equal(h.invites.length, 1);
      assert.equal(h.invites[0]?.callId, call.callId);
    });

    it('absorbs a retransmitted INVITE: the delegate is called once and the last response is resent', () => {
      const call = new CallScript(PEER_PORT);
      h.receive(call.invite());
      h.receive(call.invite());
      assert.equal(h.invites.length, 1);
      assert.equal(h.udp.responses(100).length, 2);
      assert.equal(h.core.counters().retransmissionsAbsorbed, 1);
    });

    it('MUST retransmit a non-2xx final response at T1, 2T1, 4T1 capped at T2 until the ACK (Timer G)', () => {
      const call = new CallScript(PEER_PORT);
      h.onInvite = (invite) => {
        invite.reject(488, 'Not Acceptable Here');
      };
      h.receive(call.invite());
      h.clock.advance(T1_MS + 2 * T1_MS + 4 * T1_MS + T2_MS + T2_MS);
      const times = h.udp.sent
        .filter((s) => s.message.type === 'response' && s.message.status === 488)
        .map((s) => s.atMs);
      assert.deepEqual(times, [0, 500, 1500, 3500, 7500, 11500]);
      const toTag = toTagOf(h.udp.responses(488)[0] as SipResponse);
      h.receive(call.ackForFailure(toTag));
      h.receive(call.ackForFailure(toTag));
      assert.equal(h.core.counters().retransmissionsAbsorbed, 1, 'an ACK in Confirmed is absorbed');
      h.clock.advance(T4_MS - 1);
      assert.equal(h.core.counters().serverTransactions, 1, 'Confirmed lasts Timer I = T4');
      h.clock.advance(4 * T2_MS);
      assert.equal(h.udp.responses(488).length, 6, 'no retransmission after the ACK');
      assert.equal(h.core.counters().serverTransactions, 0, 'Timer I ends the transaction');
    });

    it('MUST end the transaction when Timer H fires without an ACK for a non-2xx', () => {
      const call = new CallScript(PEER_PORT);
      h.onInvite = (invite) => {
        invite.reject(503, 'Service Unavailable', [{ name: 'Retry-After', value: '30' }]);
      };
      h.receive(call.invite());
      const rejected = h.udp.responses(503)[0];
      assert.ok(rejected, 'rejected');
      assert.equal(getHeader(rejected, 'Retry-After'), '30');
      h.clock.advance(64 * T1_MS);
      assert.equal(h.core.counters().serverTransactions, 0);
      assert.equal(h.core.counters().nonTwoxxAckTimeouts, 1);
    });

    it('does not retransmit responses over a reliable transport (Timer G is UDP only)', () => {
      const call = new CallScript(40001, 'TCP');
      h.tcp.connected.add('127.0.0.1:40001');
      h.onInvite = (invite) => {
        invite.reject(486, 'Busy Here');
      };
      h.receive(call.invite(), tcpPeer);
      h.clock.advance(10 * T2_MS);
      assert.equal(h.tcp.responses(486).length, 1);
      assert.deepEqual(
        h.tcp.sent[0]?.to,
        { address: '127.0.0.1', port: 40001 },
        'answers over the same connection',
      );
    });
  });

  describe('2xx retransmission by the UAS core (§13.3.1.4)', () => {
    it('MUST retransmit the 2xx with T1 doubling up to T2 until the ACK, then deliver the ACK body once', () => {
      const call = new CallScript(PEER_PORT);
      const acks: SipRequest[] = [];
      const dialogs: ServerDialog[] = [];
      h.onInvite = acceptWith({ onAck: (ack) => acks.push(ack) }, dialogs);
      h.receive(call.invite());
      const ok = h.udp.responses(200)[0];
      assert.ok(ok, 'ok');
      assert.match(getHeader(ok, 'Contact') ?? '', /^<sip:verbatim@127\.0\.0\.1:5060;transport=udp>$/);
      assert.equal(getHeader(ok, 'Server'), 'Verbatim/test');
      assert.ok(getHeaders(ok, 'Allow').includes('INVITE'), 'Allow lists INVITE');
      assert.equal(decodeUtf8(ok.body), OFFER_SDP);
      h.clock.advance(500 + 1000 + 2000 + 4000 + 4000);
      const times = h.udp.sent
        .filter((s) => s.message.type === 'response' && s.message.status === 200)
        .map((s) => s.atMs);
      assert.deepEqual(times, [0, 500, 1500, 3500, 7500, 11500]);
      h.receive(call.ackFor2xx(toTagOf(ok), ANSWER_SDP));
      h.receive(call.ackFor2xx(toTagOf(ok), ANSWER_SDP));
      h.clock.advance(60_000);
      assert.equal(h.udp.responses(200).length, 6, 'the ACK stops the retransmission');
      assert.equal(acks.length, 1, 'a retransmitted ACK is absorbed');
      assert.equal(decodeUtf8(acks[0]?.body ?? new Uint8Array()), ANSWER_SDP);
      assert.equal(dialogs[0]?.terminated, false);
    });

    it('SHOULD end the dialog with BYE when no ACK arrives within 64*T1 (onAckTimeout)', () => {
      const call = new CallScript(PEER_PORT);
      let timeouts = 0;
      const dialogs: ServerDialog[] = [];
      h.onInvite = acceptWith({ onAckTimeout: () => timeouts++ }, dialogs);
      h.receive(call.invite({ contact: '<sip:9110001@127.0.0.1:5070;transport=udp>' }));
      h.clock.advance(64 * T1_MS);
      assert.equal(timeouts, 1);
      const bye = h.udp.requests('BYE')[0];
      assert.ok(bye, 'BYE sent');
      assert.equal(bye.requestUri, 'sip:9110001@127.0.0.1:5070;transport=udp');
      assert.deepEqual(
        h.udp.sent.at(-1)?.to,
        { address: '127.0.0.1', port: 5070 },
        'BYE goes to the Contact',
      );
      assert.equal(dialogs[0]?.terminated, true);
      assert.match(getHeader(bye, 'To') ?? '', new RegExp(`tag=${call.fromTag}`));
      assert.match(getHeader(bye, 'From') ?? '', new RegExp(`tag=${dialogs.at(0)?.localTag ?? 'x'}`));
    });
  });

  describe('CANCEL (§9.2)', () => {
    it('before the final response: 200 to the CANCEL, 487 to the INVITE and oncancel', () => {
      const call = new CallScript(PEER_PORT);
      let cancelled = 0;
      h.onInvite = (invite) => {
        invite.oncancel = () => cancelled++;
      };
      h.receive(call.invite());
      h.receive(call.cancel());
      const cancelOk = h.udp.responses(200)[0];
      assert.ok(cancelOk, 'cancelOk');
      assert.match(getHeader(cancelOk, 'CSeq') ?? '', /CANCEL/);
      const terminated = h.udp.responses(487)[0];
      assert.ok(terminated, 'terminated');
      assert.equal(toTagOf(cancelOk), toTagOf(terminated), '§9.2: the same To tag on both');
      assert.equal(cancelled, 1);
      assert.equal(h.invites[0]?.cancelled, true);
      const late = h.invites.at(0)?.accept({ contentType: 'application/sdp', content: OFFER_SDP }, {});
      assert.equal(late, undefined, 'accept after CANCEL is a no-op');
      h.receive(call.ackForFailure(toTagOf(terminated)));
      h.clock.advance(T4_MS + 64 * T1_MS);
      assert.equal(h.udp.responses(487).length, 1, 'the ACK stopped Timer G');
    });

    it('after the final response: 200 to the CANCEL only', () => {
      const call = new CallScript(PEER_PORT);
      h.onInvite = acceptWith({}, []);
      h.receive(call.invite());
      h.receive(call.cancel());
      assert.equal(h.udp.responses(487).length, 0);
      const oks = h.udp.responses(200).filter((r) => /CANCEL/.test(getHeader(r, 'CSeq') ?? ''));
      assert.equal(oks.length, 1);
    });

    it('matching no transaction: 481', () => {
      const call = new CallScript(PEER_PORT);
      h.receive(call.cancel());
      assert.equal(h.udp.responses(481).length, 1);
      assert.equal(h.core.counters().cancelsUnmatched, 1);
    });
  });

  describe('dialogs (§12.2.2)', () => {
    it('answers BYE with 200, calls onBye and forgets the dialog', () => {
      const call = new CallScript(PEER_PORT);
      const byes: SipRequest[] = [];
      h.onInvite = acceptWith({ onBye: (bye) => byes.push(bye) }, []);
      h.receive(call.invite());
      const toTag = toTagOf(h.udp.responses(200)[0] as SipResponse);
      h.receive(call.ackFor2xx(toTag, ANSWER_SDP));
      h.receive(call.inDialog('BYE', toTag, 102));
      const byeOk = h.udp.responses(200).find((r) => /BYE/.test(getHeader(r, 'CSeq') ?? ''));
      assert.ok(byeOk, 'byeOk');
      assert.equal(byes.length, 1);
      assert.equal(h.core.counters().dialogs, 0);
    });

    it('answers 481 to a BYE for an unknown dialog and drops an ACK for one', () => {
      const call = new CallScript(PEER_PORT);
      h.receive(call.inDialog('BYE', 'nosuchtag', 102));
      assert.equal(h.udp.responses(481).length, 1);
      h.receive(call.ackFor2xx('nosuchtag'));
      assert.equal(h.udp.sent.length, 1, 'an ACK is never answered');
      assert.equal(h.core.counters().acksUnknownDialog, 1);
    });

    it('passes a re-INVITE to onRequest and retransmits its 2xx until the ACK, which reaches onAck', () => {
      const call = new CallScript(PEER_PORT);
      const acks: SipRequest[] = [];
      const seen: string[] = [];
      h.onInvite = acceptWith(
        {
          onAck: (ack) => acks.push(ack),
          onRequest: (request, respond) => {
            seen.push(request.method);
            respond(200, 'OK', { contentType: 'application/sdp', content: OFFER_SDP });
          },
        },
        [],
      );
      h.receive(call.invite());
      const toTag = toTagOf(h.udp.responses(200)[0] as SipResponse);
      h.receive(call.ackFor2xx(toTag));
      h.receive(call.inDialog('INVITE', toTag, 102, { body: ANSWER_SDP }));
      h.receive(call.inDialog('UPDATE', toTag, 103));
      assert.deepEqual(seen, ['INVITE', 'UPDATE']);
      h.clock.advance(T1_MS);
      const reinviteOks = h.udp.responses(200).filter((r) => /102 INVITE/.test(getHeader(r, 'CSeq') ?? ''));
      assert.equal(reinviteOks.length, 2, 'retransmitted once after T1');
      h.receive(call.ackFor2xx(toTag, undefined, 102));
      assert.equal(acks.length, 2);
    });

    it('MUST reject an in-dialog request whose CSeq is lower than the last one with 500', () => {
      const call = new CallScript(PEER_PORT);
      h.onInvite = acceptWith({}, []);
      h.receive(call.invite());
      const toTag = toTagOf(h.udp.responses(200)[0] as SipResponse);
      h.receive(call.inDialog('INFO', toTag, 100));
      assert.equal(h.udp.responses(500).length, 1);
    });

    it('retransmits our BYE per Timer E on UDP and stops when the 200 arrives', () => {
      const call = new CallScript(PEER_PORT);
      const dialogs: ServerDialog[] = [];
      h.onInvite = acceptWith({}, dialogs);
      h.receive(call.invite());
      const toTag = toTagOf(h.udp.responses(200)[0] as SipResponse);
      h.receive(call.ackFor2xx(toTag));
      dialogs[0]?.bye();
      h.clock.advance(T1_MS + 2 * T1_MS);
      const byes = h.udp.requests('BYE');
      assert.equal(byes.length, 3);
      const bye = byes[0] as SipRequest;
      const okText = [
        'SIP/2.0 200 OK',
        ...getHeaders(bye, 'Via').map((v) => `Via: ${v}`),
        `From: ${getHeader(bye, 'From') ?? ''}`,
        `To: ${getHeader(bye, 'To') ?? ''}`,
        `Call-ID: ${call.callId}`,
        `CSeq: ${getHeader(bye, 'CSeq') ?? ''}`,
        'Content-Length: 0',
        '',
        '',
      ].join('\r\n');
      h.receive(okText);
      h.clock.advance(64 * T1_MS);
      assert.equal(h.udp.requests('BYE').length, 3);
      assert.equal(h.core.counters().byeTimeouts, 0);
      assert.equal(h.core.counters().clientTransactions, 0, 'Timer K ended the transaction');
    });

    it('counts a BYE that gets no answer (Timer F)', () => {
      const call = new CallScript(PEER_PORT);
      const dialogs: ServerDialog[] = [];
      h.onInvite = acceptWith({}, dialogs);
      h.receive(call.invite());
      h.receive(call.ackFor2xx(toTagOf(h.udp.responses(200)[0] as SipResponse)));
      dialogs[0]?.bye();
      h.clock.advance(64 * T1_MS);
      assert.equal(h.core.counters().byeTimeouts, 1);
      assert.equal(h.udp.requests('BYE').length, 11, 'E fires at 0.5, 1.5, 3.5, 7.5 s and every T2 after');
    });
  });

  describe('non-INVITE server transactions (§17.2.2)', () => {
    it('resends the final response to a retransmitted request and forgets it after Timer J', () => {
      const options = freshOptions(PEER_PORT);
      h.receive(options);
      h.receive(options);
      assert.equal(h.udp.responses(200).length, 2);
      assert.equal(h.core.counters().retransmissionsAbsorbed, 1);
      h.clock.advance(64 * T1_MS);
      assert.equal(h.core.counters().serverTransactions, 0);
    });

    it('ends the transaction at once on a reliable transport (Timer J = 0)', () => {
      h.tcp.connected.add('127.0.0.1:40001');
      h.receive(freshOptions(40001, 'TCP'), tcpPeer);
      assert.equal(h.tcp.responses(200).length, 1);
      assert.equal(h.core.counters().serverTransactions, 0);
    });
  });

  describe('requests outside a dialog (§8.2)', () => {
    function send(method: string, extra: { requestUri?: string; extraHeaders?: string[] } = {}): SipResponse {
      h.receive(
        sipRequest({
          method,
          callId: randomId(),
          branch: `z9hG4bK${randomId()}`,
          fromTag: randomId(),
          cseq: 1,
          viaPort: PEER_PORT,
          ...extra,
        }),
      );
      const last = h.udp.sent.at(-1)?.message;
      assert.equal(last?.type, 'response');
      return last;
    }

    it('answers OPTIONS 200 with Allow, Accept: application/sdp and Supported', () => {
      const response = send('OPTIONS');
      assert.equal(response.status, 200);
      assert.equal(getHeader(response, 'Accept'), 'application/sdp');
      assert.ok(getHeaders(response, 'Allow').includes('OPTIONS'), 'Allow lists OPTIONS');
      assert.deepEqual(getHeaders(response, 'Supported'), ['siprec']);
      assert.match(getHeader(response, 'To') ?? '', /;tag=[0-9a-f]{8,}/);
    });

    it('answers REGISTER with 405 and an Allow header, an unknown method with 501', () => {
      const register = send('REGISTER');
      assert.equal(register.status, 405);
      assert.ok(getHeaders(register, 'Allow').includes('INVITE'), 'Allow lists INVITE');
      assert.equal(send('FOO').status, 501);
    });

    it('answers 416 to a Request-URI scheme other than sip, sips or tel', () => {
      assert.equal(send('OPTIONS', { requestUri: 'mailto:someone@example.com' }).status, 416);
    });

    it('answers 420 with Unsupported to a Require it does not know, and accepts Require: siprec', () => {
      const bad = send('OPTIONS', { extraHeaders: ['Require: 100rel'] });
      assert.equal(bad.status, 420);
      assert.equal(getHeader(bad, 'Unsupported'), '100rel');
      assert.equal(send('OPTIONS', { extraHeaders: ['Require: siprec'] }).status, 200);
    });

    it('answers 403 to an INVITE from an untrusted peer without calling the delegate', () => {
      h.trusted = false;
      h.receive(new CallScript(PEER_PORT).invite());
      assert.equal(h.udp.responses(403).length, 1);
      assert.equal(h.invites.length, 0);
    });

    it('answers 400 with a Warning to a malformed request that still names Via, From, To, Call-ID and CSeq', () => {
      const text = new CallScript(PEER_PORT)
        .invite({ body: OFFER_SDP })
        .replace(/Content-Length: \d+/, 'Content-Length: 9999');
      h.receive(text);
      const response = h.udp.responses(400)[0];
      assert.ok(response, 'response');
      assert.match(getHeader(response, 'Warning') ?? '', /^399 127\.0\.0\.1 ".+"$/);
      assert.equal(h.invites.length, 0);
      assert.equal(h.core.counters().malformed, 1);
    });

    it('drops and counts garbage and a response that matches no transaction', () => {
      h.receive('\u0000\u0001garbage');
      h.receive(
        'SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKx\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n',
      );
      assert.equal(h.udp.sent.length, 0);
      const counters = h.core.counters();
      assert.equal(counters.dropped, 2);
      assert.equal(counters.malformed, 1);
      assert.equal(counters.responsesUnmatched, 1);
    });
  });

  describe('response routing (§18.2.2, RFC 3581)', () => {
    it('adds received when sent-by differs from the source and answers at the sent-by port', () => {
      h.receive(new CallScript(5080).invite({ viaHost: 'cucm.example.com' }));
      const trying = h.udp.sent[0];
      assert.ok(trying?.message.type === 'response', 'trying?.message.type === response');
      assert.match(getHeader(trying.message, 'Via') ?? '', /;received=127\.0\.0\.1$/);
      assert.deepEqual(trying.to, { address: '127.0.0.1', port: 5080 });
    });

    it('fills an empty rport and answers at the source port', () => {
      h.receive(new CallScript(5080, 'UDP', true).invite());
      const trying = h.udp.sent[0];
      assert.ok(trying?.message.type === 'response', 'trying?.message.type === response');
      assert.match(
        getHeader(trying.message, 'Via') ?? '',
        new RegExp(`;rport=${PEER_PORT};received=127\\.0\\.0\\.1$`),
      );
      assert.deepEqual(trying.to, { address: '127.0.0.1', port: PEER_PORT });
    });
  });
});
