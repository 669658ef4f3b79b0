import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuthSessionStore } from '../../../src/api/auth-sessions.js';

void describe('AuthSessionStore', () => {
  void it('issues 32-hex-digit ids and expires them after the idle time, sliding on each use', () => {
    let nowMs = 1_000_000;
    const store = new AuthSessionStore({ idleMs: 1000, now: () => nowMs });
    const session = store.create('alice', 'api');
    assert.match(session.id, /^[0-9a-f]{32}$/);
    nowMs += 999;
    assert.equal(store.touch(session.id)?.username, 'alice');
    nowMs += 999; // 1998 ms after creation, but only 999 after the last use.
    assert.equal(store.touch(session.id)?.username, 'alice');
    nowMs += 1000;
    assert.equal(store.touch(session.id), undefined);
    // Once expired it stays gone.
    nowMs -= 1000;
    assert.equal(store.touch(session.id), undefined);
  });

  void it('forgets deleted sessions and sweeps expired ones on sign-in', () => {
    let nowMs = 0;
    const store = new AuthSessionStore({ idleMs: 100, now: () => nowMs });
    const a = store.create('a', 'api');
    store.create('b', 'api');
    assert.equal(store.delete(a.id), true);
    assert.equal(store.touch(a.id), undefined);
    nowMs = 500;
    store.create('c', 'api');
    assert.equal(store.size, 1);
  });
});
