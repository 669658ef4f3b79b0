import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getHeader, getHeaders, type SipRequest } from '../../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../../src/protocol/sip/parse.js';
import { UasResponses } from '../../../src/sip/responses.js';
import { FakeTransport } from './support/fake-transport.js';
import { sipRequest } from './support/sip-messages.js';

function options(): SipRequest {
  const parsed = parseSipMessage(
    Buffer.from(
      sipRequest({
        method: 'OPTIONS',
        viaPort: 5062,
        branch: 'z9hG4bKresponses',
        fromTag: 'f1',
        callId: 'c1@127.0.0.1',
        cseq: 1,
      }),
      'utf8',
    ),
  );
  assert.ok(parsed.ok && parsed.value.type === 'request');
  return parsed.value;
}

describe('UasResponses (RFC 3261 §8.2.6, §20.5, §20.35, §20.43)', () => {
  const responses = new UasResponses('2001:db8::1', 'Verbatim/test');

  it('adds Allow, Supported and Server, and our Contact with a bracketed IPv6 host when asked', () => {
    const response = responses.build(options(), 200, 'OK', {
      toTag: 't1',
      contact: true,
      transportForContact: new FakeTransport('tcp', () => 0),
    });
    assert.equal(getHeader(response, 'Contact'), '<sip:verbatim@[2001:db8::1]:5060;transport=tcp>');
    assert.ok(getHeaders(response, 'Allow').includes('INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO'));
    assert.equal(getHeader(response, 'Supported'), 'siprec');
    assert.equal(getHeader(response, 'Server'), 'Verbatim/test');
    assert.match(getHeader(response, 'To') ?? '', /;tag=t1$/);
  });

  it('leaves out Allow and Supported in a minimal response, and lets extra headers replace ours', () => {
    const minimal = responses.build(options(), 100, 'Trying', { minimal: true });
    assert.equal(getHeader(minimal, 'Allow'), undefined);
    assert.equal(getHeader(minimal, 'Supported'), undefined);
    const replaced = responses.build(options(), 200, 'OK', {
      extraHeaders: [{ name: 'supported', value: 'timer' }],
    });
    assert.deepEqual(getHeaders(replaced, 'Supported'), ['timer']);
  });

  it('fills an empty reason phrase from the status', () => {
    assert.equal(responses.build(options(), 405, '', {}).reason, 'Method Not Allowed');
    assert.equal(responses.build(options(), 501, '', {}).reason, 'Not Implemented');
    assert.equal(responses.build(options(), 599, '', {}).reason, 'Unknown');
  });

  it('writes a Warning as a safe quoted-string of at most 200 characters', () => {
    const ipv4 = new UasResponses('192.0.2.10', 'Verbatim/test');
    assert.deepEqual(ipv4.warning('bad "Via"\r\nhere\\'), {
      name: 'Warning',
      value: `399 192.0.2.10 "bad 'Via'  here'"`,
    });
    assert.equal(ipv4.warning('x'.repeat(300)).value, `399 192.0.2.10 "${'x'.repeat(200)}"`);
  });
});
