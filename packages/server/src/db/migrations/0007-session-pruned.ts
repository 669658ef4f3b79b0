import { sql, type Kysely } from 'kysely';

/**
 * Issue 10: a pruned session keeps its CLOSED_* state (its media is gone, its metadata stays) and
 * carries the time it was pruned, NULL while its media is kept. getAllPrunedSessions pages the
 * pruned sessions newest first within a start-date window; a partial index holding only them
 * answers that from the index alone, and costs the recording nothing (new sessions are not pruned,
 * so they never enter it). getSessionsByMediaType (and trackMediaType in getSessions) gets an index
 * on the track's media type ending in session_id, like the other child-table fields of 0001: a
 * rare type (VIDEO among a million audio calls) is then found from its few index entries instead
 * of by testing every session of the window.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('sessions').addColumn('pruned_ms', 'bigint').execute();
  await db.schema
    .createIndex('sessions_pruned_start_idx')
    .on('sessions')
    .columns(['start_ms', 'session_id'])
    .where(sql.ref('pruned_ms'), 'is not', null)
    .execute();
  await db.schema
    .createIndex('tracks_media_type_idx')
    .on('tracks')
    .columns(['media_type', 'session_id'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('tracks_media_type_idx').execute();
  await db.schema.dropIndex('sessions_pruned_start_idx').execute();
  await db.schema.alterTable('sessions').dropColumn('pruned_ms').execute();
}
