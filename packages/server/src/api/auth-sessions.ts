import { randomBytes } from 'node:crypto';
import type { Role } from '../model/user.js';

/**
 * Signed-in API sessions, keyed by their JSESSIONID. MediaSense ends a session on signOut or after
 * 30 minutes without a request, the expiry sliding with each request (reference §2). Sessions are
 * per node and in memory, as MediaSense's were: a client signs in to each node it talks to.
 */

export const DEFAULT_SESSION_IDLE_MS = 30 * 60 * 1000;

export interface AuthSession {
  readonly id: string;
  readonly username: string;
  /** Changed when an admin changes the user's role; the change holds from the next request. */
  role: Role;
  lastSeenMs: number;
}

export class AuthSessionStore {
  readonly #sessions = new Map<string, AuthSession>();
  readonly #idleMs: number;
  readonly #now: () => number;

  constructor(options: { readonly idleMs: number; readonly now: () => number }) {
    this.#idleMs = options.idleMs;
    this.#now = options.now;
  }

  /** Opens a session; the id is 128 random bits as 32 lower-case hex digits, as MediaSense's. */
  create(username: string, role: Role): AuthSession {
    this.#sweep();
    const session: AuthSession = {
      id: randomBytes(16).toString('hex'),
      username,
      role,
      lastSeenMs: this.#now(),
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id, its idle timer restarted; undefined when unknown or expired. */
  touch(id: string): AuthSession | undefined {
    const session = this.#sessions.get(id);
    if (session === undefined) {
      return undefined;
    }
    const nowMs = this.#now();
    if (nowMs - session.lastSeenMs >= this.#idleMs) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeenMs = nowMs;
    return session;
  }

  /**
   * Applies a change of a user to their open sessions: a new role holds from their next request;
   * a removed user (role undefined) is signed out everywhere on this node.
   */
  userChanged(username: string, role: Role | undefined): void {
    for (const [id, session] of this.#sessions) {
      if (session.username !== username) {
        continue;
      }
      if (role === undefined) {
        this.#sessions.delete(id);
      } else {
        session.role = role;
      }
    }
  }

  delete(id: string): boolean {
    return this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Drops expired sessions; run on each sign-in so abandoned sessions cannot pile up. */
  #sweep(): void {
    const nowMs = this.#now();
    for (const [id, session] of this.#sessions) {
      if (nowMs - session.lastSeenMs >= this.#idleMs) {
        this.#sessions.delete(id);
      }
    }
  }
}
