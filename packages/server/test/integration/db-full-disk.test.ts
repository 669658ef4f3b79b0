import assert from 'node:assert/strict';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import BetterSqlite3 from 'better-sqlite3';
import pino from 'pino';

import { SqliteRepository } from '../../src/db/sqlite-repository.js';
import type { Session, Tag } from '../../src/model/session.js';
import { mountTmpfs, type Tmpfs } from '../support/tmpfs.js';

/**
 * Issue 13: the database on a partition that fills. Before the fix, SQLite rolled the failed
 * transaction back by itself, Kysely's own ROLLBACK then failed with "cannot rollback - no
 * transaction is active", and that error hid SQLITE_FULL from the caller (which could not tell a
 * write worth retrying). Now the cause reaches the caller and the connection writes again once
 * space returns.
 */

const SIZE = 2 * 1024 * 1024;

function session(sessionId: string, tags: readonly Tag[] = []): Session {
  return {
    sessionId,
    sessionState: 'ACTIVE',
    sessionStartDate: 1_700_000_000_000,
    callControllerIP: '192.0.2.1',
    callControllerType: 'Cisco-CUCM',
    ccid: '1',
    nodeId: 'node-1',
    tags,
    tracks: [],
  };
}

/** Tags big enough that one session's insert needs pages the full partition no longer has. */
function bulkyTags(): Tag[] {
  return Array.from({ length: 40 }, (_, i) => ({
    tagName: `${'x'.repeat(400)}${i}`,
    tagType: 'USER_DEFINED' as const,
    tagCreateDate: 1_700_000_000_000,
  }));
}

/** Writes until the partition refuses (ENOSPC), down to single blocks. */
function fill(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [65536, 4096, 512]) {
      const chunk = Buffer.alloc(size, 0x55);
      try {
        for (;;) {
          writeSync(fd, chunk);
        }
      } catch (error: unknown) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      }
    }
  } finally {
    closeSync(fd);
  }
}

describe('SQLite on a full partition', () => {
  let dir: string;
  const mount = { tmpfs: undefined as Tmpfs | undefined, skip: '' };
  let repo: SqliteRepository | undefined;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'verbatim-db-full-'));
    const mounted = await mountTmpfs(dir, SIZE);
    if (typeof mounted === 'string') {
      mount.skip = mounted;
      return;
    }
    mount.tmpfs = mounted;
    repo = SqliteRepository.open(join(dir, 'verbatim.db'), pino({ level: 'silent' }));
    await repo.migrate();
  });

  after(async () => {
    await repo?.close();
    await mount.tmpfs?.unmount();
    await rm(dir, { recursive: true, force: true });
  });

  it('reports SQLITE_FULL (not a failed rollback) and writes again once space returns', async (t) => {
    if (repo === undefined) {
      t.skip(mount.skip);
      return;
    }
    await repo.createSession(session('before'));
    const filler = join(dir, 'filler.bin');
    fill(filler);

    // A transaction of several statements (session, then its tags) and a single statement.
    await assert.rejects(repo.createSession(session('during', bulkyTags())), { code: 'SQLITE_FULL' });
    await assert.rejects(repo.closeSession('before', 'CLOSED_ERROR', 5, 'disk-full'), {
      code: 'SQLITE_FULL',
    });
    // Nothing of the failed transaction is half there.
    assert.equal(await repo.getSession('during'), undefined);
    assert.equal((await repo.getSession('before'))?.sessionState, 'ACTIVE');

    await unlink(filler);
    await repo.createSession(session('during', bulkyTags()));
    await repo.closeSession('before', 'CLOSED_ERROR', 5, 'disk-full');
    const closed = await repo.getSession('before');
    assert.ok(closed !== undefined);
    assert.equal(closed.sessionState, 'CLOSED_ERROR');
    assert.equal(closed.closeReason, 'disk-full');
    assert.equal((await repo.getSession('during'))?.tags.length, 40);
  });

  it('rolls back a transaction a failure left open before the next write, so the connection stays usable', async () => {
    const sqlite = new BetterSqlite3(join(dir, 'left-open.db'));
    const own = new SqliteRepository(sqlite, pino({ level: 'silent' }));
    try {
      await own.migrate();
      await own.createSession(session('kept'));
      // What a ROLLBACK that failed leaves behind: a transaction still open on the connection,
      // holding a write nobody will commit.
      sqlite.exec("BEGIN; UPDATE sessions SET ccid = 'stray' WHERE session_id = 'kept'");
      assert.equal(sqlite.inTransaction, true);
      await own.createSession(session('next'));
      assert.equal(sqlite.inTransaction, false);
      assert.equal((await own.getSession('next'))?.sessionState, 'ACTIVE');
      assert.equal((await own.getSession('kept'))?.ccid, '1', 'the stray write was rolled back');
    } finally {
      await own.close();
    }
  });
});
