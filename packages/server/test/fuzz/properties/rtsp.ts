/**
 * RTSP requests (RFC 2326) as the RTSP server reads them: the stream framer on any chunking of a
 * byte stream mixing text and `$`-interleaved frames, the request parser on what it cuts, and the
 * header readers (Transport, Range, Session, Authorization) on any value.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RtspStreamFramer, type RtspStreamItem } from '../../../src/protocol/rtsp/framer.js';
import {
  parseAuthorization,
  parseRange,
  parseSessionHeader,
  parseTransport,
} from '../../../src/protocol/rtsp/headers.js';
import { cseqOfHead, parseRtspRequest } from '../../../src/protocol/rtsp/message.js';
import { seedInputs } from '../corpus.js';
import {
  assertTypedResult,
  fuzzProperty,
  latin1Bytes,
  latin1Text,
  timed,
  type AnyFuzzProperty,
} from '../fuzz-property.js';
import { arbitraryText, bytesInput } from '../mutate.js';

const CODE = /^VERBATIM_ERR_RTSP_[A-Z_]+$/;

/** Frames `bytes` cut at `cuts`, parsing every request; returns a summary of the items. */
function frameAll(bytes: Uint8Array, cuts: readonly number[]): string[] {
  const framer = new RtspStreamFramer();
  const items: RtspStreamItem[] = [];
  let from = 0;
  for (const cut of [...cuts.filter((c) => c > 0 && c < bytes.length)]
    .sort((a, b) => a - b)
    .concat(bytes.length)) {
    items.push(...timed('RtspStreamFramer.push', () => framer.push(bytes.subarray(from, cut))));
    from = cut;
  }
  return items.map((item) => {
    if (item.kind === 'interleaved') {
      assert.ok(item.packet.length <= 0xffff);
      return `frame ${item.channel} ${item.packet.length}`;
    }
    if (item.kind === 'error') {
      assert.match(item.error.code, CODE);
      if (item.head !== undefined) {
        timed('cseqOfHead', () => cseqOfHead(item.head ?? new Uint8Array(0)));
      }
      return `error ${item.error.code}`;
    }
    const parsed = timed('parseRtspRequest', () => parseRtspRequest(item.head, item.body));
    assertTypedResult(parsed, CODE);
    return parsed.ok ? `request ${parsed.value.method} ${parsed.value.cseq}` : `bad ${parsed.error.code}`;
  });
}

function checkHeaders(value: string): void {
  assertTypedResult(
    timed('parseTransport', () => parseTransport(value)),
    CODE,
  );
  const range = timed('parseRange', () => parseRange(value));
  assertTypedResult(range, CODE);
  if (range.ok) {
    for (const time of [range.value.startS, range.value.endS]) {
      assert.ok(time === undefined || (Number.isFinite(time) && time >= 0));
    }
  }
  assertTypedResult(
    timed('parseSessionHeader', () => parseSessionHeader(value)),
    CODE,
  );
  assertTypedResult(
    timed('parseAuthorization', () => parseAuthorization(value)),
    CODE,
  );
}

export const rtspProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'rtsp.framer.chunking',
    corpus: 'rtsp',
    arbitrary: (scale) =>
      fc.record({
        bytes: bytesInput(seedInputs('rtsp'), scale),
        cuts: fc.array(fc.nat({ max: scale.maxBytes }), { maxLength: 8 }),
      }),
    check: ({ bytes, cuts }) => {
      // However the stream is cut, the same items come out.
      assert.deepEqual(frameAll(bytes, cuts), frameAll(bytes, []));
    },
    toFile: ({ bytes }) => bytes,
  }),
  fuzzProperty({
    name: 'rtsp.header-values',
    corpus: 'rtsp',
    arbitrary: (scale) => fc.oneof(bytesInput(seedInputs('rtsp'), scale).map(latin1Text), arbitraryText()),
    check: checkHeaders,
    toFile: latin1Bytes,
  }),
];

export const rtspReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  rtsp: (bytes) => {
    frameAll(bytes, []);
    checkHeaders(latin1Text(bytes));
  },
};
