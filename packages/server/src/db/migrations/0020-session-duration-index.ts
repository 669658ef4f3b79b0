import type { Kysely } from 'kysely';

/**
 * Issue 14 (Search and Play sorts its results by duration): sessions in duration order, with the
 * session id that breaks ties and the start time a wide time window is tested on, so that the
 * first pages of "the last 7 days, longest first" read a few index entries instead of sorting
 * every session of the week (a million sessions: 0.9 s → under 1 ms; kysely-repository.ts
 * `sortIndexFirst`, measured with test/bench/search-page-queries.ts).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('sessions_duration_idx')
    .on('sessions')
    .columns(['duration_ms', 'session_id', 'start_ms'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_duration_idx').execute();
}
