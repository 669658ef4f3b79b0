import { Type } from 'typebox';

import type { Repository } from '../db/repository.js';
import { noResults, success } from './envelope.js';
import { oraRoute, type OraRoute } from './ora-route.js';

export interface AuditRouteContext {
  readonly repository: Repository;
}

/** Most records one call returns; the next page is asked for with `beforeId`. */
export const MAX_AUDIT_PAGE = 1000;

const AuditRecordSchema = Type.Object({
  id: Type.Integer(),
  at: Type.Integer({ description: 'Epoch milliseconds' }),
  username: Type.String(),
  role: Type.Optional(Type.String()),
  action: Type.String({
    description: 'The API name (addSessionTag, signIn, …) or download:wav, download:raw',
  }),
  target: Type.Optional(Type.String()),
  outcome: Type.Integer({ description: 'The responseCode the caller got' }),
  source: Type.String({ description: 'Client IP address, or cli' }),
  detail: Type.Optional(Type.Record(Type.String(), Type.String())),
});

/** getAuditRecords (a Verbatim extension): the audit trail, newest first, for admin and auditor. */
export function auditRoutes(ctx: AuditRouteContext): OraRoute[] {
  return [
    oraRoute({
      method: 'GET',
      path: '/ora/auditService/audit/getAuditRecords',
      summary: 'The audit trail, newest first',
      description:
        'Filters: a time window, a user, an action, a target. Page back with `beforeId` = the ' +
        'smallest id of the last page; 2001 when no record is left.',
      permission: 'read-audit',
      audit: true,
      input: 'query',
      params: Type.Object({
        minTime: Type.Optional(Type.Integer({ minimum: 0 })),
        maxTime: Type.Optional(Type.Integer({ minimum: 0 })),
        username: Type.Optional(Type.String({ maxLength: 255 })),
        action: Type.Optional(Type.String({ maxLength: 64 })),
        target: Type.Optional(Type.String({ maxLength: 255 })),
        beforeId: Type.Optional(Type.Integer({ minimum: 1 })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_AUDIT_PAGE })),
      }),
      responseBody: Type.Object({ records: Type.Array(AuditRecordSchema) }),
      handler: async (params) => {
        const records = await ctx.repository.queryAudit({
          ...params,
          limit: params.limit ?? MAX_AUDIT_PAGE,
        });
        return records.length === 0 ? noResults() : success({ records });
      },
    }),
  ];
}
