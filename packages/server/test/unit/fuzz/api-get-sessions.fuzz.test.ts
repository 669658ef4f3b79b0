import { describe, it } from 'node:test';
import fc from 'fast-check';
import { API_FUZZ_PROPERTIES } from './api-properties.js';

/**
 * The API fuzz properties with a fixed seed and modest counts, so `npm test` is repeatable and
 * quick; `npm run fuzz` runs the same properties longer with fresh seeds. A failure prints the
 * seed and the shrunk input: add that input to test/fixtures/fuzz-corpus/api-get-sessions/regressions/.
 */
const SEED = 20_261_203;

void describe('API fuzz properties (fixed seed)', () => {
  for (const { name, runs, build } of API_FUZZ_PROPERTIES) {
    void it(name, async () => {
      const { property, examples, close } = await build();
      try {
        await fc.assert(property, { seed: SEED, numRuns: runs, examples: [...examples] });
      } finally {
        await close();
      }
    });
  }
});
