/**
 * SIP: the message parser, the TCP/TLS stream framer, and the header and URI parsers (RFC 3261).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MAX_SIP_MESSAGE_BYTES } from '../../../src/protocol/sip/errors.js';
import { SipStreamFramer, type FramedItem } from '../../../src/protocol/sip/framer.js';
import {
  parseCSeq,
  parseNameAddr,
  parseVia,
  serializeNameAddr,
  serializeVia,
  splitHeaderList,
} from '../../../src/protocol/sip/headers.js';
import type { SipMessage } from '../../../src/protocol/sip/message.js';
import { parseSipMessage } from '../../../src/protocol/sip/parse.js';
import { serializeSipMessage } from '../../../src/protocol/sip/serialize.js';
import { parseSipUri, serializeSipUri } from '../../../src/protocol/sip/uri.js';
import { aorUserPart, readLooseNameAddr } from '../../../src/protocol/sip/aor.js';
import { seedInputs } from '../corpus.js';
import {
  assertTypedResult,
  fuzzProperty,
  timed,
  utf8,
  utf8Text,
  type AnyFuzzProperty,
} from '../fuzz-property.js';
import { arbitraryText, bytesInput, mutatedBytes } from '../mutate.js';

const SIP_ERROR = /^VERBATIM_ERR_SIP_[A-Z_]+$/;

/** What a parsed message says, for comparing two parses (Content-Length is rewritten on output). */
function fieldsOf(message: SipMessage): unknown {
  const headers = message.headers.filter((h) => h.name !== 'Content-Length');
  return message.type === 'request'
    ? {
        type: message.type,
        method: message.method,
        uri: message.requestUri,
        headers,
        body: [...message.body],
      }
    : {
        type: message.type,
        status: message.status,
        reason: message.reason,
        headers,
        body: [...message.body],
      };
}

function checkMessage(bytes: Uint8Array): void {
  const result = timed('parseSipMessage', () => parseSipMessage(bytes));
  assertTypedResult(result, SIP_ERROR);
  if (result.ok) {
    // Whatever is accepted can be written back, and reads back the same, unless writing it
    // (long header names, ": ", a Content-Length) took it over the size cap.
    const written = serializeSipMessage(result.value);
    if (written.length > MAX_SIP_MESSAGE_BYTES) {
      return;
    }
    const again = parseSipMessage(written);
    assert.ok(again.ok, `re-serialised message does not parse: ${again.ok ? '' : again.error.message}`);
    assert.deepEqual(fieldsOf(again.value), fieldsOf(result.value));
  }
}

/** What the framer gives for a stream, comparable across chunkings. */
function frame(stream: Uint8Array, cuts: readonly number[]): unknown[] {
  const framer = new SipStreamFramer();
  const items: FramedItem[] = [];
  let start = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    const end = Math.min(cut, stream.length);
    if (end > start) {
      items.push(...timed('SipStreamFramer.push', () => framer.push(stream.subarray(start, end))));
      start = end;
    }
  }
  items.push(...timed('SipStreamFramer.push', () => framer.push(stream.subarray(start))));
  assert.ok(framer.bufferedBytes <= stream.length);
  return items.map((item) => (item.ok ? [...item.bytes] : item.error.code));
}

function checkFraming(stream: Uint8Array, cuts: readonly number[]): void {
  const whole = frame(stream, []);
  for (const item of whole) {
    if (typeof item === 'string') {
      assert.match(item, SIP_ERROR);
    }
  }
  assert.deepEqual(frame(stream, cuts), whole, 'the framer depends on how the stream is cut');
}

function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

