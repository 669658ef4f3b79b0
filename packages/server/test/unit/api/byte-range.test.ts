import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideByteRange } from '../../../src/api/byte-range.js';

void describe('decideByteRange (RFC 9110 §14)', () => {
  const total = 1000;
  const cases: { header: string | undefined; expected: ReturnType<typeof decideByteRange> }[] = [
    { header: undefined, expected: { kind: 'full' } },
    { header: 'bytes=0-99', expected: { kind: 'partial', start: 0, end: 99 } },
    { header: 'bytes=100-', expected: { kind: 'partial', start: 100, end: 999 } },
    { header: 'bytes=-100', expected: { kind: 'partial', start: 900, end: 999 } },
    { header: 'bytes=-5000', expected: { kind: 'partial', start: 0, end: 999 } },
    { header: 'bytes=990-5000', expected: { kind: 'partial', start: 990, end: 999 } },
    { header: 'BYTES = 5 - 9', expected: { kind: 'partial', start: 5, end: 9 } },
    { header: 'bytes=999-999', expected: { kind: 'partial', start: 999, end: 999 } },
    { header: 'bytes=1000-', expected: { kind: 'unsatisfiable' } },
    { header: 'bytes=1000-2000', expected: { kind: 'unsatisfiable' } },
    { header: 'bytes=-0', expected: { kind: 'unsatisfiable' } },
    // Invalid or multi-range headers are ignored: the whole representation is sent.
    { header: 'bytes=9-5', expected: { kind: 'full' } },
    { header: 'bytes=0-1,5-9', expected: { kind: 'full' } },
    { header: 'items=0-9', expected: { kind: 'full' } },
    { header: 'bytes=-', expected: { kind: 'full' } },
    { header: 'bytes=abc', expected: { kind: 'full' } },
  ];
  for (const c of cases) {
    void it(`${JSON.stringify(c.header)} on ${total} bytes is ${JSON.stringify(c.expected)}`, () => {
      assert.deepEqual(decideByteRange(c.header, total), c.expected);
    });
  }

  void it('finds every range unsatisfiable on an empty representation', () => {
    assert.deepEqual(decideByteRange('bytes=0-', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideByteRange('bytes=-10', 0), { kind: 'unsatisfiable' });
    assert.deepEqual(decideByteRange(undefined, 0), { kind: 'full' });
  });
});
