import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword } from '../../../src/api/passwords.js';

void describe('passwords', () => {
  void it('hashes to the self-describing scrypt$N$r$p$salt$hash form and verifies', async () => {
    const hash = await hashPassword('correct horse');
    assert.match(hash, /^scrypt\$16384\$8\$1\$[A-Za-z0-9+/]+=*\$[A-Za-z0-9+/]+=*$/);
    assert.equal(await verifyPassword('correct horse', hash), true);
    assert.equal(await verifyPassword('correct horsE', hash), false);
    assert.equal(await verifyPassword('', hash), false);
  });

  void it('salts each hash', async () => {
    assert.notEqual(await hashPassword('same'), await hashPassword('same'));
  });

  void it('verifies with the parameters stored in the hash', async () => {
    const [, , , , salt = '', key = ''] = (await hashPassword('pw')).split('$');
    // The same salt and key under different cost parameters must not verify.
    assert.equal(await verifyPassword('pw', `scrypt$16384$8$1$${salt}$${key}`), true);
    assert.equal(await verifyPassword('pw', `scrypt$8192$8$1$${salt}$${key}`), false);
  });

  for (const bad of [
    '',
    'plain',
    'scrypt$16384$8$1$c2FsdA==',
    'bcrypt$16384$8$1$c2FsdA==$a2V5',
    'scrypt$1000$8$1$c2FsdA==$a2V5',
    'scrypt$4194304$8$1$c2FsdA==$a2V5',
    'scrypt$16384$0$1$c2FsdA==$a2V5',
    'scrypt$16384$8$1$$a2V5',
  ]) {
    void it(`treats the malformed hash ${JSON.stringify(bad)} as a mismatch without throwing`, async () => {
      assert.equal(await verifyPassword('pw', bad), false);
    });
  }
});
