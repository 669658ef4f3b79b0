import { ROLES, type Role } from '../model/user.js';

/**
 * What a route needs of its caller (docs/api.md "Roles"). MediaSense had no roles: every API user
 * could do everything. Verbatim keeps that for the `api` role (integrations need the whole API)
 * and narrows the others to what their people do.
 */
export type Permission =
  /** Anyone, without signing in (signIn, getAPIVersion, the OpenAPI document). */
  | 'public'
  /** Any signed-in user (signOut, getSystemTime, job status). */
  | 'signed-in'
  /** Find sessions: the query service. */
  | 'search'
  /** Play and download recordings (WAV, MP4, raw tracks, RTSP). */
  | 'play'
  /** Add and delete user tags. */
  | 'tag'
  /** Delete sessions (deletion jobs). */
  | 'delete'
  /** Pause, resume, start and stop recordings. */
  | 'control'
  /** Subscribe to events. */
  | 'subscribe'
  /** List and remove anyone's subscriptions, read the delivery log. */
  | 'manage-subscriptions'
  /** Create, change and remove users. */
  | 'manage-users'
  /** Read the audit trail. */
  | 'read-audit'
  /** Read the storage state and the retention policy. */
  | 'read-storage'
  /** Change the retention policy. */
  | 'manage-storage'
  /** Read the node's status and the call-controller settings, trusted peers included. */
  | 'read-node'
  /** Add and remove trusted peers (who may send INVITEs). */
  | 'manage-peers'
  /** Scrape /metrics. */
  | 'metrics';

const EVERY_PERMISSION: readonly Permission[] = [
  'public',
  'signed-in',
  'search',
  'play',
  'tag',
  'delete',
  'control',
  'subscribe',
  'manage-subscriptions',
  'manage-users',
  'read-audit',
  'read-storage',
  'manage-storage',
  'read-node',
  'manage-peers',
  'metrics',
];

/** The one table of who may do what; docs/api.md "Roles" prints it (a test keeps them equal). */
export const ROLE_PERMISSIONS: Readonly<Record<Role, ReadonlySet<Permission>>> = {
  admin: new Set(EVERY_PERMISSION),
  // Integrations (quality management, archivers, analytics, Finesse): the MediaSense API whole,
  // but neither users, other systems' subscriptions nor the audit trail.
  api: new Set(['public', 'signed-in', 'search', 'play', 'tag', 'delete', 'control', 'subscribe', 'metrics']),
  // People who listen and mark calls; deleting, pausing and subscribing are for systems.
  supervisor: new Set(['public', 'signed-in', 'search', 'play', 'tag']),
  // Compliance review: read everything, change nothing, and read who did what.
  auditor: new Set(['public', 'signed-in', 'search', 'play', 'read-audit', 'read-storage', 'read-node']),
};

export function allows(role: Role, permission: Permission): boolean {
  return ROLE_PERMISSIONS[role].has(permission);
}

/** The roles that hold a permission, in the order of ROLES (for messages and the OpenAPI text). */
export function rolesWith(permission: Permission): Role[] {
  return ROLES.filter((role) => allows(role, permission));
}
