/**
 * RFC 4475 (SIP torture test messages) through parseSipMessage. The fixtures under
 * test/fixtures/sip/rfc4475/ are the messages of RFC 4475 §3 with CRLF line ends; each declared
 * Content-Length matches its body, and the S/MIME body of mpart01 is a well-formed DER object.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import {
  getHeader,
  getHeaders,
  type SipMessage,
  type SipRequest,
} from '../../../../src/protocol/sip/message.js';
import { parseCSeq, parseNameAddr, parseVia } from '../../../../src/protocol/sip/headers.js';
import { parseSipUri } from '../../../../src/protocol/sip/uri.js';
import { SipErrorCode } from '../../../../src/protocol/sip/errors.js';
import { listFixtures, loadFixture } from './fixtures.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

function parseFixture(name: string): SipMessage {
  return expectOk(parseSipMessage(loadFixture('rfc4475', `${name}.txt`)));
}

function parseRequest(name: string): SipRequest {
  const message = parseFixture(name);
  assert.equal(message.type, 'request');
  return message;
}

function header(message: SipMessage, name: string): string {
  const value = getHeader(message, name);
  assert.ok(value !== undefined, `missing ${name}`);
  return value;
}

void describe('RFC 4475 §3.1.1 valid messages parse', () => {
  void it('wsinv: folding, LWS, compact forms, escaped quotes and leading zeros', () => {
    const m = parseRequest('wsinv');
    assert.equal(m.method, 'INVITE');
    assert.equal(m.requestUri, 'sip:vivekg@chair-dnrc.example.com;unknownparam');
    const to = expectOk(parseNameAddr(header(m, 'To')));
    assert.equal(to.uri.user, 'vivekg');
    assert.equal(to.params.get('tag'), '1918181833n');
    const from = expectOk(parseNameAddr(header(m, 'From')));
    assert.equal(from.displayName, 'J Rosenberg \\"');
    assert.equal(from.params.get('tag'), '98asjd8');
    assert.equal(header(m, 'Max-Forwards'), '0068');
    assert.deepEqual(expectOk(parseCSeq(header(m, 'CSeq'))), { seq: 9, method: 'INVITE' });
    const vias = getHeaders(m, 'Via').map((v) => expectOk(parseVia(v)));
    assert.deepEqual(
      vias.map((v) => [v.protocol, v.host, v.branch]),
      [
        ['UDP', '192.0.2.2', '390skdjuw'],
        ['TCP', 'spindle.example.com', 'z9hG4bK9ikj8'],
        ['UDP', '192.168.255.111', 'z9hG4bK30239'],
      ],
    );
    assert.equal(header(m, 'Subject'), '');
    assert.equal(header(m, 'NewFangledHeader'), 'newfangled value continued newfangled value');
    assert.equal(header(m, 'UnknownHeaderWithUnusualValue'), ';;,,;;,;');
    assert.equal(header(m, 'Route'), '<sip:services.example.com;lr;unknownwith=value;unknown-no-value>');
    const contact = expectOk(parseNameAddr(header(m, 'Contact')));
    assert.equal(contact.displayName, 'Quoted string ""');
    assert.deepEqual(
      [...contact.params],
      [
        ['newparam', 'newvalue'],
        ['secondparam', null],
        ['q', '0.33'],
      ],
    );
    assert.equal(m.body.length, 150);
  });

  void it('intmeth: unusual token characters, a quoted NUL and UTF-8 values', () => {
    const m = parseRequest('intmeth');
    assert.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    const uri = expectOk(parseSipUri(m.requestUri));
    assert.equal(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
    assert.equal(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    assert.equal(uri.host, 'example.com');
    assert.equal(expectOk(parseVia(header(m, 'Via'))).branch, "z9hG4bK-.!%66*_+`'~");
    assert.equal(expectOk(parseNameAddr(header(m, 'To'))).displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
    const from = expectOk(parseNameAddr(header(m, 'From')));
    assert.equal(from.displayName, "token1~` token2'+_ token3*%!.-");
    assert.equal(from.params.get("fromparam''~+*_!.-%"), '"работающий"');
    assert.equal(from.params.get('tag'), "_token~1'+`*%!-.");
    assert.equal(header(m, 'Call-ID'), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
    assert.equal(header(m, "extensionHeader-!.%*+_`'~"), '\ufeff大停電');
  });

  void it('esc01: escapes are kept as written in URIs and compact forms expand', () => {
    const m = parseRequest('esc01');
    assert.equal(expectOk(parseSipUri(m.requestUri)).user, 'sips%3Auser%40example.com');
    assert.equal(expectOk(parseNameAddr(header(m, 'To'))).uri.user, '%75se%72');
    assert.equal(header(m, 'Call-ID'), 'esc01.239409asdfakjkn23onasd0-3234');
    assert.equal(header(m, 'Content-Type'), 'application/sdp');
    const contact = expectOk(parseNameAddr(header(m, 'Contact')));
    assert.equal(contact.uri.user, 'cal%6Cer');
    assert.deepEqual(
      [...contact.uri.params],
      [
        ['%6c%72', null],
        ['n%61me', 'v%61lue%25%34%31'],
      ],
    );
  });

  void it('escnull: %00 in user parts, two Contacts kept apart', () => {
    const m = parseRequest('escnull');
    assert.deepEqual(
      getHeaders(m, 'Contact').map((c) => expectOk(parseNameAddr(c)).uri.user),
      ['%00', '%00%00'],
    );
  });

  void it('esc02: % is not an escape in methods and header names', () => {
    const m = parseRequest('esc02');
    assert.equal(m.method, 'RE%47IST%45R');
    assert.equal(expectOk(parseNameAddr(header(m, 'To'))).displayName, '%Z%45');
    assert.equal(getHeaders(m, 'Contact').length, 2);
    assert.equal(header(m, 'C%6Fntact'), '<sip:alias2@host2.example.com>');
  });

  void it('lwsdisp: a token display name directly followed by <', () => {
    const from = expectOk(parseNameAddr(header(parseFixture('lwsdisp'), 'From')));
    assert.equal(from.displayName, 'caller');
    assert.equal(from.uri.user, 'caller');
  });

  void it('longreq: long values and 34 Via headers in every spelling', () => {
    const m = parseRequest('longreq');
    const vias = getHeaders(m, 'Via');
    assert.equal(vias.length, 34);
    assert.equal(expectOk(parseVia(vias[0] ?? '')).host, 'sip33.example.com');
    assert.equal(expectOk(parseVia(vias[33] ?? '')).params.get('received'), '192.0.2.5');
    const to = expectOk(parseNameAddr(header(m, 'To')));
    assert.equal(to.uri.port, 6000);
    assert.equal(to.uri.params.get(`longparamname${'name'.repeat(25)}`), 'shortvalue');
    assert.equal(m.body.length, 150);
  });

  void it('dblreq: bytes after Content-Length in a datagram are ignored', () => {
    const m = parseRequest('dblreq');
    assert.equal(m.method, 'REGISTER');
    assert.equal(m.body.length, 0);
  });

  void it('semiuri: ";" in the user part, and a folded Accept split into six values', () => {
    const m = parseRequest('semiuri');
    const uri = expectOk(parseSipUri(m.requestUri));
    assert.equal(uri.user, 'user;par=u%40example.net');
    assert.equal(uri.host, 'example.com');
    assert.deepEqual(getHeaders(m, 'Accept'), [
      'application/sdp',
      'application/pkcs7-mime',
      'multipart/mixed',
      'multipart/signed',
      'message/sip',
      'message/sipfrag',
    ]);
  });

  void it('transports: known and unknown transports in Via', () => {
    const protocols = getHeaders(parseFixture('transports'), 'Via').map(
      (v) => expectOk(parseVia(v)).protocol,
    );
    assert.deepEqual(protocols, ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  });

  void it('mpart01: a multipart body with binary content is kept byte for byte', () => {
    const m = parseFixture('mpart01');
    assert.equal(m.body.length, 553);
    assert.deepEqual([...m.body.subarray(m.body.length - 26, m.body.length - 24)], [0xd0, 0x05]);
  });

  void it('unreason: a UTF-8 reason phrase', () => {
    const m = parseFixture('unreason');
    assert.equal(m.type, 'response');
    assert.equal(m.reason, '= 2**3 * 5**2 но сто девяносто девять - простое');
  });

  void it('noreason: an empty reason phrase', () => {
    const m = parseFixture('noreason');
    assert.ok(m.type === 'response' && m.status === 100 && m.reason === '');
  });
});

/** RFC 4475 §3.1.2: messages an element must reject (or may only accept by guessing). */
const INVALID: readonly (readonly [string, string, string])[] = [
  ['badinv01', SipErrorCode.Via, '§3.1.2.1 empty Via parameters ";;,;,,"'],
  ['clerr', SipErrorCode.ContentLength, '§3.1.2.2 Content-Length larger than the message'],
  ['ncl', SipErrorCode.ContentLength, '§3.1.2.3 negative Content-Length'],
  ['scalar02', SipErrorCode.CSeq, '§3.1.2.4 CSeq number over 2**31 (and Max-Forwards 300)'],
  ['scalarlg', SipErrorCode.CSeq, '§3.1.2.5 response with an overlarge CSeq'],
  ['quotbal', SipErrorCode.NameAddr, '§3.1.2.6 unterminated quoted display name'],
  ['ltgtruri', SipErrorCode.RequestUri, '§3.1.2.7 Request-URI in <>'],
  ['lwsruri', SipErrorCode.StartLine, '§3.1.2.8 LWS inside the Request-URI'],
  ['lwsstart', SipErrorCode.StartLine, '§3.1.2.9 several SP between Request-Line elements'],
  ['trws', SipErrorCode.StartLine, '§3.1.2.10 SP after SIP-Version'],
  ['escruri', SipErrorCode.RequestUri, '§3.1.2.11 escaped headers in the Request-URI'],
  ['regbadct', SipErrorCode.NameAddr, '§3.1.2.13 addr-spec with "?" not enclosed in <>'],
  ['badaspec', SipErrorCode.NameAddr, '§3.1.2.14 whitespace inside < >'],
  ['baddn', SipErrorCode.NameAddr, '§3.1.2.15 comma in an unquoted display name'],
  ['badvers', SipErrorCode.Version, '§3.1.2.16 SIP/7.0'],
  ['mismatch01', SipErrorCode.CSeq, '§3.1.2.17 CSeq method differs from the Request-Line'],
  ['mismatch02', SipErrorCode.CSeq, '§3.1.2.18 unknown method with a different CSeq method'],
  ['bigcode', SipErrorCode.StartLine, '§3.1.2.19 status code 4294967301'],
  ['insuf', SipErrorCode.MissingHeader, '§3.3.1 missing From, To, Call-ID, Max-Forwards'],
  ['multi01', SipErrorCode.DuplicateHeader, '§3.3.8 two From, To, Call-ID and CSeq'],
  ['mcl01', SipErrorCode.DuplicateHeader, '§3.3.9 two Content-Length values'],
];

