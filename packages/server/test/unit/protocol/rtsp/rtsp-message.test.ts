import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { RtspErrorCode } from '../../../../src/protocol/rtsp/errors.js';
import { RtspStreamFramer, type RtspStreamItem } from '../../../../src/protocol/rtsp/framer.js';
import {
  expectedDigestResponse,
  formatNptRange,
  parseAuthorization,
  parseRange,
  parseSessionHeader,
  parseTransport,
} from '../../../../src/protocol/rtsp/headers.js';
import {
  cseqOfHead,
  header,
  interleavedFrame,
  parseRtspRequest,
  serializeRtspResponse,
} from '../../../../src/protocol/rtsp/message.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

const FIXTURES = resolve(import.meta.dirname, '../../../fixtures/rtsp');
const fixture = (name: string): Uint8Array => new Uint8Array(readFileSync(resolve(FIXTURES, name)));
const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

function requestsOf(items: readonly RtspStreamItem[]): string[] {
  return items.map((item) =>
    item.kind === 'request'
      ? `request ${new TextDecoder().decode(item.head).split('\r\n')[0] ?? ''} +${item.body.length}`
      : item.kind === 'interleaved'
        ? `frame ${item.channel} ${item.packet.length}`
        : `error ${item.error.code}`,
  );
}

void describe('RTSP request parsing', () => {
  void it('reads an ffmpeg DESCRIBE: method, URI, version, CSeq and headers', () => {
    const request = expectOk(parseRtspRequest(fixture('ffmpeg-describe.txt')));
    assert.equal(request.method, 'DESCRIBE');
    assert.equal(request.uri, 'rtsp://127.0.0.1:8554/archive/0123abcd');
    assert.equal(request.version, 'RTSP/1.0');
    assert.equal(request.cseq, 2);
    assert.equal(header(request, 'Accept'), 'application/sdp');
    assert.equal(header(request, 'user-agent'), 'Lavf59.27.100');
  });

  void it('reads a request with bare LF line ends (RFC 2326 §4 tolerance)', () => {
    const request = expectOk(parseRtspRequest(fixture('gstreamer-setup-lf.txt')));
    assert.equal(request.method, 'SETUP');
    assert.equal(request.cseq, 4);
  });

  void it('checks the body against Content-Length', () => {
    const raw = fixture('get-parameter-body.txt');
    const split = raw.length - 5;
    const request = expectOk(parseRtspRequest(raw.subarray(0, split), raw.subarray(split)));
    assert.equal(new TextDecoder().decode(request.body), 'hello');
    expectErr(parseRtspRequest(raw.subarray(0, split), raw.subarray(split + 1)), RtspErrorCode.ContentLength);
  });

  void it('refuses malformed requests with typed errors', () => {
    const cases: [string, string][] = [
      ['', RtspErrorCode.RequestLine],
      ['DESCRIBE rtsp://h/x\r\nCSeq: 1\r\n\r\n', RtspErrorCode.RequestLine],
      ['DESCRIBE  rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n', RtspErrorCode.RequestLine],
      ['DESC\x01RIBE rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\n\r\n', RtspErrorCode.RequestLine],
      ['DESCRIBE rtsp://h/x HTTP/1.1\r\nCSeq: 1\r\n\r\n', RtspErrorCode.RequestLine],
      ['DESCRIBE rtsp://h/x RTSP/2.0\r\nCSeq: 1\r\n\r\n', RtspErrorCode.Version],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\n\r\n', RtspErrorCode.CSeq],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: one\r\n\r\n', RtspErrorCode.CSeq],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: 1\r\nCSeq: 2\r\n\r\n', RtspErrorCode.CSeq],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: 99999999999\r\n\r\n', RtspErrorCode.CSeq],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq 1\r\n\r\n', RtspErrorCode.HeaderSyntax],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\n continued\r\nCSeq: 1\r\n\r\n', RtspErrorCode.HeaderSyntax],
      ['DESCRIBE rtsp://h/x RTSP/1.0\r\nCSeq: 1\rX: y\r\n\r\n', RtspErrorCode.HeaderSyntax],
    ];
    for (const [text, code] of cases) {
      expectErr(parseRtspRequest(bytes(text)), code);
    }
    expectErr(parseRtspRequest(new Uint8Array(9000).fill(0x41)), RtspErrorCode.TooLarge);
  });

  void it('writes a response with its reason phrase, no header injection, and Content-Length', () => {
    const out = serializeRtspResponse({
      status: 454,
      headers: [
        ['CSeq', '7'],
        ['X-Note', 'evil\r\nInjected: 1'],
      ],
      body: bytes('abc'),
    });
    assert.equal(
      new TextDecoder().decode(out),
      'RTSP/1.0 454 Session Not Found\r\nCSeq: 7\r\nX-Note: evil  Injected: 1\r\nContent-Length: 3\r\n\r\nabc',
    );
  });

  void it('frames an interleaved packet as $, channel, 16-bit length, packet', () => {
    assert.deepEqual([...interleavedFrame(3, Uint8Array.of(9, 8, 7))], [0x24, 3, 0, 3, 9, 8, 7]);
    assert.throws(() => interleavedFrame(256, new Uint8Array(1)), RangeError);
  });
});

