import assert from 'node:assert/strict';
import type { Result } from '../../src/protocol/result.js';

/** The value of a successful Result; fails the test with the error's code and message otherwise. */
export function expectOk<T>(result: Result<T>): T {
  if (!result.ok) {
    assert.fail(`expected success, got ${result.error.code}: ${result.error.message}`);
  }
  return result.value;
}

/** Asserts that the Result failed with `code`, and returns the error's message. */
export function expectErr(result: Result<unknown>, code: string): string {
  if (result.ok) {
    assert.fail(`expected ${code}, got success`);
  }
  assert.equal(result.error.code, code, result.error.message);
  return result.error.message;
}
