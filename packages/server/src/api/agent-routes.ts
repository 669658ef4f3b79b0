import { Type, type Static } from 'typebox';

import type { AgentSignIn, AgentStore } from '../model/agent.js';
import { MESSAGE_SUCCESSFUL, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';

/**
 * The calls of the Finesse AgentInfo gadget (DESIGN.md §1.5; agent-gadget.ts serves the gadget).
 * MediaSense's own calls were never published (addendum §7), so these are Verbatim's: one POST per
 * action, each with the agent's identity in `requestParameters`. KEEPALIVE carries the whole
 * identity too, so that it can reopen an interval the node lost (it was down for longer than the
 * keepalive timeout) instead of failing the desktop.
 */

export const AGENT_SERVICE = '/ora/agentService/agent';

/** Printable text without control characters (names, as Finesse shows them). */
const PRINTABLE = '^[^\\u0000-\\u001f\\u007f]*$';

/** Exported for the tests of hostile input. */
export const AGENT_LIMITS = { loginId: 64, loginName: 128, name: 64, extension: 64 } as const;

const LoginIdSchema = Type.String({
  minLength: 1,
  maxLength: AGENT_LIMITS.loginId,
  // Finesse login ids are agent ids (digits) or user names; no spaces, no control characters.
  pattern: '^[\\u0021-\\u007e]+$',
  description: 'Finesse login id (User.getId()): printable ASCII without spaces, at most 64 characters',
});

const SignInSchema = Type.Object({
  loginId: LoginIdSchema,
  loginName: Type.String({
    minLength: 1,
    maxLength: AGENT_LIMITS.loginName,
    pattern: PRINTABLE,
    description: 'Finesse login name (User.getLoginName()), at most 128 characters',
  }),
  firstName: Type.Optional(
    Type.String({ maxLength: AGENT_LIMITS.name, pattern: PRINTABLE, description: 'At most 64 characters' }),
  ),
  lastName: Type.Optional(
    Type.String({ maxLength: AGENT_LIMITS.name, pattern: PRINTABLE, description: 'At most 64 characters' }),
  ),
  extension: Type.String({
    minLength: 1,
    maxLength: AGENT_LIMITS.extension,
    // What a deviceRef can be: digits, a dial string, the user part of a SIP URI.
    pattern: '^[A-Za-z0-9*#+._@-]+$',
    description: 'The extension the agent signed in at; matched exactly against participant deviceRef',
  }),
});

const StopSchema = Type.Object({
  loginId: LoginIdSchema,
  // Accepted and ignored, so that the gadget can send the same parameters on every call.
  loginName: Type.Optional(Type.String({ maxLength: AGENT_LIMITS.loginName })),
  firstName: Type.Optional(Type.String({ maxLength: AGENT_LIMITS.name })),
  lastName: Type.Optional(Type.String({ maxLength: AGENT_LIMITS.name })),
  extension: Type.Optional(Type.String({ maxLength: AGENT_LIMITS.extension })),
});

function signInOf(params: Static<typeof SignInSchema>): AgentSignIn {
  // Empty names are as good as none: Finesse gives "" for a name the user record lacks.
  return {
    loginId: params.loginId,
    loginName: params.loginName,
    extension: params.extension,
    ...(params.firstName === undefined || params.firstName === '' ? {} : { firstName: params.firstName }),
    ...(params.lastName === undefined || params.lastName === '' ? {} : { lastName: params.lastName }),
  };
}

export interface AgentRouteContext {
  readonly repository: AgentStore;
  readonly now: () => number;
}

export function agentRoutes(ctx: AgentRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'POST',
      path: `${AGENT_SERVICE}/startAgentSession`,
      summary: 'START: the agent signed in at an extension (a new START of the login ends its previous one)',
      // Feeding agent identity is done by systems (the gadget's API user), as recording control is.
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: SignInSchema,
      handler: async (params, call) => {
        call.audit.target = params.loginId;
        call.audit.detail = { extension: params.extension };
        await ctx.repository.startAgentInterval(signInOf(params), ctx.now());
        return success(undefined, MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${AGENT_SERVICE}/keepAliveAgentSession`,
      summary: 'KEEPALIVE: the agent is still signed in (every three minutes; reopens a lost interval)',
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: SignInSchema,
      responseBody: Type.Object({
        restarted: Type.Boolean({ description: 'True when no open interval was found and a new one began' }),
      }),
      handler: async (params, call) => {
        call.audit.target = params.loginId;
        call.audit.detail = { extension: params.extension };
        const outcome = await ctx.repository.keepAliveAgentInterval(signInOf(params), ctx.now());
        return success({ restarted: outcome === 'restarted' }, MESSAGE_SUCCESSFUL);
      },
    }),
    oraRoute({
      method: 'POST',
      path: `${AGENT_SERVICE}/stopAgentSession`,
      summary: 'STOP: the agent signed out (succeeds when nothing is open, so a repeated STOP is harmless)',
      permission: 'control',
      audit: true,
      input: 'requestParameters',
      params: StopSchema,
      responseBody: Type.Object({
        closed: Type.Integer({ minimum: 0, description: 'How many open intervals of the login ended' }),
      }),
      handler: async (params, call) => {
        call.audit.target = params.loginId;
        const closed = await ctx.repository.stopAgentInterval(params.loginId, ctx.now());
        return success({ closed }, MESSAGE_SUCCESSFUL);
      },
    }),
  ];
}
