import { Type } from 'typebox';

import type { Repository } from '../db/repository.js';
import {
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  ROLES,
  USERNAME_PATTERN,
  type Role,
} from '../model/user.js';
import type { Authenticator } from './authenticator.js';
import { failure, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { hashPassword } from './passwords.js';
import { digestHa1 } from './digest-ha1.js';

export interface UserRouteContext {
  readonly repository: Repository;
  readonly authenticator: Authenticator;
  readonly now: () => number;
}

const USERS = '/ora/userService/user';

const UsernameSchema = Type.String({
  pattern: USERNAME_PATTERN.source,
  description: "1-64 letters, digits, '.', '_', '@' or '-'",
});
const PasswordSchema = Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: MAX_PASSWORD_LENGTH });
// The enum is ROLES itself, so the schema follows model/user.ts.
const RoleSchema = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] });

const UserSchema = Type.Object({
  username: Type.String(),
  role: RoleSchema,
  createdAt: Type.Integer({ description: 'Epoch milliseconds' }),
});

/**
 * Local users over the API (a Verbatim extension, for the Administration app and scripts; the CLI
 * `verbatim user` does the same on the node). Admin only; every change is audited. An admin cannot
 * remove or demote themself, so a node cannot be left without anyone who can manage it by mistake.
 */
export function userRoutes(ctx: UserRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: `${USERS}/listUsers`,
      summary: 'Every local user, with role and creation time (never a password hash)',
      permission: 'manage-users',
      audit: false,
      input: 'query',
      params: Type.Object({}),
      responseBody: Type.Object({ users: Type.Array(UserSchema) }),
      handler: async () => {
        const users = await ctx.repository.listUsers();
        return success({
          users: users.map((u) => ({ username: u.username, role: u.role, createdAt: u.createdAt })),
        });
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${USERS}/addUser`,
      summary: 'Add a local user',
      permission: 'manage-users',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ username: UsernameSchema, role: RoleSchema, password: PasswordSchema }),
      failures: [RESPONSE_CODES.alreadyExists],
      handler: async (params, call) => {
        call.audit.target = params.username;
        call.audit.detail = { role: params.role };
        if ((await ctx.repository.getUser(params.username)) !== undefined) {
          return failure(RESPONSE_CODES.alreadyExists, `user ${params.username} already exists`);
        }
        await ctx.repository.createUser({
          username: params.username,
          role: params.role,
          passwordHash: await hashPassword(params.password),
          digestHa1: digestHa1(params.username, params.password),
          createdAt: ctx.now(),
        });
        return success(undefined, MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${USERS}/updateUser`,
      summary: "Change a user's role or password",
      permission: 'manage-users',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        username: UsernameSchema,
        role: Type.Optional(RoleSchema),
        password: Type.Optional(PasswordSchema),
      }),
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = params.username;
        const role: Role | undefined = params.role;
        call.audit.detail = {
          ...(role === undefined ? {} : { role }),
          ...(params.password === undefined ? {} : { password: 'changed' }),
        };
        if (role === undefined && params.password === undefined) {
          return failure(
            RESPONSE_CODES.missingParameter,
            'requestParameters.role or requestParameters.password is required',
          );
        }
        if (role !== undefined && role !== 'admin' && params.username === call.user?.username) {
          return failure(RESPONSE_CODES.invalidState, 'an admin cannot take the admin role from themself');
        }
        const passwordHash = params.password === undefined ? undefined : await hashPassword(params.password);
        const updated = await ctx.repository.updateUser(params.username, {
          ...(role === undefined ? {} : { role }),
          ...(passwordHash === undefined || params.password === undefined
            ? {}
            : { passwordHash, digestHa1: digestHa1(params.username, params.password) }),
        });
        if (!updated) {
          return failure(RESPONSE_CODES.notFound, `no user ${params.username}`);
        }
        if (role !== undefined) {
          ctx.authenticator.userChanged(params.username, role);
        }
        return success(undefined, MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${USERS}/deleteUser`,
      summary: 'Remove a local user; their API sessions on this node end at once',
      permission: 'manage-users',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({ username: UsernameSchema }),
      failures: [RESPONSE_CODES.notFound, RESPONSE_CODES.invalidState],
      handler: async (params, call) => {
        call.audit.target = params.username;
        if (params.username === call.user?.username) {
          return failure(RESPONSE_CODES.invalidState, 'an admin cannot remove themself');
        }
        if (!(await ctx.repository.deleteUser(params.username))) {
          return failure(RESPONSE_CODES.notFound, `no user ${params.username}`);
        }
        ctx.authenticator.userChanged(params.username, undefined);
        return success(undefined, MESSAGE_SUCCESSFUL);
      },
    }),
  ];
}
