import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  ROLES,
  USERNAME_PATTERN,
  type Role,
} from '../../../server/src/model/user.ts';
import { getApi, postApi } from './client.ts';

/** Users and roles (docs/api.md "Users"): the calls of Administration's users section. */

export { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, ROLES, USERNAME_PATTERN, type Role };

const USERS = '/ora/userService/user';

/** A user as listUsers answers it (the server never returns a password). */
export interface UserEntry {
  readonly username: string;
  readonly role: Role;
  readonly createdAt: number;
}

export async function listUsers(signal?: AbortSignal): Promise<UserEntry[]> {
  const envelope = await getApi(`${USERS}/listUsers`, {}, signal);
  return (envelope.responseBody as { users?: UserEntry[] } | undefined)?.users ?? [];
}

export async function addUser(username: string, role: Role, password: string): Promise<void> {
  await postApi(`${USERS}/addUser`, { username, role, password });
}

export async function updateUser(
  username: string,
  change: { readonly role?: Role; readonly password?: string },
): Promise<void> {
  await postApi(`${USERS}/updateUser`, { username, ...change });
}

export async function deleteUser(username: string): Promise<void> {
  await postApi(`${USERS}/deleteUser`, { username });
}

/** What each role may do, in a sentence (docs/api.md "Roles"). */
export const ROLE_SUMMARIES: Readonly<Record<Role, string>> = {
  admin: 'everything, including users, storage policy and subscriptions',
  api: 'integrations: search, play, tag, delete, control recordings, subscribe to events',
  supervisor: 'search, play and tag sessions',
  auditor: 'search and play, read the audit log and the storage state',
};
