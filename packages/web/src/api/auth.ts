import { getApi, postApi } from './client.ts';

const AUTH = '/ora/authenticationService/authentication';

/** Who is signed in (getCurrentUser): the apps show only what `permissions` allow. */
export interface CurrentUser {
  readonly username: string;
  readonly role: string;
  readonly permissions: readonly string[];
}

export async function signIn(username: string, password: string): Promise<void> {
  await postApi(`${AUTH}/signIn`, { username, password });
}

export async function signOut(): Promise<void> {
  await postApi(`${AUTH}/signOut`, {});
}

/** The user of the session the cookie carries; throws ApiError 4021 when there is none. */
export async function getCurrentUser(): Promise<CurrentUser> {
  const user = (await getApi(`${AUTH}/getCurrentUser`)).responseBody as CurrentUser | undefined;
  if (user === undefined) {
    throw new Error('getCurrentUser answered without a user');
  }
  return user;
}

/** Whether the user may reach any page of Administration. */
export function canAdminister(user: CurrentUser): boolean {
  return ['manage-users', 'read-audit', 'read-storage', 'manage-subscriptions'].some((p) =>
    user.permissions.includes(p),
  );
}
