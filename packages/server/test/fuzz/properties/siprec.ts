/**
 * SIPREC: recording metadata documents (RFC 7865) and whole SIPREC bodies (RFC 7866 §9), the
 * partial-update merge and the stream-to-participant mapping built on them.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  mergeMetadata,
  parseRecordingMetadata,
  sendersByLabel,
  type RecordingMetadata,
} from '../../../src/protocol/siprec/rs-metadata.js';
import { readSiprecBody } from '../../../src/protocol/siprec/siprec-body.js';
import { seedInputs } from '../corpus.js';
import {
  assertTypedResult,
  fuzzProperty,
  timed,
  utf8,
  utf8Text,
  type AnyFuzzProperty,
} from '../fuzz-property.js';
import { arbitraryText, bytesInput } from '../mutate.js';
import { multipartFileOf, multipartInputOf, multipartInputs, type MultipartInput } from './multipart.js';

/** readSiprecBody passes multipart errors on. */
const SIPREC_ERROR = /^VERBATIM_ERR_(SIPREC|MULTIPART)_[A-Z_]+$/;

function checkDerived(metadata: RecordingMetadata): void {
  timed('sendersByLabel', () => sendersByLabel(metadata));
  const merged = timed('mergeMetadata', () => mergeMetadata(metadata, metadata));
  assert.equal(merged.participants.length, metadata.participants.length);
}

function checkMetadata(xml: string): void {
  const result = timed('parseRecordingMetadata', () => parseRecordingMetadata(xml));
  assertTypedResult(result, SIPREC_ERROR);
  if (result.ok) {
    checkDerived(result.value);
  }
}

function checkBody({ contentType, body }: MultipartInput): void {
  const result = timed('readSiprecBody', () => readSiprecBody(contentType, body));
  assertTypedResult(result, SIPREC_ERROR);
  if (result.ok && result.value?.metadata !== undefined) {
    checkDerived(result.value.metadata);
  }
}

/** Documents nested deeper than any metadata, in the recording element or at the top. */
function deepDocument(): fc.Arbitrary<string> {
  return fc
    .record({
      depth: fc.integer({ min: 1, max: 5000 }),
      name: fc.constantFrom('a', 'participant', 'x:ext', 'extensionData'),
      inside: fc.boolean(),
      closed: fc.boolean(),
    })
    .map(({ depth, name, inside, closed }) => {
      const open = `<${name}>`.repeat(depth);
      const close = closed ? `</${name}>`.repeat(depth) : '';
      return inside ? `<recording>${open}v${close}</recording>` : `${open}<recording/>${close}`;
    });
}

export const siprecProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'siprec.parseRecordingMetadata',
    corpus: 'siprec-metadata',
    arbitrary: (scale) =>
      fc.oneof(
        { arbitrary: bytesInput(seedInputs('siprec-metadata'), scale).map(utf8Text), weight: 4 },
        { arbitrary: deepDocument(), weight: 1 },
        { arbitrary: arbitraryText().map((text) => `<recording>${text}</recording>`), weight: 1 },
      ),
    check: checkMetadata,
    toFile: utf8,
  }),
  fuzzProperty({
    name: 'siprec.readSiprecBody',
    corpus: 'multipart',
    arbitrary: (scale) =>
      fc.oneof(
        multipartInputs(scale),
        bytesInput(seedInputs('siprec-metadata'), scale).map((body) => ({
          contentType: 'application/rs-metadata+xml',
          body,
        })),
      ),
    check: checkBody,
    toFile: multipartFileOf,
  }),
];

export const siprecReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  'siprec-metadata': (bytes) => checkMetadata(utf8Text(bytes)),
  multipart: (bytes) => checkBody(multipartInputOf(bytes)),
};