void describe('RFC 4475 invalid messages give a typed error', () => {
  for (const [name, code, why] of INVALID) {
    void it(`${name}: ${why} → ${code}`, () => {
      expectErr(parseSipMessage(loadFixture('rfc4475', `${name}.txt`)), code);
    });
  }

  void it('insuf names the first missing header', () => {
    const message = expectErr(
      parseSipMessage(loadFixture('rfc4475', 'insuf.txt')),
      SipErrorCode.MissingHeader,
    );
    assert.match(message, /From/);
  });
});

/**
 * Messages that are syntactically valid: their problems are semantic and belong to the layers
 * above the parser, which is why parsing them must succeed.
 */
const SEMANTIC: readonly (readonly [string, string])[] = [
  ['baddate', '§3.1.2.12 Date in EST instead of GMT: Date is not interpreted by the parser'],
  ['badbranch', '§3.2.1 branch is only the magic cookie: the transaction layer decides'],
  ['unkscm', '§3.3.2 unknown Request-URI scheme: the core answers 416'],
  ['novelsc', '§3.3.3 known but atypical scheme: the core answers 416'],
  ['unksm2', '§3.3.4 unknown schemes in To, From and Contact: kept as opaque URIs'],
  ['bext01', '§3.3.5 unsupported Require: the core answers 420'],
  ['invut', '§3.3.6 unknown Content-Type: the core answers 415'],
  ['regaut01', '§3.3.7 unknown authorization scheme'],
  ['bcast', '§3.3.10 broadcast Via in a response: the transport layer drops it'],
  ['zeromf', '§3.3.11 Max-Forwards 0: a UAS still answers OPTIONS'],
  ['cparam01', '§3.3.12 Contact parameter in addr-spec form belongs to the header'],
  ['cparam02', '§3.3.13 URI parameter inside < >'],
  ['regescrt', '§3.3.14 escaped Route header inside a Contact in < >'],
  ['sdp01', '§3.3.15 unacceptable Accept: the core answers 406'],
  ['inv2543', '§3.4.1 RFC 2543 syntax: no Max-Forwards, no branch, no Content-Length'],
];

