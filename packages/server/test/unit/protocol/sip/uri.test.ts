import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipUri, serializeSipUri } from '../../../../src/protocol/sip/uri.js';
import { parseNameAddr } from '../../../../src/protocol/sip/headers.js';
import { SipErrorCode } from '../../../../src/protocol/sip/errors.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

/** From headers of CUCM recording INVITEs, from /work/shared/reference/intake-samples.md §1. */
const CUCM_FROM = {
  bib105:
    '<sip:9110001@10.48.32.90;x-nearend;x-refci=38960750;x-nearendclusterid=glenscucm10-5;x-nearenddevice=sep001795bdd16b;x-nearendaddr=9110001;x-farendrefci=38960749;x-farendclusterid=glenscucm10-5;x-farenddevice=sep0018195aa209;x-farendaddr=9110006>;tag=73601~713e2333-4032-45f1-b1f5-e33cf471acec-38960754',
  nbrMobile:
    '<sip:+1234567890@10.107.28.14;x-nearend;x-refci=43358625;x-nearendclusterid=eu91;x-nearenddevice=LCP_47483708;x-nearendaddr=9876;x-farendrefci=43358624;x-farendclusterid=eu91;x-farenddevice=EU91BCUBE002-Trk;x-farendaddr=+1234567890;x-farendguid=694646BC1D2311E7A8D2826ACB31D85A>;tag=46365~8c66ebf6-153f-456b-a6e8-0bf5f687ce1f-43358634',
  docStep5:
    '<sip:2000@ucm1;x-nearend;x-refci=ci2;x-nearenddevice=deviceB; x-farendrefci=ci1;x-farenddevice=deviceA;x-farendaddr=1000> ;tag=fromtag1',
  docStep12:
    '<sip:2000@ucm1;x-nearend;x-refci=ci2;x-nearenddevice=deviceB; x-farendrefci=ci1;x-farenddevice=SIPTrunkTocluster2;x-farendaddr=3100> ;tag=fromtag1',
  mediaProxy:
    '"abcd" <sip:198101@10.200.25.137;x-nearend;x-refci=27298698;x-nearendclusterid=NY-NJ-Labcluster;x-nearenddevice=SEP2834A28318CE;x-nearendaddr=198101;x-farendrefci=27298699;x-farendclusterid=NY-NJ-Labcluster;x-farenddevice=AFIFIM-VI1;x-farendaddr=172001;x-sessionid=696dd5d3f7755c6abdc438e93d01febf>;tag=14087~b35a5915-3167-4d6a-871d-c121221602bf-27298703',
};

