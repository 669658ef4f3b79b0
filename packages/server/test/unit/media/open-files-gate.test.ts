import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FDS_PER_AUDIO_CALL } from '../../../src/media/fd-budget.js';
import {
  countOpenDescriptors,
  OPEN_FILES_MARGIN,
  OpenFilesGate,
} from '../../../src/media/open-files-gate.js';

describe('OpenFilesGate', () => {
  it('refuses the call that would leave less than the margin, counting calls admitted since the count', async () => {
    let sessions = 0;
    const gate = new OpenFilesGate({
      readLimit: () => Promise.resolve(100 + OPEN_FILES_MARGIN + 2 * FDS_PER_AUDIO_CALL),
      activeSessions: () => sessions,
      countOpen: () => Promise.resolve(100),
    });
    assert.equal(gate.full(), false, 'nothing counted yet: no refusal on a guess');
    await gate.sample();
    assert.equal(gate.estimatedOpen(), 100);
    assert.equal(gate.full(), false, 'room for two calls');
    sessions = 1;
    assert.equal(
      gate.estimatedOpen(),
      100 + FDS_PER_AUDIO_CALL,
      'a call admitted since the count holds its share',
    );
    assert.equal(gate.full(), false, 'room for one more');
    sessions = 2;
    assert.equal(gate.full(), true, 'the third call would eat into the margin');
    // The next count sees the descriptors really open (two calls' worth) and starts from there.
    await gate.sample();
    assert.equal(gate.estimatedOpen(), 100, 'the injected count stays at 100 in this test');
    assert.equal(gate.full(), false);
  });

  it('never refuses without a limit or without a count', async () => {
    const unlimited = new OpenFilesGate({
      readLimit: () => Promise.resolve(Infinity),
      activeSessions: () => 1e6,
      countOpen: () => Promise.resolve(1e6),
    });
    await unlimited.start();
    assert.equal(unlimited.full(), false);
    unlimited.stop();
    const blind = new OpenFilesGate({
      readLimit: () => Promise.resolve(10),
      activeSessions: () => 5,
      countOpen: () => Promise.resolve(undefined),
    });
    await blind.sample();
    assert.equal(blind.full(), false);
    const failing = new OpenFilesGate({
      readLimit: () => Promise.resolve(10),
      activeSessions: () => 5,
      countOpen: () => Promise.reject(new Error('EACCES')),
    });
    await failing.sample();
    assert.equal(failing.full(), false);
  });

  it('follows a limit changed on the running process, and says so', async () => {
    let limit = Infinity;
    const changes: (readonly [number, number | undefined])[] = [];
    const gate = new OpenFilesGate({
      readLimit: () => Promise.resolve(limit),
      onLimit: (now, previous) => changes.push([now, previous]),
      activeSessions: () => 0,
      countOpen: () => Promise.resolve(100),
    });
    await gate.sample();
    assert.equal(gate.full(), false, 'unlimited');
    limit = 100 + OPEN_FILES_MARGIN;
    await gate.sample();
    assert.equal(gate.limit, limit);
    assert.equal(gate.full(), true, 'lowered under what one more call needs');
    await gate.sample();
    limit = 100 + OPEN_FILES_MARGIN + FDS_PER_AUDIO_CALL;
    await gate.sample();
    assert.equal(gate.full(), false, 'raised: room for one call');
    assert.deepEqual(changes, [
      [Infinity, undefined],
      [100 + OPEN_FILES_MARGIN, Infinity],
      [100 + OPEN_FILES_MARGIN + FDS_PER_AUDIO_CALL, 100 + OPEN_FILES_MARGIN],
    ]);
    const unreadable = new OpenFilesGate({
      readLimit: () => Promise.reject(new Error('ENOENT')),
      activeSessions: () => 1e6,
      countOpen: () => Promise.resolve(1e6),
    });
    await unreadable.sample();
    assert.equal(unreadable.full(), false, 'a limit that cannot be read is no limit');
  });

  it("counts this process's descriptors on Linux", async () => {
    const count = await countOpenDescriptors();
    assert.ok(count !== undefined && count > 3, `counted ${count}`);
  });
});
