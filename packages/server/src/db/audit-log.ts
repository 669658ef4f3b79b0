import type { Kysely } from 'kysely';

import type { AuditQuery, AuditRecord, NewAuditRecord } from '../model/audit.js';
import type { AuditLogTable, Database } from './schema.js';

/** The audit-trail statements of the Kysely repository (kept apart: the trail is its own table). */

export async function appendAuditRecord(db: Kysely<Database>, record: NewAuditRecord): Promise<void> {
  await db
    .insertInto('audit_log')
    .values({
      at_ms: record.at,
      username: record.username,
      role: record.role ?? null,
      action: record.action,
      target: record.target ?? null,
      outcome: record.outcome,
      source: record.source,
      detail: record.detail === undefined ? null : JSON.stringify(record.detail),
    })
    .execute();
}

/** Newest first; `beforeId` pages back through equal times without skipping or repeating. */
export async function queryAuditRecords(db: Kysely<Database>, query: AuditQuery): Promise<AuditRecord[]> {
  let select = db.selectFrom('audit_log').selectAll();
  if (query.minTime !== undefined) {
    select = select.where('at_ms', '>=', query.minTime);
  }
  if (query.maxTime !== undefined) {
    select = select.where('at_ms', '<=', query.maxTime);
  }
  if (query.username !== undefined) {
    select = select.where('username', '=', query.username);
  }
  if (query.action !== undefined) {
    select = select.where('action', '=', query.action);
  }
  if (query.target !== undefined) {
    select = select.where('target', '=', query.target);
  }
  if (query.beforeId !== undefined) {
    select = select.where('id', '<', query.beforeId);
  }
  const rows = await select.orderBy('id', 'desc').limit(query.limit).execute();
  return rows.map(toAuditRecord);
}

type AuditRow = { [K in keyof AuditLogTable]: K extends 'id' ? number : AuditLogTable[K] };

function toAuditRecord(row: AuditRow): AuditRecord {
  return {
    id: row.id,
    at: row.at_ms,
    username: row.username,
    ...(row.role === null ? {} : { role: row.role }),
    action: row.action,
    ...(row.target === null ? {} : { target: row.target }),
    outcome: row.outcome,
    source: row.source,
    ...(row.detail === null ? {} : { detail: parseDetail(row.detail) }),
  };
}

/** The stored detail object; a row that is not a JSON object of strings reads as no detail. */
function parseDetail(text: string): Readonly<Record<string, string>> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      return {};
    }
    return Object.fromEntries(
      Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
    );
  } catch {
    return {};
  }
}
