import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Static, TSchema } from 'typebox';

import type { Role } from '../model/user.js';
import type { AuthSession } from './auth-sessions.js';
import type { Envelope, FailureCode } from './envelope.js';
import type { Permission } from './permissions.js';

/**
 * One `/ora` API, declared once: the registrar (ora-registrar.ts) checks the caller, the role and
 * the parameters against it and writes the audit record; the OpenAPI document (openapi.ts) is
 * generated from the same declaration. A route module exports a function that returns its routes.
 */
export interface OraRoute<S extends TSchema = TSchema> {
  readonly method: 'GET' | 'POST';
  /** The whole path, `/ora/<service>/<group>/<api>`; its last segment names the API. */
  readonly path: string;
  /** One line for the OpenAPI document. */
  readonly summary: string;
  /** More text for the OpenAPI document (Markdown), when one line is not enough. */
  readonly description?: string;
  readonly permission: Permission;
  /** Whether each call is written to the audit trail (docs/api.md "Audit trail"). */
  readonly audit: boolean;
  /**
   * Where the parameters are: the query string (GET), the body's `requestParameters` object (the
   * MediaSense convention for POST), or the whole body (getSessions, whose requestParameters is an
   * array with siblings; its own translator validates it).
   */
  readonly input: 'query' | 'requestParameters' | 'body';
  /** A larger body limit than the API's MAX_BODY_BYTES, for a route that takes long lists (deleteSessions). */
  readonly bodyLimit?: number;
  /**
   * The parameters' schema. Names match case-insensitively (MediaSense treats parameter names so);
   * numbers and booleans may come as strings. What fails it is answered 4002 (a required
   * parameter missing) or 4001 (anything else), with a `detail` naming the parameter.
   */
  readonly params: S;
  /**
   * True when the handler checks its input itself (getSessions, whose query language has its own
   * codes and leniencies): the schema then only describes the input in the OpenAPI document.
   */
  readonly checkedByHandler?: true;
  /** The schema of `responseBody` on success, for the OpenAPI document. */
  readonly responseBody?: TSchema;
  /** Failure codes the API may answer beyond the common ones, for the OpenAPI document. */
  readonly failures?: readonly FailureCode[];
  readonly handler: (params: Static<S>, call: OraCall) => Promise<Envelope>;
}

/** The signed-in caller of a route (absent on public routes). */
export interface CallUser {
  readonly username: string;
  readonly role: Role;
  readonly session: AuthSession;
}

/** What a handler gets besides its parameters. */
export interface OraCall {
  readonly request: FastifyRequest;
  readonly reply: FastifyReply;
  readonly user: CallUser | undefined;
  /**
   * What the audit record of this call names. The handler fills in what it knows: the target
   * (session id, job id, user name), facts worth keeping, and on signIn the user itself.
   */
  readonly audit: AuditNotes;
}

export interface AuditNotes {
  target?: string;
  detail?: Record<string, string>;
  /** Who acted, when the route is public (signIn names the user it signs in or refuses). */
  username?: string;
  role?: Role;
  /**
   * Set by a read that clients poll (getAllActiveSessions) to what its answer showed: the same
   * answer to the same API session within AUDIT_REPEAT_WINDOW_MS is recorded once, not on
   * every poll (ora-registrar.ts).
   */
  repeatKey?: string;
}

/** Declares a route with its parameter type inferred from its schema. */
export function oraRoute<S extends TSchema>(route: OraRoute<S>): OraRoute {
  return route;
}

/** The API name of a route: the last segment of its path (`addSessionTag`). */
export function apiName(route: Pick<OraRoute, 'path'>): string {
  return route.path.slice(route.path.lastIndexOf('/') + 1);
}
