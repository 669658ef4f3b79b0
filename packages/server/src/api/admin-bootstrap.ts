import { randomBytes } from 'node:crypto';
import type { Repository } from '../db/repository.js';
import { hashPassword } from './passwords.js';
import { digestHa1 } from './digest-ha1.js';

export const ADMIN_USERNAME = 'admin';

/**
 * First start (DESIGN.md §1.1): with an empty user table, creates `admin` (role admin) with the
 * given password, or with a generated one that is returned so the caller prints it once. An empty
 * string counts as no password, since an admin account with an empty password would be open.
 */
export async function ensureAdminUser(
  repository: Repository,
  adminPassword: string | undefined,
): Promise<{ created: boolean; generatedPassword?: string }> {
  if ((await repository.countUsers()) > 0) {
    return { created: false };
  }
  const given = adminPassword !== undefined && adminPassword !== '' ? adminPassword : undefined;
  // 18 random bytes give a 24-character base64url password with 144 bits of entropy.
  const password = given ?? randomBytes(18).toString('base64url');
  await repository.createUser({
    username: ADMIN_USERNAME,
    role: 'admin',
    passwordHash: await hashPassword(password),
    digestHa1: digestHa1(ADMIN_USERNAME, password),
    createdAt: Date.now(),
  });
  return given === undefined ? { created: true, generatedPassword: password } : { created: true };
}