void describe('parseSipUri', () => {
  void it('reads user, password, host, port, parameters and headers', () => {
    const uri = expectOk(
      parseSipUri('sips:alice:secret@Atlanta.example.com:5061;Transport=TLS;lr?Subject=hi&Priority=urgent'),
    );
    assert.equal(uri.scheme, 'sips');
    assert.equal(uri.user, 'alice');
    assert.equal(uri.password, 'secret');
    assert.equal(uri.host, 'Atlanta.example.com');
    assert.equal(uri.port, 5061);
    assert.deepEqual(
      [...uri.params],
      [
        ['transport', 'TLS'],
        ['lr', null],
      ],
    );
    assert.deepEqual(
      [...uri.headers],
      [
        ['Subject', 'hi'],
        ['Priority', 'urgent'],
      ],
    );
  });

  void it('reads a host-only URI and lowercases the scheme', () => {
    const uri = expectOk(parseSipUri('SIP:10.48.32.170:5060;transport=UDP'));
    assert.equal(uri.scheme, 'sip');
    assert.equal(uri.user, undefined);
    assert.equal(uri.host, '10.48.32.170');
    assert.equal(uri.port, 5060);
  });

  void it('keeps IPv6 references with their brackets', () => {
    const uri = expectOk(parseSipUri('sip:user@[2001:db8::10]:5070;maddr=[2001:db8::1]'));
    assert.equal(uri.host, '[2001:db8::10]');
    assert.equal(uri.port, 5070);
    assert.equal(uri.params.get('maddr'), '[2001:db8::1]');
    assert.equal(expectOk(parseSipUri('sip:[::1]')).host, '[::1]');
  });

  void it('keeps escapes as written', () => {
    const uri = expectOk(parseSipUri('sip:%61lice@example.com;n%61me=v%61lue'));
    assert.equal(uri.user, '%61lice');
    assert.equal(uri.params.get('n%61me'), 'v%61lue');
  });

  void it('reads tel URIs and keeps other schemes opaque', () => {
    const tel = expectOk(parseSipUri('tel:+1-201-555-0123;phone-context=example.com'));
    assert.equal(tel.user, '+1-201-555-0123');
    assert.equal(tel.params.get('phone-context'), 'example.com');
    const urn = expectOk(parseSipUri('urn:x-cisco-remotecc:callinfo'));
    assert.equal(urn.scheme, 'urn');
    assert.equal(urn.opaque, 'x-cisco-remotecc:callinfo');
  });

  for (const bad of [
    '',
    'sip:',
    'no-scheme',
    '<sip:a@b>',
    'sip:a@',
    'sip:a@b:99999',
    'sip:a@b:port',
    'sip:a b@c',
    'sip:a@b;=x',
    'sip:a@b?=x',
    'sip:%zz@b',
    'sip:a@[::1',
    'sip:a@-',
    'http:has space',
    '1sip:a@b',
  ]) {
    void it(`rejects ${JSON.stringify(bad)}`, () => {
      expectErr(parseSipUri(bad), SipErrorCode.Uri);
    });
  }

  void it('serializes back to the same text', () => {
    for (const text of [
      'sip:alice@example.com',
      'sips:alice:pw@[2001:db8::10]:5061;transport=tls;lr?Subject=hi&X=1',
      'sip:10.48.32.170:5060;transport=UDP',
      'tel:+12015550123;phone-context=example.com',
      'urn:x-cisco-remotecc:callinfo',
    ]) {
      assert.equal(serializeSipUri(expectOk(parseSipUri(text))), text);
    }
  });
});

void describe('CUCM From URIs (intake-samples §1)', () => {
  void it('BiB 10.5: the x-nearend flag and the refci pair', () => {
    const from = expectOk(parseNameAddr(CUCM_FROM.bib105));
    assert.equal(from.uri.user, '9110001');
    assert.equal(from.uri.host, '10.48.32.90');
    assert.ok(from.uri.params.has('x-nearend') && from.uri.params.get('x-nearend') === null);
    assert.equal(from.uri.params.get('x-refci'), '38960750');
    assert.equal(from.uri.params.get('x-farendrefci'), '38960749');
    assert.equal(from.uri.params.get('x-farendaddr'), '9110006');
    assert.equal(from.params.get('tag'), '73601~713e2333-4032-45f1-b1f5-e33cf471acec-38960754');
    assert.equal(from.uri.params.has('tag'), false);
  });

  void it('NBR mobile agent: a + in user and parameter values, a guid', () => {
    const from = expectOk(parseNameAddr(CUCM_FROM.nbrMobile));
    assert.equal(from.uri.user, '+1234567890');
    assert.equal(from.uri.params.get('x-farendaddr'), '+1234567890');
    assert.equal(from.uri.params.get('x-farendguid'), '694646BC1D2311E7A8D2826ACB31D85A');
    assert.equal(from.uri.params.get('x-nearenddevice'), 'LCP_47483708');
  });

  void it('Cisco documentation form with a space after ";" and before ";tag"', () => {
    const step5 = expectOk(parseNameAddr(CUCM_FROM.docStep5));
    assert.equal(step5.uri.host, 'ucm1');
    assert.equal(step5.uri.params.get('x-farendrefci'), 'ci1');
    assert.equal(step5.uri.params.get('x-nearenddevice'), 'deviceB');
    assert.equal(step5.params.get('tag'), 'fromtag1');
    const step12 = expectOk(parseNameAddr(CUCM_FROM.docStep12));
    assert.equal(step12.uri.params.get('x-farendaddr'), '3100');
  });

  void it('CUBE media proxy: a display name and x-sessionid', () => {
    const from = expectOk(parseNameAddr(CUCM_FROM.mediaProxy));
    assert.equal(from.displayName, 'abcd');
    assert.equal(from.uri.params.get('x-sessionid'), '696dd5d3f7755c6abdc438e93d01febf');
  });
});
