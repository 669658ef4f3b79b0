import type { Kysely } from 'kysely';

/**
 * Issue 13 (recording health): each track's gaps longer than a second (count, total and longest,
 * in ms) and what its G.711 audio carried ('audio', 'silence', NULL when not checked); each
 * closed session's problem kinds, stored when it closes so the node summary counts them with one
 * indexed query ('' when it was ok, NULL while ACTIVE and for the sessions closed before).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_gaps', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_gap_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_longest_gap_ms', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('tracks').addColumn('stat_content', 'text').execute();
  await db.schema.alterTable('sessions').addColumn('health_kinds', 'text').execute();
  // The summary reads the sessions that ended in the last day: by end time, then the kinds.
  await db.schema
    .createIndex('sessions_end_health_idx')
    .on('sessions')
    .columns(['end_ms', 'health_kinds'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('sessions_end_health_idx').execute();
  await db.schema.alterTable('sessions').dropColumn('health_kinds').execute();
  await db.schema.alterTable('tracks').dropColumn('stat_content').execute();
  await db.schema.alterTable('tracks').dropColumn('stat_longest_gap_ms').execute();
  await db.schema.alterTable('tracks').dropColumn('stat_gap_ms').execute();
  await db.schema.alterTable('tracks').dropColumn('stat_gaps').execute();
}
