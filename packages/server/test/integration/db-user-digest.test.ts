import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, sql, SqliteDialect } from 'kysely';
import { openRepository } from '../../src/db/index.js';
import { MIGRATIONS } from '../../src/db/migrations/index.js';
import type { User } from '../../src/model/user.js';

/** Migration 0012: the RTSP Digest HA1 kept beside the scrypt hash (api/digest-ha1.ts). */
void describe('SQLite repository: the Digest HA1 of users', () => {
  let dir = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-ha1-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('keeps a user from before 0012 without HA1, then stores, keeps and clears it with the password', async () => {
    const path = join(dir, 'before-0012.db');
    const first = await openRepository({ kind: 'sqlite', path });
    await first.migrate();
    const old: User = { username: 'old', role: 'api', passwordHash: 'scrypt$a', createdAt: 1 };
    await first.createUser(old);
    await first.close();
    const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: new BetterSqlite3(path) }) });
    for (const name of Object.keys(MIGRATIONS)
      .filter((n) => n >= '0012')
      .reverse()) {
      await MIGRATIONS[name]?.down?.(db);
      await sql`delete from kysely_migration where name = ${name}`.execute(db);
    }
    await db.destroy();

    const repo = await openRepository({ kind: 'sqlite', path });
    try {
      await repo.migrate();
      assert.deepStrictEqual(await repo.getUser('old'), old, 'no HA1 until the password is proved');
      assert.equal(await repo.updateUser('old', { digestHa1: 'a'.repeat(32) }), true);
      assert.equal((await repo.getUser('old'))?.digestHa1, 'a'.repeat(32));
      assert.equal(await repo.updateUser('old', { role: 'auditor' }), true);
      assert.equal((await repo.getUser('old'))?.digestHa1, 'a'.repeat(32), 'a role change keeps it');
      assert.equal(await repo.updateUser('old', { passwordHash: 'scrypt$b' }), true);
      assert.equal((await repo.getUser('old'))?.digestHa1, undefined, 'a new password without HA1 clears it');
      await repo.createUser({ ...old, username: 'new', digestHa1: 'b'.repeat(32) });
      assert.equal((await repo.getUser('new'))?.digestHa1, 'b'.repeat(32));
      assert.equal(
        await repo.updateUser('new', { passwordHash: 'scrypt$c', digestHa1: 'c'.repeat(32) }),
        true,
      );
      assert.equal((await repo.getUser('new'))?.digestHa1, 'c'.repeat(32));
    } finally {
      await repo.close();
    }
  });
});
