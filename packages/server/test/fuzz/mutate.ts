/**
 * Input generators shared by the fuzz properties: arbitrary bytes and text, and mutations of real
 * seed inputs (the corpus). A mutated input is a seed plus a list of edits; fast-check shrinks a
 * failing one by dropping and simplifying edits, so a finding is reported as the seed and the
 * fewest edits that still break the parser.
 */
import fc from 'fast-check';
import type { FuzzScale } from './fuzz-property.js';

/** Tokens that mean something to one of the parsers: delimiters, escapes, markup, line ends. */
const TOKENS: readonly string[] = [
  '\r\n',
  '\r\n\r\n',
  '\n',
  '\r',
  ' ',
  '\t',
  '\0',
  ':',
  ';',
  ',',
  '=',
  '"',
  '\\',
  '<',
  '>',
  '@',
  '%',
  '%0',
  '%zz',
  '[',
  ']',
  '/',
  '?',
  '--',
  '-',
  'v=0\r\n',
  'm=audio 0 RTP/AVP 0\r\n',
  'a=rtpmap:0 x/\r\n',
  'Content-Length: 99999\r\n',
  'l: 0\r\n',
  'Via: SIP/2.0/UDP h;branch=z9hG4bK\r\n',
  '<!DOCTYPE x>',
  '<![CDATA[',
  ']]>',
  '&amp;',
  '&#0;',
  '&#1114112;',
  '&unknown;',
  '<?xml version="1.0"?>',
  '\u2028',
  '\uFEFF',
  'inline:',
  '|2^99|',
];

/** Numbers at the edges of every field width and of what Number() and parseInt accept. */
const NUMBERS: readonly string[] = [
  '0',
  '-1',
  '-0',
  '00000000000000000000001',
  '127',
  '128',
  '255',
  '256',
  '65535',
  '65536',
  '2147483647',
  '2147483648',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '1e309',
  '99999999999999999999999999999999',
  'NaN',
  'Infinity',
  '0x10',
  '1.5',
  '',
];

/** Openers and closers for deep nesting (markup, quoting, grouping, folding, multipart). */
const NESTING: readonly (readonly [string, string])[] = [
  ['<a>', '</a>'],
  ['<x:participant id="p">', '</x:participant>'],
  ['<', '>'],
  ['"', '"'],
  ['(', ')'],
  ['[', ']'],
  ['{', '}'],
  ['\r\n ', ''],
  ['--b\r\n', ''],
  [';p=', ''],
  ['a=', '\r\n'],
];

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'delete'; readonly at: number; readonly length: number }
  | { readonly kind: 'insert'; readonly at: number; readonly text: string }
  | { readonly kind: 'insertBytes'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'duplicateLine'; readonly line: number; readonly times: number }
  | { readonly kind: 'repeat'; readonly at: number; readonly length: number; readonly times: number }
  | { readonly kind: 'nest'; readonly at: number; readonly pair: number; readonly depth: number }
  | { readonly kind: 'number'; readonly which: number; readonly value: string }
  | { readonly kind: 'encoding'; readonly which: number };

function mutationArbitrary(scale: FuzzScale): fc.Arbitrary<Mutation> {
  const at = fc.nat();
  const times = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: scale.maxRepeat }));
  return fc.oneof(
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ kind: fc.constant('set' as const), at, value: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('delete' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('insert' as const), at, text: fc.constantFrom(...TOKENS) }),
    fc.record({
      kind: fc.constant('insertBytes' as const),
      at,
      bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
    fc.record({ kind: fc.constant('duplicateLine' as const), line: fc.nat(), times }),
    fc.record({ kind: fc.constant('repeat' as const), at, length: fc.integer({ min: 1, max: 64 }), times }),
    fc.record({
      kind: fc.constant('nest' as const),
      at,
      pair: fc.nat({ max: NESTING.length - 1 }),
      depth: times,
    }),
    fc.record({ kind: fc.constant('number' as const), which: fc.nat(), value: fc.constantFrom(...NUMBERS) }),
    fc.record({ kind: fc.constant('encoding' as const), which: fc.nat({ max: 5 }) }),
  );
}

const encoder = new TextEncoder();

