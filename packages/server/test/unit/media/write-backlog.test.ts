import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { writeBacklogCapBytes } from '../../../src/media/create-media-engine.js';
import { WriteBacklog, type WriteBacklogEvent } from '../../../src/media/write-backlog.js';
import { MEDIA_WRITE_LEVELS } from '../../../src/recording/admission.js';

const MIB = 2 ** 20;

void describe('WriteBacklog', () => {
  void it('takes records up to its limit, refuses what would go over, and takes again once bytes are released', () => {
    const events: WriteBacklogEvent[] = [];
    const backlog = new WriteBacklog(1000, (event) => events.push(event));
    assert.equal(backlog.reserve(400), true);
    assert.equal(backlog.reserve(600), true, 'exactly at the limit is allowed');
    assert.equal(backlog.bytes, 1000);
    assert.equal(backlog.reserve(1), false);
    assert.equal(backlog.reserve(216), false);
    assert.equal(backlog.bytes, 1000, 'a refused record holds nothing');
    assert.deepEqual(events, [{ over: true, bytes: 1000, limitBytes: 1000, refused: 1 }]);

    backlog.release(400);
    assert.equal(backlog.bytes, 600);
    assert.equal(events.length, 1, 'not yet under half the limit: no second line');
    assert.equal(backlog.reserve(300), true);
    assert.equal(backlog.reserve(200), false);
    backlog.release(500);
    assert.equal(backlog.bytes, 400);
    assert.deepEqual(events[1], { over: false, bytes: 400, limitBytes: 1000, refused: 3 });
    backlog.release(400);
    assert.equal(backlog.bytes, 0);
    assert.equal(events.length, 2);
  });

  void it('reports each stay over the limit once, however often a write frees a batch in it', () => {
    const events: WriteBacklogEvent[] = [];
    const backlog = new WriteBacklog(1000, (event) => events.push(event));
    assert.equal(backlog.reserve(1000), true);
    for (let write = 0; write < 100; write++) {
      assert.equal(backlog.reserve(100), false);
      backlog.release(100);
      assert.equal(backlog.reserve(100), true);
    }
    assert.equal(events.length, 1);
    backlog.release(1000);
    assert.equal(events.length, 2);
    assert.equal(events[1]?.refused, 100);
    assert.equal(backlog.reserve(1000), true);
    assert.equal(backlog.reserve(1), false);
    assert.equal(events.length, 3, 'a new stay over the limit is reported again');
  });

  void it('has a node-wide cap above the level where admission refuses new calls, bounded by the machine', () => {
    assert.ok(
      writeBacklogCapBytes(256 * MIB) > MEDIA_WRITE_LEVELS.refuse,
      'a small machine still gets the floor',
    );
    assert.equal(writeBacklogCapBytes(256 * MIB), 320 * MIB);
    assert.equal(writeBacklogCapBytes(1.5 * 1024 * MIB), 384 * MIB, 'a quarter of its memory');
    assert.equal(writeBacklogCapBytes(64 * 1024 * MIB), 512 * MIB);
    assert.ok(320 * MIB - MEDIA_WRITE_LEVELS.refuse >= 64 * MIB, 'room for the calls held after refusing');
  });
});
