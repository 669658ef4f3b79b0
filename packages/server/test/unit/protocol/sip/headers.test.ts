import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCSeq,
  parseNameAddr,
  parseVia,
  serializeNameAddr,
  serializeVia,
  splitHeaderList,
} from '../../../../src/protocol/sip/headers.js';
import { SipErrorCode } from '../../../../src/protocol/sip/errors.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

void describe('parseNameAddr', () => {
  void it('reads a quoted display name with escapes, the URI and header parameters', () => {
    const value = expectOk(parseNameAddr('"Bob \\"B\\" Smith" <sip:bob@biloxi.example.com>;tag=a6c85cf;X=Y'));
    assert.equal(value.displayName, 'Bob "B" Smith');
    assert.equal(value.uriText, 'sip:bob@biloxi.example.com');
    assert.equal(value.uri.user, 'bob');
    assert.deepEqual(
      [...value.params],
      [
        ['tag', 'a6c85cf'],
        ['x', 'Y'],
      ],
    );
  });

  void it('gives the parameters after an addr-spec to the header (RFC 3261 §20.10)', () => {
    const value = expectOk(parseNameAddr('sip:alice@atlanta.example.com;tag=88sja8x;transport=tcp'));
    assert.equal(value.displayName, undefined);
    assert.equal(value.uriText, 'sip:alice@atlanta.example.com');
    assert.equal(value.uri.params.size, 0);
    assert.equal(value.params.get('tag'), '88sja8x');
    assert.equal(value.params.get('transport'), 'tcp');
  });

  void it('reads token display names and an empty quoted one', () => {
    assert.equal(
      expectOk(parseNameAddr('A. G. Bell <sip:agb@bell-telephone.com>')).displayName,
      'A. G. Bell',
    );
    assert.equal(expectOk(parseNameAddr('"" <sip:a@b>')).displayName, '');
    assert.equal(expectOk(parseNameAddr('<sip:a@b>')).displayName, undefined);
  });

  for (const [bad, why] of [
    ['"unterminated <sip:a@b>', 'unterminated quote'],
    ['"Name" sip:a@b', 'quoted name without <>'],
    ['<sip:a@b', 'missing >'],
    ['< sip:a@b>', 'space inside <'],
    ['Bell, A <sip:a@b>', 'comma in token display name'],
    ['<sip:a@b>;;', 'empty parameter'],
    ['<sip:a@b>;tag=', 'empty parameter value'],
    ['<sip:a@b>;tag="x', 'unterminated quoted parameter'],
    ['<sip:a@b> junk', 'text after the name-addr'],
    ['sip:a@b?x=y', 'headers in an addr-spec'],
    ['<>', 'empty URI'],
    ['', 'empty value'],
  ]) {
    void it(`rejects ${why}`, () => {
      expectErr(parseNameAddr(bad ?? ''), SipErrorCode.NameAddr);
    });
  }

  void it('serializes in angle-bracket form', () => {
    const value = expectOk(parseNameAddr('J "Doe" <sip:j@x>;tag=1'.replace('J "Doe"', '"J \\"Doe\\""')));
    assert.equal(serializeNameAddr(value), '"J \\"Doe\\"" <sip:j@x>;tag=1');
    assert.equal(serializeNameAddr(expectOk(parseNameAddr('sip:a@b;tag=2'))), '<sip:a@b>;tag=2');
  });
});

void describe('parseVia', () => {
  void it('reads protocol, host, port, params and branch', () => {
    const via = expectOk(
      parseVia('SIP/2.0/udp 10.48.32.90:5060;branch=z9hG4bK204d520fedb3;rport;received=192.0.2.1'),
    );
    assert.equal(via.protocol, 'UDP');
    assert.equal(via.host, '10.48.32.90');
    assert.equal(via.port, 5060);
    assert.equal(via.branch, 'z9hG4bK204d520fedb3');
    assert.equal(via.params.get('rport'), null);
    assert.equal(via.params.get('received'), '192.0.2.1');
  });

  void it('accepts LWS around "/" and ":", and IPv6 sent-by', () => {
    const via = expectOk(parseVia('SIP / 2.0 / TCP   [2001:db8::9] : 5070 ; branch = z9hG4bKx'));
    assert.equal(via.protocol, 'TCP');
    assert.equal(via.host, '[2001:db8::9]');
    assert.equal(via.port, 5070);
    assert.equal(via.branch, 'z9hG4bKx');
  });

  void it('has no branch when the parameter is absent or a flag', () => {
    assert.equal(expectOk(parseVia('SIP/2.0/UDP iftgw.example.com')).branch, undefined);
    assert.equal(expectOk(parseVia('SIP/2.0/UDP h;branch')).branch, undefined);
  });

  for (const bad of [
    '',
    'SIP/2.0',
    'SIP/2.0/UDP',
    'SIP/2.0/UDP ',
    'SIP/3.0/UDP host',
    'HTTP/2.0/UDP host',
    'SIP/2.0/UDPhost',
    'SIP/2.0/UDP host:70000',
    'SIP/2.0/UDP host:',
    'SIP/2.0/UDP [::1',
    'SIP/2.0/UDP host;;',
    'SIP/2.0/UDP host junk',
  ]) {
    void it(`rejects ${JSON.stringify(bad)}`, () => {
      expectErr(parseVia(bad), SipErrorCode.Via);
    });
  }

  void it('serializes back', () => {
    const text = 'SIP/2.0/TLS proxy.example.com:5061;branch=z9hG4bK1;received=192.0.2.4';
    assert.equal(serializeVia(expectOk(parseVia(text))), text);
  });
});

void describe('parseCSeq', () => {
  void it('reads number and method, leading zeros included', () => {
    assert.deepEqual(expectOk(parseCSeq('101 INVITE')), { seq: 101, method: 'INVITE' });
    assert.deepEqual(expectOk(parseCSeq('  0009 \t ACK ')), { seq: 9, method: 'ACK' });
    assert.deepEqual(expectOk(parseCSeq('2147483647 BYE')), { seq: 2 ** 31 - 1, method: 'BYE' });
  });

  for (const bad of [
    '',
    'INVITE',
    '101',
    '101INVITE',
    '-1 INVITE',
    '2147483648 BYE',
    '1 IN VITE',
    '1 INV"ITE',
  ]) {
    void it(`rejects ${JSON.stringify(bad)}`, () => {
      expectErr(parseCSeq(bad), SipErrorCode.CSeq);
    });
  }
});

void describe('splitHeaderList', () => {
  void it('splits at commas outside quotes and angle brackets and drops empty items', () => {
    assert.deepEqual(splitHeaderList('a, "b,\\" c" <sip:x,y@z>;p=1 ,, d'), [
      'a',
      '"b,\\" c" <sip:x,y@z>;p=1',
      'd',
    ]);
  });
});
