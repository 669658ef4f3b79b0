import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MultipartErrorCode } from '../../../../src/protocol/multipart/multipart.js';
import type { Result } from '../../../../src/protocol/result.js';
import { SiprecErrorCode } from '../../../../src/protocol/siprec/rs-metadata.js';
import { readSiprecBody, type SiprecBody } from '../../../../src/protocol/siprec/siprec-body.js';
import { encodeUtf8 } from '../../../../src/protocol/text.js';
import { expectErr } from '../../../support/result-asserts.js';

function expectBody(result: Result<SiprecBody | undefined>): SiprecBody {
  if (!result.ok) {
    assert.fail(`expected success, got ${result.error.code}: ${result.error.message}`);
  }
  assert.ok(result.value !== undefined, 'expected a SIPREC body');
  return result.value;
}

const SDP =
  'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=label:1';
const XML =
  '<?xml version="1.0"?>\r\n<recording xmlns="urn:ietf:params:xml:ns:recording:1"><session session_id="s1"/>' +
  '<participant participant_id="p1"><nameID aor="sip:100@h"/></participant></recording>';

function multipart(...parts: string[][]): Uint8Array {
  return encodeUtf8(`${parts.map((lines) => `--B\r\n${lines.join('\r\n')}`).join('\r\n')}\r\n--B--\r\n`);
}

describe('readSiprecBody', () => {
  it('says "not SIPREC" for plain SDP, no body, and a multipart without metadata', () => {
    assert.deepEqual(readSiprecBody('application/sdp', encodeUtf8(SDP)), { ok: true, value: undefined });
    assert.deepEqual(readSiprecBody('', new Uint8Array(0)), { ok: true, value: undefined });
    const noMetadata = multipart(
      ['Content-Type: application/sdp', '', SDP],
      ['Content-Type: application/gtd', '', 'IAM,'],
    );
    assert.deepEqual(readSiprecBody('multipart/mixed;boundary=B', noMetadata), {
      ok: true,
      value: undefined,
    });
  });

  it('finds SDP and metadata in either order and counts the other parts', () => {
    const body = multipart(
      ['Content-Type: application/rs-metadata+xml', 'Content-Disposition: recording-session', '', XML],
      ['Content-Type: application/gtd', '', 'IAM,'],
      ['Content-Type: application/sdp', '', SDP],
    );
    const siprec = expectBody(readSiprecBody('multipart/mixed;boundary=B', body));
    assert.equal(siprec.sdp, SDP);
    assert.equal(siprec.metadataXml, XML);
    assert.equal(siprec.metadata?.sessionId, 's1');
    assert.equal(siprec.otherParts, 1);
  });

  it('recognises the short type application/rs-metadata without a disposition', () => {
    const body = multipart(
      ['Content-Type: application/sdp', '', SDP],
      ['Content-Type: application/rs-metadata', '', XML],
    );
    assert.equal(
      expectBody(readSiprecBody('multipart/mixed; boundary="B"', body)).metadata?.participants[0]?.deviceRef,
      '100',
    );
  });

  it('recognises a mangled type by Content-Disposition: recording-session', () => {
    const body = multipart(
      ['Content-Type:application/ +xml', 'Content-Disposition:recording-session', '', XML],
      ['Content-Type:application/sdp', '', SDP],
    );
    assert.equal(expectBody(readSiprecBody('multipart/mixed;boundary=B', body)).metadata?.sessionId, 's1');
  });

  it('takes an SDP part without headers', () => {
    const body = multipart(['', SDP], ['Content-Type: application/rs-metadata+xml', '', XML]);
    assert.equal(expectBody(readSiprecBody('multipart/mixed;boundary=B', body)).sdp, SDP);
  });

  it('does not take application/rs-metadata-request for metadata', () => {
    const body = multipart(
      ['Content-Type: application/sdp', '', SDP],
      ['Content-Type: application/rs-metadata-request', '', ''],
    );
    assert.deepEqual(readSiprecBody('multipart/mixed;boundary=B', body), { ok: true, value: undefined });
    assert.deepEqual(readSiprecBody('application/rs-metadata-request', new Uint8Array(0)), {
      ok: true,
      value: undefined,
    });
  });

  it('reads a metadata-only body (UPDATE or BYE)', () => {
    const siprec = expectBody(readSiprecBody('application/rs-metadata+xml', encodeUtf8(XML)));
    assert.equal(siprec.sdp, undefined);
    assert.equal(siprec.metadata?.sessionId, 's1');
    assert.equal(siprec.otherParts, 0);
  });

  it('gives an error, not a crash, for invalid metadata and broken multipart', () => {
    const stripped = multipart(
      [
        'Content-Type:application/ +xml',
        'Content-Disposition:recording-session',
        '',
        'completeurn:uuid:03dd5b5d selective',
      ],
      ['Content-Type:application/sdp', '', SDP],
    );
    expectErr(readSiprecBody('multipart/mixed;boundary=B', stripped), SiprecErrorCode.MetadataSyntax);
    const truncated = multipart(
      ['Content-Type: application/sdp', '', SDP],
      ['Content-Type: application/rs-metadata+xml', '', XML.slice(0, 90)],
    );
    expectErr(readSiprecBody('multipart/mixed;boundary=B', truncated), SiprecErrorCode.MetadataSyntax);
    expectErr(
      readSiprecBody('application/rs-metadata', encodeUtf8('<!DOCTYPE x><recording/>')),
      SiprecErrorCode.MetadataDoctype,
    );
    expectErr(
      readSiprecBody('application/rs-metadata', new Uint8Array(300 * 1024)),
      SiprecErrorCode.MetadataTooLarge,
    );
    expectErr(readSiprecBody('multipart/mixed', multipart(['', SDP])), MultipartErrorCode.NoBoundary);
    expectErr(
      readSiprecBody('multipart/mixed;boundary=WRONG', multipart(['', SDP])),
      MultipartErrorCode.BoundaryNotFound,
    );
    expectErr(
      readSiprecBody('application/rs-metadata+xml', Uint8Array.from([0xff, 0xfe, 0x00, 0x3c, 0x00])),
      SiprecErrorCode.MetadataSyntax,
    );
  });
});
