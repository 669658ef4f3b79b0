import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { verifyPassword } from '../../src/api/passwords.js';
import { openRepository } from '../../src/db/index.js';
import type { User } from '../../src/model/user.js';
import { runCli, type CliRun } from '../support/cli-process.js';

// `verbatim user …` and `verbatim migrate` as child processes on a temporary data dir; the rows
// they leave are read back through the repository.

/** The CLI with stdin a pipe (not a terminal) carrying `input`. */
function runPiped(
  args: readonly string[],
  cwd: string,
  input = '',
  env: Record<string, string> = {},
): Promise<CliRun> {
  return runCli(args, cwd, { input, env });
}

void describe('verbatim user and migrate', () => {
  let dir = '';
  const dbPath = (): string => join(dir, 'data', 'verbatim.db');

  async function storedUser(name: string): Promise<User | undefined> {
    const repository = await openRepository({ kind: 'sqlite', path: dbPath() });
    try {
      return await repository.getUser(name);
    } finally {
      await repository.close();
    }
  }

  before(async () => {
    dir = await mkdtemp(join(os.tmpdir(), 'verbatim-cli-user-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('migrate creates the database under ./data', async () => {
    const run = await runPiped(['migrate'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, `database is up to date (sqlite:${dbPath()})\n`);
    assert.equal(await storedUser('nobody'), undefined);
  });

  void it('user add with --password stores the user with a hash of that password', async () => {
    const run = await runPiped(
      ['user', 'add', 'alice', '--role', 'supervisor', '--password', 'alice-secret'],
      dir,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'added user alice (role supervisor)\n');
    const alice = await storedUser('alice');
    assert.equal(alice?.role, 'supervisor');
    assert.notEqual(alice.passwordHash, 'alice-secret');
    assert.equal(await verifyPassword('alice-secret', alice.passwordHash), true);
  });

  void it('user add without --password reads one line from stdin', async () => {
    const run = await runPiped(
      ['user', 'add', 'bob', '--role', 'api'],
      dir,
      'piped-password\nignored second line\n',
    );
    assert.equal(run.code, 0, run.stderr);
    const bob = await storedUser('bob');
    assert.equal(bob?.role, 'api');
    assert.equal(await verifyPassword('piped-password', bob.passwordHash), true);
  });

  void it('user list shows name, role and creation time', async () => {
    const run = await runPiped(['user', 'list'], dir);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^NAME\s+ROLE\s+CREATED$/);
    assert.match(lines[1] ?? '', /^alice\s+supervisor\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(lines[2] ?? '', /^bob\s+api\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(lines.length, 3);
  });

  void it('user passwd replaces the password', async () => {
    const run = await runPiped(['user', 'passwd', 'alice', '--password', 'alice-new-secret'], dir);
    assert.equal(run.code, 0, run.stderr);
    const alice = await storedUser('alice');
    assert.ok(alice !== undefined);
    assert.equal(await verifyPassword('alice-new-secret', alice.passwordHash), true);
    assert.equal(await verifyPassword('alice-secret', alice.passwordHash), false);
    assert.equal(alice.role, 'supervisor');
  });

  void it('writes each user change to the audit trail: who on this host, from cli', async () => {
    const repository = await openRepository({ kind: 'sqlite', path: dbPath() });
    try {
      const records = await repository.queryAudit({ target: 'alice', limit: 10 });
      assert.deepEqual(records.map((r) => [r.action, r.source, r.outcome, r.detail]).reverse(), [
        ['addUser', 'cli', 2000, { role: 'supervisor' }],
        ['updateUser', 'cli', 2000, { password: 'changed' }],
      ]);
      assert.equal(records[0]?.username, os.userInfo().username);
    } finally {
      await repository.close();
    }
  });

  void it('user passwd reads the new password from stdin too', async () => {
    const run = await runPiped(['user', 'passwd', 'bob'], dir, 'bob-from-stdin\n');
    assert.equal(run.code, 0, run.stderr);
    const bob = await storedUser('bob');
    assert.ok(bob !== undefined);
    assert.equal(await verifyPassword('bob-from-stdin', bob.passwordHash), true);
  });

  void it('rejects an unknown role with exit 2, naming the valid ones', async () => {
    const run = await runPiped(['user', 'add', 'carol', '--role', 'boss', '--password', 'carol-secret'], dir);
    assert.equal(run.code, 2);
    assert.equal(run.stderr, "error: role 'boss' is not one of admin, api, supervisor, auditor\n");
    assert.equal(await storedUser('carol'), undefined);
  });

  void it('reports a bad name, role and short password together with exit 2', async () => {
    const run = await runPiped(['user', 'add', 'bad:name', '--role', 'root', '--password', 'short'], dir);
    assert.equal(run.code, 2);
    assert.deepEqual(run.stderr.trimEnd().split('\n'), [
      "error: user name 'bad:name' is not valid (1-64 letters, digits, '.', '_', '@' or '-')",
      "error: role 'root' is not one of admin, api, supervisor, auditor",
      'error: password is shorter than 8 characters',
    ]);
  });

  void it('rejects a short password from stdin and an empty stdin', async () => {
    const short = await runPiped(['user', 'add', 'dave', '--role', 'auditor'], dir, 'tiny\n');
    assert.equal(short.code, 2);
    assert.equal(short.stderr, 'error: password is shorter than 8 characters\n');
    const empty = await runPiped(['user', 'add', 'dave', '--role', 'auditor'], dir, '');
    assert.equal(empty.code, 2);
    assert.equal(empty.stderr, 'error: no password: give --password, or one line on stdin\n');
    assert.equal(await storedUser('dave'), undefined);
  });

  void it('refuses to add an existing user and to change an unknown one, with exit 1', async () => {
    const again = await runPiped(
      ['user', 'add', 'alice', '--role', 'admin', '--password', 'whatever-pw'],
      dir,
    );
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: user 'alice' already exists/);
    assert.equal((await storedUser('alice'))?.role, 'supervisor');
    const unknown = await runPiped(['user', 'passwd', 'zed', '--password', 'whatever-pw'], dir);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, "error: no user 'zed' (see: verbatim user list)\n");
  });

  void it('honours --data-dir and VERBATIM_DB like serve', async () => {
    const viaFlag = await runPiped(
      ['user', 'add', 'erin', '--role', 'api', '--password', 'erin-secret', '--data-dir', 'other'],
      dir,
    );
    assert.equal(viaFlag.code, 0, viaFlag.stderr);
    const listed = await runPiped(['user', 'list'], dir, '', {
      VERBATIM_DB: `sqlite:${join('other', 'verbatim.db')}`,
    });
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /^erin\s+api\s/m);
    assert.doesNotMatch(listed.stdout, /alice/);
    const bad = await runPiped(['user', 'list', '--db', 'mysql://x'], dir);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, "error: --db: unsupported URL 'mysql://x' (use sqlite:PATH or postgres://…)\n");
  });
});