void describe('RTSP stream framing', () => {
  const setup = fixture('ffmpeg-setup-tcp.txt');
  const rtcp = interleavedFrame(1, new Uint8Array(32).fill(0x81));
  const body = fixture('get-parameter-body.txt');

  void it('cuts requests and interleaved frames apart, in order, skipping CRLF keep-alives', () => {
    const stream = new Uint8Array([...setup, 0x0d, 0x0a, ...rtcp, ...body, ...rtcp]);
    const framer = new RtspStreamFramer();
    assert.deepEqual(requestsOf(framer.push(stream)), [
      'request SETUP rtsp://127.0.0.1:8554/archive/0123abcd/trackID=0 RTSP/1.0 +0',
      'frame 1 32',
      'request GET_PARAMETER rtsp://h/archive/x RTSP/1.0 +5',
      'frame 1 32',
    ]);
    assert.equal(framer.bufferedBytes, 0);
  });

  void it('gives the same items when the stream arrives one byte at a time', () => {
    const stream = new Uint8Array([...rtcp, ...setup, ...body, ...rtcp, ...setup]);
    const framer = new RtspStreamFramer();
    const items: RtspStreamItem[] = [];
    for (const byte of stream) {
      items.push(...framer.push(Uint8Array.of(byte)));
    }
    assert.deepEqual(
      requestsOf(items),
      requestsOf(new RtspStreamFramer().push(stream)),
      'byte-at-a-time framing differs from whole-stream framing',
    );
    assert.equal(items.length, 5);
  });

  void it('fails on an endless header section and stays failed', () => {
    const framer = new RtspStreamFramer();
    const items = framer.push(bytes(`OPTIONS * RTSP/1.0\r\nX: ${'a'.repeat(9000)}`));
    assert.deepEqual(requestsOf(items), [`error ${RtspErrorCode.TooLarge}`]);
    assert.equal(framer.failed, true);
    assert.deepEqual(framer.push(setup), []);
  });

  void it('refuses a huge Content-Length at once, handing back the head to answer 413', () => {
    const framer = new RtspStreamFramer();
    const [item] = framer.push(
      bytes('SET_PARAMETER * RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 999999\r\n\r\n'),
    );
    assert.equal(item?.kind, 'error');
    assert.ok(item.head !== undefined);
    assert.equal(cseqOfHead(item.head), 3);
  });
});

