/** Property tests of the HTTP Range header, and its one finding with the exact input. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideByteRange } from '../../../src/api/byte-range.js';
import { byteRangeProperties, byteRangeReplays } from '../../fuzz/properties/byte-range.js';
import { describeFuzz } from '../../fuzz/suite.js';

describeFuzz('the HTTP Range header', byteRangeProperties, byteRangeReplays);

void describe('decideByteRange on a header built to be slow (issue 9)', () => {
  void it('ignores "bytes=" followed by 64,000 blanks and a letter', () => {
    // The one-regex reading (\s*(\d*)\s*-) took quadratic time here (14 s).
    assert.deepEqual(decideByteRange(`bytes=${' '.repeat(64_000)}x`, 1000), { kind: 'full' });
  });

  void it('still reads blanks around every token', () => {
    assert.deepEqual(decideByteRange(' \t bytes \t= \t5 \t- \t9 \t', 1000), {
      kind: 'partial',
      start: 5,
      end: 9,
    });
  });
});
