import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  MAX_MULTIPART_PARTS,
  MultipartErrorCode,
  parseContentType,
  parseMultipart,
  partHeader,
  splitMultipart,
  type MultipartPart,
} from '../../../../src/protocol/multipart/multipart.js';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { getHeader } from '../../../../src/protocol/sip/message.js';
import { decodeUtf8, encodeUtf8 } from '../../../../src/protocol/text.js';
import { expectErr, expectOk } from '../../../support/result-asserts.js';

function bodies(parts: readonly MultipartPart[]): string[] {
  return parts.map((part) => decodeUtf8(part.body));
}

const SDP = 'v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0';
const XML = '<?xml version="1.0"?>\r\n<recording/>';

describe('parseContentType', () => {
  it('lower-cases the media type and parameter names and keeps the boundary as written', () => {
    const type = expectOk(parseContentType('Multipart/Mixed;Boundary=UniqueBoundary'));
    assert.equal(type.mediaType, 'multipart/mixed');
    assert.equal(type.type, 'multipart');
    assert.equal(type.subtype, 'mixed');
    assert.equal(type.params.get('boundary'), 'UniqueBoundary');
  });

  it('reads a quoted boundary with the characters a quoted-string allows', () => {
    const type = expectOk(parseContentType('multipart/mixed;boundary="----=_Part_2207_917731554.17"'));
    assert.equal(type.params.get('boundary'), '----=_Part_2207_917731554.17');
    const escaped = expectOk(parseContentType('multipart/mixed; boundary="a\\"b"; x=1'));
    assert.equal(escaped.params.get('boundary'), 'a"b');
    assert.equal(escaped.params.get('x'), '1');
  });

  it('accepts blanks around ";", "=" and "/" (Metaswitch "; boundary=")', () => {
    const type = expectOk(
      parseContentType(' multipart / mixed ;  boundary = metaswitch-boundary ; charset=utf-8 '),
    );
    assert.equal(type.mediaType, 'multipart/mixed');
    assert.equal(type.params.get('boundary'), 'metaswitch-boundary');
    assert.equal(type.params.get('charset'), 'utf-8');
  });

  it('ignores a parameter without a value and keeps the first of duplicates', () => {
    const type = expectOk(parseContentType('multipart/mixed;flag;boundary=a;boundary=b'));
    assert.equal(type.params.get('boundary'), 'a');
    assert.equal(type.params.has('flag'), false);
  });

  it('rejects a value without type/subtype', () => {
    for (const bad of ['', 'multipart', 'multipart/', '/mixed', ';boundary=x']) {
      expectErr(parseContentType(bad), MultipartErrorCode.ContentType);
    }
  });
});

