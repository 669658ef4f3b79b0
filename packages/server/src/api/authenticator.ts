import type { Repository } from '../db/repository.js';
import type { Role } from '../model/user.js';
import type { AuthSession, AuthSessionStore } from './auth-sessions.js';
import { basicCredentials, sessionIdCandidates, type RequestHeaders } from './credentials.js';
import { dummyPasswordHash, verifyPassword } from './passwords.js';

export interface Principal {
  readonly username: string;
  readonly role: Role;
  /** How the request proved who it is (kept for the audit log). */
  readonly via: 'session' | 'basic' | 'token';
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
    return user !== undefined && matches ? { username: user.username, role: user.role } : undefined;
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
