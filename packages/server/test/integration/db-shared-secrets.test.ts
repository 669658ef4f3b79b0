import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository } from '../../src/db/index.js';

/** Migration 0021: secrets drawn once and kept, such as the media tokens' key. */
void describe('SQLite repository: shared secrets', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-secrets-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('stores the first value offered, answers it from then on, and keeps it across a reopen', async () => {
    const path = join(dir, 'secrets.db');
    const first = await openRepository({ kind: 'sqlite', path });
    await first.migrate();
    assert.equal(await first.sharedSecret('media-token-key', 'first', 1), 'first');
    assert.equal(await first.sharedSecret('media-token-key', 'second', 2), 'first', 'the stored one wins');
    assert.equal(await first.sharedSecret('another', 'other', 3), 'other', 'each name has its own');
    await first.close();

    const reopened = await openRepository({ kind: 'sqlite', path });
    await reopened.migrate();
    assert.equal(await reopened.sharedSecret('media-token-key', 'third', 4), 'first');
    await reopened.close();
  });

  void it('gives two nodes starting at once the same secret', async () => {
    const path = join(dir, 'race.db');
    const nodes = [
      await openRepository({ kind: 'sqlite', path }),
      await openRepository({ kind: 'sqlite', path }),
    ];
    await nodes[0]?.migrate();
    const answers = await Promise.all(nodes.map((node, i) => node.sharedSecret('key', `node-${i}`, i)));
    assert.equal(answers[0], answers[1]);
    assert.ok(answers[0] === 'node-0' || answers[0] === 'node-1');
    await Promise.all(nodes.map((node) => node.close()));
  });
});
