import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MediaTokens } from '../../../src/api/media-tokens.js';
import type { User } from '../../../src/model/user.js';

const users = new Map<string, User>([
  ['auditor1', { username: 'auditor1', role: 'auditor', passwordHash: 'x' } as unknown as User],
]);
const repository = { getUser: (name: string) => Promise.resolve(users.get(name)) };

function tokens(clock: { now: number }, key = Buffer.alloc(32, 7)): MediaTokens {
  return new MediaTokens({ repository, now: () => clock.now, ttlSeconds: 60, key });
}

describe('MediaTokens', () => {
  it('accepts its own token for the session it names, with the user and their role', async () => {
    const clock = { now: 1_800_000_000_000 };
    const token = tokens(clock).issue('abc123', 'auditor1');
    assert.match(token, /^[0-9a-z]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'URL-safe');
    assert.deepEqual(await tokens(clock).verify(token, 'abc123'), {
      username: 'auditor1',
      role: 'auditor',
      via: 'token',
    });
  });

  it('refuses it for another session, after expiry, with another key, altered, or for a removed user', async () => {
    const clock = { now: 1_800_000_000_000 };
    const token = tokens(clock).issue('abc123', 'auditor1');
    assert.equal(await tokens(clock).verify(token, 'abc124'), undefined, 'another session');
    assert.equal(await tokens(clock, Buffer.alloc(32, 8)).verify(token, 'abc123'), undefined, 'another key');
    const [expiry, user, mac] = token.split('.');
    const longer = `${(parseInt(expiry ?? '', 36) + 1000).toString(36)}.${user}.${mac}`;
    assert.equal(await tokens(clock).verify(longer, 'abc123'), undefined, 'expiry extended');
    const other = `${expiry}.${Buffer.from('admin').toString('base64url')}.${mac}`;
    assert.equal(await tokens(clock).verify(other, 'abc123'), undefined, 'user swapped');
    for (const junk of ['', '...', 'a.b', 'zz.zz.zz', `${token}.x`, '\u0000.\u0000.\u0000']) {
      assert.equal(await tokens(clock).verify(junk, 'abc123'), undefined, JSON.stringify(junk));
    }
    assert.equal(await tokens({ now: clock.now + 61_000 }).verify(token, 'abc123'), undefined, 'expired');
    const ghost = tokens(clock).issue('abc123', 'nobody');
    assert.equal(await tokens(clock).verify(ghost, 'abc123'), undefined, 'unknown user');
  });
});
