import { sql, type Kysely } from 'kysely';

import type { StorageHistoryQuery, StorageHistorySample } from '../model/storage-history.js';
import type { Database } from './schema.js';

/** Storage use over time (migration 0018, model/storage-history.ts). */

export async function appendStorageSample(db: Kysely<Database>, sample: StorageHistorySample): Promise<void> {
  const values = {
    total_bytes: sample.totalBytes,
    used_bytes: sample.usedBytes,
    free_bytes: sample.freeBytes,
    sessions: sample.sessions,
  };
  // Two samples of a node in the same millisecond (a clock step back) keep the later one.
  await db
    .insertInto('storage_samples')
    .values({ node_id: sample.nodeId, at_ms: sample.at, ...values })
    .onConflict((oc) => oc.columns(['node_id', 'at_ms']).doUpdateSet(values))
    .execute();
}

export async function pruneStorageSamples(db: Kysely<Database>, before: number): Promise<number> {
  const result = await db.deleteFrom('storage_samples').where('at_ms', '<', before).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The samples of the window, each node's as they were written while there are at most
 * `maxPoints` of them; otherwise the window cut into `maxPoints` equal buckets per node, each
 * bucket's samples averaged (sizes and session count) and dated by its last sample, so a 90-day
 * window of 5-minute samples (25,920 a node) comes back as a few hundred points computed by the
 * database.
 */
export async function storageHistory(
  db: Kysely<Database>,
  query: StorageHistoryQuery,
): Promise<StorageHistorySample[]> {
  let window = db
    .selectFrom('storage_samples')
    .where('at_ms', '>=', query.from)
    .where('at_ms', '<=', query.to);
  if (query.nodeId !== undefined) {
    window = window.where('node_id', '=', query.nodeId);
  }
  const counts = await window
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .groupBy('node_id')
    .execute();
  if (counts.every((row) => Number(row.n) <= query.maxPoints)) {
    const rows = await window.selectAll().orderBy('at_ms').orderBy('node_id').execute();
    return rows.map((row) => ({
      at: row.at_ms,
      nodeId: row.node_id,
      totalBytes: row.total_bytes,
      usedBytes: row.used_bytes,
      freeBytes: row.free_bytes,
      sessions: row.sessions,
    }));
  }
  const span = Math.max(query.to - query.from + 1, 1);
  const bucketMs = Math.max(Math.ceil(span / Math.max(query.maxPoints, 1)), 1);
  // better-sqlite3 binds JS numbers as REAL, so the quotient is made whole explicitly.
  const bucket = sql<number>`cast((at_ms - ${query.from}) / ${bucketMs} as integer)`;
  let select = db
    .selectFrom('storage_samples')
    .select((eb) => [
      'node_id',
      bucket.as('bucket'),
      eb.fn.max<number | string>('at_ms').as('at'),
      eb.fn.avg('total_bytes').as('total'),
      eb.fn.avg('used_bytes').as('used'),
      eb.fn.avg('free_bytes').as('free'),
      eb.fn.avg('sessions').as('sessions'),
    ])
    .where('at_ms', '>=', query.from)
    .where('at_ms', '<=', query.to);
  if (query.nodeId !== undefined) {
    select = select.where('node_id', '=', query.nodeId);
  }
  const rows = await select.groupBy(['node_id', 'bucket']).orderBy('at').orderBy('node_id').execute();
  // PostgreSQL answers avg() as numeric text; whole bytes and sessions are what the chart shows.
  return rows.map((row) => ({
    at: Number(row.at),
    nodeId: row.node_id,
    totalBytes: Math.round(Number(row.total)),
    usedBytes: Math.round(Number(row.used)),
    freeBytes: Math.round(Number(row.free)),
    sessions: Math.round(Number(row.sessions)),
  }));
}

export async function countStoredSessions(db: Kysely<Database>): Promise<number> {
  const row = await db
    .selectFrom('sessions')
    .select((eb) => eb.fn.countAll<number | string | bigint>().as('n'))
    .where('pruned_ms', 'is', null)
    .where('state', '!=', 'DELETED')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}