void describe('RFC 4475 semantically odd messages still parse', () => {
  for (const [name, why] of SEMANTIC) {
    void it(`${name}: ${why}`, () => {
      parseFixture(name);
    });
  }

  void it('cparam01 and cparam02 put unknownparam on the header and on the URI respectively', () => {
    const header01 = expectOk(parseNameAddr(header(parseFixture('cparam01'), 'Contact')));
    assert.ok(header01.params.has('unknownparam') && !header01.uri.params.has('unknownparam'));
    const header02 = expectOk(parseNameAddr(header(parseFixture('cparam02'), 'Contact')));
    assert.ok(!header02.params.has('unknownparam') && header02.uri.params.has('unknownparam'));
  });

  void it('unksm2 keeps unknown schemes opaque', () => {
    const m = parseFixture('unksm2');
    assert.deepEqual(expectOk(parseNameAddr(header(m, 'To'))).uri.opaque, '2983792873');
    assert.equal(expectOk(parseNameAddr(header(m, 'From'))).uri.scheme, 'http');
    assert.equal(expectOk(parseNameAddr(header(m, 'Contact'))).uri.opaque, 'John_Smith');
  });

  void it('every fixture is covered by one of the tables', () => {
    const covered = new Set([
      ...INVALID.map(([name]) => name),
      ...SEMANTIC.map(([name]) => name),
      ...['wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri'],
      ...['transports', 'mpart01', 'unreason', 'noreason'],
    ]);
    assert.deepEqual(
      listFixtures('rfc4475').filter((file) => !covered.has(file.replace(/\.txt$/, ''))),
      [],
    );
  });
});