function checkHeaderValue(text: string): void {
  const uri = timed('parseSipUri', () => parseSipUri(text));
  assertTypedResult(uri, SIP_ERROR);
  if (uri.ok) {
    const again = parseSipUri(serializeSipUri(uri.value));
    assert.ok(again.ok, 'a serialised URI does not parse');
    assert.deepEqual(again.value, uri.value);
  }
  const nameAddr = timed('parseNameAddr', () => parseNameAddr(text));
  assertTypedResult(nameAddr, SIP_ERROR);
  if (nameAddr.ok) {
    const again = parseNameAddr(serializeNameAddr(nameAddr.value));
    assert.ok(again.ok, 'a serialised name-addr does not parse');
    assert.deepEqual(again.value.uri, nameAddr.value.uri);
    assert.deepEqual(again.value.params, nameAddr.value.params);
    assert.equal(again.value.displayName, nameAddr.value.displayName);
  }
  const via = timed('parseVia', () => parseVia(text));
  assertTypedResult(via, SIP_ERROR);
  if (via.ok) {
    const again = parseVia(serializeVia(via.value));
    assert.ok(again.ok, 'a serialised Via does not parse');
    assert.deepEqual(again.value, via.value);
  }
  assertTypedResult(
    timed('parseCSeq', () => parseCSeq(text)),
    SIP_ERROR,
  );
  timed('splitHeaderList', () => splitHeaderList(text));
  timed('aorUserPart', () => aorUserPart(text));
  timed('readLooseNameAddr', () => readLooseNameAddr(text));
}

export const sipProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'sip.parseSipMessage',
    corpus: 'sip-message',
    arbitrary: (scale) => bytesInput(seedInputs('sip-message'), scale),
    check: checkMessage,
    toFile: (bytes) => bytes,
  }),
  fuzzProperty({
    name: 'sip.framer.chunking',
    corpus: 'sip-message',
    arbitrary: (scale) =>
      fc.record({
        stream: fc
          .array(bytesInput(seedInputs('sip-message'), scale), { minLength: 1, maxLength: 3 })
          .map(concatBytes),
        cuts: fc.array(fc.nat({ max: scale.maxBytes }), { maxLength: 12 }),
      }),
    check: ({ stream, cuts }) => checkFraming(stream, cuts),
    toFile: ({ stream }) => stream,
  }),
  fuzzProperty({
    name: 'sip.framer.valid-stream',
    corpus: 'sip-message',
    // Messages the parser accepts, written back and sent on one stream with keep-alives between:
    // the framer must give back exactly those messages, however the stream is cut.
    arbitrary: (scale) =>
      fc.record({
        messages: fc.array(mutatedBytes(seedInputs('sip-message'), scale), { minLength: 1, maxLength: 4 }),
        keepAlives: fc.array(fc.constantFrom('', '\r\n', '\r\n\r\n'), { minLength: 4, maxLength: 4 }),
        cuts: fc.array(fc.nat({ max: scale.maxBytes }), { maxLength: 12 }),
      }),
    check: ({ messages, keepAlives, cuts }) => {
      const wire = messages.flatMap((bytes) => {
        const parsed = parseSipMessage(bytes);
        const written = parsed.ok ? serializeSipMessage(parsed.value) : undefined;
        return written === undefined || written.length > MAX_SIP_MESSAGE_BYTES ? [] : [written];
      });
      const stream = concatBytes(wire.flatMap((bytes, i) => [utf8(keepAlives[i] ?? ''), bytes]));
      assert.deepEqual(
        frame(stream, cuts),
        wire.map((bytes) => [...bytes]),
      );
    },
    toFile: ({ messages }) => concatBytes(messages),
  }),
  fuzzProperty({
    name: 'sip.header-values',
    corpus: 'sip-header',
    arbitrary: (scale) =>
      fc.oneof(mutatedBytes(seedInputs('sip-header'), scale).map(utf8Text), arbitraryText()),
    check: checkHeaderValue,
    toFile: utf8,
  }),
];

/** Replays a corpus file of the given folder through the SIP checks. */
export const sipReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  'sip-message': (bytes) => {
    checkMessage(bytes);
    checkFraming(bytes, [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987]);
  },
  'sip-header': (bytes) => checkHeaderValue(utf8Text(bytes)),
};
