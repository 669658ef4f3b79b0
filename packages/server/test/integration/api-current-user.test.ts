import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { hashPassword } from '../../src/api/passwords.js';
import { ROLE_PERMISSIONS } from '../../src/api/permissions.js';
import { ROLES } from '../../src/model/user.js';
import { FakeRepository } from '../support/fake-repository.js';
import { buildTestHttpApi } from '../support/http-api-harness.js';

/**
 * getCurrentUser (a Verbatim extension, docs/api.md "Authentication"): the web apps learn who is
 * signed in on the session their cookie carries, and what the role may do, over a real socket.
 */

const AUTH = '/ora/authenticationService/authentication';
const PASSWORD = 'correct horse battery';

void describe('getCurrentUser (integration)', () => {
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    const repository = new FakeRepository();
    for (const role of ROLES) {
      await repository.createUser({
        username: `${role}-user`,
        role,
        passwordHash: await hashPassword(PASSWORD),
        createdAt: 0,
      });
    }
    app = await buildTestHttpApi({ repository });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
  });

  for (const role of ROLES) {
    void it(`names ${role}-user, the role and its permissions, until sign-out`, async () => {
      const signIn = await fetch(`${base}${AUTH}/signIn`, {
        method: 'POST',
        body: JSON.stringify({ requestParameters: { username: `${role}-user`, password: PASSWORD } }),
      });
      const cookie = /JSESSIONID=[0-9a-f]+/.exec(signIn.headers.get('set-cookie') ?? '')?.[0] ?? '';
      await signIn.arrayBuffer();
      const current = await fetch(`${base}${AUTH}/getCurrentUser`, { headers: { cookie } });
      assert.deepEqual(await current.json(), {
        responseCode: 2000,
        responseMessage: 'Success: Your request was successfully completed.',
        responseBody: { username: `${role}-user`, role, permissions: [...ROLE_PERMISSIONS[role]] },
      });
      await (await fetch(`${base}${AUTH}/signOut`, { method: 'POST', headers: { cookie } })).arrayBuffer();
      const after = await fetch(`${base}${AUTH}/getCurrentUser`, { headers: { cookie } });
      assert.equal(((await after.json()) as { responseCode: number }).responseCode, 4021);
    });
  }
});
