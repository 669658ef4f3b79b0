import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ensureAdminUser } from '../../../src/api/admin-bootstrap.js';
import { verifyPassword } from '../../../src/api/passwords.js';
import { FakeRepository } from '../../support/fake-repository.js';

void describe('ensureAdminUser', () => {
  void it('creates admin with the given password when the user table is empty', async () => {
    const repository = new FakeRepository();
    assert.deepEqual(await ensureAdminUser(repository, 's3cret!'), { created: true });
    const admin = await repository.getUser('admin');
    assert.equal(admin?.role, 'admin');
    assert.equal(await verifyPassword('s3cret!', admin.passwordHash), true);
  });

  void it('generates and returns a password when none is given (or it is empty)', async () => {
    for (const given of [undefined, '']) {
      const repository = new FakeRepository();
      const result = await ensureAdminUser(repository, given);
      assert.equal(result.created, true);
      assert.match(result.generatedPassword ?? '', /^[A-Za-z0-9_-]{24}$/);
      const admin = await repository.getUser('admin');
      assert.equal(await verifyPassword(result.generatedPassword ?? '', admin?.passwordHash ?? ''), true);
    }
  });

  void it('does nothing when any user exists', async () => {
    const repository = new FakeRepository();
    await repository.createUser({ username: 'ops', role: 'api', passwordHash: 'x', createdAt: 0 });
    assert.deepEqual(await ensureAdminUser(repository, 'pw'), { created: false });
    assert.equal(await repository.getUser('admin'), undefined);
  });
});
