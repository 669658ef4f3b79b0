/**
 * What one fuzz property is, and the checks every property makes. A property names a parser, an
 * input generator (random input, or mutations of the seed corpus) and a check that fails by
 * throwing: the parser must return a Result or its documented value, never throw, finish within a
 * time budget, and keep its invariants (round trips, bounds). The same definitions run in
 * `npm test` (test/unit/fuzz, a fixed seed and few runs) and in `npm run fuzz` (test/fuzz/runner.ts,
 * random seeds until the time is up), so the two never drift.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import type fc from 'fast-check';
import type { Result } from '../../src/protocol/result.js';

/**
 * How hard a run pushes: `test` keeps `npm test` fast (small repeats), `long` lets mutations grow
 * inputs to the parsers' size caps, where super-linear time shows.
 */
export interface FuzzScale {
  readonly kind: 'test' | 'long';
  /** Upper bound of a mutated input, in bytes. */
  readonly maxBytes: number;
  /** Upper bound of one repetition or nesting mutation (how many copies). */
  readonly maxRepeat: number;
}

export const TEST_SCALE: FuzzScale = { kind: 'test', maxBytes: 16 * 1024, maxRepeat: 256 };
export const LONG_SCALE: FuzzScale = { kind: 'long', maxBytes: 300 * 1024, maxRepeat: 70_000 };

export interface FuzzProperty<T> {
  /** `<family>.<parser>.<input kind>`, unique: the runner selects and reports by it. */
  readonly name: string;
  /** The corpus folder (test/fixtures/fuzz-corpus/<corpus>) whose seeds and regressions it uses. */
  readonly corpus: string;
  readonly arbitrary: (scale: FuzzScale) => fc.Arbitrary<T>;
  /** Throws (an assertion error) when the parser misbehaves on `input`. */
  readonly check: (input: T) => void;
  /** The input as a corpus file, so that a finding can be kept in `regressions/`. */
  readonly toFile: (input: T) => Uint8Array;
}

/** Any property, whatever its input type (the runner and the test glue handle them alike). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a heterogeneous list of properties
export type AnyFuzzProperty = FuzzProperty<any>;

/** Defines a property; only here so that `T` is inferred from the arbitrary. */
export function fuzzProperty<T>(property: FuzzProperty<T>): FuzzProperty<T> {
  return property;
}

/**
 * The budget for one parser call. Every input is at most a few hundred KiB and every parser is
 * meant to be linear, so a call takes milliseconds to a few hundred (fast-xml-parser reads a
 * 256 KiB metadata document of 60,000 elements in about 0.7 s); a quadratic path takes far longer
 * on such input (7 s for the 60 KB SIP header, 14 s for the Range header of the corpus's
 * regressions). The margin absorbs a loaded machine and garbage collection.
 */
export const CALL_BUDGET_MS = 3000;

/** Runs `parse`, failing when it throws or overruns the budget; gives its value. */
export function timed<R>(what: string, parse: () => R, budgetMs = CALL_BUDGET_MS): R {
  const started = performance.now();
  const value = parse();
  const elapsed = performance.now() - started;
  assert.ok(elapsed <= budgetMs, `${what} took ${elapsed.toFixed(0)} ms (budget ${budgetMs} ms)`);
  return value;
}

/** A Result whose error, if any, carries a documented code of the given area. */
export function assertTypedResult<T>(result: Result<T>, codePattern: RegExp): void {
  assert.equal(typeof result.ok, 'boolean', 'not a Result');
  if (!result.ok) {
    assert.match(result.error.code, codePattern);
    assert.equal(typeof result.error.message, 'string');
  }
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

/** Latin-1 (one byte per character, above U+00FF written as "?"): for the byte-oriented parsers. */
export function latin1Bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (ch) => {
    const code = ch.charCodeAt(0);
    return code <= 0xff ? code : 0x3f;
  });
}

/** One character per byte (TextDecoder's "latin1" is windows-1252, which is not). */
export function latin1Text(bytes: Uint8Array): string {
  let text = '';
  for (let start = 0; start < bytes.length; start += 8192) {
    text += String.fromCharCode(...bytes.subarray(start, start + 8192));
  }
  return text;
}

export function utf8Text(bytes: Uint8Array): string {
  return new TextDecoder('utf-8').decode(bytes);
}
