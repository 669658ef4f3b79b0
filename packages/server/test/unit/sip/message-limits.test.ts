import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SipErrorCode } from '../../../src/protocol/sip/errors.js';
import type { SipHeader, SipRequest } from '../../../src/protocol/sip/message.js';
import { SipCoreErrorCode } from '../../../src/sip/message-fields.js';
import {
  MAX_SIP_HEADER_FIELD_CHARS,
  MAX_SIP_HEADER_FIELDS,
  MAX_SIP_VIAS,
  answerForParseError,
  checkSipMessageLimits,
} from '../../../src/sip/message-limits.js';

function request(headers: SipHeader[]): SipRequest {
  return { type: 'request', method: 'INVITE', requestUri: 'sip:a@b', headers, body: new Uint8Array(0) };
}

const filler = (n: number): SipHeader[] =>
  Array.from({ length: n }, (_, i) => ({ name: 'X-F', value: `${i}` }));
const vias = (n: number): SipHeader[] =>
  Array.from({ length: n }, (_, i) => ({ name: 'Via', value: `SIP/2.0/UDP h${i};branch=z9hG4bK${i}` }));

describe('SIP message limits', () => {
  it('accepts a message exactly at each limit and refuses one over it', () => {
    assert.equal(checkSipMessageLimits(request(filler(MAX_SIP_HEADER_FIELDS))), undefined);
    assert.equal(checkSipMessageLimits(request(filler(MAX_SIP_HEADER_FIELDS + 1)))?.reason, 'header-fields');
    assert.equal(checkSipMessageLimits(request(vias(MAX_SIP_VIAS))), undefined);
    assert.deepEqual(checkSipMessageLimits(request(vias(MAX_SIP_VIAS + 1))), {
      reason: 'vias',
      phrase: 'Too Many Via Header Fields',
      detail: `${MAX_SIP_VIAS + 1} Via values, at most ${MAX_SIP_VIAS}`,
    });
    const field = (chars: number): SipHeader => ({ name: 'X-L', value: 'v'.repeat(chars - 'X-L:'.length) });
    assert.equal(checkSipMessageLimits(request([field(MAX_SIP_HEADER_FIELD_CHARS)])), undefined);
    assert.equal(
      checkSipMessageLimits(request([field(MAX_SIP_HEADER_FIELD_CHARS + 1)]))?.phrase,
      'Header Field Too Long',
    );
  });

  it('answers parse errors with a status and a fixed reason phrase naming the problem, never peer text', () => {
    const answer = (code: string, message: string): string => {
      const { status, phrase } = answerForParseError({ code, message });
      return `${status} ${phrase}`;
    };
    assert.equal(answer(SipErrorCode.TooLarge, 'message of 70000 bytes'), '413 Request Entity Too Large');
    assert.equal(
      answer(SipErrorCode.MissingHeader, 'missing mandatory header Call-ID'),
      '400 Missing Call-ID Header Field',
    );
    assert.equal(answer(SipCoreErrorCode.MissingHeader, 'no To header'), '400 Missing To Header Field');
    assert.equal(
      answer(SipErrorCode.MissingHeader, 'missing mandatory header <evil>'),
      '400 Missing Header Field',
    );
    assert.equal(
      answer(SipErrorCode.ContentLength, 'bad Content-Length "x\\r\\n"'),
      '400 Bad Content-Length',
    );
    assert.equal(answer(SipCoreErrorCode.CSeqMethod, 'differs'), '400 Bad CSeq');
    assert.equal(answer('VERBATIM_ERR_SOMETHING_NEW', 'whatever'), '400 Bad Request');
  });
});
