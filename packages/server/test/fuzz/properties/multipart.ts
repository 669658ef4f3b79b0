/**
 * MIME Content-Type values and multipart bodies (RFC 2045, RFC 2046), as SIPREC sends them. A
 * corpus file is the Content-Type value, a line feed, then the body.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  MAX_MULTIPART_PARTS,
  parseContentType,
  parseDispositionType,
  parseMultipart,
} from '../../../src/protocol/multipart/multipart.js';
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

const MULTIPART_ERROR = /^VERBATIM_ERR_MULTIPART_[A-Z_]+$/;

export interface MultipartInput {
  readonly contentType: string;
  readonly body: Uint8Array;
}

/** Splits a corpus file: the Content-Type value up to the first line feed, the body after it. */
export function multipartInputOf(file: Uint8Array): MultipartInput {
  const newline = file.indexOf(0x0a);
  return newline < 0
    ? { contentType: latin1Text(file), body: new Uint8Array(0) }
    : { contentType: latin1Text(file.subarray(0, newline)), body: file.subarray(newline + 1) };
}

export function multipartFileOf(input: MultipartInput): Uint8Array {
  const head = latin1Bytes(`${input.contentType.replace(/\n/g, ' ')}\n`);
  const out = new Uint8Array(head.length + input.body.length);
  out.set(head, 0);
  out.set(input.body, head.length);
  return out;
}

function checkMultipart({ contentType, body }: MultipartInput): void {
  const type = timed('parseContentType', () => parseContentType(contentType));
  assertTypedResult(type, MULTIPART_ERROR);
  timed('parseDispositionType', () => parseDispositionType(contentType));
  const parts = timed('parseMultipart', () => parseMultipart(contentType, body));
  assertTypedResult(parts, MULTIPART_ERROR);
  if (parts.ok) {
    assert.ok(parts.value.length <= MAX_MULTIPART_PARTS);
    const total = parts.value.reduce((n, part) => n + part.body.length, 0);
    assert.ok(total <= body.length, 'parts hold more bytes than the body');
  }
}

/** The corpus's multipart files, mutated as a whole (the Content-Type line too). */
export function multipartInputs(scale: Parameters<typeof bytesInput>[1]): fc.Arbitrary<MultipartInput> {
  return fc.oneof(
    bytesInput(seedInputs('multipart'), scale).map(multipartInputOf),
    fc.record({
      contentType: fc.oneof(
        arbitraryText(),
        arbitraryText().map((boundary) => `multipart/mixed; boundary="${boundary}"`),
      ),
      body: bytesInput(seedInputs('multipart'), scale),
    }),
  );
}

export const multipartProperties: readonly AnyFuzzProperty[] = [
  fuzzProperty({
    name: 'multipart.parseMultipart',
    corpus: 'multipart',
    arbitrary: multipartInputs,
    check: checkMultipart,
    toFile: multipartFileOf,
  }),
];

export const multipartReplays: Readonly<Record<string, (bytes: Uint8Array) => void>> = {
  multipart: (bytes) => checkMultipart(multipartInputOf(bytes)),
};
