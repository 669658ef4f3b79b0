import type { Kysely } from 'kysely';

/**
 * Issue 8: a track's packets accepted by its media worker but not written to the track file (the
 * worker's write backlog was over its cap, or the file failed). An additive counter, 0 for the
 * tracks recorded before.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('tracks')
    .addColumn('stat_unstored', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('tracks').dropColumn('stat_unstored').execute();
}
