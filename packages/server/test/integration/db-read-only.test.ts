import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { openRepository, openRepositoryReadOnly } from '../../src/db/index.js';
import { isVerbatimError } from '../../src/model/errors.js';
import { sampleSession } from '../support/fake-repository.js';

// The read-only repository of `verbatim export`: it reads what a recorder writes meanwhile in
// another connection, refuses to write, and refuses a database that lacks migrations instead of
// applying them.

void describe('read-only SQLite repository', () => {
  let dir = '';
  const path = (): string => join(dir, 'verbatim.db');

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-db-read-only-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('reads sessions a writer adds while it is open, and writes nothing', async () => {
    const writer = await openRepository({ kind: 'sqlite', path: path() });
    try {
      await writer.migrate();
      await writer.createSession(sampleSession({ sessionId: 'readonly0001' }));
      const reader = await openRepositoryReadOnly({ kind: 'sqlite', path: path() });
      try {
        assert.equal((await reader.getSession('readonly0001'))?.sessionId, 'readonly0001');
        // The recorder goes on writing while the reader is open (WAL: neither blocks the other).
        await writer.createSession(sampleSession({ sessionId: 'readonly0002' }));
        assert.equal((await reader.getSession('readonly0002'))?.sessionId, 'readonly0002');
        await assert.rejects(
          reader.createSession(sampleSession({ sessionId: 'readonly0003' })),
          /readonly|read-only/i,
        );
      } finally {
        await reader.close();
      }
      assert.equal(await writer.getSession('readonly0003'), undefined);
    } finally {
      await writer.close();
    }
  });

  void it('refuses a database that lacks migrations, and a missing file, without creating anything', async () => {
    const oldPath = join(dir, 'old.db');
    const old = new BetterSqlite3(oldPath);
    old.exec('create table unrelated (x integer)');
    old.close();
    await assert.rejects(openRepositoryReadOnly({ kind: 'sqlite', path: oldPath }), (error: unknown) => {
      assert.ok(isVerbatimError(error, 'VERBATIM_ERR_DB_OUTDATED'), String(error));
      assert.match(error.message, /lacks \d+ migration\(s\) \(0001-initial, .*\): run verbatim migrate/);
      return true;
    });
    const check = new BetterSqlite3(oldPath, { readonly: true });
    const tables = check.prepare("select name from sqlite_master where type = 'table'").all();
    check.close();
    assert.deepEqual(tables, [{ name: 'unrelated' }], 'no migration table was created');
    await assert.rejects(openRepositoryReadOnly({ kind: 'sqlite', path: join(dir, 'none.db') }));
  });
});
