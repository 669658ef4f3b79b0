import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SipStreamFramer, type FramedItem } from '../../../../src/protocol/sip/framer.js';
import { parseSipMessage } from '../../../../src/protocol/sip/parse.js';
import { SipErrorCode } from '../../../../src/protocol/sip/errors.js';
import { loadFixture, text } from './fixtures.js';
import { expectOk } from '../../../support/result-asserts.js';

const decoder = new TextDecoder();

function message(callId: string, body = ''): string {
  return (
    'OPTIONS sip:7878@192.0.2.30 SIP/2.0\r\n' +
    'Via: SIP/2.0/TCP 192.0.2.1;branch=z9hG4bK1\r\n' +
    'To: <sip:7878@192.0.2.30>\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\n' +
    `Call-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: ${new TextEncoder().encode(body).length}\r\n\r\n${body}`
  );
}

function frames(items: readonly FramedItem[]): string[] {
  return items.map((item) => {
    if (!item.ok) {
      return assert.fail(`unexpected error ${item.error.code}: ${item.error.message}`);
    }
    return decoder.decode(item.bytes);
  });
}

function errorCode(items: readonly FramedItem[]): string {
  const last = items[items.length - 1];
  assert.ok(last !== undefined && !last.ok, 'expected an error item');
  return last.error.code;
}

void describe('SipStreamFramer (RFC 3261 §18.3)', () => {
  void it('returns several messages from one chunk, in order', () => {
    const framer = new SipStreamFramer();
    const one = message('one', 'v=0\r\n');
    const two = message('two');
    assert.deepEqual(frames(framer.push(text(one + two))), [one, two]);
    assert.equal(framer.bufferedBytes, 0);
  });

  void it('reassembles a message pushed one byte at a time', () => {
    const framer = new SipStreamFramer();
    const whole = message('bytewise', 'héllo body');
    const bytes = text(whole);
    const out: FramedItem[] = [];
    for (let index = 0; index < bytes.length; index += 1) {
      const items = framer.push(bytes.subarray(index, index + 1));
      if (index < bytes.length - 1) {
        assert.deepEqual(items, []);
      }
      out.push(...items);
    }
    assert.deepEqual(frames(out), [whole]);
  });

  void it('splits at every possible boundary of two messages', () => {
    const both = text(message('a', 'x') + message('b', 'yz'));
    for (let cut = 0; cut <= both.length; cut += 1) {
      const framer = new SipStreamFramer();
      const out = [...framer.push(both.subarray(0, cut)), ...framer.push(both.subarray(cut))];
      assert.equal(frames(out).length, 2, `cut at ${cut}`);
    }
  });

  void it('skips CRLF keep-alives between messages (RFC 5626 §3.5.1)', () => {
    const framer = new SipStreamFramer();
    assert.deepEqual(framer.push(text('\r\n\r\n')), []);
    assert.deepEqual(framer.push(text('\r\n')), []);
    const one = message('after-ping');
    assert.deepEqual(frames(framer.push(text(`${one}\r\n\r\n`))), [one]);
    assert.equal(framer.bufferedBytes, 0);
  });

  void it('frames the CUCM 11.5 INVITE sent over TCP so that it parses', () => {
    const framer = new SipStreamFramer();
    const invite = loadFixture('cucm', 'cucm11-bib-invite-nearend-tcp.txt');
    const [item] = framer.push(invite);
    assert.ok(item?.ok === true);
    expectOk(parseSipMessage(item.bytes));
  });

  void it('reads the compact form l: and a folded Content-Length', () => {
    const framer = new SipStreamFramer();
    const compact = message('c').replace('Content-Length: 0', 'l:0');
    const folded = message('f', 'ab').replace('Content-Length: 2', 'Content-Length:\r\n 2');
    assert.deepEqual(frames(framer.push(text(compact + folded))), [compact, folded]);
  });

  void it('errors on a missing Content-Length, then stays failed', () => {
    const framer = new SipStreamFramer();
    const items = framer.push(text(message('x').replace('Content-Length: 0\r\n', '')));
    assert.equal(errorCode(items), SipErrorCode.ContentLength);
    assert.ok(framer.failed);
    assert.deepEqual(framer.push(text(message('y'))), []);
  });

  for (const [label, value] of [
    ['non-numeric', 'abc'],
    ['negative', '-1'],
    ['over 64 KiB', String(64 * 1024 + 1)],
  ]) {
    void it(`errors on a ${label} Content-Length`, () => {
      const framer = new SipStreamFramer();
      assert.equal(
        errorCode(framer.push(text(message('x').replace('Content-Length: 0', `Content-Length: ${value}`)))),
        SipErrorCode.ContentLength,
      );
    });
  }

  void it('errors on a message whose headers and body together pass 64 KiB', () => {
    const framer = new SipStreamFramer();
    const big = message('x').replace('Content-Length: 0', `Content-Length: ${64 * 1024 - 100}`);
    assert.equal(errorCode(framer.push(text(big))), SipErrorCode.TooLarge);
  });

  void it('errors on two different Content-Length values', () => {
    const framer = new SipStreamFramer();
    const twice = message('x').replace('Content-Length: 0', 'Content-Length: 0\r\nl: 5');
    assert.equal(errorCode(framer.push(text(twice))), SipErrorCode.ContentLength);
  });

  void it('errors when a header section grows past 64 KiB without an empty line', () => {
    const framer = new SipStreamFramer();
    assert.deepEqual(framer.push(text('OPTIONS sip:a@b SIP/2.0\r\n')), []);
    const line = text(`X-Filler: ${'a'.repeat(1000)}\r\n`);
    let items: FramedItem[] = [];
    for (let index = 0; index < 70 && items.length === 0; index += 1) {
      items = framer.push(line);
    }
    assert.equal(errorCode(items), SipErrorCode.TooLarge);
    assert.equal(framer.bufferedBytes, 0);
  });

  void it('waits for the body and holds only what it needs', () => {
    const framer = new SipStreamFramer();
    const whole = message('wait', 'x'.repeat(5000));
    const bytes = text(whole);
    assert.deepEqual(framer.push(bytes.subarray(0, 3000)), []);
    assert.equal(framer.bufferedBytes, 3000);
    assert.deepEqual(frames(framer.push(bytes.subarray(3000))), [whole]);
  });
});

void describe('SipStreamFramer on folded Content-Length values', () => {
  void it('joins a Content-Length folded over many lines, empty continuation lines ignored', () => {
    const framer = new SipStreamFramer();
    const head = `OPTIONS sip:a@b SIP/2.0\r\nl: 4\r\n${' \r\n'.repeat(5000)}\r\n`;
    const items = framer.push(text(`${head}body`));
    assert.equal(items.length, 1);
    assert.ok(items[0]?.ok);
    assert.equal(items[0].bytes.length, head.length + 4);
  });
});
