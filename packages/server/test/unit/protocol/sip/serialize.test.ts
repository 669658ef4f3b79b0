import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { buildRequest, buildResponse, serializeSipMessage } from '../../../../src/protocol/sip/serialize.js';
import { getHeader, getHeaders, type SipRequest } from '../../../../src/protocol/sip/message.js';
import { parseNameAddr } from '../../../../src/protocol/sip/headers.js';
import { crlf, listFixtures, loadFixture, text } from './fixtures.js';
import { expectOk } from '../../../support/result-asserts.js';

const decoder = new TextDecoder();

function request(name: string, area = 'cucm'): SipRequest {
  const message = expectOk(parseSipMessage(loadFixture(area, name)));
  assert.equal(message.type, 'request');
  return message;
}

void describe('serializeSipMessage', () => {
  void it('writes the start line, long header names, CRLF and the body', () => {
    const bytes = serializeSipMessage({
      type: 'request',
      method: 'OPTIONS',
      requestUri: 'sip:7878@192.0.2.30',
      headers: [
        { name: 'v', value: 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1' },
        { name: 'call-id', value: 'x@y' },
      ],
      body: text('hi'),
    });
    assert.equal(
      decoder.decode(bytes),
      'OPTIONS sip:7878@192.0.2.30 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nCall-ID: x@y\r\nContent-Length: 2\r\n\r\nhi',
    );
  });

  void it('replaces a wrong Content-Length in place, and writes only one', () => {
    const bytes = serializeSipMessage({
      type: 'response',
      status: 200,
      reason: 'OK',
      headers: [
        { name: 'Content-Length', value: '999' },
        { name: 'l', value: '7' },
        { name: 'Server', value: 'Verbatim' },
      ],
      body: text('abc'),
    });
    assert.equal(decoder.decode(bytes), 'SIP/2.0 200 OK\r\nContent-Length: 3\r\nServer: Verbatim\r\n\r\nabc');
  });

  void it('never lets a value inject a header line', () => {
    const bytes = serializeSipMessage({
      type: 'response',
      status: 200,
      reason: 'OK\r\nX: y',
      headers: [{ name: 'Subject', value: 'a\r\nVia: evil' }],
      body: new Uint8Array(0),
    });
    assert.equal(
      decoder.decode(bytes),
      'SIP/2.0 200 OK X: y\r\nSubject: a Via: evil\r\nContent-Length: 0\r\n\r\n',
    );
  });

  void it('round-trips every parseable fixture: parse(serialize(m)) equals m', () => {
    let count = 0;
    for (const area of ['rfc4475', 'cucm']) {
      for (const name of listFixtures(area)) {
        const first = parseSipMessage(loadFixture(area, name));
        if (!first.ok) {
          continue;
        }
        const again = expectOk(parseSipMessage(serializeSipMessage(first.value)));
        // Content-Length is always written; a message parsed without one gains it at the end.
        const expected =
          getHeader(first.value, 'Content-Length') === undefined
            ? {
                ...first.value,
                headers: [
                  ...first.value.headers,
                  { name: 'Content-Length', value: String(first.value.body.length) },
                ],
              }
            : first.value;
        assert.deepEqual(again, expected, `${area}/${name}`);
        count += 1;
      }
    }
    assert.ok(count >= 30, `only ${count} fixtures round-tripped`);
  });
});

void describe('buildResponse (RFC 3261 §8.2.6.2)', () => {
  void it('copies Via in order, From, To, Call-ID and CSeq, and tags To', () => {
    const invite = expectOk(
      parseSipMessage(
        crlf(
          'INVITE sip:7878@192.0.2.30 SIP/2.0',
          'Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKp, SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKa',
          'From: <sip:1001@192.0.2.5;x-nearend>;tag=73601',
          'To: <sip:7878@192.0.2.30>',
          'Call-ID: c1@192.0.2.5',
          'CSeq: 101 INVITE',
          'Timestamp: 54',
          'Content-Length: 0',
          '',
          '',
        ),
      ),
    ) as SipRequest;
    const ok = buildResponse(invite, 200, 'OK', {
      toTag: 'vb1',
      headers: [{ name: 'Contact', value: '<sip:7878@192.0.2.30:5060>' }],
      body: { contentType: 'application/sdp', content: 'v=0\r\n' },
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(getHeaders(ok, 'Via'), [
      'SIP/2.0/UDP 192.0.2.9;branch=z9hG4bKp',
      'SIP/2.0/UDP 192.0.2.5:5060;branch=z9hG4bKa',
    ]);
    assert.equal(getHeader(ok, 'From'), '<sip:1001@192.0.2.5;x-nearend>;tag=73601');
    assert.equal(getHeader(ok, 'To'), '<sip:7878@192.0.2.30>;tag=vb1');
    assert.equal(getHeader(ok, 'Call-ID'), 'c1@192.0.2.5');
    assert.equal(getHeader(ok, 'CSeq'), '101 INVITE');
    assert.equal(getHeader(ok, 'Timestamp'), undefined);
    assert.equal(getHeader(ok, 'Content-Type'), 'application/sdp');
    assert.equal(decoder.decode(ok.body), 'v=0\r\n');
    const wire = expectOk(parseSipMessage(serializeSipMessage(ok)));
    assert.equal(getHeader(wire, 'Content-Length'), '5');

    const trying = buildResponse(invite, 100, 'Trying');
    assert.equal(getHeader(trying, 'Timestamp'), '54');
    assert.equal(getHeader(trying, 'To'), '<sip:7878@192.0.2.30>');
  });

  void it('keeps an existing To tag', () => {
    const bye = request('cucm10-bib-ack.txt');
    const response = buildResponse(bye, 200, 'OK', { toTag: 'other' });
    assert.equal(expectOk(parseNameAddr(getHeader(response, 'To') ?? '')).params.get('tag'), '1');
  });

  void it('answers the CUCM 11.5 INVITE with a parseable 488', () => {
    const invite = request('cucm11-bib-invite-nearend-tcp.txt');
    const response = buildResponse(invite, 488, 'Not Acceptable Here', {
      toTag: 'x1',
      headers: [{ name: 'Warning', value: '304 verbatim "Media type not available"' }],
    });
    const parsed = expectOk(parseSipMessage(serializeSipMessage(response)));
    assert.ok(parsed.type === 'response' && parsed.status === 488);
    assert.equal(getHeader(parsed, 'Warning'), '304 verbatim "Media type not available"');
    assert.equal(getHeader(parsed, 'Call-ID'), getHeader(invite, 'Call-ID'));
  });
});

void describe('buildRequest', () => {
  void it('builds an in-dialog BYE that parses, with CSeq method BYE and Max-Forwards 70', () => {
    const bye = buildRequest({
      method: 'BYE',
      requestUri: 'sip:9110001@10.48.32.90:5060',
      via: 'SIP/2.0/UDP 10.48.32.170:5060;branch=z9hG4bKvb2',
      from: '<sip:8675309@10.48.32.170>;tag=1',
      to: '<sip:9110001@10.48.32.90;x-nearend>;tag=73601',
      callId: 'abbb8e00-4291f775-204c-5a20300e@10.48.32.90',
      cseq: 1,
      routes: ['<sip:10.48.32.91;lr>'],
    });
    const parsed = expectOk(parseSipMessage(serializeSipMessage(bye)));
    assert.ok(parsed.type === 'request' && parsed.method === 'BYE');
    assert.equal(getHeader(parsed, 'CSeq'), '1 BYE');
    assert.equal(getHeader(parsed, 'Max-Forwards'), '70');
    assert.deepEqual(getHeaders(parsed, 'Route'), ['<sip:10.48.32.91;lr>']);
    assert.equal(getHeader(parsed, 'Content-Length'), '0');
  });
});
