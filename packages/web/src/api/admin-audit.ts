import type { AuditRecord } from '../../../server/src/model/audit.ts';
import { getApi } from './client.ts';

/** The audit trail (docs/api.md "Audit trail"), searched by Administration's audit section. */

export type { AuditRecord };

export interface AuditSearch {
  readonly minTime?: number;
  readonly maxTime?: number;
  readonly username?: string;
  readonly action?: string;
  readonly target?: string;
}

export const AUDIT_PAGE = 100;

/** Newest first; the next page with `beforeId` = the smallest id of the last page (2001: none). */
export async function getAuditRecords(
  search: AuditSearch,
  beforeId?: number,
  signal?: AbortSignal,
): Promise<AuditRecord[]> {
  const body = (
    await getApi(
      '/ora/auditService/audit/getAuditRecords',
      { ...search, beforeId, limit: AUDIT_PAGE },
      signal,
    )
  ).responseBody as { records?: AuditRecord[] } | undefined;
  return body?.records ?? [];
}
