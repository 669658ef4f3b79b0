import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { Result } from '../../../../src/protocol/result.js';

const FIXTURES = fileURLToPath(new URL('../../../fixtures/sip/', import.meta.url));

/** Reads a fixture as the exact bytes on disk. */
export function loadFixture(area: string, name: string): Uint8Array {
  return new Uint8Array(readFileSync(`${FIXTURES}${area}/${name}`));
}

export function listFixtures(area: string): string[] {
  return readdirSync(`${FIXTURES}${area}`)
    .filter((name) => name.endsWith('.txt'))
    .sort();
}

export function text(value: string): Uint8Array {
  return new TextEncoder().encode(value);
}

/** Lines joined with CRLF, the wire form; the last element is usually '' or a body. */
export function crlf(...lines: string[]): Uint8Array {
  return text(lines.join('\r\n'));
}

export function expectOk<T>(result: Result<T>): T {
  if (!result.ok) {
    assert.fail(`expected success, got ${result.error.code}: ${result.error.message}`);
  }
  return result.value;
}

export function expectErr<T>(result: Result<T>, code: string): string {
  if (result.ok) {
    assert.fail(`expected ${code}, got success`);
  }
  assert.equal(result.error.code, code, result.error.message);
  return result.error.message;
}
