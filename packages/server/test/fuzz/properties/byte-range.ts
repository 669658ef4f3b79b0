/**
 * The HTTP Range header of media downloads (RFC 9110 §14). decideByteRange has no error type: an
 * invalid header means "send it whole" (§14.2), so the property is that every answer is one of
 * the three decisions and a partial one lies inside the representation.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decideByteRange } from '../../../src/api/byte-range.js';
import { seedInputs } from '../corpus.js';
import { fuzzProperty, latin1Bytes, latin1Text, timed, type AnyFuzzProperty } from '../fuzz-property.js';
import { arbitraryText, mutatedBytes } from '../mutate.js';

/** Sizes at the edges: empty, one byte, typical, and the largest a safe integer can say. */
const TOTALS = [0, 1, 2, 1000, 2 ** 32, Number.MAX_SAFE_INTEGER];

function checkRange(header: string, totalBytes: number): void {
  const decision = timed('decideByteRange', () => decideByteRange(header, totalBytes));
  assert.ok(['full', 'partial', 'unsatisfiable'].includes(decision.kind));
  if (decision.kind === 'partial') {
    assert.ok(Number.isSafeInteger(decision.start) && Number.isSafeInteger(decision.end));
    assert.ok(decision.start >= 0 && decision.start <= decision.end && decision.end < totalBytes);
  }
}

export const byteRangeProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'byte-range.decideByteRange',
    corpus: 'byte-range',
    arbitrary: (scale) =>
      fc.record({
        header: fc.oneof(
          mutatedBytes(seedInputs('byte-range'), scale).map(latin1Text),
          arbitraryText(),
          fc
            .tuple(fc.string({ unit: fc.constantFrom(' ', '\t', '0', '9', '-', '=', ',') }), fc.boolean())
            .map(([rest, upper]) => `${upper ? 'BYTES' : 'bytes'}${rest}`),
        ),
        totalBytes: fc.oneof(fc.constantFrom(...TOTALS), fc.nat()),
      }),
    check: ({ header, totalBytes }) => checkRange(header, totalBytes),
    toFile: ({ header }) => latin1Bytes(header),
  }),
];

export const byteRangeReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  'byte-range': (bytes) => {
    for (const total of TOTALS) {
      checkRange(latin1Text(bytes), total);
    }
  },
};
