import { Type } from 'typebox';

import type { AgentStore } from '../model/agent.js';
import type { Authenticator } from './authenticator.js';
import { expiredSessionCookie, sessionCookie } from './credentials.js';
import { failure, MESSAGE_SUCCESSFUL, RESPONSE_CODES, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';
import { shortText } from './params.js';
import type { ApiRefusalLog } from './refusal-log.js';
import { ROLE_PERMISSIONS } from './permissions.js';
import { NoParamsSchema } from './schemas.js';

export interface AuthRouteContext {
  readonly authenticator: Authenticator;
  readonly refusals: ApiRefusalLog;
  /** The `Secure` flag of the session cookie; false under --no-tls. */
  readonly tls: boolean;
  /** Whether any agent has signed in, for the agent-data hint. */
  readonly repository: Pick<AgentStore, 'hasAgentIntervals'>;
}

/**
 * The signIn "client hints" (addendum §7): instructions to the Search and Play application, read
 * by any client that cares; an item is omitted when false. Verbatim always searches its archive
 * and plays in the browser; it has no CUCM line names to show; it shows agent login id and name
 * once an agent has ever signed in through the AgentInfo gadget.
 */
async function clientHints(ctx: AuthRouteContext): Promise<Record<string, unknown>> {
  return {
    archiveSearchEnabled: true,
    inbrowserPlaybackEnabled: true,
    ...((await ctx.repository.hasAgentIntervals())
      ? { agentDataDisplayConfig: { loginIdDisplayConfig: true, loginNameDisplayConfig: true } }
      : {}),
  };
}

const AUTH = '/ora/authenticationService/authentication';

/** signIn and signOut (reference §2): a JSESSIONID cookie, 30 minutes idle; getCurrentUser (Verbatim). */
export function authRoutes(ctx: AuthRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: `${AUTH}/signIn`,
      summary: 'Sign in; the answer sets the JSESSIONID cookie later calls carry',
      description: 'Later calls carry the id as the `JSESSIONID` cookie or as a `JSESSIONID` header.',
      permission: 'public',
      audit: true,
      input: 'requestParameters',
      params: Type.Object({
        username: Type.String({ minLength: 1, maxLength: 255 }),
        // Any length the scrypt hash accepts; the limit only keeps a flood of megabyte passwords cheap.
        password: Type.String({ maxLength: 1024 }),
      }),
      failures: [RESPONSE_CODES.authenticationFailed],
      handler: async (params, call) => {
        call.audit.username = params.username;
        const session = await ctx.authenticator.signIn(params.username, params.password);
        if (session === undefined) {
          ctx.refusals.note('sign-in-refused', 'warn', 'API sign-in refused', {
            username: shortText(params.username),
          });
          return failure(RESPONSE_CODES.authenticationFailed);
        }
        call.audit.role = session.role;
        call.request.log.info({ username: session.username }, 'API sign-in');
        void call.reply.header('set-cookie', sessionCookie(session.id, ctx.tls));
        return { ...success(undefined, MESSAGE_SUCCESSFUL), ...(await clientHints(ctx)) };
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${AUTH}/signOut`,
      summary: 'End the API session',
      permission: 'signed-in',
      audit: true,
      input: 'requestParameters',
      params: NoParamsSchema,
      handler: (_params, call) => {
        if (call.user !== undefined) {
          ctx.authenticator.signOut(call.user.session);
          call.request.log.info({ username: call.user.username }, 'API sign-out');
        }
        void call.reply.header('set-cookie', expiredSessionCookie(ctx.tls));
        return Promise.resolve(success(undefined, MESSAGE_SUCCESSFUL));
      },
    }),
    oraRoute({
      method: 'GET',
      path: `${AUTH}/getCurrentUser`,
      summary: 'Who is signed in on this session, with their role and its permissions (Verbatim)',
      description:
        'For the web apps, which show only what the role may do, and for a page reloaded in a signed-in browser.',
      permission: 'signed-in',
      audit: false,
      input: 'query',
      params: NoParamsSchema,
      responseBody: Type.Object({
        username: Type.String(),
        role: Type.String(),
        permissions: Type.Array(Type.String()),
      }),
      handler: (_params, call) => {
        const user = call.user;
        if (user === undefined) {
          return Promise.resolve(failure(RESPONSE_CODES.invalidSession));
        }
        return Promise.resolve(
          success({
            username: user.username,
            role: user.role,
            permissions: [...ROLE_PERMISSIONS[user.role]],
          }),
        );
      },
    }),
  ];
}
