import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

import { cruise, type ICruiseOptions, type IForbiddenRuleType, type IViolation } from 'dependency-cruiser';
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options';

/**
 * The layer rules of .dependency-cruiser.cjs (run on src by `npm run check:layers`) bite: built for
 * the fixture tree test/fixtures/layers, which breaks each rule once on purpose, they report
 * exactly those imports and none of the allowed ones; and the real src passes them.
 */

const REPO_ROOT = resolve(import.meta.dirname, '../../../../..');
const CONFIG_FILE = resolve(REPO_ROOT, '.dependency-cruiser.cjs');
const FIXTURE = 'packages/server/test/fixtures/layers';

const config = createRequire(import.meta.url)(CONFIG_FILE) as {
  layerRules(src: string): IForbiddenRuleType[];
};

async function violations(paths: string[], options: ICruiseOptions): Promise<IViolation[]> {
  const result = await cruise(paths, { ...options, baseDir: REPO_ROOT });
  assert.equal(typeof result.output, 'object', 'the cruise returns its result as an object');
  if (typeof result.output === 'string') {
    return [];
  }
  return result.output.summary.violations;
}

/** `rule: from -> to`, paths from the fixture's root. */
function describeViolation(violation: IViolation): string {
  const short = (path: string): string => path.replace(`${FIXTURE}/`, '').replace(/^.*node_modules\//, '');
  return `${violation.rule.name}: ${short(violation.from)} -> ${short(violation.to)}`;
}

describe('layer rules (.dependency-cruiser.cjs)', () => {
  let options: ICruiseOptions;

  before(async () => {
    options = await extractDepcruiseOptions(CONFIG_FILE);
  });

  it('report each deliberate violation of the fixture tree, and no allowed import', async () => {
    const found = await violations([FIXTURE], {
      ...options,
      ruleSet: { forbidden: config.layerRules(`^${FIXTURE}/src/`) },
    });
    assert.deepEqual(found.map(describeViolation).sort(), [
      // An unknown folder must be given its layer.
      'folder-has-a-layer: src/cluster/peers.ts -> src/model/call.ts',
      // Upward: media/ is below db/.
      'layer-media: src/media/packet-sink.ts -> src/db/store.ts',
      // Sideways: sip/ and media/ have the same rank.
      'layer-sip: src/sip/dialogs.ts -> src/media/packet-sink.ts',
      // Upward: transport/ is below sip/.
      'layer-transport: src/transport/listener.ts -> src/sip/dialogs.ts',
      // The worker reaches db/ through packet-sink.ts.
      'media-worker-stays-small: src/media/rtp-worker.ts -> src/db/repository.ts',
      'media-worker-stays-small: src/media/rtp-worker.ts -> src/db/store.ts',
      'no-circular: src/playback/mixer.ts -> src/playback/timeline.ts',
      // node:fs, reported by its core name.
      'protocol-no-node: src/protocol/reads-files.ts -> fs',
      'protocol-pure-packages-only: src/protocol/logs.ts -> pino/pino.js',
      // Its `import type` of db/repository.ts is allowed; the implementation is not.
      'recording-sees-interfaces-only: src/recording/coordinator.ts -> src/db/store.ts',
      'src-not-to-test-code: src/recording/clock.ts -> test/support/fake-clock.ts',
    ]);
  });

  it('pass on the real src', async () => {
    const found = await violations(['packages/server/src'], options);
    assert.deepEqual(found.map(describeViolation), []);
  });
});
