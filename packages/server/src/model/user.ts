/** Local users of the API and web UI (DESIGN.md §1.3 roles). */
export type Role = 'admin' | 'api' | 'supervisor' | 'auditor';

export const ROLES: readonly Role[] = ['admin', 'api', 'supervisor', 'auditor'];

export interface User {
  readonly username: string;
  readonly role: Role;
  /** Self-describing password hash (see api/passwords.ts); never the password. */
  readonly passwordHash: string;
  /**
   * HA1 = MD5(username:realm:password) for RTSP Digest (api/digest-ha1.ts), set when the password
   * is set or proved; absent for a user whose password predates it and who has not signed in since.
   */
  readonly digestHa1?: string;
  readonly createdAt: number;
}

/** Shortest password the API and the CLI accept. */
export const MIN_PASSWORD_LENGTH = 8;
/** Bounds the work of hashing a pasted-in novel. */
export const MAX_PASSWORD_LENGTH = 1024;
/** No colon (HTTP Basic splits on it), no spaces or control characters. */
export const USERNAME_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;
