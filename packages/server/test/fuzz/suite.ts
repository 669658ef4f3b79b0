/**
 * The glue between the fuzz properties and `npm test`: one `describe` per family, a test per
 * property run with a fixed seed (a failure is the same on every machine), and a test per corpus
 * folder that replays every seed and every regression.
 */
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { regressionFiles, seedFiles } from './corpus.js';
import { TEST_SCALE, type AnyFuzzProperty } from './fuzz-property.js';

/** Fixed, so that `npm test` is deterministic; `npm run fuzz` draws random seeds. */
export const TEST_SEED = 20261203;

/**
 * Runs per property in `npm test`: the 16 properties and the corpus replays take about 17 s
 * together at this count on the shared 2-core machine (10 s at 150, 20 s at 300); the long runs
 * of `npm run fuzz` do the volume.
 */
export const TEST_RUNS = 250;

export function describeFuzz(
  family: string,
  properties: readonly AnyFuzzProperty[],
  replays: Readonly<Record<string, (bytes: Uint8Array) => void>>,
  runs = TEST_RUNS,
): void {
  void describe(`fuzz: ${family} (seed ${TEST_SEED})`, () => {
    for (const [corpus, replay] of Object.entries(replays)) {
      void it(`replays the ${corpus} seeds and regressions`, () => {
        for (const file of [...seedFiles(corpus), ...regressionFiles(corpus)]) {
          try {
            replay(file.bytes);
          } catch (cause) {
            throw new Error(`${file.path}: ${cause instanceof Error ? cause.message : String(cause)}`, {
              cause,
            });
          }
        }
      });
    }
    for (const property of properties) {
      void it(property.name, () => {
        fc.assert(fc.property(property.arbitrary(TEST_SCALE), property.check), {
          seed: TEST_SEED,
          numRuns: runs,
        });
      });
    }
  });
}