void describe('RTSP headers', () => {
  void it('reads ffmpeg TCP and GStreamer UDP-then-TCP transports', () => {
    const tcp = expectOk(parseTransport('RTP/AVP/TCP;unicast;interleaved=0-1'));
    assert.deepEqual(tcp, [
      { profile: 'RTP/AVP', lowerTransport: 'TCP', unicast: true, mode: 'play', interleaved: [0, 1] },
    ]);
    const request = expectOk(parseRtspRequest(fixture('gstreamer-setup-lf.txt')));
    const offered = expectOk(parseTransport(header(request, 'transport') ?? ''));
    assert.equal(offered.length, 2);
    assert.deepEqual(offered[0], {
      profile: 'RTP/AVP',
      lowerTransport: 'UDP',
      unicast: true,
      mode: 'play',
      clientPort: [50000, 50001],
    });
    assert.deepEqual(offered[1]?.interleaved, [2, 3]);
    assert.deepEqual(
      expectOk(parseTransport('RTP/AVP;unicast;client_port=6970'))[0]?.clientPort,
      [6970, 6971],
    );
  });

  void it('refuses malformed transports', () => {
    for (const value of [
      '',
      ';unicast',
      'RTP/AVP/SCTP;unicast',
      'RTP/AVP/TCP;interleaved=300-301',
      'RTP/AVP;client_port=0-1',
      'RTP/AVP;client_port=a-b',
      Array(9).fill('RTP/AVP').join(','),
      `RTP/AVP;${'x'.repeat(2000)}`,
    ]) {
      expectErr(parseTransport(value), RtspErrorCode.Transport);
    }
  });

  void it('reads npt ranges in seconds and h:mm:ss, open or closed, and now', () => {
    assert.deepEqual(expectOk(parseRange('npt=2.000-')), { now: false, startS: 2 });
    assert.deepEqual(expectOk(parseRange('npt=0:01:02.5-0:01:10')), { now: false, startS: 62.5, endS: 70 });
    assert.deepEqual(expectOk(parseRange('npt=-5')), { now: false, endS: 5 });
    assert.deepEqual(expectOk(parseRange('npt = now-')), { now: true });
    assert.deepEqual(expectOk(parseRange('npt=1-;time=19970123T143720Z')), { now: false, startS: 1 });
    for (const value of [
      'clock=19961108T142300Z-',
      'npt=-',
      'npt=5-2',
      'npt=abc-',
      'npt=0:99:00-',
      'npt=9999999-',
      'npt=now-5',
    ]) {
      expectErr(parseRange(value), RtspErrorCode.Range);
    }
    assert.equal(formatNptRange(2, 10.2345), 'npt=2.000-10.235');
    assert.equal(formatNptRange(0), 'npt=0.000-');
  });

  void it('reads a Session header without its parameters', () => {
    assert.equal(expectOk(parseSessionHeader('9f2c4e5a1b3d7f60;timeout=60')), '9f2c4e5a1b3d7f60');
    expectErr(parseSessionHeader(''), RtspErrorCode.Session);
    expectErr(parseSessionHeader('a b'), RtspErrorCode.Session);
  });

  void it('reads Basic and Digest credentials and refuses others', () => {
    assert.deepEqual(expectOk(parseAuthorization('Basic YWRtaW46c2VjcmV0')), {
      scheme: 'basic',
      token: 'YWRtaW46c2VjcmV0',
    });
    const request = expectOk(parseRtspRequest(fixture('ffmpeg-setup-tcp.txt')));
    const digest = expectOk(parseAuthorization(header(request, 'authorization') ?? ''));
    assert.ok(digest.scheme === 'digest');
    assert.equal(digest.digest.username, 'admin');
    assert.equal(digest.digest.uri, 'rtsp://127.0.0.1:8554/archive/0123abcd/trackID=0');
    assert.equal(digest.digest.algorithm, 'MD5');
    for (const value of [
      'Bearer abc',
      'Digest ',
      'Digest username="a"',
      'Digest username="a, realm=x',
      'Basic',
    ]) {
      expectErr(parseAuthorization(value), RtspErrorCode.Authorization);
    }
  });

  void it('computes the RFC 2617 §3.5 example response from HA1, with and without qop', () => {
    const value =
      'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", ' +
      'uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", ' +
      'response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
    const parsed = expectOk(parseAuthorization(value));
    assert.ok(parsed.scheme === 'digest');
    const ha1 = md5('Mufasa:testrealm@host.com:Circle Of Life');
    assert.equal(expectedDigestResponse(ha1, 'GET', parsed.digest, md5), '6629fae49393a05397450978507c4ef1');
    const noQop = {
      username: parsed.digest.username,
      realm: parsed.digest.realm,
      nonce: parsed.digest.nonce,
      uri: parsed.digest.uri,
      response: parsed.digest.response,
      algorithm: parsed.digest.algorithm,
    };
    const ha2 = md5('GET:/dir/index.html');
    assert.equal(
      expectedDigestResponse(ha1, 'GET', { ...noQop, algorithm: 'MD5' }, md5),
      md5(`${ha1}:dcd98b7102dd2f0e8b11d0f600bfb0c093:${ha2}`),
    );
    assert.equal(
      expectedDigestResponse(ha1, 'GET', { ...parsed.digest, algorithm: 'SHA-512' }, md5),
      undefined,
    );
  });
});
