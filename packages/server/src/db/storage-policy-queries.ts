import type { Kysely } from 'kysely';

import type { PruneCandidate, PruneCandidateQuery, StoragePolicy } from '../model/storage-policy.js';
import { RETENTION_MODES, type RetentionMode } from '../model/storage-policy.js';
import type { Database } from './schema.js';

/** The retention policy row and the pruning queries (migration 0013, model/storage-policy.ts). */

const POLICY_ROW = 1;

export async function getStoragePolicy(db: Kysely<Database>): Promise<StoragePolicy | undefined> {
  const row = await db
    .selectFrom('storage_policy')
    .selectAll()
    .where('id', '=', POLICY_ROW)
    .executeTakeFirst();
  if (row === undefined) {
    return undefined;
  }
  // A mode written by another version falls back to the default mode rather than failing reads.
  const mode: RetentionMode = (RETENTION_MODES as readonly string[]).includes(row.mode)
    ? (row.mode as RetentionMode)
    : 'RECORDING_PRIORITY';
  return {
    mode,
    maxAgeDays: row.max_age_days,
    deleteMetadata: row.delete_metadata !== 0,
    legalHoldTag: row.legal_hold_tag,
    updatedAt: row.updated_ms,
    updatedBy: row.updated_by,
  };
}

export async function setStoragePolicy(db: Kysely<Database>, policy: StoragePolicy): Promise<void> {
  const values = {
    mode: policy.mode,
    max_age_days: policy.maxAgeDays,
    delete_metadata: policy.deleteMetadata ? 1 : 0,
    legal_hold_tag: policy.legalHoldTag,
    updated_ms: policy.updatedAt ?? Date.now(),
    updated_by: policy.updatedBy ?? '',
  };
  await db
    .insertInto('storage_policy')
    .values({ id: POLICY_ROW, ...values })
    .onConflict((oc) => oc.column('id').doUpdateSet(values))
    .execute();
}

export async function listPruneCandidates(
  db: Kysely<Database>,
  query: PruneCandidateQuery,
): Promise<PruneCandidate[]> {
  const hold = query.legalHoldTag.toLowerCase();
  let select = db
    .selectFrom('sessions')
    .select(['session_id', 'start_ms'])
    .where('pruned_ms', 'is', null)
    .where('state', 'in', ['CLOSED_NORMAL', 'CLOSED_ERROR'])
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('tags')
            .select('tags.session_id')
            .whereRef('tags.session_id', '=', 'sessions.session_id')
            .where('tags.name_lower', '=', hold),
        ),
      ),
    );
  if (query.startedBefore !== undefined) {
    select = select.where('start_ms', '<', query.startedBefore);
  }
  const rows = await select
    .orderBy('start_ms', 'asc')
    .orderBy('session_id', 'asc')
    .limit(query.limit)
    .execute();
  return rows.map((row) => ({ sessionId: row.session_id, sessionStartDate: row.start_ms }));
}

export async function deletePrunedSessionMetadata(
  db: Kysely<Database>,
  sessionId: string,
  prunedAtMs: number,
  legalHoldTag: string,
): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const session = await trx
      .selectFrom('sessions')
      .select('state')
      .where('session_id', '=', sessionId)
      .executeTakeFirst();
    if (session === undefined || (session.state !== 'CLOSED_NORMAL' && session.state !== 'CLOSED_ERROR')) {
      return false;
    }
    if (await hasTag(trx, sessionId, legalHoldTag)) {
      return false;
    }
    // The same tombstone as a deletion job's (job-queries.ts completeSessionDeletion), flagged pruned.
    await trx.deleteFrom('tags').where('session_id', '=', sessionId).execute();
    await trx.deleteFrom('participants').where('session_id', '=', sessionId).execute();
    await trx.deleteFrom('tracks').where('session_id', '=', sessionId).execute();
    await trx
      .updateTable('sessions')
      .set((eb) => ({ state: 'DELETED', pruned_ms: eb.fn.coalesce('pruned_ms', eb.val(prunedAtMs)) }))
      .where('session_id', '=', sessionId)
      .execute();
    return true;
  });
}

/** Whether a session carries a tag of this name (any list), case-insensitively. */
export async function hasTag(db: Kysely<Database>, sessionId: string, tagName: string): Promise<boolean> {
  const row = await db
    .selectFrom('tags')
    .select('session_id')
    .where('session_id', '=', sessionId)
    .where('name_lower', '=', tagName.toLowerCase())
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Ids per IN list: well under SQLite's and PostgreSQL's bound-parameter limits. */
const IDS_PER_QUERY = 500;

export async function sessionsTagged(
  db: Kysely<Database>,
  sessionIds: readonly string[],
  tagName: string,
): Promise<string[]> {
  const found = new Set<string>();
  for (let i = 0; i < sessionIds.length; i += IDS_PER_QUERY) {
    const rows = await db
      .selectFrom('tags')
      .select('session_id')
      .distinct()
      .where('session_id', 'in', sessionIds.slice(i, i + IDS_PER_QUERY))
      .where('name_lower', '=', tagName.toLowerCase())
      .execute();
    for (const row of rows) {
      found.add(row.session_id);
    }
  }
  // In the order asked.
  return sessionIds.filter((id) => found.has(id));
}
