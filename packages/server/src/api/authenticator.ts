import type { Repository } from '../db/repository.js';
import type { Role, User } from '../model/user.js';
import { digestHa1 } from './digest-ha1.js';
import type { AuthSession, AuthSessionStore } from './auth-sessions.js';
import { basicCredentials, sessionIdCandidates, type RequestHeaders } from './credentials.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';

export interface Principal {
  readonly username: string;
  readonly role: Role;
  /** How the request proved who it is (kept for the audit log). */
  readonly via: 'session' | 'basic' | 'token';
}

/**
 * A proved password gives the RTSP Digest HA1 (db migration 0012) of a user who has none yet (a
 * password set before it existed). A failed write only delays Digest for that user.
 */
export async function storeDigestHa1(
  repository: Pick<Repository, 'updateUser'>,
  user: User,
  password: string,
): Promise<void> {
  const ha1 = digestHa1(user.username, password);
  if (user.digestHa1 !== ha1) {
    await repository.updateUser(user.username, { digestHa1: ha1 }).catch(() => false);
  }
}

/** Checks credentials against the user table and the JSESSIONIDs issued by this node. */
export class Authenticator {
  readonly #repository: Repository;
  readonly #sessions: AuthSessionStore;

  constructor(repository: Repository, sessions: AuthSessionStore) {
    this.#repository = repository;
    this.#sessions = sessions;
  }

  /** The user when the password matches; an unknown user costs the same scrypt run as a known one. */
  async verifyUser(
    username: string,
    password: string,
  ): Promise<{ username: string; role: Role } | undefined> {
    const user = await this.#repository.getUser(username);
    const matches = await verifyPassword(password, user?.passwordHash ?? (await dummyPasswordHash()));
    if (user === undefined || !matches) {
      return undefined;
    }
    await storeDigestHa1(this.#repository, user, password);
    return { username: user.username, role: user.role };
  }

  async signIn(username: string, password: string): Promise<AuthSession | undefined> {
    const user = await this.verifyUser(username, password);
    return user === undefined ? undefined : this.#sessions.create(user.username, user.role);
  }

  /** The live session the request carries (cookie or bare header), its idle timer restarted. */
  sessionOf(headers: RequestHeaders): AuthSession | undefined {
    for (const id of sessionIdCandidates(headers)) {
      const session = this.#sessions.touch(id);
      if (session !== undefined) {
        return session;
      }
    }
    return undefined;
  }

  /** A user's role changed (or, undefined, the user was removed): their sessions follow. */
  userChanged(username: string, role: Role | undefined): void {
    this.#sessions.userChanged(username, role);
  }

  signOut(session: AuthSession): void {
    this.#sessions.delete(session.id);
  }

  /**
   * Downloads accept the API session or HTTP Basic with an API user's credentials: MediaSense
   * 9.1+ requires Basic on every HTTP download (addendum §6), and browsers send the cookie.
   */
  async downloadPrincipal(headers: RequestHeaders): Promise<Principal | undefined> {
    const session = this.sessionOf(headers);
    if (session !== undefined) {
      return { username: session.username, role: session.role, via: 'session' };
    }
    const basic = basicCredentials(headers);
    if (basic === undefined) {
      return undefined;
    }
    const user = await this.verifyUser(basic.username, basic.password);
    return user === undefined ? undefined : { ...user, via: 'basic' };
  }
}