describe('splitMultipart', () => {
  it('splits CRLF parts, reads part headers case-insensitively and drops preamble and epilogue', () => {
    const body = [
      'This is the preamble.',
      '--b1',
      'CONTENT-TYPE: application/sdp',
      'content-disposition: Session; handling=required',
      '',
      SDP,
      '--b1',
      'Content-Type: application/rs-metadata+xml',
      'Content-Disposition: recording-session',
      '',
      XML,
      '--b1--',
      'This is the epilogue.',
    ].join('\r\n');
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b1'));
    assert.equal(parts.length, 2);
    assert.deepEqual(bodies(parts), [SDP, XML]);
    assert.equal(parts[0]?.contentType?.mediaType, 'application/sdp');
    assert.equal(parts[0].disposition, 'session');
    assert.equal(partHeader(parts[0], 'Content-Disposition'), 'Session; handling=required');
    assert.equal(parts[1]?.disposition, 'recording-session');
  });

  it('accepts bare LF line ends', () => {
    const body = `--b\nContent-Type: application/sdp\n\nv=0\nm=audio 1 RTP/AVP 0\n--b--\n`;
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b'));
    assert.deepEqual(bodies(parts), ['v=0\nm=audio 1 RTP/AVP 0']);
  });

  it('accepts blanks after a delimiter and after the close delimiter (Oracle)', () => {
    const body = '--b \t\r\nContent-Type: text/plain\r\n\r\none\r\n--b-- \r\n';
    assert.deepEqual(bodies(expectOk(splitMultipart(encodeUtf8(body), 'b'))), ['one']);
  });

  it('ends the last part at the end of the body when the close delimiter is missing (SEMS, Ribbon)', () => {
    const body =
      '--b\r\nContent-Type: text/plain\r\n\r\none\r\n--b\r\nContent-Type: text/plain\r\n\r\ntwo\r\n';
    assert.deepEqual(bodies(expectOk(splitMultipart(encodeUtf8(body), 'b'))), ['one', 'two\r\n']);
  });

  it('does not take a line that merely starts with the boundary for a delimiter', () => {
    const body = '--b\r\n\r\n--bogus line\r\n--b-x\r\n--b--';
    assert.deepEqual(bodies(expectOk(splitMultipart(encodeUtf8(body), 'b'))), ['--bogus line\r\n--b-x']);
  });

  it('gives a part without headers all of its content (empty line first, or content first)', () => {
    const body = '--b\r\n\r\nplain text\r\n--b\r\nv=0\r\ns=-\r\n--b--';
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b'));
    assert.deepEqual(bodies(parts), ['plain text', 'v=0\r\ns=-']);
    assert.deepEqual(parts[1]?.headers, []);
    assert.equal(parts[1].contentType, undefined);
  });

  it('ends part headers at a non-header line when the empty line is missing (AudioCodes manual)', () => {
    const body = '--b\r\nContent-Type: application/sdp\r\nv=0\r\ns=-\r\n--b--';
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b'));
    assert.equal(parts[0]?.contentType?.mediaType, 'application/sdp');
    assert.equal(decodeUtf8(parts[0].body), 'v=0\r\ns=-');
  });

  it('unfolds a folded part header and accepts "name:value" without a blank', () => {
    const body =
      '--b\r\nContent-Type:application/rs-metadata+xml\r\nContent-Disposition:\r\n recording-session\r\n\r\nx\r\n--b--';
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b'));
    assert.equal(parts[0]?.contentType?.mediaType, 'application/rs-metadata+xml');
    assert.equal(parts[0].disposition, 'recording-session');
  });

  it('treats a blank-only separator line as the end of the headers (Twilio-style trailing blanks)', () => {
    const body = '--b \r\nContent-Type: application/sdp \r\n \r\nv=0 \r\n--b-- ';
    const parts = expectOk(splitMultipart(encodeUtf8(body), 'b'));
    assert.equal(parts[0]?.contentType?.mediaType, 'application/sdp');
    assert.equal(decodeUtf8(parts[0].body), 'v=0 ');
  });

  it('keeps binary part content byte for byte (RFC 4475 §3.1.1.11 mpart01)', () => {
    const path = join(import.meta.dirname, '../../../fixtures/sip/rfc4475/mpart01.txt');
    const message = parseSipMessage(new Uint8Array(readFileSync(path)));
    assert.ok(message.ok);
    const parts = expectOk(
      parseMultipart(getHeader(message.value, 'Content-Type') ?? '', message.value.body),
    );
    assert.equal(parts.length, 2);
    assert.equal(decodeUtf8(parts[0]!.body), 'Hello');
    assert.equal(parts[1]?.contentType?.mediaType, 'application/octet-stream');
    // The DER certificate starts with 0x30 0x82 and is 0x0152 + 4 bytes long.
    assert.deepEqual([...parts[1].body.subarray(0, 4)], [0x30, 0x82, 0x01, 0x52]);
    assert.equal(parts[1].body.length, 0x152 + 4);
  });

  it('returns typed errors for missing and unusable boundaries', () => {
    expectErr(parseMultipart('multipart/mixed', encodeUtf8('--b\r\n\r\nx')), MultipartErrorCode.NoBoundary);
    expectErr(parseMultipart('multipart/mixed;boundary=""', encodeUtf8('x')), MultipartErrorCode.NoBoundary);
    expectErr(
      parseMultipart(`multipart/mixed;boundary=${'x'.repeat(201)}`, encodeUtf8('x')),
      MultipartErrorCode.NoBoundary,
    );
    expectErr(
      parseMultipart('multipart/mixed;boundary=other', encodeUtf8('--b\r\n\r\nx\r\n--b--')),
      MultipartErrorCode.BoundaryNotFound,
    );
    expectErr(splitMultipart(new Uint8Array(0), 'b'), MultipartErrorCode.BoundaryNotFound);
    expectErr(parseMultipart('', encodeUtf8('x')), MultipartErrorCode.ContentType);
  });

  it('caps the number of parts, the part size and the body size', () => {
    const many = `${Array.from({ length: MAX_MULTIPART_PARTS + 1 }, (_, i) => `--b\r\n\r\n${i}`).join('\r\n')}\r\n--b--`;
    expectErr(splitMultipart(encodeUtf8(many), 'b'), MultipartErrorCode.TooManyParts);
    const exactly = `${Array.from({ length: MAX_MULTIPART_PARTS }, (_, i) => `--b\r\n\r\n${i}`).join('\r\n')}\r\n--b--`;
    assert.equal(expectOk(splitMultipart(encodeUtf8(exactly), 'b')).length, MAX_MULTIPART_PARTS);
    const big = encodeUtf8(`--b\r\n\r\n${'x'.repeat(300 * 1024)}\r\n--b--`);
    expectErr(splitMultipart(big, 'b'), MultipartErrorCode.PartTooLarge);
    expectErr(
      splitMultipart(encodeUtf8(`--b\r\n\r\n${'x'.repeat(2000)}`), 'b', { maxPartBytes: 1000 }),
      MultipartErrorCode.PartTooLarge,
    );
    expectErr(splitMultipart(new Uint8Array(2 * 1024 * 1024), 'b'), MultipartErrorCode.BodyTooLarge);
  });

  it('never throws on binary garbage', () => {
    const knownCodes: readonly string[] = Object.values(MultipartErrorCode);
    let seed = 0x2545f491;
    const random = (): number => {
      seed ^= seed << 13;
      seed ^= seed >>> 17;
      seed ^= seed << 5;
      return (seed >>> 0) & 0xff;
    };
    for (let round = 0; round < 200; round += 1) {
      const bytes = Uint8Array.from({ length: 512 }, random);
      // Sprinkle delimiters so that both the split and the header paths run.
      bytes.set(encodeUtf8('\n--q\n'), round % 400);
      const result = splitMultipart(bytes, 'q');
      if (!result.ok) {
        // A failure is one of the typed errors, never an exception or an untyped code.
        assert.ok(knownCodes.includes(result.error.code), result.error.code);
      }
    }
  });
});

describe('parseContentType on input built to be slow (issue 9)', () => {
  it('skips 64,000 parameters without a value', () => {
    // Each one used to search the rest of the text for "=": quadratic.
    const type = expectOk(parseContentType(`multipart/mixed${';'.repeat(64_000)}boundary=x`));
    assert.equal(type.params.get('boundary'), 'x');
  });
});

describe('splitMultipart on input built to be slow (issue 9)', () => {
  it('reads a part header with 100,000 blanks inside its value', () => {
    // Trimming with /[ \t\r\n]+$/ took quadratic time here (seconds).
    const value = `a${' '.repeat(100_000)}b`;
    const parts = expectOk(
      parseMultipart('multipart/mixed;boundary=x', encodeUtf8(`--x\r\nA: ${value}\r\n\r\nbody\r\n--x--\r\n`)),
    );
    assert.equal(parts.length, 1);
    assert.equal(partHeader(parts[0] ?? { headers: [], body: new Uint8Array() }, 'a'), value);
    assert.equal(decodeUtf8(parts[0]?.body ?? new Uint8Array()), 'body');
  });
});
