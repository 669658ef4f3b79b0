/** Local users of the API and web UI (DESIGN.md §1.3 roles). */
export type Role = 'admin' | 'api' | 'supervisor' | 'auditor';

export const ROLES: readonly Role[] = ['admin', 'api', 'supervisor', 'auditor'];

export interface User {
  readonly username: string;
  readonly role: Role;
  /** Self-describing password hash (see api/passwords.ts); never the password. */
  readonly passwordHash: string;
  readonly createdAt: number;
}
