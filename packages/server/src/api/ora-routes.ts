import type { FastifyInstance } from 'fastify';

import type { Repository } from '../db/repository.js';
import { healthRoutes } from './health-routes.js';
import { auditRoutes } from './audit-routes.js';
import type { AuditTrail } from './audit-trail.js';
import { authRoutes } from './auth-routes.js';
import type { Authenticator } from './authenticator.js';
import { infoRoutes } from './info-routes.js';
import { openApiDocument, type DocumentedPath } from './openapi.js';
import { registerOraRouteTable } from './ora-registrar.js';
import type { OraRoute } from './ora-route.js';
import type { ApiRefusalLog } from './refusal-log.js';
import { queryRoutes } from './query-routes.js';
import { searchRoutes } from './search-routes.js';
import type { MediaUrlOptions } from './session-json.js';
import { userRoutes } from './user-routes.js';

/**
 * Every `/ora/...` JSON API: the route modules' declarations, registered through one registrar
 * (caller, role, parameters, audit) and described by one OpenAPI document. Every answer is an
 * envelope with HTTP 200, including application errors, exactly as MediaSense (reference §1).
 */

/** What every route module may use; a module needing more gets it from app.ts (ExtraOraRoutes). */
export interface OraRouteDeps {
  readonly repository: Repository;
  readonly authenticator: Authenticator;
  readonly urls: MediaUrlOptions;
  readonly now: () => number;
  readonly refusals: ApiRefusalLog;
}

/** Routes of services outside the API layer (recording control, jobs, …), built by app.ts. */
export type ExtraOraRoutes = (deps: OraRouteDeps) => readonly OraRoute[];

export interface OraRouteContext extends OraRouteDeps {
  readonly tls: boolean;
  readonly audit: AuditTrail;
  readonly productVersion: string;
  readonly extraRoutes: readonly ExtraOraRoutes[];
  /** Routes outside /ora, described by hand, for the OpenAPI document. */
  readonly documentedPaths: readonly DocumentedPath[];
}

export const OPENAPI_PATH = '/ora/openapi.json';

export function registerOraRoutes(app: FastifyInstance, ctx: OraRouteContext): void {
  const routes: OraRoute[] = [
    ...authRoutes(ctx),
    ...infoRoutes(ctx),
    ...searchRoutes(ctx),
    ...queryRoutes(ctx),
    ...userRoutes(ctx),
    ...auditRoutes(ctx),
    ...healthRoutes(ctx),
    ...ctx.extraRoutes.flatMap((build) => build(ctx)),
  ];
  registerOraRouteTable(app, ctx, routes);
  const document = JSON.stringify(openApiDocument(routes, ctx.documentedPaths, ctx.productVersion));
  // Public, like any API description: it holds no data, and tools fetch it before signing in.
  app.get(OPENAPI_PATH, (_request, reply) => reply.type('application/json; charset=utf-8').send(document));
}