function concat(...chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

function repeatBytes(bytes: Uint8Array, times: number, maxBytes: number): Uint8Array {
  const count = bytes.length === 0 ? 0 : Math.min(times, Math.floor(maxBytes / bytes.length));
  const out = new Uint8Array(bytes.length * count);
  for (let i = 0; i < count; i++) {
    out.set(bytes, i * bytes.length);
  }
  return out;
}

/** Byte ranges of the digit runs of `bytes`. */
function digitRuns(bytes: Uint8Array): [number, number][] {
  const runs: [number, number][] = [];
  let start = -1;
  for (let i = 0; i <= bytes.length; i++) {
    const digit = i < bytes.length && (bytes[i] ?? 0) >= 0x30 && (bytes[i] ?? 0) <= 0x39;
    if (digit && start < 0) {
      start = i;
    } else if (!digit && start >= 0) {
      runs.push([start, i]);
      start = -1;
    }
  }
  return runs;
}

/** The bytes without each CR that precedes an LF, and with LF turned into `lineEnd`. */
function replaceLineEnds(bytes: Uint8Array, lineEnd: number): Uint8Array {
  const out: number[] = [];
  bytes.forEach((b, i) => {
    if (b === 0x0d && bytes[i + 1] === 0x0a) {
      return;
    }
    out.push(b === 0x0a ? lineEnd : b);
  });
  return Uint8Array.from(out);
}

function reencode(bytes: Uint8Array, which: number): Uint8Array {
  switch (which) {
    case 0: // CRLF to bare LF
      return replaceLineEnds(bytes, 0x0a);
    case 1: // line ends to bare CR
      return replaceLineEnds(bytes, 0x0d);
    case 2: // a UTF-8 byte order mark in front
      return concat(Uint8Array.from([0xef, 0xbb, 0xbf]), bytes);
    case 3: {
      // as UTF-16LE, what a misconfigured sender writes
      const out = new Uint8Array(bytes.length * 2);
      bytes.forEach((b, i) => {
        out[2 * i] = b;
      });
      return out;
    }
    case 4: // letters' case swapped
      return bytes.map((b) => ((b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ? b ^ 0x20 : b));
    default: // every byte with its top bit set: invalid UTF-8 everywhere
      return bytes.map((b) => b | 0x80);
  }
}

/** Applies one edit; positions are taken modulo the input so that every edit applies. */
export function applyMutation(bytes: Uint8Array, mutation: Mutation, maxBytes: number): Uint8Array {
  const position = (at: number) => at % (bytes.length + 1);
  switch (mutation.kind) {
    case 'flip': {
      if (bytes.length === 0) {
        return bytes;
      }
      const out = bytes.slice();
      const i = mutation.at % bytes.length;
      out[i] = (out[i] ?? 0) ^ (1 << mutation.bit);
      return out;
    }
    case 'set': {
      if (bytes.length === 0) {
        return Uint8Array.of(mutation.value);
      }
      const out = bytes.slice();
      out[mutation.at % bytes.length] = mutation.value;
      return out;
    }
    case 'truncate':
      return bytes.slice(0, position(mutation.at));
    case 'delete': {
      const at = position(mutation.at);
      return concat(bytes.subarray(0, at), bytes.subarray(at + mutation.length));
    }
    case 'insert':
    case 'insertBytes': {
      const at = position(mutation.at);
      const inserted = mutation.kind === 'insert' ? encoder.encode(mutation.text) : mutation.bytes;
      return concat(bytes.subarray(0, at), inserted, bytes.subarray(at));
    }
    case 'duplicateLine': {
      const starts = [0];
      bytes.forEach((b, i) => {
        if (b === 0x0a) {
          starts.push(i + 1);
        }
      });
      const index = mutation.line % starts.length;
      const start = starts[index] ?? 0;
      const end = starts[index + 1] ?? bytes.length;
      const line = bytes.subarray(start, end);
      return concat(bytes.subarray(0, end), repeatBytes(line, mutation.times, maxBytes), bytes.subarray(end));
    }
    case 'repeat': {
      const at = position(mutation.at);
      const piece = bytes.subarray(at, at + mutation.length);
      return concat(bytes.subarray(0, at), repeatBytes(piece, mutation.times, maxBytes), bytes.subarray(at));
    }
    case 'nest': {
      const at = position(mutation.at);
      const [open, close] = NESTING[mutation.pair] ?? ['<a>', '</a>'];
      const half = Math.floor(maxBytes / 2);
      return concat(
        bytes.subarray(0, at),
        repeatBytes(encoder.encode(open), mutation.depth, half),
        repeatBytes(encoder.encode(close), mutation.depth, half),
        bytes.subarray(at),
      );
    }
    case 'number': {
      const runs = digitRuns(bytes);
      const run = runs[mutation.which % Math.max(1, runs.length)];
      if (run === undefined) {
        return concat(bytes, encoder.encode(mutation.value));
      }
      return concat(bytes.subarray(0, run[0]), encoder.encode(mutation.value), bytes.subarray(run[1]));
    }
    case 'encoding':
      return reencode(bytes, mutation.which);
  }
}

export function applyMutations(
  seed: Uint8Array,
  mutations: readonly Mutation[],
  maxBytes: number,
): Uint8Array {
  let bytes = seed;
  for (const mutation of mutations) {
    bytes = applyMutation(bytes, mutation, maxBytes);
    if (bytes.length > maxBytes) {
      bytes = bytes.slice(0, maxBytes);
    }
  }
  return bytes;
}

/** Seeds (a corpus) mutated by one to six edits. */
export function mutatedBytes(seeds: readonly Uint8Array[], scale: FuzzScale): fc.Arbitrary<Uint8Array> {
  const pool = seeds.length > 0 ? seeds : [new Uint8Array(0)];
  return fc
    .tuple(fc.constantFrom(...pool), fc.array(mutationArbitrary(scale), { minLength: 1, maxLength: 6 }))
    .map(([seed, mutations]) => applyMutations(seed, mutations, scale.maxBytes));
}

/** Arbitrary bytes, short or long, with line ends and delimiters more likely than chance. */
export function arbitraryBytes(scale: FuzzScale): fc.Arbitrary<Uint8Array> {
  const tokenBytes = fc.constantFrom(...TOKENS).map((token) => encoder.encode(token));
  return fc.oneof(
    fc.uint8Array({ maxLength: 256 }),
    fc.uint8Array({ maxLength: Math.min(scale.maxBytes, 4096) }),
    fc
      .array(fc.oneof(tokenBytes, fc.uint8Array({ maxLength: 8 })), { maxLength: 64 })
      .map((chunks) => concat(...chunks)),
  );
}

/** Arbitrary text: any code points (lone surrogates included) or ASCII with delimiters. */
export function arbitraryText(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'binary-ascii', maxLength: 200 }),
    fc
      .array(fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 6 })), { maxLength: 40 })
      .map((parts) => parts.join('')),
  );
}

/** Random input half the time, mutated seeds the other half. */
export function bytesInput(seeds: readonly Uint8Array[], scale: FuzzScale): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: mutatedBytes(seeds, scale), weight: 3 },
    { arbitrary: arbitraryBytes(scale), weight: 1 },
  );
}
